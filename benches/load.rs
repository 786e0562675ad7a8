//! Load benchmark: the real `aftercare serve` binary against the Bot API stand-in, with many
//! patients writing at once.
//!
//! 1. Enrolment, flat out: every patient sends `/start`, the time of their treatment and how it
//!    was given, all pushed at once. This measures the most updates a second the bot gets through,
//!    and leaves that many patients enrolled, each with a schedule of check-ins.
//! 2. Conversations, paced: every patient describes a side effect (a message from the dev set) and
//!    answers two follow-up questions, pushed at a steady rate, mixed across patients.
//!
//! Each phase reports updates per second end to end (first push to last reply), the time from a
//! patient's message to the bot's first reply (p50, p99), and the bot's own processing latency
//! (from its `/metrics` histogram). At the end it reports the bot's peak memory and checks that
//! every chat received exactly the replies the engine gives for its messages (computed here with
//! the library's engine, no more, no fewer) and that the staff chat got one page per patient who
//! raised a red flag. Any lost or duplicated message makes it exit with status 1.
//!
//! `cargo bench --bench load`. Environment: `AFTERCARE_LOAD_PATIENTS` (default 10000),
//! `AFTERCARE_LOAD_RATE` (conversation messages a second, default 2500).
//!
//! The bot's send rate is lifted (`telegram.sends_per_second`) for the run: the real Telegram
//! accepts about 30 messages a second from a bot, so there it, not the bot, bounds the replies.

#[allow(unused)] // The end-to-end tests' stand-in (and its self-tests); this uses only part of it.
#[path = "../tests/it/support/bot_api.rs"]
mod bot_api;

use aftercare::config::Config;
use aftercare::staff::ALERTED;
use aftercare::triage::dialogue::{Action, Conversation, Engine, Input, Settings, Step};
use aftercare::triage::Catalogue;
use bot_api::{BotApi, Sent};
use jiff::Timestamp;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STAFF_CHAT: i64 = -1_001_000;
const FIRST_PATIENT: i64 = 1_000_000;
const TOKEN: &str = "123456:LOADtokenLOADtokenLOADtokenLOADtoken";
const ENROLMENT: &[&str] = &["/start", "just now", "IV infusion"];
/// The answers that follow each side effect in the conversation phase.
const ANSWERS: &[&str] = &["no", "3"];
/// How long a phase may take to get every reply out after its last push.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

fn main() {
    let patients = env_number("AFTERCARE_LOAD_PATIENTS", 10_000);
    let rate = env_number("AFTERCARE_LOAD_RATE", 2_500);
    let api = BotApi::start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let metrics_port = free_port();
    let config_text = config(&dir.path().join("data"), metrics_port);
    let config_path = dir.path().join("load.toml");
    std::fs::write(&config_path, &config_text).expect("write the config");
    let config = Config::parse("load.toml", &config_text).expect("the load config is valid");
    let catalogue = Catalogue::embedded().expect("the built-in catalogue is valid");
    let settings = Settings::from(&config);
    let mut oracle = Oracle::new(Engine::new(&catalogue, &settings));

    let mut bot = Bot::start(&api, &config_path);
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    println!("load: {patients} patients; the bot is pid {}", bot.child.id());

    let ids: Vec<i64> = (0..patients as i64).map(|i| FIRST_PATIENT + i).collect();
    let side_effects = dev_texts();
    let mut tracker = Tracker::default();

    let enrolment: Vec<(i64, String)> =
        ENROLMENT.iter().flat_map(|text| ids.iter().map(|id| (*id, text.to_string()))).collect();
    let before = processing_histogram(&metrics);
    let report = run_phase(&api, &mut oracle, &mut tracker, &enrolment, None);
    report.print("enrolment (flat out)", &processing_histogram(&metrics).since(&before));

    let scripts: HashMap<i64, Vec<String>> =
        ids.iter().map(|id| (*id, oracle.script_with_at_most_one_alert(*id, &side_effects))).collect();
    let longest = scripts.values().map(Vec::len).max().unwrap_or(0);
    let scripts = &scripts;
    let conversations: Vec<(i64, String)> = (0..longest)
        .flat_map(|step| ids.iter().filter_map(move |id| Some((*id, scripts[id].get(step)?.clone()))))
        .collect();
    let before = processing_histogram(&metrics);
    let report = run_phase(&api, &mut oracle, &mut tracker, &conversations, Some(rate));
    report.print(&format!("conversations (paced at {rate}/s)"), &processing_histogram(&metrics).since(&before));

    // Anything sent twice shows up a little later; give it the time.
    std::thread::sleep(Duration::from_secs(3));
    tracker.collect(&api);
    let memory = peak_memory(bot.child.id());
    bot.stop();
    println!("bot peak memory (VmHWM): {:.1} MB with {patients} patients enrolled", memory as f64 / 1e6);
    let problems = oracle.check(&tracker);
    if problems.is_empty() {
        println!("every reply arrived exactly once ({} messages, {} pages)", tracker.total(), oracle.alerted.len());
    } else {
        for problem in problems.iter().take(20) {
            println!("PROBLEM: {problem}");
        }
        println!("{} chats got other messages than expected", problems.len());
        std::process::exit(1);
    }
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener.local_addr().expect("its address").port()
}

