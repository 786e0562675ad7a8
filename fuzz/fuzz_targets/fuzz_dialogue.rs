//! The whole dialogue: a sequence of arbitrary inputs (typed text, edits, button presses real
//! and forged, commands, stickers, check-ins) through `Engine::step`, with the clock moving on.
//! Never panics, and every step keeps the conversation consistent.
#![no_main]

use aftercare::config::Config;
use aftercare::triage::dialogue::state::RECENT_MESSAGES;
use aftercare::triage::dialogue::{Action, Command, Conversation, Engine, Input, Settings, Step};
use aftercare_fuzz::{catalogue, now, zone};
use arbitrary::Arbitrary;
use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// Patient words that reach deep states: every catalogue example and counter-example, and the
/// answers the dialogue asks for.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    // One per `|`: a patient can send an empty or blank message too.
    let answers = "yes|no|not sure|yeah|nope|maybe|7|3/10|really bad|mild|better|worse|the same|2 hours ago|\
         this morning|yesterday at 3pm|just now|at 14:30|iv infusion|nasal spray|\
         i had my infusion today at 2pm|im fine|all good|never mind|im safe|bp 180/110|pulse 130|\
         no monitor|1|2|3|4|5|| |hi|thanks|/start|/help|/stop|/forget|/treated 3 hours ago|/treated|🙂|👍"
        .split('|');
    let catalogue = catalogue();
    answers
        .map(str::to_string)
        .chain(catalogue.intents().iter().flat_map(|i| i.examples.iter().chain(&i.counter_examples).cloned()))
        .collect()
});

/// Button data the bot sends, and forms a forged callback could take.
const BUTTON_KINDS: [&str; 10] = ["yes", "no", "unsure", "sev", "trend", "route", "forget", "checkin", "when", "fx"];

#[derive(Debug, Arbitrary)]
enum Text {
    Word(u16),
    Two(u16, u16),
    /// A word with its first number replaced: "2 hours ago" becomes "175307617 hours ago".
    Number(u16, u64),
    Free(String),
}

