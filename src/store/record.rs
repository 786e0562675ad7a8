//! The stored form of a conversation: versioned record types of their own, so that the engine's
//! types can change without silently changing what is on disk. Each record kind carries its
//! version in the data (`"v": 1`); reading an unknown version is an error, never a guess.

use super::outbox::{OutboxKey, Outgoing};
use crate::triage::dialogue::{
    AuditEvent, Button, Conversation, Episode, Pending, Question, Queued, Route, ScreenAnswer, Treatment, Trend, YesNo,
};
use crate::triage::Disposition;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A stored conversation, any version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum ConversationRecord {
    #[serde(rename = "1")]
    V1(ConversationV1),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationV1 {
    pub first_seen: Option<Timestamp>,
    pub treatment: Option<TreatmentV1>,
    #[serde(default)]
    pub treatment_asked: bool,
    #[serde(default)]
    pub check_ins_off: bool,
    pub episode: Option<EpisodeV1>,
    pub pending: Option<PendingV1>,
    #[serde(default)]
    pub queue: Vec<QueuedV1>,
    #[serde(default)]
    pub recent: Vec<String>,
    #[serde(default)]
    pub offered: Vec<ButtonV1>,
    /// When the conversation was last written by a step: set by the store on every save (the
    /// step's time), not by the engine. Absent in records written before it existed (the
    /// retention rule then falls back on the conversation's own times, see
    /// [`ConversationRecord::last_activity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TreatmentV1 {
    pub at: Timestamp,
    pub route: Option<Route>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeV1 {
    pub started: Timestamp,
    pub intent: String,
    pub disposition: Disposition,
    pub reasons: Vec<String>,
    pub answers: Vec<AnswerV1>,
    pub severity: Option<u8>,
    pub trend: Option<Trend>,
    pub current: Disposition,
    pub paged: Option<Disposition>,
    pub followed_up: Vec<String>,
    pub self_harm: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueuedV1 {
    Intent { intent: String, disposition: Disposition },
    Confirm { intent: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerV1 {
    pub intent: String,
    pub question: String,
    pub answer: YesNo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingV1 {
    pub question: QuestionV1,
    pub asked_at: Timestamp,
    pub then: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuestionV1 {
    TreatmentTime {
        #[serde(default)]
        route: Option<Route>,
    },
    TreatmentRoute,
    ScreenAny {
        intent: String,
    },
    Screen {
        intent: String,
        index: usize,
    },
    Confirm {
        intent: String,
    },
    Severity {
        intent: String,
    },
    Trend {
        intent: String,
    },
    Reading {
        intent: String,
    },
    WhatFeelsWorse,
    SafeNow,
    ForgetConfirm,
    CheckIn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ButtonV1 {
    pub label: String,
    pub data: String,
}

impl From<&Conversation> for ConversationRecord {
    fn from(c: &Conversation) -> Self {
        ConversationRecord::V1(ConversationV1 {
            first_seen: c.first_seen,
            treatment: c.treatment.map(|t| TreatmentV1 { at: t.at, route: t.route }),
            treatment_asked: c.treatment_asked,
            check_ins_off: c.check_ins_off,
            episode: c.episode.as_ref().map(|e| EpisodeV1 {
                started: e.started,
                intent: e.intent.clone(),
                disposition: e.disposition,
                reasons: e.reasons.clone(),
                answers: e
                    .answers
                    .iter()
                    .map(|a| AnswerV1 { intent: a.intent.clone(), question: a.question.clone(), answer: a.answer })
                    .collect(),
                severity: e.severity,
                trend: e.trend,
                current: e.current,
                paged: e.paged,
                followed_up: e.followed_up.clone(),
                self_harm: e.self_harm,
            }),
            pending: c.pending.as_ref().map(|p| PendingV1 {
                question: QuestionV1::from(&p.question),
                asked_at: p.asked_at,
                then: p.then.clone(),
            }),
            queue: c
                .queue
                .iter()
                .map(|q| match q {
                    Queued::Intent(id, disposition) => {
                        QueuedV1::Intent { intent: id.clone(), disposition: *disposition }
                    }
                    Queued::Confirm(id) => QueuedV1::Confirm { intent: id.clone() },
                })
                .collect(),
            recent: c.recent.clone(),
            offered: c.offered.iter().map(|b| ButtonV1 { label: b.label.clone(), data: b.data.clone() }).collect(),
            last_active: None,
        })
    }
}

impl ConversationRecord {
    /// The same record, last active at `at`.
    pub fn active_at(self, at: Option<Timestamp>) -> Self {
        let ConversationRecord::V1(mut c) = self;
        c.last_active = at;
        ConversationRecord::V1(c)
    }

    /// The conversation's last activity, for retention: the latest of the time it was last
    /// saved and the times it holds itself (first message, treatment, episode start, question
    /// asked). `None` only for a record that never went through a step (no time at all).
    pub fn last_activity(&self) -> Option<Timestamp> {
        let ConversationRecord::V1(c) = self;
        [
            c.last_active,
            c.first_seen,
            c.treatment.map(|t| t.at),
            c.episode.as_ref().map(|e| e.started),
            c.pending.as_ref().map(|p| p.asked_at),
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

impl From<ConversationRecord> for Conversation {
    fn from(record: ConversationRecord) -> Self {
        let ConversationRecord::V1(c) = record;
        Conversation {
            first_seen: c.first_seen,
            treatment: c.treatment.map(|t| Treatment { at: t.at, route: t.route }),
            treatment_asked: c.treatment_asked,
            check_ins_off: c.check_ins_off,
            episode: c.episode.map(|e| Episode {
                started: e.started,
                intent: e.intent,
                disposition: e.disposition,
                reasons: e.reasons,
                answers: e
                    .answers
                    .into_iter()
                    .map(|a| ScreenAnswer { intent: a.intent, question: a.question, answer: a.answer })
                    .collect(),
                severity: e.severity,
                trend: e.trend,
                current: e.current,
                paged: e.paged,
                followed_up: e.followed_up,
                self_harm: e.self_harm,
            }),
            pending: c.pending.map(|p| Pending { question: p.question.into(), asked_at: p.asked_at, then: p.then }),
            queue: c
                .queue
                .into_iter()
                .map(|q| match q {
                    QueuedV1::Intent { intent, disposition } => Queued::Intent(intent, disposition),
                    QueuedV1::Confirm { intent } => Queued::Confirm(intent),
                })
                .collect(),
            recent: c.recent,
            offered: c.offered.into_iter().map(|b| Button { label: b.label, data: b.data }).collect(),
        }
    }
}

impl From<&Question> for QuestionV1 {
    fn from(q: &Question) -> Self {
        match q.clone() {
            Question::TreatmentTime { route } => QuestionV1::TreatmentTime { route },
            Question::TreatmentRoute => QuestionV1::TreatmentRoute,
            Question::ScreenAny { intent } => QuestionV1::ScreenAny { intent },
            Question::Screen { intent, index } => QuestionV1::Screen { intent, index },
            Question::Confirm { intent } => QuestionV1::Confirm { intent },
            Question::Severity { intent } => QuestionV1::Severity { intent },
            Question::Trend { intent } => QuestionV1::Trend { intent },
            Question::Reading { intent } => QuestionV1::Reading { intent },
            Question::WhatFeelsWorse => QuestionV1::WhatFeelsWorse,
            Question::SafeNow => QuestionV1::SafeNow,
            Question::ForgetConfirm => QuestionV1::ForgetConfirm,
            Question::CheckIn => QuestionV1::CheckIn,
        }
    }
}

impl From<QuestionV1> for Question {
    fn from(q: QuestionV1) -> Self {
        match q {
            QuestionV1::TreatmentTime { route } => Question::TreatmentTime { route },
            QuestionV1::TreatmentRoute => Question::TreatmentRoute,
            QuestionV1::ScreenAny { intent } => Question::ScreenAny { intent },
            QuestionV1::Screen { intent, index } => Question::Screen { intent, index },
            QuestionV1::Confirm { intent } => Question::Confirm { intent },
            QuestionV1::Severity { intent } => Question::Severity { intent },
            QuestionV1::Trend { intent } => Question::Trend { intent },
            QuestionV1::Reading { intent } => Question::Reading { intent },
            QuestionV1::WhatFeelsWorse => Question::WhatFeelsWorse,
            QuestionV1::SafeNow => Question::SafeNow,
            QuestionV1::ForgetConfirm => Question::ForgetConfirm,
            QuestionV1::CheckIn => Question::CheckIn,
        }
    }
}

/// A stored incident, any version. (Version 1 is the escalation module's own shape; a change
/// to it adds a version here with an upgrade.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum IncidentRecord {
    #[serde(rename = "1")]
    V1(crate::escalation::Incident),
}

/// One stored record in the store-independent form of a backup: what it is (`kind`), its key
/// and its record (in its own versioned form where it has one). [`crate::store::Store::export`]
/// yields these in a fixed order (the order of the variants, then by key), so two stores with
/// the same content export the same items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackupItem {
    /// Where update intake resumes (the next `getUpdates` offset).
    NextOffset { record: i64 },
    /// A conversation, by patient (chat id).
    Conversation { key: i64, record: ConversationRecord },
    /// An audit event; the key's `sequence` keeps events at the same time apart.
    Audit { key: AuditKey, record: AuditEvent },
    /// A received update not processed yet: the raw Bot API JSON, as a string.
    Inbox {
        key: i64,
        #[serde(with = "raw_update")]
        record: Vec<u8>,
    },
    /// A processed update id, with when it was processed.
    Processed { key: i64, record: Timestamp },
    /// Something waiting to be sent, by lane and order.
    Outbox { key: OutboxKey, record: Outgoing },
    /// An incident, by id.
    Incident { key: String, record: IncidentRecord },
    /// A scheduled check-in (the key is the whole record).
    CheckIn { key: CheckInKey },
    /// An open incident of a patient who asked to be forgotten: anonymised once resolved.
    AnonymiseOnResolve { key: String },
}

/// The key of an audit event (its time is the event's own `at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKey {
    pub patient: i64,
    pub sequence: u64,
}

/// The key of a scheduled check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInKey {
    pub due_at: Timestamp,
    pub patient: i64,
    pub number: u32,
}

impl BackupItem {
    /// The largest outbox or audit sequence number the item holds (a store restored from a
    /// backup numbers what it adds after these).
    pub(crate) fn sequence(&self) -> Option<u64> {
        match self {
            BackupItem::Audit { key, .. } => Some(key.sequence),
            BackupItem::Outbox { key, .. } => Some(key.sequence),
            _ => None,
        }
    }
}

/// Raw update bytes as a JSON string (updates are UTF-8 JSON), or as an array of numbers for
/// anything that is not UTF-8, so a backup keeps them byte for byte.
mod raw_update {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_seq(bytes),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text.into_bytes(),
            Raw::Bytes(bytes) => bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_before_last_active_still_read_and_fall_back_on_their_own_times() {
        let old = r#"{"v":"1","first_seen":"2026-06-10T10:00:00Z","treatment":null,"episode":null,
            "pending":{"question":{"kind":"check_in"},"asked_at":"2026-06-12T08:00:00Z","then":null}}"#;
        let record: ConversationRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.last_activity(), Some("2026-06-12T08:00:00Z".parse().unwrap()));
        let later = "2026-07-01T00:00:00Z".parse().unwrap();
        assert_eq!(record.clone().active_at(Some(later)).last_activity(), Some(later));
        // Unset, the field is not written: such a record is stored exactly as before.
        assert!(!serde_json::to_string(&record).unwrap().contains("last_active"));
        let empty = ConversationRecord::from(&Conversation::default());
        assert_eq!(empty.last_activity(), None);
    }
}
