//! The matcher's behaviour through its public interface: recognition, negation and
//! hypotheticals, red-flag confirmation, most-urgent-wins, and message-level rules.

use crate::catalogue;
use aftercare::triage::matcher::{classify, classify_with};
use aftercare::triage::{Classification, Disposition};
use std::time::Duration;

fn verdict(text: &str) -> Classification {
    classify(catalogue(), text)
}

fn assert_top(text: &str, intent: &str, disposition: Disposition) {
    let got = verdict(text);
    assert_eq!((got.intent.as_str(), got.disposition), (intent, disposition), "{text:?}: {}", got.summary());
}

#[test]
fn plain_reports_are_recognised() {
    assert_top("the whole room keeps spinning", "dizziness", Disposition::SelfCare);
    assert_top("I feel really nauseous", "nausea_vomiting", Disposition::SelfCare);
    assert_top("my chest feels tight", "chest_cardiac", Disposition::Emergency);
    assert_top("i dont want to be here anymore", "self_harm", Disposition::Emergency);
}

#[test]
fn spelling_case_repeats_and_curly_apostrophes_do_not_matter() {
    assert_top("SOOOO DIZZZY", "dizziness", Disposition::SelfCare);
    assert_top("I can’t breathe properly", "breathing_difficulty", Disposition::Emergency);
    assert_top("feel realy lightheded", "dizziness", Disposition::SelfCare);
}

#[test]
fn negated_and_hypothetical_symptoms_do_not_count() {
    assert_top("no nausea, feeling great", "none", Disposition::None);
    assert_top("what if I get a headache tonight?", "none", Disposition::None);
    assert_top("not dizzy anymore, just tired", "drowsiness", Disposition::SelfCare);
    let got = verdict("no headache, just nauseous");
    let headache = got.intents.iter().find(|m| m.id == "headache").expect("headache is found");
    assert!(headache.negated && !headache.hypothetical);
}

#[test]
fn a_negated_or_hypothetical_red_flag_is_kept_for_confirmation() {
    let got = verdict("no chest pain, just tired");
    assert_eq!(got.intent, "drowsiness");
    assert_eq!(got.confirm, vec!["chest_cardiac".to_string()]);

    let got = verdict("what if I can't breathe later?");
    assert!(got.disposition < Disposition::Urgent);
    assert!(got.confirm.contains(&"breathing_difficulty".to_string()), "{}", got.summary());
}

#[test]
fn the_scope_of_a_negation_ends_at_but() {
    assert_top("no rash but my lips are swelling up", "allergic_reaction", Disposition::Emergency);
    assert_top("not dizzy but my chest hurts", "chest_cardiac", Disposition::Emergency);
}

#[test]
fn the_most_urgent_intent_wins_and_the_others_are_kept() {
    let got = verdict("feeling sick and my chest is tight");
    assert_eq!((got.intent.as_str(), got.disposition), ("chest_cardiac", Disposition::Emergency));
    assert!(got.asserts("nausea_vomiting"));
    let ranked: Vec<&str> = got.ranked().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ranked.first(), Some(&"chest_cardiac"));
}

#[test]
fn message_level_red_flag_content_raises_the_disposition() {
    assert_top("got dizzy, fainted and hit my head", "dizziness", Disposition::Urgent);
    assert_top("bp 185/110", "blood_pressure_pulse", Disposition::Urgent);
    assert_top("my blood pressure is 150/90", "blood_pressure_pulse", Disposition::SelfCare);
}

#[test]
fn an_effect_past_its_expected_window_needs_the_clinic() {
    assert_top("I feel detached from my body", "dissociation", Disposition::SelfCare);
    let six_hours = Some(Duration::from_secs(6 * 3600));
    let got = classify_with(catalogue(), "I feel detached from my body", six_hours);
    assert_eq!((got.intent.as_str(), got.disposition), ("dissociation", Disposition::ContactClinic));
    assert_top("still feel detached and floaty, it's been 7 hours", "dissociation", Disposition::ContactClinic);
}

#[test]
fn harmless_senses_do_not_raise_alarms() {
    for text in [
        "I'm dying to know my next appointment",
        "just built a chest of drawers",
        "this heat is killing me",
        "my dog had a fit at the vet",
        "swelling with pride today",
    ] {
        let got = verdict(text);
        assert!(got.disposition < Disposition::Urgent, "{text:?} -> {}", got.summary());
    }
}

#[test]
fn spans_point_into_the_original_text() {
    let text = "Très bien, but I’m sooo dizzy";
    let got = verdict(text);
    let dizzy = got.intents.iter().find(|m| m.id == "dizziness").expect("found");
    let chars: Vec<char> = text.chars().collect();
    let mention: String = chars[dizzy.span[0]..dizzy.span[1]].iter().collect();
    assert_eq!(mention, "dizzy");
}

#[test]
fn empty_and_emoji_only_messages_match_nothing_quietly() {
    assert_top("", "none", Disposition::None);
    assert_top("   ", "none", Disposition::None);
    assert_top("👍", "none", Disposition::None);
}