/// The bot's config: replies not held back by Telegram's send rate, pages to one staff chat,
/// reminders to staff far beyond the run, and the metrics endpoint on.
fn config(data: &std::path::Path, metrics_port: u16) -> String {
    format!(
        "[telegram]\nstaff_chat_id = {STAFF_CHAT}\nsends_per_second = 1000000\n\
         [http]\nlisten = \"127.0.0.1:{metrics_port}\"\n\
         [roster]\nack_timeout_emergency = \"2h\"\nack_timeout_urgent = \"2h\"\nrepeat_every = \"2h\"\n\
         [storage]\ndata_dir = \"{}\"\n",
        data.display()
    )
}

/// Side-effect messages written like patients write: the dev set's texts.
fn dev_texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dev.jsonl");
    let lines = std::fs::read_to_string(path).expect("tests/data/dev.jsonl");
    lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|record| record["text"].as_str().map(str::to_string))
        .filter(|text| !text.trim().is_empty() && !text.starts_with('/'))
        .collect()
}

/// The running bot.
struct Bot {
    child: Child,
}

impl Bot {
    fn start(api: &BotApi, config: &std::path::Path) -> Bot {
        let child = Command::new(env!("CARGO_BIN_EXE_aftercare"))
            .args(["serve", "--config"])
            .arg(config)
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("TELOXIDE_API_URL", api.url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the aftercare binary starts");
        let ready = api.wait_until(|api| !api.commands().is_empty(), Duration::from_secs(60));
        assert!(ready, "the bot did not announce itself to the stand-in within a minute");
        Bot { child }
    }

    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident memory of a process, in bytes (Linux `VmHWM`); 0 where unknown.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// What each chat should receive, from the library's engine run on the same messages: the
/// patient's replies, plus "alerted" once a red flag paged the staff chat.
struct Oracle<'a> {
    engine: Engine<'a>,
    conversations: HashMap<i64, Conversation>,
    /// Per chat, the messages expected for each of its updates in turn.
    expected: HashMap<i64, Vec<Vec<String>>>,
    /// Patients whose red flag paged the staff chat.
    alerted: std::collections::HashSet<i64>,
}

impl<'a> Oracle<'a> {
    fn new(engine: Engine<'a>) -> Self {
        Oracle { engine, conversations: HashMap::new(), expected: HashMap::new(), alerted: Default::default() }
    }

    /// The engine's step for a patient's message, now (the bot steps at about the same time).
    fn engine_step(&self, conversation: &Conversation, text: &str) -> Step {
        self.engine.step(conversation, &Input::from_text(text), Timestamp::now())
    }

    /// Runs one patient message through the engine and records what the bot should send.
    fn step(&mut self, chat: i64, text: &str) {
        let step = self.engine_step(self.conversations.get(&chat).unwrap_or(&Conversation::default()), text);
        self.conversations.insert(chat, step.conversation);
        let mut messages: Vec<String> =
            step.actions.iter().filter_map(Action::as_reply).map(|r| r.text.clone()).collect();
        assert!(messages.iter().all(|m| m.chars().count() < 4000), "a reply this long would be split");
        if step.actions.iter().any(|a| matches!(a, Action::Escalate(_))) && self.alerted.insert(chat) {
            messages.push(ALERTED.to_string());
        }
        self.expected.entry(chat).or_default().push(messages);
    }

