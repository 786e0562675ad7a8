//! An incident: one page-worthy episode of one patient, from `triggered` to `acknowledged` to
//! `resolved` (PagerDuty's model), with every event and who did it.

use crate::triage::Disposition;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Triggered,
    Acknowledged,
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Triggered => "triggered",
            State::Acknowledged => "acknowledged",
            State::Resolved => "resolved",
        }
    }
}

/// Something that happened to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    /// "bot", or the staff member's name.
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Short id for people, like `E-7K3Q` (E emergency, U urgent).
    pub id: String,
    /// The patient's chat.
    pub patient: i64,
    pub episode_started: Timestamp,
    pub disposition: Disposition,
    pub intent: String,
    /// The alert as staff read it (intent, answers, severity, trend, time since treatment...).
    pub summary: String,
    pub state: State,
    pub created: Timestamp,
    /// Paging rounds so far (0: the primary was paged).
    pub level: u32,
    /// When to page the next level, while nobody has acknowledged.
    pub next_page_at: Option<Timestamp>,
    /// Who acknowledged.
    pub acknowledged_by: Option<String>,
    pub events: Vec<Event>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.state != State::Resolved
    }

    pub fn record(&mut self, at: Timestamp, actor: &str, kind: &str, detail: impl Into<String>) {
        self.events.push(Event { at, actor: actor.to_string(), kind: kind.to_string(), detail: detail.into() });
    }
}

/// Letters and digits that cannot be mistaken for each other when read aloud or typed.
const ID_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A short incident id from the patient and the time, like `E-7K3Q`; `attempt` varies it when
/// the first choice is taken.
pub fn short_id(disposition: Disposition, patient: i64, at: Timestamp, attempt: u32) -> String {
    // FNV-1a: a stable, well-spread hash with no dependency; ids only need to look random.
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in patient.to_be_bytes().iter().chain(&at.as_nanosecond().to_be_bytes()).chain(&attempt.to_be_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    let prefix = if disposition == Disposition::Emergency { 'E' } else { 'U' };
    let mut id = format!("{prefix}-");
    for _ in 0..4 {
        id.push(ID_ALPHABET[(hash % ID_ALPHABET.len() as u64) as usize] as char);
        hash /= ID_ALPHABET.len() as u64;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_stable_and_vary() {
        let at: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();
        let id = short_id(Disposition::Emergency, 42, at, 0);
        assert_eq!(id.len(), 6);
        assert!(id.starts_with("E-"));
        assert_eq!(id, short_id(Disposition::Emergency, 42, at, 0));
        assert_ne!(id, short_id(Disposition::Emergency, 42, at, 1));
        assert!(short_id(Disposition::Urgent, 42, at, 0).starts_with("U-"));
    }
}
