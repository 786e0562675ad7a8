//! The built-in catalogue: complete, valid, and every example and counter-example holds.

use crate::{catalogue, repo_path};
use aftercare::triage::catalogue::{CatalogueSource, Group};
use aftercare::triage::{Catalogue, Disposition};

/// Every intent id of the clinical specification (shared/spec/triage.md section 2).
const SPEC_INTENTS: &[&str] = &[
    "drowsiness",
    "dissociation",
    "dizziness",
    "perceptual_changes",
    "confusion_memory",
    "tingling_numbness",
    "grogginess",
    "nausea_vomiting",
    "vision_changes",
    "headache",
    "anxiety",
    "mental_fog",
    "blood_pressure_pulse",
    "bladder_urinary",
    "cognitive_longterm",
    "liver",
    "cravings_dependence",
    "mood_worsening",
    "feel_worse",
    "breathing_difficulty",
    "chest_cardiac",
    "severe_anxiety_paranoia",
    "psychosis",
    "self_harm",
    "unresponsive_or_seizure",
    "allergic_reaction",
    "faq_first_session",
    "faq_side_effects_lessen",
    "faq_long_term_safety",
    "faq_interactions",
    "faq_driving",
    "greeting",
    "thanks",
    "help",
    "human",
    "stop",
    "forget",
];

const RED_FLAGS: &[&str] = &[
    "breathing_difficulty",
    "chest_cardiac",
    "severe_anxiety_paranoia",
    "psychosis",
    "self_harm",
    "unresponsive_or_seizure",
    "allergic_reaction",
];

#[test]
fn every_example_and_counter_example_of_every_intent_holds() {
    let (compiled, problems) = Catalogue::check(&CatalogueSource::from_dir(&repo_path("intents")).unwrap());
    let listing: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), listing.join("\n"));
    let compiled = compiled.expect("compiled");
    for intent in compiled.intents() {
        assert!(intent.examples.len() >= 8, "{} has too few examples", intent.id);
        assert!(intent.counter_examples.len() >= 4, "{} has too few counter-examples", intent.id);
    }
}

#[test]
fn the_catalogue_holds_every_intent_of_the_specification() {
    let ids: Vec<&str> = catalogue().intents().iter().map(|i| i.id.as_str()).collect();
    for id in SPEC_INTENTS {
        assert!(ids.contains(id), "missing intent {id}");
    }
    assert_eq!(ids.len(), SPEC_INTENTS.len(), "intents not in the specification: {ids:?}");
}

#[test]
fn red_flags_are_marked_and_can_be_confirmed() {
    for intent in catalogue().intents() {
        let expected = RED_FLAGS.contains(&intent.id.as_str());
        assert_eq!(intent.red_flag, expected, "{}", intent.id);
        if expected {
            assert_eq!(intent.group, Group::RedFlag, "{}", intent.id);
            assert!(intent.disposition >= Disposition::Urgent, "{}", intent.id);
            assert!(intent.confirm.as_deref().is_some_and(|q| q.ends_with('?')), "{} confirm question", intent.id);
        }
    }
}

#[test]
fn default_dispositions_follow_the_specification() {
    let expect = |id: &str, d: Disposition| assert_eq!(catalogue().get(id).unwrap().disposition, d, "{id}");
    expect("self_harm", Disposition::Emergency);
    expect("breathing_difficulty", Disposition::Emergency);
    expect("psychosis", Disposition::Urgent);
    expect("dizziness", Disposition::SelfCare);
    expect("bladder_urinary", Disposition::ContactClinic);
    expect("faq_driving", Disposition::Info);
    expect("greeting", Disposition::None);
}

#[test]
fn the_folder_on_disk_is_what_the_binary_embeds() {
    let on_disk = CatalogueSource::from_dir(&repo_path("intents")).unwrap();
    let embedded = CatalogueSource::embedded();
    let names = |s: &CatalogueSource| -> Vec<(String, String)> {
        s.files.iter().map(|f| (f.path.rsplit('/').next().unwrap().to_string(), f.contents.clone())).collect()
    };
    assert_eq!(names(&on_disk), names(&embedded), "rebuild to embed the current intents/ folder");
}
