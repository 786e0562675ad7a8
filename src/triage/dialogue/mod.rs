//! The dialogue: turns single-message classification into a conversation (screens, severity,
//! trend, advice, escalation, time since treatment). Pure, like the rest of the triage engine.

pub mod action;
pub mod answers;
pub mod check_ins;
pub mod engine;
pub mod input;
pub mod settings;
pub mod state;
mod wording;

pub use action::{Action, Alert, AuditEvent, Button, FollowUp, Reply};
pub use engine::{Engine, Step};
pub use input::{Command, Input};
pub use settings::Settings;
pub use state::{Conversation, Episode, Pending, Question, Queued, Route, ScreenAnswer, Treatment, Trend, YesNo};
