//! What the matcher found in one message: every intent with its stance and span, the top intent
//! and disposition ("most urgent wins"), and the red flags that need a confirming question.

use crate::triage::disposition::Disposition;
use serde::Serialize;

/// One intent found in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentMatch {
    pub id: String,
    /// The intent's disposition in this message (after raise, reading and time rules).
    pub disposition: Disposition,
    pub negated: bool,
    pub hypothetical: bool,
    /// Character offsets `[start, end)` of the first mention in the original message.
    pub span: [usize; 2],
    /// Why the disposition rose above the intent's default (for alerts and audit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl IntentMatch {
    /// The patient says they have it (not negated, not hypothetical).
    pub fn is_asserted(&self) -> bool {
        !self.negated && !self.hypothetical
    }
}

/// The matcher's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The top intent's id, or `none`.
    pub intent: String,
    pub disposition: Disposition,
    /// Every intent found, in order of first mention.
    pub intents: Vec<IntentMatch>,
    /// Red-flag intents mentioned only negated, hypothetically or unsure: ask before deciding.
    pub confirm: Vec<String>,
}

impl Classification {
    /// The intent id used when nothing matched.
    pub const NONE: &'static str = "none";

    /// Whether `id` was found and asserted.
    pub fn asserts(&self, id: &str) -> bool {
        self.intents.iter().any(|m| m.id == id && m.is_asserted())
    }

    /// The top intent, when anything was asserted.
    pub fn top(&self) -> Option<&IntentMatch> {
        self.intents.iter().find(|m| m.id == self.intent && m.is_asserted())
    }

    /// Asserted intents, most urgent first (ties: first mentioned).
    pub fn ranked(&self) -> Vec<&IntentMatch> {
        let mut asserted: Vec<&IntentMatch> = self.intents.iter().filter(|m| m.is_asserted()).collect();
        asserted.sort_by(|a, b| b.disposition.cmp(&a.disposition).then(a.span[0].cmp(&b.span[0])));
        asserted
    }

    /// A short human-readable summary, e.g. `dizziness(self_care), chest_cardiac(negated)`.
    pub fn summary(&self) -> String {
        if self.intents.is_empty() {
            return Self::NONE.to_string();
        }
        self.intents
            .iter()
            .map(|m| {
                let stance = match (m.negated, m.hypothetical) {
                    (true, _) => "negated".to_string(),
                    (_, true) => "hypothetical".to_string(),
                    _ => m.disposition.to_string(),
                };
                format!("{}({stance})", m.id)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
