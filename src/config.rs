//! The clinic's configuration: read in two stages, a serde file of optional raw values, then
//! validated typed settings. Every problem is reported at once as `path:line: field: reason`.
//! The documented file `config/aftercare.toml` is built in and is also the default.

use crate::problem::{LineIndex, Problem, Problems};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::path::PathBuf;
use std::time::Duration;

/// The documented default configuration, built into the binary.
pub const DEFAULT_CONFIG: &str = include_str!("../config/aftercare.toml");
const DEFAULT_PATH: &str = "config/aftercare.toml";

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub clinic: Clinic,
    pub data_dir: PathBuf,
    /// How long a pending question waits for its answer.
    pub question_expiry: Duration,
    pub telegram: TelegramSettings,
}

/// How updates reach the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateSource {
    Polling,
    Webhook(WebhookSettings),
}

/// Where Telegram posts updates in webhook mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub listen: std::net::SocketAddr,
    pub path: String,
    /// Registered with `setWebhook` at start when set.
    pub public_url: Option<String>,
    /// The environment variable that holds the secret token.
    pub secret_env: String,
}

/// How the bot talks to Telegram.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub source: UpdateSource,
    pub poll_timeout: Duration,
    pub per_chat_interval: Duration,
    /// Where pages go while there is no roster; `None` when not configured.
    pub staff_chat_id: Option<i64>,
}

/// Who the clinic is and whom a patient calls.
#[derive(Debug, Clone)]
pub struct Clinic {
    pub name: String,
    pub time_zone: jiff::tz::TimeZone,
    pub emergency_number: String,
    pub crisis_line: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    clinic: RawClinic,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    dialogue: RawDialogue,
    #[serde(default)]
    telegram: RawTelegram,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    mode: Option<Spanned<String>>,
    #[serde(default)]
    webhook: RawWebhook,
    poll_timeout: Option<Spanned<String>>,
    per_chat_interval: Option<Spanned<String>>,
    staff_chat_id: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClinic {
    name: Option<Spanned<String>>,
    time_zone: Option<Spanned<String>>,
    emergency_number: Option<Spanned<String>>,
    crisis_line: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    listen: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialogue {
    question_expiry: Option<Spanned<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT_PATH, DEFAULT_CONFIG).expect("the built-in configuration is valid")
    }
}

/// Collects problems against one file.
struct Checker<'a> {
    path: &'a str,
    lines: LineIndex,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report<T>(&mut self, value: &Spanned<T>, field: &str, reason: impl Into<String>) {
        let line = self.lines.line_of(value.span().start);
        self.problems.push(Problem::new(self.path, line, field, reason));
    }

    /// A text value: the file's if present and not empty, else the default's.
    fn text(&mut self, value: Option<&Spanned<String>>, field: &str, default: &str) -> String {
        match value {
            Some(v) if v.get_ref().trim().is_empty() => {
                self.report(v, field, "must not be empty");
                default.to_string()
            }
            Some(v) => v.get_ref().trim().to_string(),
            None => default.to_string(),
        }
    }

    fn duration(&mut self, value: Option<&Spanned<String>>, field: &str, default: Duration) -> Duration {
        let Some(v) = value else { return default };
        match humantime::parse_duration(v.get_ref()) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                self.report(v, field, "must be longer than zero");
                default
            }
            Err(e) => {
                self.report(v, field, format!("not a duration like \"90s\", \"5m\" or \"12h\": {e}"));
                default
            }
        }
    }
}

impl Checker<'_> {
    fn webhook(&mut self, raw: &RawWebhook) -> WebhookSettings {
        let listen_text = self.text(raw.listen.as_ref(), "telegram.webhook.listen", "127.0.0.1:8443");
        let listen = listen_text.parse().unwrap_or_else(|_| {
            if let Some(v) = &raw.listen {
                self.report(v, "telegram.webhook.listen", "not an address like \"127.0.0.1:8443\"");
            }
            std::net::SocketAddr::from(([127, 0, 0, 1], 8443))
        });
        let path = self.text(raw.path.as_ref(), "telegram.webhook.path", "/telegram");
        if !path.starts_with('/') {
            if let Some(v) = &raw.path {
                self.report(v, "telegram.webhook.path", "must start with /");
            }
        }
        let public_url = raw.public_url.as_ref().map(|v| v.get_ref().trim().to_string()).filter(|u| !u.is_empty());
        if let (Some(url), Some(v)) = (&public_url, &raw.public_url) {
            if !url.starts_with("https://") {
                self.report(v, "telegram.webhook.public_url", "Telegram only calls https:// addresses");
            }
        }
        let secret_env = self.text(raw.secret_env.as_ref(), "telegram.webhook.secret_env", "AFTERCARE_WEBHOOK_SECRET");
        WebhookSettings { listen, path, public_url, secret_env }
    }
}

