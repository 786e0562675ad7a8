//! The matcher's figures on the development set (a copy of shared/eval/dev.jsonl): the targets
//! of the catalogue issue, kept as a regression guard.

use crate::{catalogue, repo_path};
use aftercare::cli::eval::{evaluate, read_items};
use std::fs::File;
use std::io::BufReader;

#[test]
fn dev_set_meets_the_targets() {
    let file = File::open(repo_path("tests/data/dev.jsonl")).expect("tests/data/dev.jsonl");
    let items = read_items(BufReader::new(file)).expect("valid labelled file");
    assert!(items.len() > 400);
    let report = evaluate(catalogue(), &items);
    let missed: Vec<String> = report.missed_red_flags.iter().map(|m| format!("{} {:?}", m.id, m.text)).collect();
    assert_eq!(report.red_flag_recall, 1.0, "missed red flags:\n{}", missed.join("\n"));
    assert!(report.intent_accuracy >= 0.90, "top-intent accuracy {:.3}", report.intent_accuracy);
    assert!(report.disposition_accuracy >= 0.90, "disposition accuracy {:.3}", report.disposition_accuracy);
    assert!(report.false_alarm_rate <= 0.03, "false-alarm rate {:.3}", report.false_alarm_rate);
}
