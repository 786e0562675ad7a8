//! The clinical catalogue: every intent of the specification, loaded from the `intents/` data
//! files a clinician edits, validated, and compiled once into the regexes the matcher runs.
//!
//! The catalogue is built from a [`CatalogueSource`] (a folder, or the copy embedded in the
//! binary) and never touches the disk itself after that.

mod compile;
mod file;
mod intent_set;
mod lazy_dfa;
mod lexicon;
mod pattern;
mod source;
mod starts;

pub use crate::problem::{Problem, Problems};
pub use lexicon::Lexicon;
pub use pattern::Pattern;
pub use source::{CatalogueSource, SourceFile};

use crate::triage::disposition::Disposition;
use intent_set::IntentSet;
use std::collections::HashMap;
use std::time::Duration;

/// Ids the engine itself refers to; a catalogue without them is incomplete.
pub const REQUIRED_INTENTS: &[&str] = &[
    "greeting",
    "thanks",
    "help",
    "human",
    "stop",
    "forget",
    "self_harm",
    "mood_worsening",
    "feel_worse",
    "blood_pressure_pulse",
];

/// Where an intent sits in the specification; decides how the dialogue treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Expected from minutes to a few hours after a session.
    Acute,
    /// Hours to days after.
    HoursDays,
    /// Long-term or repeated use.
    LongTerm,
    /// Escalate at once, before any other question.
    RedFlag,
    /// A question with an answer (FAQ).
    Question,
    /// Conversation control: greeting, help, stop, forget...
    Control,
}

impl Group {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "acute" => Group::Acute,
            "hours_days" => Group::HoursDays,
            "long_term" => Group::LongTerm,
            "red_flag" => Group::RedFlag,
            "question" => Group::Question,
            "control" => Group::Control,
            _ => return None,
        })
    }

    /// Whether the intent is a symptom (rather than a question or conversation control).
    pub fn is_symptom(self) -> bool {
        matches!(self, Group::Acute | Group::HoursDays | Group::LongTerm | Group::RedFlag)
    }
}

/// A yes/no screen question asked before anything else for a symptom.
#[derive(Debug, Clone)]
pub struct ScreenQuestion {
    /// Stable id, unique within its intent (used in alerts and conversation state).
    pub id: String,
    pub ask: String,
    /// What a "yes" or "not sure" leads to.
    pub on_yes: ScreenOutcome,
}

/// What a "yes" to a screen question does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenOutcome {
    /// The case rises to this disposition.
    Raise(Disposition),
    /// The case is handed to another intent (e.g. dizziness with chest pain -> `chest_cardiac`).
    Intent(String),
}

/// A message-level rule that raises an intent's disposition.
#[derive(Debug, Clone)]
pub struct Raise {
    /// Each must be present, not negated, in the message.
    pub when: Vec<Pattern>,
    pub to: Disposition,
    pub reason: String,
    pub with_high_reading: bool,
}

/// A rule on time since treatment.
#[derive(Debug, Clone)]
pub struct Lasting {
    pub after: Duration,
    pub outcome: LastingOutcome,
    pub reason: String,
}

/// What happens to an effect that lasts longer than expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastingOutcome {
    Raise(Disposition),
    Becomes(String),
}

/// Thresholds for a blood-pressure or pulse reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingThresholds {
    pub systolic_at_least: u32,
    pub diastolic_at_least: u32,
    pub pulse_at_least: u32,
    pub to: Disposition,
}

/// One intent of the catalogue, validated.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub title: String,
    pub group: Group,
    pub disposition: Disposition,
    pub red_flag: bool,
    /// For red flags: the confirming question for a negated, hypothetical or unsure mention.
    pub confirm: Option<String>,
    pub raises: Vec<Raise>,
    pub lasting: Vec<Lasting>,
    pub readings: Option<ReadingThresholds>,
    pub screen: Vec<ScreenQuestion>,
    pub ask_severity: bool,
    pub advice: String,
    pub examples: Vec<String>,
    pub counter_examples: Vec<String>,
    /// All of the intent's patterns as one, for finding where they matched.
    pattern: Pattern,
    /// Where a mention does not count (see `exclude` in the intent file).
    exclude: Option<Pattern>,
    origin: Origin,
}

/// Where an intent came from, for reporting problems found after compiling (examples).
#[derive(Debug, Clone)]
struct Origin {
    path: String,
    example_lines: Vec<usize>,
    counter_example_lines: Vec<usize>,
}

impl Intent {
    /// Where the intent's patterns match in folded text.
    pub(crate) fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The time rule that applies `elapsed` after treatment: the one with the longest `after`
    /// that has been reached.
    pub fn lasting_at(&self, elapsed: Duration) -> Option<&Lasting> {
        self.lasting.iter().filter(|rule| elapsed >= rule.after).max_by_key(|rule| rule.after)
    }

    /// Where mentions of the intent do not count.
    pub(crate) fn exclude(&self) -> Option<&Pattern> {
        self.exclude.as_ref()
    }
}

/// The whole catalogue, compiled.
#[derive(Debug, Clone)]
pub struct Catalogue {
    intents: Vec<Intent>,
    by_id: HashMap<String, usize>,
    /// One entry per intent, in the order of `intents`: which intents appear at all, in one pass.
    any_pattern: IntentSet,
    lexicon: Lexicon,
}

impl Catalogue {
    /// Loads and validates a catalogue. Every problem is reported, including examples that do
    /// not match their intent and counter-examples that do.
    pub fn load(source: &CatalogueSource) -> Result<Catalogue, Problems> {
        let (catalogue, problems) = Self::check(source);
        match catalogue {
            Some(catalogue) if problems.is_empty() => Ok(catalogue),
            _ => Err(Problems(problems)),
        }
    }

    /// Compiles and validates the files without running the examples (what `load` does first).
    pub fn compile(source: &CatalogueSource) -> Result<Catalogue, Problems> {
        match compile::compile(source) {
            (Some(catalogue), problems) if problems.is_empty() => Ok(catalogue),
            (_, problems) => Err(Problems(problems)),
        }
    }

    /// The catalogue embedded in the binary at build time (the `intents/` folder).
    pub fn embedded() -> Result<Catalogue, Problems> {
        Self::load(&CatalogueSource::embedded())
    }

    /// Compiles what can be compiled and lists every problem, for `aftercare check`.
    pub fn check(source: &CatalogueSource) -> (Option<Catalogue>, Vec<Problem>) {
        let (catalogue, mut problems) = compile::compile(source);
        if let Some(catalogue) = &catalogue {
            // On a copy: a copied regex has its own match caches, so the tens of megabytes the
            // examples filled are freed with it instead of staying with the catalogue in use.
            problems.extend(compile::check_examples(&catalogue.clone()));
        }
        (catalogue, problems)
    }

    /// Every intent, in a stable order (by id).
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// The intent with this id.
    pub fn get(&self, id: &str) -> Option<&Intent> {
        self.by_id.get(id).map(|&i| &self.intents[i])
    }

    pub(crate) fn any_pattern(&self) -> &IntentSet {
        &self.any_pattern
    }

    pub(crate) fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }
}