impl Config {
    /// Reads and validates a configuration file's text; `path` is used in problem reports.
    pub fn parse(path: &str, contents: &str) -> Result<Config, Problems> {
        let lines = LineIndex::new(contents);
        let raw: RawConfig = toml::from_str(contents).map_err(|e| {
            let line = e.span().map(|s| lines.line_of(s.start)).unwrap_or(1);
            Problems(vec![Problem::new(path, line, "toml", e.message().trim().to_string())])
        })?;
        let mut checker = Checker { path, lines, problems: Vec::new() };

        let name = checker.text(raw.clinic.name.as_ref(), "clinic.name", "the clinic");
        let zone_name = checker.text(raw.clinic.time_zone.as_ref(), "clinic.time_zone", "America/New_York");
        let time_zone = match jiff::tz::TimeZone::get(&zone_name) {
            Ok(tz) => tz,
            Err(_) => {
                if let Some(v) = &raw.clinic.time_zone {
                    checker.report(
                        v,
                        "clinic.time_zone",
                        format!("unknown time zone `{zone_name}` (use an IANA name like \"Europe/London\")"),
                    );
                }
                jiff::tz::TimeZone::UTC
            }
        };
        let emergency_number = checker.text(raw.clinic.emergency_number.as_ref(), "clinic.emergency_number", "911");
        let dialable = emergency_number.chars().all(|c| c.is_ascii_digit() || c == '+' || c == ' ' || c == '-');
        if !dialable || !(2..=16).contains(&emergency_number.chars().filter(char::is_ascii_digit).count()) {
            if let Some(v) = &raw.clinic.emergency_number {
                checker.report(v, "clinic.emergency_number", "must be a phone number: digits, spaces, + and -");
            }
        }
        let crisis_line = checker.text(raw.clinic.crisis_line.as_ref(), "clinic.crisis_line", "988");
        let data_dir = PathBuf::from(checker.text(raw.storage.data_dir.as_ref(), "storage.data_dir", "data"));
        let question_expiry = checker.duration(
            raw.dialogue.question_expiry.as_ref(),
            "dialogue.question_expiry",
            Duration::from_secs(12 * 3600),
        );

        let poll_timeout =
            checker.duration(raw.telegram.poll_timeout.as_ref(), "telegram.poll_timeout", Duration::from_secs(10));
        if poll_timeout > Duration::from_secs(50) {
            if let Some(v) = &raw.telegram.poll_timeout {
                checker.report(
                    v,
                    "telegram.poll_timeout",
                    "at most 50s (the HTTP client gives up after about a minute)",
                );
            }
        }
        let per_chat_interval = match &raw.telegram.per_chat_interval {
            Some(v) if v.get_ref().trim() == "0s" || v.get_ref().trim() == "0" => Duration::ZERO,
            other => checker.duration(other.as_ref(), "telegram.per_chat_interval", Duration::from_secs(1)),
        };
        let staff_chat_id = raw.telegram.staff_chat_id.as_ref().map(|v| *v.get_ref()).filter(|id| *id != 0);
        let source = match raw.telegram.mode.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("polling") => UpdateSource::Polling,
            Some("webhook") => UpdateSource::Webhook(checker.webhook(&raw.telegram.webhook)),
            Some(other) => {
                let mode = raw.telegram.mode.as_ref().expect("matched Some");
                checker.report(mode, "telegram.mode", format!("`{other}` is not \"polling\" or \"webhook\""));
                UpdateSource::Polling
            }
        };
        let telegram = TelegramSettings { source, poll_timeout, per_chat_interval, staff_chat_id };

        if !checker.problems.is_empty() {
            return Err(Problems(checker.problems));
        }
        Ok(Config {
            clinic: Clinic { name, time_zone, emergency_number, crisis_line },
            data_dir,
            question_expiry,
            telegram,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_is_valid_and_is_the_default() {
        let config = Config::default();
        assert_eq!(config.clinic.emergency_number, "911");
        assert_eq!(config.question_expiry, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::parse("x.toml", "").unwrap();
        assert_eq!(config.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "[clinic]\nname = \"\"\ntime_zone = \"Mars/Olympus\"\nemergency_number = \"call us\"\n[dialogue]\nquestion_expiry = \"soon\"\n";
        let Problems(problems) = Config::parse("c.toml", text).unwrap_err();
        let rendered: Vec<String> = problems.iter().map(|p| format!("{}:{}", p.line, p.field)).collect();
        assert_eq!(
            rendered,
            ["2:clinic.name", "3:clinic.time_zone", "4:clinic.emergency_number", "6:dialogue.question_expiry"]
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let Problems(problems) = Config::parse("c.toml", "[clinic]\nnmae = \"x\"\n").unwrap_err();
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].reason.contains("nmae"), "{}", problems[0].reason);
    }
}
