//! The clinic's configuration: read in two stages, a serde file of optional raw values, then
//! validated typed settings. Every problem is reported at once as `path:line: field: reason`.
//! The documented file `config/aftercare.toml` is built in and is also the default.

use crate::problem::{LineIndex, Problem, Problems};
use crate::roster::{self, ClockTime, Place, Roster, Shift, StaffMember};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::path::PathBuf;
use std::time::Duration;

/// The documented default configuration, built into the binary.
pub const DEFAULT_CONFIG: &str = include_str!("../config/aftercare.toml");
const DEFAULT_PATH: &str = "config/aftercare.toml";

/// Telegram accepts about 30 messages a second from a bot in all; each lane keeps a little under.
const DEFAULT_SENDS_PER_SECOND: u32 = 28;

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub clinic: Clinic,
    pub data_dir: PathBuf,
    /// Conversations idle this long are deleted (`None`: kept until `/forget`).
    pub retention: Option<Duration>,
    /// How long a pending question waits for its answer.
    pub question_expiry: Duration,
    pub telegram: TelegramSettings,
    /// When proactive check-ins go out after a treatment.
    pub check_ins: crate::triage::dialogue::check_ins::CheckInPlan,
    /// The on-call roster; empty (not configured) when the file has no `[[roster.staff]]`.
    pub roster: Roster,
    /// The operations endpoint (`/healthz`, `/metrics`) of `aftercare serve`.
    pub http: HttpSettings,
}

/// The operations endpoint: `GET /healthz` and `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Where to listen; `None` (the default) turns the endpoint off.
    pub listen: Option<std::net::SocketAddr>,
    /// `/healthz` fails once no Bot API call has succeeded for this long.
    pub telegram_stale_after: Duration,
}

