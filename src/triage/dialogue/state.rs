//! A patient's conversation as the engine sees it: who they are, their last treatment, the case
//! (episode) in progress, and the question waiting for an answer.

use crate::triage::disposition::Disposition;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the last treatment was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    IvInfusion,
    Injection,
    NasalSpray,
    Oral,
}

impl Route {
    pub const ALL: [Route; 4] = [Route::IvInfusion, Route::Injection, Route::NasalSpray, Route::Oral];

    /// Stable identifier (button data, alerts, records).
    pub fn as_str(self) -> &'static str {
        match self {
            Route::IvInfusion => "iv_infusion",
            Route::Injection => "injection",
            Route::NasalSpray => "nasal_spray",
            Route::Oral => "oral",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Route::IvInfusion => "IV infusion",
            Route::Injection => "Injection",
            Route::NasalSpray => "Nasal spray",
            Route::Oral => "Oral dose",
        }
    }

    pub fn parse(id: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.as_str() == id)
    }
}

/// A recorded treatment session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Treatment {
    pub at: Timestamp,
    /// Unknown until the patient says.
    pub route: Option<Route>,
}

/// A symptom's trend since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Better,
    Same,
    Worse,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Better => "better",
            Trend::Same => "same",
            Trend::Worse => "worse",
        }
    }
}

/// An answer to a yes/no question. "Not sure" counts as yes on screen and confirm questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNo {
    Yes,
    No,
    Unsure,
}

impl YesNo {
    /// Whether the answer counts as yes for safety questions.
    pub fn counts_as_yes(self) -> bool {
        !matches!(self, YesNo::No)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            YesNo::Yes => "yes",
            YesNo::No => "no",
            YesNo::Unsure => "not sure",
        }
    }
}

/// One answered screen or confirm question, kept for the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenAnswer {
    pub intent: String,
    pub question: String,
    pub answer: YesNo,
}

/// The case in progress: what the patient reported and what the bot decided. Its disposition
/// only ever rises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub started: Timestamp,
    /// The intent being handled (the most urgent so far).
    pub intent: String,
    pub disposition: Disposition,
    pub reasons: Vec<String>,
    pub answers: Vec<ScreenAnswer>,
    pub severity: Option<u8>,
    pub trend: Option<Trend>,
    /// The disposition of the intent being handled now (the episode's may be higher, from an
    /// earlier intent; advice for this one follows its own).
    pub current: Disposition,
    /// The most urgent disposition that on-call has been paged for in this episode.
    pub paged: Option<Disposition>,
    /// Intents already sent to the clinic's follow-up queue in this episode.
    pub followed_up: Vec<String>,
    /// The self-harm flow is running: it stays with the patient and is not dismissed lightly.
    pub self_harm: bool,
}

/// What the bot is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// When was the last treatment? Then, if unknown, the route (`route` when already said).
    TreatmentTime {
        route: Option<Route>,
    },
    TreatmentRoute,
    /// All screen questions of `intent` at once ("is any of this true?"); a "no" clears them all,
    /// anything else asks them one by one.
    ScreenAny {
        intent: String,
    },
    /// Screen question `index` of `intent`.
    Screen {
        intent: String,
        index: usize,
    },
    /// Is this red flag happening now? (it was negated, hypothetical or unsure)
    Confirm {
        intent: String,
    },
    Severity {
        intent: String,
    },
    Trend {
        intent: String,
    },
    /// A blood-pressure or pulse reading.
    Reading {
        intent: String,
    },
    /// "What feels worse?" after a general "I feel worse".
    WhatFeelsWorse,
    /// "Are you safe right now?" in the self-harm flow.
    SafeNow,
    /// Delete everything? (after `/forget`)
    ForgetConfirm,
    /// "How are you feeling?" sent as a proactive check-in.
    CheckIn,
}

impl Question {
    /// The intent a question belongs to, if any.
    pub fn intent(&self) -> Option<&str> {
        match self {
            Question::ScreenAny { intent }
            | Question::Screen { intent, .. }
            | Question::Confirm { intent }
            | Question::Severity { intent }
            | Question::Trend { intent }
            | Question::Reading { intent } => Some(intent),
            _ => None,
        }
    }
}

/// Something to come back to once the current intent is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// Handle this intent (another effect from the same message, or one that was interrupted),
    /// with the disposition the message gave it.
    Intent(String, Disposition),
    /// Ask this red flag's confirming question.
    Confirm(String),
}

/// A question asked at a time; it expires after the configured wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub question: Question,
    pub asked_at: Timestamp,
    /// An intent to resume once this is answered (e.g. a symptom waiting for the treatment time).
    pub then: Option<String>,
}

/// Everything the engine keeps about one patient's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversation {
    /// Set on the first message.
    pub first_seen: Option<Timestamp>,
    pub treatment: Option<Treatment>,
    /// The bot has asked for the last treatment (asked once on first contact, not again and again).
    pub treatment_asked: bool,
    /// The patient opted out of proactive check-ins (`/stop`; `/start` turns them back on).
    pub check_ins_off: bool,
    pub episode: Option<Episode>,
    pub pending: Option<Pending>,
    /// Other intents from the same message, or interrupted ones, handled after the current one.
    pub queue: Vec<Queued>,
    /// The last few patient messages, for the alert (kept only in the store, never logged).
    pub recent: Vec<String>,
    /// The last buttons offered, so that a typed number or label picks one.
    pub offered: Vec<super::action::Button>,
}

/// How many recent patient messages an alert carries.
pub const RECENT_MESSAGES: usize = 5;

impl Conversation {
    /// Time since the last recorded treatment, when known and not in the future.
    pub fn since_treatment(&self, now: Timestamp) -> Option<Duration> {
        let treatment = self.treatment?;
        let elapsed: SignedDuration = now.duration_since(treatment.at);
        Duration::try_from(elapsed).ok()
    }

    /// Keeps the last few patient messages.
    pub fn remember(&mut self, text: &str) {
        let trimmed: String = text.chars().take(500).collect();
        self.recent.push(trimmed);
        let excess = self.recent.len().saturating_sub(RECENT_MESSAGES);
        self.recent.drain(..excess);
    }

    /// The episode's disposition, or `None` when there is no episode.
    pub fn disposition(&self) -> Disposition {
        self.episode.as_ref().map_or(Disposition::None, |e| e.disposition)
    }
}