    /// A side effect and its answers for this patient, chosen so that at most one message raises
    /// an alert (a second one would append to the open incident or re-page, which this check does
    /// not model) and none records a treatment time. Tried on a copy of the conversation, so
    /// nothing is recorded.
    fn script_with_at_most_one_alert(&self, chat: i64, side_effects: &[String]) -> Vec<String> {
        let start = (chat as usize).wrapping_mul(7919) % side_effects.len();
        for offset in 0..side_effects.len() {
            let first = &side_effects[(start + offset) % side_effects.len()];
            let script: Vec<String> =
                std::iter::once(first.clone()).chain(ANSWERS.iter().map(|a| a.to_string())).collect();
            let mut conversation = self.conversations.get(&chat).cloned().unwrap_or_default();
            let treated = conversation.treatment;
            let mut alerts = 0;
            for text in &script {
                let step = self.engine_step(&conversation, text);
                alerts += step.actions.iter().filter(|a| matches!(a, Action::Escalate(_))).count();
                conversation = step.conversation;
            }
            // A message that records another treatment time ("I had my infusion yesterday")
            // moves the check-ins, and one may fall due during the run, depending on the time of
            // day: the bot's timer would send it, which this replay of the engine cannot foresee.
            if alerts <= 1 && conversation.treatment == treated {
                return script;
            }
        }
        panic!("no dev-set message gives a script with at most one alert");
    }

    fn expected_count(&self, chat: i64) -> usize {
        self.expected.get(&chat).map_or(0, |steps| steps.iter().map(Vec::len).sum())
    }

    /// Each chat's messages against what it should have got, as a multiset (the urgent and the
    /// routine lane may interleave differently); the staff chat by its number of pages.
    fn check(&self, tracker: &Tracker) -> Vec<String> {
        let mut problems = Vec::new();
        for (chat, steps) in &self.expected {
            let mut want: Vec<&str> = steps.iter().flatten().map(String::as_str).collect();
            let mut got: Vec<&str> = tracker.arrivals(*chat).iter().map(|(text, _)| text.as_str()).collect();
            want.sort_unstable();
            got.sort_unstable();
            if want != got {
                let missing = want.iter().filter(|w| !got.contains(w)).count();
                problems.push(format!(
                    "chat {chat}: expected {} messages, got {} ({missing} missing)",
                    want.len(),
                    got.len()
                ));
            }
        }
        let pages = tracker.arrivals(STAFF_CHAT);
        let mut distinct: Vec<&str> = pages.iter().map(|(text, _)| text.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let alerts = self.alerted.len();
        if pages.len() != alerts || distinct.len() != alerts {
            problems.push(format!(
                "staff chat: expected {} pages, got {} ({} distinct)",
                alerts,
                pages.len(),
                distinct.len()
            ));
        }
        for chat in tracker.chats() {
            if chat != STAFF_CHAT && !self.expected.contains_key(&chat) {
                problems.push(format!("chat {chat} got messages though it never wrote"));
            }
        }
        problems
    }
}

/// Everything the stand-in accepted, by chat, with when.
#[derive(Default)]
struct Tracker {
    seen: usize,
    by_chat: HashMap<i64, Vec<(String, Instant)>>,
}

impl Tracker {
    fn collect(&mut self, api: &BotApi) {
        let new = api.sent_since(self.seen);
        self.seen += new.len();
        for (Sent { chat_id, text, .. }, at) in new {
            self.by_chat.entry(chat_id).or_default().push((text, at));
        }
    }

    fn arrivals(&self, chat: i64) -> &[(String, Instant)] {
        self.by_chat.get(&chat).map_or(&[], Vec::as_slice)
    }

    fn chats(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_chat.keys().copied()
    }

