//! The matcher's figures on the labelled sets: the development set (a copy of
//! shared/eval/dev.jsonl) and the three sets written later from the specification alone. The
//! targets of the catalogue issue, kept as a regression guard on all four.

use crate::{catalogue, repo_path};
use aftercare::cli::eval::{evaluate, read_items};
use std::fs::File;
use std::io::BufReader;

fn meets_the_targets(path: &str, at_least: usize) {
    let file = File::open(repo_path(path)).expect(path);
    let items = read_items(BufReader::new(file)).expect("valid labelled file");
    assert!(items.len() >= at_least, "{path}: {} items", items.len());
    let report = evaluate(catalogue(), &items);
    let missed: Vec<String> = report.missed_red_flags.iter().map(|m| format!("{} {:?}", m.id, m.text)).collect();
    assert_eq!(report.red_flag_recall, 1.0, "{path}: missed red flags:\n{}", missed.join("\n"));
    assert!(report.intent_accuracy >= 0.90, "{path}: top-intent accuracy {:.3}", report.intent_accuracy);
    assert!(report.disposition_accuracy >= 0.90, "{path}: disposition accuracy {:.3}", report.disposition_accuracy);
    assert!(report.false_alarm_rate <= 0.03, "{path}: false-alarm rate {:.3}", report.false_alarm_rate);
}

#[test]
fn dev_set_meets_the_targets() {
    meets_the_targets("tests/data/dev.jsonl", 497);
}

#[test]
fn holdout_sets_meet_the_targets() {
    meets_the_targets("tests/data/holdout.jsonl", 300);
    meets_the_targets("tests/data/holdout2.jsonl", 440);
    meets_the_targets("tests/data/holdout3.jsonl", 320);
}