#[derive(Debug, Arbitrary)]
enum Press {
    /// One of the buttons the last reply offered (wraps around; nothing offered: "yes").
    Offered(u8),
    /// A known kind with any value: `sev:42`, `fx:nope`.
    Kind(u8, String),
    /// A known kind with a number: `when:-5`, `sev:11`.
    Number(u8, i64),
    /// Anything at all.
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Event {
    Text(Text),
    /// Typed, then read as a command if it starts with a known `/command`.
    Typed(Text),
    Edited(Text),
    Button(Press),
    Command(u8, Text),
    NonText(Option<Text>),
    CheckInDue(u8),
}

#[derive(Debug, Arbitrary)]
enum Wait {
    Seconds(u8),
    Minutes(u8),
    Hours(u8),
}

#[derive(Debug, Arbitrary)]
struct Session {
    zone: u8,
    start: [u8; 4],
    steps: Vec<(Wait, Event)>,
}

fn text(t: &Text) -> String {
    let words = &*WORDS;
    match t {
        Text::Word(i) => words[usize::from(*i) % words.len()].clone(),
        Text::Two(a, b) => format!("{} {}", words[usize::from(*a) % words.len()], words[usize::from(*b) % words.len()]),
        Text::Number(i, n) => {
            let word = &words[usize::from(*i) % words.len()];
            match word.find(|c: char| c.is_ascii_digit()) {
                Some(start) => {
                    let end = word[start..].find(|c: char| !c.is_ascii_digit()).map_or(word.len(), |e| start + e);
                    format!("{}{n}{}", &word[..start], &word[end..])
                }
                None => format!("{word} {n}"),
            }
        }
        Text::Free(s) => s.clone(),
    }
}

fn input(event: &Event, conversation: &Conversation) -> Input {
    match event {
        Event::Text(t) => Input::Text(text(t)),
        Event::Typed(t) => Input::from_text(&text(t)),
        Event::Edited(t) => Input::Edited(text(t)),
        Event::Button(Press::Offered(i)) => Input::Button(match conversation.offered.len() {
            0 => "yes".to_string(),
            n => conversation.offered[usize::from(*i) % n].data.clone(),
        }),
        Event::Button(Press::Kind(k, value)) => {
            Input::Button(format!("{}:{value}", BUTTON_KINDS[usize::from(*k) % BUTTON_KINDS.len()]))
        }
        Event::Button(Press::Number(k, n)) => {
            Input::Button(format!("{}:{n}", BUTTON_KINDS[usize::from(*k) % BUTTON_KINDS.len()]))
        }
        Event::Button(Press::Raw(data)) => Input::Button(data.clone()),
        Event::Command(c, argument) => {
            let commands = [Command::Start, Command::Help, Command::Treated, Command::Stop, Command::Forget];
            Input::Command { command: commands[usize::from(*c) % commands.len()], argument: text(argument) }
        }
        Event::NonText(caption) => Input::NonText { caption: caption.as_ref().map(text) },
        Event::CheckInDue(number) => Input::CheckInDue { number: u32::from(*number) },
    }
}

/// What must hold after every step.
fn check(before: &Conversation, step: &Step, now: Timestamp) {
    let after = &step.conversation;
    // Emergency instructions lead: the urgent replies are a prefix of the actions.
    let urgent = step.actions.iter().take_while(|a| a.as_reply().is_some_and(|r| r.urgent)).count();
    assert!(
        step.actions.iter().skip(urgent).all(|a| !a.as_reply().is_some_and(|r| r.urgent)),
        "an urgent reply after another action: {:#?}",
        step.actions
    );
    for action in &step.actions {
        match action {
            Action::Escalate(alert) => assert!(alert.disposition.pages_on_call(), "paged for {:?}", alert.disposition),
            Action::Reply(reply) => {
                assert!(!reply.text.trim().is_empty(), "an empty reply");
                for button in &reply.buttons {
                    assert!(!button.label.is_empty() && !button.data.is_empty(), "{button:?}");
                    assert!(button.data.len() <= 64, "button data over Telegram's 64 bytes: {button:?}");
                }
            }
            Action::ScheduleCheckIns { treated_at } => assert!(*treated_at <= now, "treated in the future"),
            Action::Record(event) => assert_eq!(event.at, now),
            _ => {}
        }
    }
    assert!(after.recent.len() <= RECENT_MESSAGES);
    assert!(after.first_seen.is_some_and(|t| t <= now) || step.actions.contains(&Action::Forget));
    if let Some(pending) = &after.pending {
        assert!(pending.asked_at <= now);
    }
    if let Some(treatment) = &after.treatment {
        assert!(treatment.at <= now, "treatment at {} after now {now}", treatment.at);
    }
    if let Some(episode) = &after.episode {
        assert!(episode.started <= now);
        assert!(episode.current <= episode.disposition, "{episode:#?}");
        assert!(episode.paged.is_none_or(|p| p <= episode.disposition), "{episode:#?}");
        assert!(episode.severity.is_none_or(|s| s <= 10), "{episode:#?}");
        // The same episode (it started at the same instant): its disposition only rises.
        if let Some(old) = before.episode.as_ref().filter(|old| old.started == episode.started) {
            assert!(episode.disposition >= old.disposition, "disposition fell: {old:#?} -> {episode:#?}");
        }
    }
}

static SETTINGS: LazyLock<Settings> = LazyLock::new(|| Settings::from(&Config::default()));

fuzz_target!(|session: Session| {
    let settings = Settings { time_zone: zone(session.zone), ..SETTINGS.clone() };
    let engine = Engine::new(catalogue(), &settings);
    let mut clock = now(session.start);
    let mut conversation = Conversation::default();
    for (wait, event) in session.steps.iter().take(64) {
        let seconds = match wait {
            Wait::Seconds(s) => 1 + i64::from(*s),
            Wait::Minutes(m) => 60 * (1 + i64::from(*m)),
            Wait::Hours(h) => 3600 * (1 + i64::from(*h)),
        };
        clock = clock.checked_add(SignedDuration::from_secs(seconds)).expect("in range");
        let input = input(event, &conversation);
        let step = engine.step(&conversation, &input, clock);
        check(&conversation, &step, clock);
        assert_eq!(step, engine.step(&conversation, &input, clock), "the same step twice differs");
        conversation = step.conversation;
    }
});
