//! The fuzz targets' entry points, briefly, in the normal suite (the long runs are `cargo fuzz`,
//! see "Fuzzing" in the README): the matcher, the answer parsers, readings and time spans, the
//! config and intent loaders, and the dialogue over a sequence of inputs. Each property asserts
//! no panic and the basic invariants; the regression cases below are inputs the fuzzers found.

use crate::catalogue;
use aftercare::config::{Config, DEFAULT_CONFIG};
use aftercare::problem::Problem;
use aftercare::triage::catalogue::{CatalogueSource, SourceFile};
use aftercare::triage::dialogue::state::RECENT_MESSAGES;
use aftercare::triage::dialogue::{answers, Action, Command, Conversation, Engine, Input, Settings, Step};
use aftercare::triage::matcher::{classify, classify_with};
use aftercare::triage::normalise::FoldedText;
use aftercare::triage::readings;
use aftercare::triage::{elapsed, Catalogue};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use std::sync::LazyLock;
use std::time::Duration;

/// The fuzz targets' own helpers and invariants, so both run the same checks.
#[allow(dead_code)] // the fuzz-only helpers (`catalogue`, `clock_and_text`)
#[path = "../../fuzz/src/lib.rs"]
mod fuzz_checks;
use fuzz_checks::{check_classification, check_readings};

fn zone(index: usize) -> TimeZone {
    fuzz_checks::zone((index % 256) as u8)
}

/// A clock between 1990 and 2126.
fn now(seconds: u32) -> Timestamp {
    fuzz_checks::now(seconds.to_le_bytes())
}

/// Every problem names the file, a line inside it, a field and a reason.
fn check_problems(problems: &[Problem], path: &str, contents: &str) -> Result<(), TestCaseError> {
    let lines = contents.lines().count().max(1);
    for problem in problems.iter().filter(|p| p.path == path) {
        prop_assert!(!problem.reason.trim().is_empty(), "empty reason: {}", problem);
        prop_assert!(!problem.field.trim().is_empty(), "empty field: {}", problem);
        prop_assert!(problem.line >= 1 && problem.line <= lines + 1, "line {} of {}: {}", problem.line, lines, problem);
    }
    Ok(())
}

/// Answers as patients write them, with numbers of any size.
fn answer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        "(about |like |its |a )?(\\d{1,3}(\\.5)?|zero|seven|ten|eleven)( ?/ ?10| out of 10| ?ish)?",
        "(\\d{1,25}(\\.\\d{1,3})?|an?|half an|a few|couple of|twelve) ?(minutes?|mins?|hours?|hrs?|h|days?|weeks?) (ago|back|earlier)",
        "(today |yesterday |this morning |last night |day before yesterday )?(at )?\\d{1,3}([:.]\\d{2})? ?(am|pm|a\\.m\\.)?",
        "(yes|no|not sure|nope|yeah|maybe|better|worse|the same|really bad|mild|iv|spray)[ ,.!a-z]{0,20}",
        "(i )?(had|got|finished) my (ketamine )?(infusion|session|spray|dose) (today|yesterday|just now|\\d{1,20} hours ago)( at \\d{1,2}(am|pm))?",
    ]
}

/// Text with readings and time spans in it.
fn vitals_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "\\d{1,5} ?(/|over|on|\\\\) ?\\d{1,5}",
            "(pulse|heart rate|hr|watch says|resting) (is |at )?\\d{1,5}( bpm)?",
            "\\d{1,5} ?(bpm|beats|min|hours|mg)",
            "(for |since )?(\\d{1,30}|a few|two|several) ?(minutes?|hours?|days?|weeks?|months?|years?)( ago| now)?",
            "(day \\d{1,3}|since monday|its friday now|at \\d{1,2}(am|pm)|its now \\d{1,2}(am|pm)|yesterday)",
            "[a-z ,.!?é😴]{0,12}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.join(" "))
}

