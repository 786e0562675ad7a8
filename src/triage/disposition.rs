//! The five dispositions of the clinical specification, plus `none`, ordered from least to most
//! urgent so that "most urgent wins" is simply `max`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the system does about a message or a conversation. Ordered: `None < Info < ... < Emergency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Nothing clinical: greetings, thanks, control messages, nothing matched.
    #[default]
    None,
    /// An answer to a question.
    Info,
    /// Expected and usually short-lived: advice on what helps and when to write back.
    SelfCare,
    /// The clinic follows up on the next business day (staff follow-up queue).
    ContactClinic,
    /// A clinician calls shortly: on-call is paged at once.
    Urgent,
    /// Call the emergency number now: on-call is paged at the highest priority.
    Emergency,
}

impl Disposition {
    /// Every disposition, least urgent first.
    pub const ALL: [Disposition; 6] = [
        Disposition::None,
        Disposition::Info,
        Disposition::SelfCare,
        Disposition::ContactClinic,
        Disposition::Urgent,
        Disposition::Emergency,
    ];

    /// The stable identifier used in files, logs, alerts and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Info => "info",
            Disposition::SelfCare => "self_care",
            Disposition::ContactClinic => "contact_clinic",
            Disposition::Urgent => "urgent",
            Disposition::Emergency => "emergency",
        }
    }

    /// Whether this disposition pages the on-call clinician.
    pub fn pages_on_call(self) -> bool {
        self >= Disposition::Urgent
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the disposition identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown disposition `{0}` (expected one of: none, info, self_care, contact_clinic, urgent, emergency)")]
pub struct UnknownDisposition(pub String);

impl FromStr for Disposition {
    type Err = UnknownDisposition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == text).ok_or_else(|| UnknownDisposition(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_urgent_is_the_maximum() {
        assert_eq!(Disposition::SelfCare.max(Disposition::Urgent), Disposition::Urgent);
        assert!(Disposition::Emergency > Disposition::Urgent);
        assert!(Disposition::Info > Disposition::None);
    }

    #[test]
    fn identifiers_round_trip() {
        for d in Disposition::ALL {
            assert_eq!(d.as_str().parse::<Disposition>(), Ok(d));
        }
        assert!("urgentish".parse::<Disposition>().is_err());
    }
}
