//! Conversation scripts as data: every `tests/conversations/*.toml` file is a scenario of
//! patient turns and what the bot must (and must not) do, run against the real engine and a
//! sled store in a temporary directory. The format is described in tests/conversations/README.md.

use crate::{catalogue, repo_path};
use aftercare::config::Config;
use aftercare::store::{PatientId, SledStore, Store};
use aftercare::triage::dialogue::{Action, Conversation, Engine, Input, Route, Settings, Treatment};
use aftercare::triage::Disposition;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    description: String,
    /// How long before the first turn the last treatment was ("1h", "6h", "2d").
    treated: Option<String>,
    route: Option<String>,
    turn: Vec<Turn>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Turn {
    patient: Option<String>,
    button: Option<String>,
    edit: Option<String>,
    /// A sticker, photo or voice note with no caption.
    #[serde(default)]
    sticker: bool,
    /// The scheduler says check-in number N is due.
    check_in: Option<u32>,
    /// Move the clock forward before this turn ("13h").
    advance: Option<String>,
    /// Close and reopen the store before this turn (as after a crash or restart).
    #[serde(default)]
    restart: bool,
    /// Substrings that must each appear in this turn's replies (case-insensitive).
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    not_expect: Vec<String>,
    /// Button labels that must be offered.
    #[serde(default)]
    buttons: Vec<String>,
    /// The first reply of the turn must contain this (emergency instructions come first).
    first_reply: Option<String>,
    /// An alert with this disposition must go to on-call this turn.
    escalate: Option<Disposition>,
    /// No alert may go to on-call this turn.
    #[serde(default)]
    no_escalate: bool,
    /// A case must (true) or must not (false) go to the clinic's follow-up queue this turn.
    follow_up: Option<bool>,
    /// The conversation's disposition after the turn.
    disposition: Option<Disposition>,
}

const PATIENT: PatientId = PatientId(4242);

fn duration(text: &str) -> SignedDuration {
    SignedDuration::try_from(humantime::parse_duration(text).expect("a duration like 6h")).unwrap()
}

fn run_script(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let script: Script = toml::from_str(&text).map_err(|e| format!("bad script: {e}"))?;
    let settings = Settings::from(&Config::default());
    let engine = Engine::new(catalogue(), &settings);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut store = SledStore::open(dir.path()).map_err(|e| e.to_string())?;
    let mut now: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();

    if let Some(treated) = &script.treated {
        let route = script.route.as_deref().map(|r| Route::parse(r).expect("a route id"));
        let seeded = Conversation {
            treatment: Some(Treatment { at: now - duration(treated), route }),
            ..Conversation::default()
        };
        store.save(PATIENT, &seeded, &[]).map_err(|e| e.to_string())?;
    }

    for (number, turn) in script.turn.iter().enumerate() {
        let here = format!("{} turn {} ({})", script.description, number + 1, describe(turn));
        if let Some(advance) = &turn.advance {
            now += duration(advance);
        }
        if turn.restart {
            drop(store);
            store = SledStore::open(dir.path()).map_err(|e| format!("{here}: reopen: {e}"))?;
        }
        let input = if let Some(text) = &turn.patient {
            Input::from_text(text)
        } else if let Some(data) = &turn.button {
            Input::Button(data.clone())
        } else if let Some(text) = &turn.edit {
            Input::Edited(text.clone())
        } else if turn.sticker {
            Input::NonText { caption: None }
        } else if let Some(number) = turn.check_in {
            Input::CheckInDue { number }
        } else {
            return Err(format!("{here}: a turn needs patient, button, edit, sticker or check_in"));
        };
        let conversation = store.conversation(PATIENT).map_err(|e| e.to_string())?.unwrap_or_default();
        let step = engine.step(&conversation, &input, now);
        store.save(PATIENT, &step.conversation, &[]).map_err(|e| e.to_string())?;
        store.flush().map_err(|e| e.to_string())?;
        check_turn(turn, &step.actions, &step.conversation).map_err(|e| format!("{here}: {e}"))?;
        now += SignedDuration::from_secs(30);
    }
    Ok(())
}

fn describe(turn: &Turn) -> String {
    turn.patient
        .clone()
        .or_else(|| turn.button.as_ref().map(|b| format!("button {b}")))
        .or_else(|| turn.edit.as_ref().map(|e| format!("edit {e}")))
        .or_else(|| turn.check_in.map(|n| format!("check-in {n}")))
        .unwrap_or_else(|| "sticker".to_string())
}

fn check_turn(turn: &Turn, actions: &[Action], conversation: &Conversation) -> Result<(), String> {
    let replies: Vec<_> = actions.iter().filter_map(Action::as_reply).collect();
    let all_text = replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n---\n");
    let lower = all_text.to_lowercase();
    for expected in &turn.expect {
        if !lower.contains(&expected.to_lowercase()) {
            return Err(format!("expected {expected:?} in replies:\n{all_text}"));
        }
    }
    for unwanted in &turn.not_expect {
        if lower.contains(&unwanted.to_lowercase()) {
            return Err(format!("did not expect {unwanted:?} in replies:\n{all_text}"));
        }
    }
    let offered: Vec<&str> = replies.iter().flat_map(|r| r.buttons.iter().map(|b| b.label.as_str())).collect();
    for label in &turn.buttons {
        if !offered.iter().any(|o| o.eq_ignore_ascii_case(label)) {
            return Err(format!("expected button {label:?}, offered {offered:?}; replies:\n{all_text}"));
        }
    }
    if let Some(first) = &turn.first_reply {
        let ok =
            matches!(actions.first(), Some(Action::Reply(r)) if r.text.to_lowercase().contains(&first.to_lowercase()));
        if !ok {
            return Err(format!("the first action must be a reply containing {first:?}; actions: {actions:#?}"));
        }
    }
    let alerts: Vec<Disposition> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Escalate(alert) => Some(alert.disposition),
            _ => None,
        })
        .collect();
    if let Some(expected) = turn.escalate {
        if !alerts.contains(&expected) {
            return Err(format!("expected an {expected} alert, got {alerts:?}; replies:\n{all_text}"));
        }
    }
    if turn.no_escalate && !alerts.is_empty() {
        return Err(format!("expected no alert, got {alerts:?}; replies:\n{all_text}"));
    }
    if let Some(expected) = turn.follow_up {
        let got = actions.iter().any(|a| matches!(a, Action::FollowUp(_)));
        if got != expected {
            return Err(format!("follow-up expected {expected}, got {got}; replies:\n{all_text}"));
        }
    }
    if let Some(expected) = turn.disposition {
        if conversation.disposition() != expected {
            return Err(format!(
                "disposition expected {expected}, got {}; replies:\n{all_text}",
                conversation.disposition()
            ));
        }
    }
    Ok(())
}

#[test]
fn every_conversation_script_passes() {
    let dir = repo_path("tests/conversations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 40, "expected at least 40 scripts, found {}", paths.len());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| run_script(p).err().map(|e| format!("{}: {e}", p.file_name().unwrap().to_string_lossy())))
        .collect();
    assert!(failures.is_empty(), "{} of {} scripts failed:\n\n{}", failures.len(), paths.len(), failures.join("\n\n"));
}