/// The documented config with one line replaced, or a line added to a section.
fn config_text() -> impl Strategy<Value = String> {
    let count = DEFAULT_CONFIG.lines().count();
    prop_oneof![
        "\\PC{0,300}",
        (0..count, "\\PC{0,60}").prop_map(|(i, new)| {
            let mut lines: Vec<&str> = DEFAULT_CONFIG.lines().collect();
            lines[i] = &new;
            lines.join("\n")
        }),
        (
            "(clinic|storage|dialogue|telegram|telegram\\.webhook|roster|check_ins)",
            "[a-z_]{1,20}",
            "(\"\\PC{0,30}\"|-?\\d{1,20}|true|\\[\"\\PC{0,10}\"\\]|\\{\\})"
        )
            .prop_map(|(section, key, value)| format!("{DEFAULT_CONFIG}\n[{section}]\n{key} = {value}\n")),
        "(-?\\d{1,25}(ns|us|ms|s|m|h|d|w|y|months?)){1,3}".prop_map(|duration| format!(
            "[dialogue]\nquestion_expiry = \"{duration}\"\n[telegram]\npoll_timeout = \"{duration}\"\n\
             [check_ins]\noffsets = [\"{duration}\"]\ngrace = \"{duration}\"\n"
        )),
    ]
}

static SOURCE: LazyLock<CatalogueSource> = LazyLock::new(CatalogueSource::embedded);

fn lexicon() -> &'static SourceFile {
    SOURCE.files.iter().find(|f| f.path.ends_with("_lexicon.toml")).expect("the embedded _lexicon.toml")
}

/// A real intent file with one line replaced by arbitrary text or a pattern-like string.
fn intent_text() -> impl Strategy<Value = String> {
    let intents: Vec<&'static str> =
        SOURCE.files.iter().filter(|f| !f.path.ends_with("_lexicon.toml")).map(|f| f.contents.as_str()).collect();
    (
        0..intents.len(),
        any::<prop::sample::Index>(),
        prop_oneof![
            "\\PC{0,80}",
            "patterns = \\['[a-z()|?*+\\\\{}\\[\\] ]{0,40}'\\]",
            "(id|title|group|disposition|confirm|advice|to|becomes|after|reason) = \"[a-z_0-9 ]{0,20}\"",
            "\\[\\[(raise|lasting|screen)\\]\\]",
        ],
    )
        .prop_map(move |(file, line, new)| {
            let mut lines: Vec<&str> = intents[file].lines().collect();
            let at = line.index(lines.len().max(1)).min(lines.len().saturating_sub(1));
            if lines.is_empty() {
                return new;
            }
            lines[at] = &new;
            lines.join("\n")
        })
}

/// Patient words that reach deep dialogue states.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    // One per `|`: a patient can send an empty or blank message too.
    let answers = "yes|no|not sure|nope|maybe|7|3/10|really bad|mild|better|worse|the same|2 hours ago|\
         this morning|yesterday at 3pm|just now|iv infusion|nasal spray|i had my infusion today at 2pm|\
         im fine|never mind|bp 180/110|pulse 130|1|2|3||hi|/start|/stop|/forget|/treated 3 hours ago|👍"
        .split('|');
    answers
        .map(str::to_string)
        .chain(catalogue().intents().iter().flat_map(|i| i.examples.iter().chain(&i.counter_examples).cloned()))
        .collect()
});

#[derive(Debug, Clone)]
enum Event {
    Word(usize),
    Free(String),
    Edited(usize),
    Offered(usize),
    Button(String),
    Command(usize, usize),
    NonText,
    CheckInDue(u32),
}

fn event() -> impl Strategy<Value = Event> {
    let word = 0..10_000usize;
    prop_oneof![
        4 => word.clone().prop_map(Event::Word),
        1 => "\\PC{0,60}".prop_map(Event::Free),
        1 => word.clone().prop_map(Event::Edited),
        3 => (0..8usize).prop_map(Event::Offered),
        1 => "(yes|no|unsure|sev|trend|route|forget|checkin|when|fx)(:[a-z_0-9-]{0,12})?".prop_map(Event::Button),
        1 => (0..5usize, word).prop_map(|(c, w)| Event::Command(c, w)),
        1 => Just(Event::NonText),
        1 => (0..6u32).prop_map(Event::CheckInDue),
    ]
}

fn input(event: &Event, conversation: &Conversation) -> Input {
    let word = |i: usize| WORDS[i % WORDS.len()].clone();
    match event {
        Event::Word(i) => Input::from_text(&word(*i)),
        Event::Free(text) => Input::Text(text.clone()),
        Event::Edited(i) => Input::Edited(word(*i)),
        Event::Offered(i) => Input::Button(match conversation.offered.len() {
            0 => "yes".to_string(),
            n => conversation.offered[i % n].data.clone(),
        }),
        Event::Button(data) => Input::Button(data.clone()),
        Event::Command(c, w) => {
            let commands = [Command::Start, Command::Help, Command::Treated, Command::Stop, Command::Forget];
            Input::Command { command: commands[c % commands.len()], argument: word(*w) }
        }
        Event::NonText => Input::NonText { caption: None },
        Event::CheckInDue(number) => Input::CheckInDue { number: *number },
    }
}