    fn total(&self) -> usize {
        self.seen
    }
}

/// A phase's figures.
struct PhaseReport {
    updates: usize,
    elapsed: Duration,
    /// From each message's push to the first reply to it.
    first_reply: Vec<Duration>,
    unanswered: usize,
}

impl PhaseReport {
    fn print(&self, name: &str, processing: &Histogram) {
        let rate = self.updates as f64 / self.elapsed.as_secs_f64();
        println!(
            "{name}: {} updates in {:.2} s = {rate:.0} updates/s end to end",
            self.updates,
            self.elapsed.as_secs_f64()
        );
        println!(
            "  message to first reply: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
            millis(percentile(&self.first_reply, 0.50)),
            millis(percentile(&self.first_reply, 0.99)),
            millis(self.first_reply.last().copied().unwrap_or_default()),
            if self.unanswered > 0 {
                format!(" ({} messages without a reply)", self.unanswered)
            } else {
                String::new()
            }
        );
        println!(
            "  processing (bot's histogram, {} updates): p50 <= {}, p99 <= {}, {:.2}% within 50 ms",
            processing.count(),
            processing.quantile_bound(0.50),
            processing.quantile_bound(0.99),
            processing.share_within(0.05) * 100.0
        );
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `sorted` must be sorted.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Pushes the messages in order (all at once, or at `rate` a second), then waits until every
/// chat has what the oracle expects, and measures.
fn run_phase(
    api: &BotApi,
    oracle: &mut Oracle,
    tracker: &mut Tracker,
    messages: &[(i64, String)],
    rate: Option<usize>,
) -> PhaseReport {
    // Expected replies first, so they do not slow the pushing down.
    let mut steps: Vec<(i64, usize, usize)> = Vec::with_capacity(messages.len()); // chat, from, count
    for (chat, text) in messages {
        let from = oracle.expected_count(*chat);
        oracle.step(*chat, text);
        steps.push((*chat, from, oracle.expected_count(*chat) - from));
    }
    tracker.collect(api);
    let start = Instant::now();
    let mut pushed_at = Vec::with_capacity(messages.len());
    for (i, (chat, text)) in messages.iter().enumerate() {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if i % 256 == 0 {
                tracker.collect(api);
            }
        }
        pushed_at.push(Instant::now());
        api.push_text(*chat, text);
    }
    let complete =
        |tracker: &Tracker| steps.iter().all(|(chat, from, count)| tracker.arrivals(*chat).len() >= from + count);
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        tracker.collect(api);
        if complete(tracker) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut last = start;
    let mut first_reply = Vec::with_capacity(steps.len());
    let mut unanswered = 0;
    for ((chat, from, count), pushed) in steps.iter().zip(&pushed_at) {
        let arrivals = tracker.arrivals(*chat);
        match arrivals.get(*from..(from + count).min(arrivals.len())) {
            Some(replies) if !replies.is_empty() => {
                let first = replies.iter().map(|(_, at)| *at).min().unwrap_or(*pushed);
                last = last.max(replies.iter().map(|(_, at)| *at).max().unwrap_or(first));
                first_reply.push(first.saturating_duration_since(*pushed));
            }
            _ if *count > 0 => unanswered += 1,
            _ => {}
        }
    }
    first_reply.sort_unstable();
    PhaseReport { updates: messages.len(), elapsed: last - start, first_reply, unanswered }
}

/// The bot's `aftercare_update_seconds` histogram: cumulative counts by upper bound.
struct Histogram {
    buckets: Vec<(f64, f64)>,
}

fn processing_histogram(url: &str) -> Histogram {
    let body = reqwest::blocking::get(url).and_then(|r| r.text()).unwrap_or_default();
    let mut buckets = Vec::new();
    for line in body.lines().filter(|l| l.starts_with("aftercare_update_seconds_bucket{")) {
        let le = line.split("le=\"").nth(1).and_then(|rest| rest.split('"').next());
        let count = line.rsplit(' ').next().and_then(|c| c.parse::<f64>().ok());
        if let (Some(le), Some(count)) = (le, count) {
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or(f64::INFINITY) };
            buckets.push((bound, count));
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Histogram { buckets }
}

impl Histogram {
    /// What was recorded after `earlier`.
    fn since(&self, earlier: &Histogram) -> Histogram {
        let before = |bound: f64| earlier.buckets.iter().find(|(b, _)| *b == bound).map_or(0.0, |(_, c)| *c);
        Histogram { buckets: self.buckets.iter().map(|(b, c)| (*b, c - before(*b))).collect() }
    }

    fn count(&self) -> f64 {
        self.buckets.last().map_or(0.0, |(_, c)| *c)
    }

    /// The smallest bucket bound that at least `q` of the observations are within.
    fn quantile_bound(&self, q: f64) -> String {
        let total = self.count();
        match self.buckets.iter().find(|(_, c)| total > 0.0 && *c >= q * total) {
            Some((bound, _)) if bound.is_finite() => format!("{:.1} ms", bound * 1000.0),
            Some(_) => "more than the largest bucket".to_string(),
            None => "n/a".to_string(),
        }
    }

    fn share_within(&self, seconds: f64) -> f64 {
        let total = self.count();
        let within = self.buckets.iter().find(|(b, _)| *b == seconds).map_or(0.0, |(_, c)| *c);
        if total > 0.0 {
            within / total
        } else {
            0.0
        }
    }
}