/// The default of `http.telegram_stale_after`.
pub const DEFAULT_TELEGRAM_STALE_AFTER: Duration = Duration::from_secs(120);

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
    /// The most messages each sending lane (urgent, routine) starts in a second.
    pub sends_per_second: u32,
    /// Where pages go while there is no roster; `None` when not configured.
    pub staff_chat_id: Option<i64>,
    /// When the daily digest of the follow-up queue goes to staff (clinic time); `None`: never.
    pub digest_at: Option<jiff::civil::Time>,
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
    roster: Option<Spanned<RawRoster>>,
    #[serde(default)]
    check_ins: RawCheckIns,
    #[serde(default)]
    http: RawHttp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    telegram_stale_after: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckIns {
    offsets: Option<Vec<Spanned<String>>>,
    quiet_hours: Option<Spanned<String>>,
    grace: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoster {
    staff_group: Option<Spanned<i64>>,
    ack_timeout_emergency: Option<Spanned<String>>,
    ack_timeout_urgent: Option<Spanned<String>>,
    repeat_every: Option<Spanned<String>>,
    #[serde(default)]
    staff: Vec<Spanned<RawStaffMember>>,
    #[serde(default)]
    shift: Vec<Spanned<RawShift>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaffMember {
    id: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    chat_id: Option<Spanned<i64>>,
    role: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    days: Option<Spanned<RawDays>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    primary: Option<Spanned<String>>,
    backup: Option<Spanned<String>>,
}

/// A shift's days: `["mon", "tue"]`, or one name such as `"weekdays"`.
#[derive(Debug)]
enum RawDays {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawDays {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawDays;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of days like [\"mon\", \"tue\"], or \"daily\", \"weekdays\" or \"weekends\"")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawDays, E> {
                Ok(RawDays::One(value.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawDays, A::Error> {
                let mut days = Vec::new();
                while let Some(day) = seq.next_element()? {
                    days.push(day);
                }
                Ok(RawDays::Many(days))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    mode: Option<Spanned<String>>,
    #[serde(default)]
    webhook: RawWebhook,
    poll_timeout: Option<Spanned<String>>,
    per_chat_interval: Option<Spanned<String>>,
    sends_per_second: Option<Spanned<i64>>,
    staff_chat_id: Option<Spanned<i64>>,
    digest_at: Option<Spanned<String>>,
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
    retention_days: Option<Spanned<i64>>,
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
        self.report_at(value.span(), field, reason);
    }

    fn report_at(&mut self, span: std::ops::Range<usize>, field: &str, reason: impl Into<String>) {
        let line = self.lines.line_of(span.start);
        self.problems.push(Problem::new(self.path, line, field, reason));
    }

    /// A value that may be left out or empty (which turns its feature off), else parsed; a value
    /// that does not parse is reported with what was `expected`.
    fn optional<T>(
        &mut self,
        value: Option<&Spanned<String>>,
        field: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let v = value?;
        let text = v.get_ref().trim();
        if text.is_empty() {
            return None;
        }
        let parsed = parse(text);
        if parsed.is_none() {
            self.report(v, field, expected);
        }
        parsed
    }

    /// A whole number of 1 or more, if given.
    fn positive(&mut self, value: Option<&Spanned<i64>>, field: &str) -> Option<u32> {
        let v = value?;
        match u32::try_from(*v.get_ref()) {
            Ok(number) if number > 0 => Some(number),
            _ => {
                self.report(v, field, "must be a whole number, 1 or more");
                None
            }
        }
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
    fn check_ins(&mut self, raw: &RawCheckIns) -> crate::triage::dialogue::check_ins::CheckInPlan {
        let mut plan = crate::triage::dialogue::check_ins::CheckInPlan::default();
        if let Some(offsets) = &raw.offsets {
            plan.offsets = offsets
                .iter()
                .enumerate()
                .map(|(i, v)| self.duration(Some(v), &format!("check_ins.offsets[{i}]"), Duration::from_secs(3600)))
                .collect();
        }
        if let Some(v) = &raw.quiet_hours {
            let parsed = v.get_ref().split_once('-').and_then(|(from, to)| {
                let time = |t: &str| jiff::civil::Time::strptime("%H:%M", t.trim()).ok();
                Some((time(from)?, time(to)?))
            });
            match parsed {
                Some((from, until)) => (plan.quiet_from, plan.quiet_until) = (from, until),
                None => self.report(v, "check_ins.quiet_hours", "not a range like \"22:00-08:00\""),
            }
        }
        plan.grace = self.duration(raw.grace.as_ref(), "check_ins.grace", plan.grace);
        plan
    }

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

impl Checker<'_> {
    /// The `[http]` section: the operations endpoint, off unless `listen` is set.
    fn http(&mut self, raw: &RawHttp, telegram: &TelegramSettings) -> HttpSettings {
        let listen = self.optional(
            raw.listen.as_ref(),
            "http.listen",
            "not an address like \"127.0.0.1:9090\" (empty turns it off)",
            |text| text.parse::<std::net::SocketAddr>().ok(),
        );
        if let (Some(addr), Some(v), UpdateSource::Webhook(hook)) = (listen, &raw.listen, &telegram.source) {
            if hook.listen == addr {
                self.report(v, "http.listen", "is also telegram.webhook.listen: use another port");
            }
        }
        let telegram_stale_after =
            self.duration(raw.telegram_stale_after.as_ref(), "http.telegram_stale_after", DEFAULT_TELEGRAM_STALE_AFTER);
        if let Some(v) = &raw.telegram_stale_after {
            if telegram_stale_after <= telegram.poll_timeout {
                self.report(
                    v,
                    "http.telegram_stale_after",
                    format!(
                        "must be longer than telegram.poll_timeout ({}): a quiet long poll succeeds only that often",
                        humantime::format_duration(telegram.poll_timeout)
                    ),
                );
            }
        }
        HttpSettings { listen, telegram_stale_after }
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
        let retention = checker
            .positive(raw.storage.retention_days.as_ref(), "storage.retention_days")
            .map(|days| Duration::from_secs(u64::from(days) * 24 * 3600));
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
        let sends_per_second = checker
            .positive(raw.telegram.sends_per_second.as_ref(), "telegram.sends_per_second")
            .unwrap_or(DEFAULT_SENDS_PER_SECOND);
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
        let digest_at = checker.optional(
            raw.telegram.digest_at.as_ref(),
            "telegram.digest_at",
            "not a time like \"08:30\" (24-hour clock), or \"\" for none",
            |text| jiff::civil::Time::strptime("%H:%M", text).ok(),
        );
        let telegram =
            TelegramSettings { source, poll_timeout, per_chat_interval, sends_per_second, staff_chat_id, digest_at };
        let roster = checker.roster(raw.roster.as_ref(), &time_zone);
        let check_ins = checker.check_ins(&raw.check_ins);
        let http = checker.http(&raw.http, &telegram);

        if !checker.problems.is_empty() {
            return Err(Problems(checker.problems));
        }
        Ok(Config {
            clinic: Clinic { name, time_zone, emergency_number, crisis_line },
            data_dir,
            retention,
            question_expiry,
            telegram,
            roster,
            check_ins,
            http,
        })
    }
}

impl Checker<'_> {
    /// The `[roster]` section: each entry's fields are read here, then [`Roster::check`] finds
    /// what is wrong across entries (unknown ids, overlaps, gaps), reported at the lines they came from.
    fn roster(&mut self, raw: Option<&Spanned<RawRoster>>, time_zone: &jiff::tz::TimeZone) -> Roster {
        let Some(section) = raw else { return Roster { time_zone: time_zone.clone(), ..Roster::default() } };
        let raw = section.get_ref();
        let ack_timeout_emergency = self.duration(
            raw.ack_timeout_emergency.as_ref(),
            "roster.ack_timeout_emergency",
            roster::DEFAULT_ACK_TIMEOUT_EMERGENCY,
        );
        let ack_timeout_urgent = self.duration(
            raw.ack_timeout_urgent.as_ref(),
            "roster.ack_timeout_urgent",
            roster::DEFAULT_ACK_TIMEOUT_URGENT,
        );
        let repeat_every =
            self.duration(raw.repeat_every.as_ref(), "roster.repeat_every", roster::DEFAULT_REPEAT_EVERY);
        let staff_group = raw.staff_group.as_ref().map(|v| *v.get_ref()).filter(|id| *id != 0);

        let staff: Vec<StaffMember> = raw
            .staff
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let m = entry.get_ref();
                let id = m.id.as_ref().map(|v| v.get_ref().trim().to_string()).unwrap_or_default();
                let name = self.text(m.name.as_ref(), &format!("roster.staff[{i}].name"), &id);
                let role = m.role.as_ref().map(|v| v.get_ref().trim().to_string()).unwrap_or_default();
                let chat_id = m.chat_id.as_ref().map(|v| *v.get_ref()).unwrap_or(0);
                StaffMember { id, name, chat_id, role }
            })
            .collect();

        // Shifts whose days or times cannot be read are left out of the cross-checks; `origins`
        // maps the shifts kept back to their entries.
        let mut shifts = Vec::new();
        let mut origins = Vec::new();
        for (i, entry) in raw.shift.iter().enumerate() {
            if let Some(shift) = self.shift(i, entry) {
                shifts.push(shift);
                origins.push(i);
            }
        }
        let every_shift_read = origins.len() == raw.shift.len();

        let roster = Roster {
            staff,
            shifts,
            staff_group,
            ack_timeout_emergency,
            ack_timeout_urgent,
            repeat_every,
            time_zone: time_zone.clone(),
        };
        for problem in roster.check() {
            let (span, field) = match problem.place {
                Place::Roster => {
                    let value = match problem.field {
                        "staff_group" => raw.staff_group.as_ref().map(Spanned::span),
                        "ack_timeout_emergency" => raw.ack_timeout_emergency.as_ref().map(Spanned::span),
                        "ack_timeout_urgent" => raw.ack_timeout_urgent.as_ref().map(Spanned::span),
                        "repeat_every" => raw.repeat_every.as_ref().map(Spanned::span),
                        // Gaps: coverage is unknown while a shift could not be read.
                        "shift" if !every_shift_read => continue,
                        _ => None,
                    };
                    (value.unwrap_or(section.span()), format!("roster.{}", problem.field))
                }
                Place::Staff(i) => {
                    let (entry, m) = (&raw.staff[i], raw.staff[i].get_ref());
                    let value = match problem.field {
                        "id" => m.id.as_ref().map(Spanned::span),
                        "name" => m.name.as_ref().map(Spanned::span),
                        "chat_id" => m.chat_id.as_ref().map(Spanned::span),
                        "role" => m.role.as_ref().map(Spanned::span),
                        _ => None,
                    };
                    (value.unwrap_or(entry.span()), field_path("roster.staff", i, problem.field))
                }
                Place::Shift(kept) => {
                    let i = origins[kept];
                    let (entry, s) = (&raw.shift[i], raw.shift[i].get_ref());
                    let value = match problem.field {
                        "days" => s.days.as_ref().map(Spanned::span),
                        "from" => s.from.as_ref().map(Spanned::span),
                        "to" => s.to.as_ref().map(Spanned::span),
                        "primary" => s.primary.as_ref().map(Spanned::span),
                        "backup" => s.backup.as_ref().map(Spanned::span),
                        _ => None,
                    };
                    (value.unwrap_or(entry.span()), field_path("roster.shift", i, problem.field))
                }
            };
            self.report_at(span, &field, problem.reason);
        }
        roster
    }

    /// One `[[roster.shift]]`; `None` (with the problems reported) when its days or times cannot be read.
    fn shift(&mut self, i: usize, entry: &Spanned<RawShift>) -> Option<Shift> {
        let raw = entry.get_ref();
        let mut readable = true;
        let mut days = Vec::new();
        match &raw.days {
            None => {
                self.report(entry, &format!("roster.shift[{i}].days"), "is missing: the days the shift starts on");
                readable = false;
            }
            Some(v) => {
                let names: Vec<(&str, std::ops::Range<usize>)> = match v.get_ref() {
                    RawDays::One(name) => vec![(name.as_str(), v.span())],
                    RawDays::Many(names) => names.iter().map(|n| (n.get_ref().as_str(), n.span())).collect(),
                };
                for (name, span) in names {
                    match roster::parse_days(name) {
                        Ok(more) => days.extend_from_slice(more),
                        Err(reason) => {
                            self.report_at(span, &format!("roster.shift[{i}].days"), reason);
                            readable = false;
                        }
                    }
                }
                days.sort_by_key(|d| d.to_monday_zero_offset());
                days.dedup();
            }
        }
        let mut clock = |value: Option<&Spanned<String>>, field: &str| -> Option<ClockTime> {
            let field = format!("roster.shift[{i}].{field}");
            let Some(v) = value else {
                self.report(entry, &field, "is missing: a time like \"08:00\"");
                return None;
            };
            ClockTime::parse(v.get_ref()).map_err(|reason| self.report(v, &field, reason)).ok()
        };
        let from = clock(raw.from.as_ref(), "from");
        let to = clock(raw.to.as_ref(), "to");
        let primary = raw.primary.as_ref().map(|v| v.get_ref().trim().to_string()).unwrap_or_default();
        let backup = raw.backup.as_ref().map(|v| v.get_ref().trim().to_string());
        match (from, to) {
            (Some(from), Some(to)) if readable => Some(Shift { days, from, to, primary, backup }),
            _ => None,
        }
    }
}

/// `roster.staff[2].chat_id`, or `roster.staff[2]` for the entry as a whole.
fn field_path(list: &str, i: usize, field: &str) -> String {
    if field.is_empty() {
        format!("{list}[{i}]")
    } else {
        format!("{list}[{i}].{field}")
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
    fn the_send_rate_has_a_default_and_refuses_zero() {
        assert_eq!(Config::default().telegram.sends_per_second, DEFAULT_SENDS_PER_SECOND);
        let fast = Config::parse("x.toml", "[telegram]\nsends_per_second = 500\n").unwrap();
        assert_eq!(fast.telegram.sends_per_second, 500);
        for bad in ["0", "-3", "5000000000"] {
            let text = format!("[telegram]\nsends_per_second = {bad}\n");
            let Problems(problems) = Config::parse("x.toml", &text).unwrap_err();
            let rendered: Vec<String> = problems.iter().map(|p| format!("{}:{}", p.line, p.field)).collect();
            assert_eq!(rendered, ["2:telegram.sends_per_second"], "{bad}");
        }
    }

    #[test]
    fn the_http_endpoint_is_off_by_default_and_read_from_the_file() {
        let http = Config::default().http;
        assert_eq!(http, HttpSettings { listen: None, telegram_stale_after: DEFAULT_TELEGRAM_STALE_AFTER });
        assert_eq!(Config::parse("x.toml", "[http]\nlisten = \"\"\n").unwrap().http.listen, None);
        let text = "[http]\nlisten = \"127.0.0.1:9090\"\ntelegram_stale_after = \"30s\"\n";
        let http = Config::parse("x.toml", text).unwrap().http;
        assert_eq!(http.listen, Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9090))));
        assert_eq!(http.telegram_stale_after, Duration::from_secs(30));
    }

    #[test]
    fn http_problems_are_reported_with_their_lines() {
        let text =
            "[telegram]\nmode = \"webhook\"\npoll_timeout = \"20s\"\n[telegram.webhook]\nlisten = \"127.0.0.1:8443\"\n\
                    [http]\nlisten = \"127.0.0.1:8443\"\ntelegram_stale_after = \"15s\"\n";
        let Problems(problems) = Config::parse("c.toml", text).unwrap_err();
        let rendered: Vec<String> = problems.iter().map(|p| format!("{}:{}: {}", p.line, p.field, p.reason)).collect();
        assert_eq!(
            rendered,
            [
                "7:http.listen: is also telegram.webhook.listen: use another port",
                "8:http.telegram_stale_after: must be longer than telegram.poll_timeout (20s): a quiet long poll \
                 succeeds only that often",
            ]
        );
        let Problems(problems) = Config::parse("c.toml", "[http]\nlisten = \"localhost\"\n").unwrap_err();
        assert_eq!((problems[0].line, problems[0].field.as_str()), (2, "http.listen"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let Problems(problems) = Config::parse("c.toml", "[clinic]\nnmae = \"x\"\n").unwrap_err();
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].reason.contains("nmae"), "{}", problems[0].reason);
    }

    /// The built-in file with its commented-out example roster (the `#` lines from
    /// `# [[roster.staff]]` on) uncommented.
    fn with_example_roster() -> String {
        let start = DEFAULT_CONFIG.find("# [[roster.staff]]").expect("the built-in file has an example roster");
        let mut text = DEFAULT_CONFIG[..start].to_string();
        let mut lines = DEFAULT_CONFIG[start..].lines().peekable();
        while let Some(line) = lines.next_if(|line| line.starts_with('#')) {
            text.push_str(line.strip_prefix("# ").unwrap_or(&line[1..]));
            text.push('\n');
        }
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    fn roster_problems(text: &str) -> Vec<String> {
        let Problems(problems) = Config::parse("c.toml", text).unwrap_err();
        problems.iter().map(|p| format!("{}:{}: {}", p.line, p.field, p.reason)).collect()
    }

    const STAFF: &str = "[roster]\n\
        [[roster.staff]]\nid = \"patel\"\nchat_id = 111\n\
        [[roster.staff]]\nid = \"okafor\"\nname = \"Sam Okafor\"\nchat_id = 222\nrole = \"nurse\"\n";

    #[test]
    fn the_built_in_file_has_no_roster_and_the_default_timeouts() {
        let roster = Config::default().roster;
        assert!(!roster.is_configured());
        assert_eq!(roster.staff_group, None);
        assert_eq!(roster.ack_timeout_emergency, Duration::from_secs(5 * 60));
        assert_eq!(roster.ack_timeout_urgent, Duration::from_secs(10 * 60));
        assert_eq!(roster.repeat_every, Duration::from_secs(10 * 60));
        assert!(!Config::parse("x.toml", "").unwrap().roster.is_configured());
    }

    #[test]
    fn the_example_roster_in_the_built_in_file_is_valid() {
        let config = Config::parse("c.toml", &with_example_roster()).unwrap_or_else(|p| panic!("{p}"));
        let roster = &config.roster;
        assert_eq!(roster.staff.len(), 2);
        assert_eq!(roster.staff[0].name, "Dr Priya Patel");
        assert_eq!(roster.staff[1].role, "nurse practitioner");
        assert_eq!(roster.shifts.len(), 3);
        // Wednesday 2026-06-10 09:00 in New York (EDT, UTC-4): the day shift.
        let day = roster.on_call("2026-06-10T13:00:00Z".parse().unwrap()).unwrap();
        assert_eq!((day.primary.id.as_str(), day.backup.map(|b| b.id.as_str())), ("patel", Some("okafor")));
        // Saturday 2026-06-13 02:00 local: Friday's night shift.
        let night = roster.on_call("2026-06-13T06:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(night.primary.id, "okafor");
        assert_eq!(night.shift.to_string(), "mon-fri 20:00-08:00");
    }

    #[test]
    fn a_roster_is_read_from_the_file() {
        let staff = STAFF.replace("[roster]\n", "[roster]\nstaff_group = -100\nack_timeout_emergency = \"90s\"\n");
        let text = format!(
            "[clinic]\ntime_zone = \"Europe/London\"\n{staff}\
             [[roster.shift]]\ndays = [\"Monday\", \"weekends\"]\nfrom = \"9:00\"\nto = \"21:00\"\nprimary = \"patel\"\nbackup = \" okafor \"\n\
             [[roster.shift]]\ndays = [\"mon\", \"sat\", \"sun\"]\nfrom = \"21:00\"\nto = \"09:00\"\nprimary = \"okafor\"\n\
             [[roster.shift]]\ndays = [\"tue\", \"wed\", \"thu\", \"fri\"]\nfrom = \"09:00\"\nto = \"09:00\"\nprimary = \"okafor\"\n"
        );
        let config = Config::parse("c.toml", &text).unwrap_or_else(|p| panic!("{p}"));
        let roster = &config.roster;
        assert_eq!(roster.staff_group, Some(-100));
        assert_eq!(roster.ack_timeout_emergency, Duration::from_secs(90));
        assert_eq!(roster.ack_timeout_urgent, Duration::from_secs(600));
        assert_eq!(roster.staff[0].name, "patel", "the name defaults to the id");
        assert_eq!(roster.staff[1].name, "Sam Okafor");
        assert_eq!(roster.shifts[0].to_string(), "mon, sat, sun 09:00-21:00");
        assert_eq!(roster.shifts[0].backup.as_deref(), Some("okafor"));
        assert!(roster.is_staff_chat(-100) && roster.is_staff_chat(222));
        // Monday 2026-06-08 08:30 in London (BST, UTC+1): Sunday's night shift; 09:00 the day shift.
        assert_eq!(roster.on_call("2026-06-08T07:30:00Z".parse().unwrap()).unwrap().primary.id, "okafor");
        assert_eq!(roster.on_call("2026-06-08T08:00:00Z".parse().unwrap()).unwrap().primary.id, "patel");
    }

    #[test]
    fn every_roster_problem_is_reported_with_its_line() {
        let text = format!(
            "{STAFF}\
             [[roster.staff]]\nid = \"patel\"\nchat_id = 111\n\
             [[roster.shift]]\ndays = [\"mon\", \"tues\"]\nfrom = \"08:00\"\nto = \"8pm\"\nprimary = \"patel\"\n\
             [[roster.shift]]\ndays = \"weekdays\"\nfrom = \"08:00\"\nto = \"20:00\"\nprimary = \"patle\"\nbackup = \"okafor\"\n\
             [[roster.shift]]\ndays = \"mon\"\nfrom = \"19:00\"\nto = \"21:00\"\nprimary = \"okafor\"\nbackup = \"okafor\"\n\
             [[roster.shift]]\nfrom = \"01:00\"\nprimary = \"okafor\"\n"
        )
        .replace("[roster]\n", "[roster]\nack_timeout_urgent = \"0s\"\nrepeat_every = \"often\"\n");
        assert_eq!(
            roster_problems(&text),
            [
                "2:roster.ack_timeout_urgent: must be longer than zero",
                "3:roster.repeat_every: not a duration like \"90s\", \"5m\" or \"12h\": expected number at 0",
                "16:roster.shift[0].days: `tues` is not a day (use mon, tue, wed, thu, fri, sat, sun, weekdays, \
                 weekends or daily)",
                "18:roster.shift[0].to: `8pm` is not a time like \"08:00\" or \"20:30\" (24-hour clock)",
                "32:roster.shift[3].days: is missing: the days the shift starts on",
                "32:roster.shift[3].to: is missing: a time like \"08:00\"",
                "13:roster.staff[2].id: `patel` is already the id of another member",
                "14:roster.staff[2].chat_id: 111 is also the chat of `patel`",
                "24:roster.shift[1].primary: no staff member has the id `patle` (known: patel, okafor)",
                "31:roster.shift[2].backup: is the same as primary",
                "26:roster.shift[2]: overlaps the mon-fri 08:00-20:00 shift of `patle` on mon 19:00-20:00 \
                 (only one shift may be on call at a time)",
            ]
        );
    }

    #[test]
    fn gaps_are_reported_at_the_roster_section() {
        let text = format!(
            "[clinic]\nname = \"x\"\n{STAFF}\
             [[roster.shift]]\ndays = \"weekdays\"\nfrom = \"08:00\"\nto = \"20:00\"\nprimary = \"patel\"\n"
        );
        assert_eq!(
            roster_problems(&text),
            ["3:roster.shift: nobody on call on mon-thu 20:00-08:00; fri 20:00 to mon 08:00 \
              (every minute of the week needs a shift)"]
        );
        // Staff without shifts: nobody is ever on call.
        assert_eq!(
            roster_problems(STAFF),
            ["1:roster.shift: nobody on call at any time: add [[roster.shift]] entries that cover the whole week"]
        );
    }

    #[test]
    fn a_roster_without_staff_is_no_roster_but_a_lone_staff_group_is_reported() {
        let config = Config::parse("c.toml", "[roster]\nack_timeout_urgent = \"15m\"\n").unwrap();
        assert!(!config.roster.is_configured());
        assert_eq!(
            roster_problems("[telegram]\nstaff_chat_id = 5\n[roster]\nstaff_group = -100\n"),
            ["4:roster.staff_group: is set but the roster has no [[roster.staff]]; without a roster pages go to \
              telegram.staff_chat_id"]
        );
    }

    #[test]
    fn unknown_roster_keys_and_wrong_types_are_named() {
        let problems = roster_problems("[[roster.staff]]\nid = \"a\"\nchat = 1\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("3:toml:") && problems[0].contains("chat"), "{}", problems[0]);
        let problems = roster_problems("[[roster.shift]]\ndays = 5\n");
        assert!(problems[0].starts_with("2:toml:") && problems[0].contains("\"weekdays\""), "{}", problems[0]);
    }
}