/// What every step keeps true: urgent replies lead, pages are urgent or above, nothing is
/// recorded in the future, and an episode's disposition only rises.
fn check_step(before: &Conversation, step: &Step, now: Timestamp) -> Result<(), TestCaseError> {
    let after = &step.conversation;
    let urgent = step.actions.iter().take_while(|a| a.as_reply().is_some_and(|r| r.urgent)).count();
    prop_assert!(step.actions.iter().skip(urgent).all(|a| !a.as_reply().is_some_and(|r| r.urgent)));
    for action in &step.actions {
        match action {
            Action::Escalate(alert) => prop_assert!(alert.disposition.pages_on_call()),
            Action::Reply(reply) => {
                prop_assert!(!reply.text.trim().is_empty());
                prop_assert!(reply.buttons.iter().all(|b| !b.label.is_empty() && (1..=64).contains(&b.data.len())));
            }
            Action::ScheduleCheckIns { treated_at } => prop_assert!(*treated_at <= now),
            _ => {}
        }
    }
    prop_assert!(after.recent.len() <= RECENT_MESSAGES);
    prop_assert!(after.pending.as_ref().is_none_or(|p| p.asked_at <= now));
    prop_assert!(after.treatment.is_none_or(|t| t.at <= now), "treatment in the future: {:?}", after.treatment);
    if let Some(episode) = &after.episode {
        prop_assert!(episode.started <= now && episode.current <= episode.disposition);
        prop_assert!(episode.paged.is_none_or(|p| p <= episode.disposition));
        prop_assert!(episode.severity.is_none_or(|s| s <= 10));
        if let Some(old) = before.episode.as_ref().filter(|old| old.started == episode.started) {
            prop_assert!(episode.disposition >= old.disposition, "disposition fell: {:?} -> {:?}", old, episode);
        }
    }
    Ok(())
}

fn settings() -> &'static Settings {
    static SETTINGS: LazyLock<Settings> = LazyLock::new(|| Settings::from(&Config::default()));
    &SETTINGS
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn classify_gives_a_consistent_verdict(text in prop_oneof!["\\PC{0,300}", vitals_text(), answer_text()], hours in 0..300u64) {
        check_classification(catalogue(), &text, &classify(catalogue(), &text));
        let since = (hours > 0).then(|| Duration::from_secs(hours * 3600));
        check_classification(catalogue(), &text, &classify_with(catalogue(), &text, since));
    }

    #[test]
    fn answers_stay_in_range_and_never_in_the_future(text in answer_text(), seconds in any::<u32>(), z in 0..6usize) {
        let (now, tz) = (now(seconds), zone(z));
        let _ = (answers::yes_no(&text), answers::feeling_fine(&text), answers::trend(&text), answers::route(&text));
        prop_assert!(answers::severity(&text).is_none_or(|s| s <= 10));
        if let Some(at) = answers::when(&text, now, &tz) {
            prop_assert!(at <= now, "when({:?}) = {} after {}", text, at, now);
        }
        if let Some((at, _)) = answers::treatment_report(&text, now, &tz) {
            prop_assert!(at <= now, "treatment_report({:?}) = {} after {}", text, at, now);
        }
    }

    #[test]
    fn readings_are_plausible_and_spans_never_panic(text in prop_oneof![vitals_text(), "\\PC{0,200}"]) {
        let folded = FoldedText::new(&text);
        check_readings(folded.as_str(), &readings::find(folded.as_str()));
        check_readings(&text, &readings::find(&text));
        let _ = elapsed::longest_mentioned(folded.as_str());
        let _ = elapsed::longest_mentioned(&text);
    }

    #[test]
    fn config_is_valid_or_every_problem_has_a_reason(contents in config_text()) {
        match Config::parse("fuzz.toml", &contents) {
            Ok(config) => prop_assert!(!config.question_expiry.is_zero()),
            Err(problems) => {
                prop_assert!(!problems.0.is_empty());
                prop_assert!(problems.0.iter().all(|p| p.path == "fuzz.toml"));
                check_problems(&problems.0, "fuzz.toml", &contents)?;
            }
        }
    }

    #[test]
    fn engine_steps_keep_the_conversation_consistent(
        events in prop::collection::vec((event(), 1..20_000i64), 1..24),
        start in any::<u32>(),
        z in 0..6usize,
    ) {
        let settings = Settings { time_zone: zone(z), ..settings().clone() };
        let engine = Engine::new(catalogue(), &settings);
        let mut clock = now(start);
        let mut conversation = Conversation::default();
        for (event, wait) in &events {
            clock = clock.checked_add(SignedDuration::from_secs(*wait)).unwrap();
            let input = input(event, &conversation);
            let step = engine.step(&conversation, &input, clock);
            check_step(&conversation, &step, clock)?;
            conversation = step.conversation;
        }
    }
}

