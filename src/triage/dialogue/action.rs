//! What the engine asks its adapter to do after a step: replies, pages, follow-ups, check-in
//! schedule changes, data deletion, and audit records.

use super::state::{Route, ScreenAnswer, Trend};
use crate::triage::disposition::Disposition;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One button: the label shown and the data sent back when it is pressed (at most 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
}

impl Button {
    pub fn new(label: impl Into<String>, data: impl Into<String>) -> Self {
        Self { label: label.into(), data: data.into() }
    }
}

/// A message to the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<Button>,
    /// An emergency instruction: sent ahead of everything else, never queued behind routine traffic.
    pub urgent: bool,
}

/// A page to the on-call clinician, with everything the specification's alert must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub disposition: Disposition,
    pub intent: String,
    pub intent_title: String,
    pub reasons: Vec<String>,
    pub answers: Vec<ScreenAnswer>,
    pub severity: Option<u8>,
    pub trend: Option<Trend>,
    pub since_treatment: Option<Duration>,
    pub route: Option<Route>,
    pub recent_messages: Vec<String>,
    /// When the episode began: with the patient it identifies the incident.
    pub episode_started: Timestamp,
}

#[cfg(test)]
impl Alert {
    /// An alert with only what escalation reads filled in, for tests.
    pub(crate) fn sample(disposition: Disposition, intent: &str, episode_started: Timestamp) -> Alert {
        Alert {
            disposition,
            intent: intent.into(),
            intent_title: intent.into(),
            reasons: vec![],
            answers: vec![],
            severity: None,
            trend: None,
            since_treatment: None,
            route: None,
            recent_messages: vec![],
            episode_started,
        }
    }
}

impl Alert {
    /// The alert as one line for people: disposition, intent, time since treatment and route,
    /// reasons, screen answers, severity, trend and the patient's last message.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("[{}]", self.disposition.as_str().to_uppercase()),
            format!("{} ({})", self.intent_title, self.intent),
        ];
        if let Some(since) = self.since_treatment {
            parts.push(format!("{}h{:02}m since treatment", since.as_secs() / 3600, since.as_secs() / 60 % 60));
        }
        if let Some(route) = self.route {
            parts.push(route.label().to_string());
        }
        if !self.reasons.is_empty() {
            parts.push(format!("reasons: {}", self.reasons.join("; ")));
        }
        for answer in &self.answers {
            parts.push(format!("{} -> {}", answer.question, answer.answer.as_str()));
        }
        if let Some(severity) = self.severity {
            parts.push(format!("severity {severity}/10"));
        }
        if let Some(trend) = self.trend {
            parts.push(format!("trend {}", trend.as_str()));
        }
        if let Some(last) = self.recent_messages.last() {
            parts.push(format!("last message: {last:?}"));
        }
        parts.join(" | ")
    }
}

/// A case for the clinic's next-business-day follow-up queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub intent: String,
    pub intent_title: String,
    pub reasons: Vec<String>,
    pub severity: Option<u8>,
    pub trend: Option<Trend>,
    pub recent_messages: Vec<String>,
}

/// An auditable event, without patient text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub kind: String,
    pub detail: String,
}

/// What the adapter must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Reply(Reply),
    Escalate(Box<Alert>),
    FollowUp(FollowUp),
    /// A treatment was recorded: schedule check-ins after it (replacing earlier ones).
    ScheduleCheckIns {
        treated_at: Timestamp,
    },
    /// The patient opted out of (`false`) or back into (`true`) check-ins.
    CheckIns {
        enabled: bool,
    },
    /// Delete everything about this patient (confirmed `/forget`).
    Forget,
    Record(AuditEvent),
}

impl Action {
    /// The reply, if this action is one.
    pub fn as_reply(&self) -> Option<&Reply> {
        match self {
            Action::Reply(reply) => Some(reply),
            _ => None,
        }
    }
}
