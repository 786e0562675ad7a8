//! The raw shape of the catalogue's data files as a clinician writes them, read with serde.
//! Nothing here is validated; `compile` turns these into checked, typed values and reports
//! every problem with its file, line and field.

use serde::Deserialize;
use serde_spanned::Spanned;

/// Text from a file, with the byte range it came from (for `path:line:` in problem reports).
pub type Text = Spanned<String>;

/// One `intents/<id>.toml` file: everything the bot knows about one intent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentFile {
    pub id: Text,
    /// Short label shown on buttons and in alerts ("Dizziness").
    pub title: Text,
    pub group: Text,
    pub disposition: Text,
    #[serde(default)]
    pub red_flag: bool,
    /// For red flags: the one question asked when the mention is negated, hypothetical or unsure.
    pub confirm: Option<Text>,
    pub patterns: Vec<Text>,
    /// Phrases where a pattern's words mean something else ("throwing up my hands", "laughing so
    /// hard I can't breathe"): a mention inside one does not count. For a red flag it is not
    /// dropped but asked about (`confirm`).
    #[serde(default)]
    pub exclude: Vec<Text>,
    #[serde(default)]
    pub raise: Vec<RaiseFile>,
    #[serde(default)]
    pub lasting: Vec<LastingFile>,
    pub readings: Option<ReadingsFile>,
    #[serde(default)]
    pub screen: Vec<ScreenFile>,
    /// Whether the dialogue asks severity (0-10) and trend after the screen.
    #[serde(default)]
    pub ask_severity: bool,
    /// Self-care advice, the answer to a question, or the reply to a control message.
    pub advice: Option<Text>,
    #[serde(default)]
    pub examples: Vec<Text>,
    #[serde(default)]
    pub counter_examples: Vec<Text>,
}

/// A message-level rule: when every `when` pattern is present (and not negated) in a message
/// that mentions this intent, the intent's disposition rises to `to`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseFile {
    pub when: Vec<Text>,
    pub to: Text,
    pub reason: Text,
    /// Only when a blood-pressure or pulse reading in the message is at or over the thresholds.
    #[serde(default)]
    pub with_high_reading: bool,
}

/// A rule on time since treatment: at or after `after` (e.g. "4h", "2d") the effect is no longer
/// the expected one: the disposition rises to `to`, or the intent `becomes` another.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastingFile {
    pub after: Text,
    pub to: Option<Text>,
    pub becomes: Option<Text>,
    pub reason: Text,
}

/// Thresholds for blood-pressure and pulse readings found in a message or an answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadingsFile {
    pub systolic_at_least: Spanned<u32>,
    pub diastolic_at_least: Spanned<u32>,
    pub pulse_at_least: Spanned<u32>,
    pub to: Text,
}

/// One yes/no screen question; "yes" or "not sure" raises the case to `yes`, or hands it to the
/// intent `yes_intent` (whose own disposition then applies).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenFile {
    pub id: Text,
    pub ask: Text,
    pub yes: Option<Text>,
    pub yes_intent: Option<Text>,
}

/// `intents/_lexicon.toml`: words that change what a mention means, and pattern macros.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconFile {
    pub negation: TriggerFile,
    pub hypothetical: TriggerFile,
    pub scope: ScopeFile,
    /// `{name}` in any pattern is replaced by the macro's text before compiling.
    #[serde(default)]
    pub macros: toml::Table,
    /// Whole words spelled out before matching: text-speak and common misspellings.
    #[serde(default)]
    pub words: toml::Table,
}

/// Trigger phrases (regex) that act on the mentions after them (`before`) or before them (`after`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerFile {
    pub before: Vec<Text>,
    #[serde(default)]
    pub after: Vec<Text>,
    /// Phrases that hold a trigger word but are not triggers ("dont know", "no matter").
    #[serde(default)]
    pub pseudo: Vec<Text>,
}

/// Where a trigger's reach ends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeFile {
    /// Words that end a trigger's scope ("but", "though", ...); punctuation always does.
    pub breaks: Vec<Text>,
    /// How many words a `before` trigger reaches.
    pub max_words_after_trigger: Spanned<u32>,
    /// How many words an `after` trigger reaches back.
    pub max_words_before_trigger: Spanned<u32>,
}