proptest! {
    // Each case compiles an intent file and runs its examples: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn intent_file_compiles_or_every_problem_has_a_reason(contents in intent_text()) {
        let path = "intents/fuzz.toml";
        let source = CatalogueSource {
            files: vec![lexicon().clone(), SourceFile { path: path.to_string(), contents: contents.clone() }],
        };
        let (compiled, problems) = Catalogue::check(&source);
        // Problems name the fuzzed file, or a required intent it did not provide (greeting, ...).
        prop_assert!(problems.iter().all(|p| !p.reason.trim().is_empty() && p.line >= 1), "{:?}", problems);
        check_problems(&problems, path, &contents)?;
        if let Some(compiled) = compiled {
            let text = "I feel dizzy and sick, not chest pain, bp 180/110 for 2 days";
            check_classification(&compiled, text, &classify(&compiled, text));
        }
    }
}

// ----- inputs the fuzzers and the properties above found -----

/// Runs inputs through the engine from a new conversation, a minute apart, checking each step.
fn run(inputs: &[Input]) -> Conversation {
    let engine = Engine::new(catalogue(), settings());
    let mut clock = now(1_150_000_000);
    let mut conversation = Conversation::default();
    for input in inputs {
        clock = clock.checked_add(SignedDuration::from_mins(1)).unwrap();
        let step = engine.step(&conversation, input, clock);
        if let Err(failure) = check_step(&conversation, &step, clock) {
            panic!("after {input:?}: {failure}");
        }
        conversation = step.conversation;
    }
    conversation
}

/// `answers::when` turned a huge count ("175307617 hours ago") into a jiff `Span` of minutes out
/// of range, which panics (found by `fuzz_answers`).
#[test]
fn a_huge_count_of_hours_ago_is_not_a_time() {
    let tz = zone(1);
    let now = now(1_150_000_000);
    // Digits of other scripts fold to ASCII digits: the proptest case that found it.
    let texts = [
        "175307617 hours ago",
        "7304485 days ago",
        "1043499 weeks ago",
        "99999999999999999999 mins ago",
        "𑋱𑵐᱆໐0𐴰᪐၀𑋰𑜰𞅀minute ago",
    ];
    for text in texts {
        assert!(answers::when(text, now, &tz).is_none_or(|at| at <= now), "{text}");
        let report = format!("had my infusion {text}");
        assert!(answers::treatment_report(&report, now, &tz).is_none_or(|(at, _)| at <= now), "{report}");
    }
}

/// The same through the dialogue: a message, a `/treated` argument, an answer to "when?".
#[test]
fn a_huge_count_of_hours_ago_does_not_stop_the_dialogue() {
    run(&[Input::from_text("had my infusion 175307617 hours ago and feel dizzy")]);
    run(&[Input::from_text("/treated 175307617 hours ago")]);
    run(&[Input::from_text("/treated"), Input::from_text("175307617 hours ago")]);
}

/// A forged time button (callback data comes from the patient's client, which can send any):
/// "when:" counts minutes back from now, and a huge count overflowed `SignedDuration::from_mins`.
#[test]
fn a_forged_huge_time_button_does_not_stop_the_dialogue() {
    for data in ["when:9223372036854775807", "when:-9223372036854775808", "when:153722867280912931"] {
        let conversation = run(&[Input::from_text("/treated"), Input::Button(data.to_string())]);
        assert!(conversation.treatment.is_none_or(|t| t.at < now(1_150_000_000)), "{data}");
    }
}

/// A negative count recorded a treatment in the future.
#[test]
fn a_forged_negative_time_button_records_no_future_treatment() {
    for data in ["when:-600", "when:-1"] {
        run(&[Input::from_text("/treated"), Input::Button(data.to_string())]);
    }
}
