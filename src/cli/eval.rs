//! `aftercare eval FILE.jsonl`: scores the matcher on a labelled file (the format of
//! `shared/eval/dev.jsonl`) and reports accuracy, red-flag recall, false alarms, negation
//! handling, per-intent precision and recall, and every misclassified item.

use crate::triage::matcher::classify;
use crate::triage::{Catalogue, Disposition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

/// One labelled message.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledItem {
    #[serde(default)]
    pub id: String,
    pub text: String,
    pub intent: String,
    pub disposition: Disposition,
    #[serde(default)]
    pub negated: bool,
    #[serde(default)]
    pub note: String,
}

impl LabelledItem {
    /// Intents named in the note's `NEG:` and `HYP:` tags: mentioned but not to be asserted.
    fn denied_intents(&self) -> Vec<&str> {
        self.note
            .split(';')
            .map(str::trim)
            .filter_map(|tag| tag.strip_prefix("NEG:").or_else(|| tag.strip_prefix("HYP:")))
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .filter(|id| !id.is_empty() && *id != "any" && *id != self.intent)
            .collect()
    }
}

/// A misclassified item.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub id: String,
    pub text: String,
    pub expected_intent: String,
    pub expected_disposition: Disposition,
    pub got_intent: String,
    pub got_disposition: Disposition,
    pub confirm: Vec<String>,
    pub found: String,
}

/// Precision and recall of one intent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntentScore {
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: usize,
    pub intent_accuracy: f64,
    pub disposition_accuracy: f64,
    pub red_flag_items: usize,
    pub red_flag_recall: f64,
    pub false_alarm_items: usize,
    pub false_alarm_rate: f64,
    pub negated_items: usize,
    pub negation_accuracy: f64,
    pub per_intent: BTreeMap<String, IntentScore>,
    pub missed_red_flags: Vec<Miss>,
    pub false_alarms: Vec<Miss>,
    pub misclassified: Vec<Miss>,
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Scores the matcher on labelled items.
pub fn evaluate(catalogue: &Catalogue, items: &[LabelledItem]) -> Report {
    let mut intent_hits = 0;
    let mut disposition_hits = 0;
    let (mut red_flags, mut caught) = (0, 0);
    let (mut below_urgent, mut alarms) = (0, 0);
    let (mut negated, mut negation_hits) = (0, 0);
    let mut per_intent: BTreeMap<String, IntentScore> = BTreeMap::new();
    let (mut misclassified, mut missed_red_flags, mut false_alarms) = (Vec::new(), Vec::new(), Vec::new());

    for item in items {
        let got = classify(catalogue, &item.text);
        let miss = || Miss {
            id: item.id.clone(),
            text: item.text.clone(),
            expected_intent: item.intent.clone(),
            expected_disposition: item.disposition,
            got_intent: got.intent.clone(),
            got_disposition: got.disposition,
            confirm: got.confirm.clone(),
            found: got.summary(),
        };
        let intent_ok = got.intent == item.intent;
        let disposition_ok = got.disposition == item.disposition;
        intent_hits += usize::from(intent_ok);
        disposition_hits += usize::from(disposition_ok);
        per_intent.entry(item.intent.clone()).or_default().support += 1;
        per_intent.entry(got.intent.clone()).or_default().predicted += 1;
        if intent_ok {
            per_intent.entry(item.intent.clone()).or_default().correct += 1;
        }
        if !intent_ok || !disposition_ok {
            misclassified.push(miss());
        }
        if item.disposition.pages_on_call() {
            red_flags += 1;
            if got.disposition >= item.disposition || got.confirm.contains(&item.intent) {
                caught += 1;
            } else {
                missed_red_flags.push(miss());
            }
        } else {
            below_urgent += 1;
            if got.disposition.pages_on_call() {
                alarms += 1;
                false_alarms.push(miss());
            }
        }
        if item.negated {
            negated += 1;
            let denied = item.denied_intents();
            if intent_ok && denied.iter().all(|id| !got.asserts(id)) {
                negation_hits += 1;
            }
        }
    }
    for score in per_intent.values_mut() {
        score.precision = ratio(score.correct, score.predicted);
        score.recall = ratio(score.correct, score.support);
    }
    Report {
        items: items.len(),
        intent_accuracy: ratio(intent_hits, items.len()),
        disposition_accuracy: ratio(disposition_hits, items.len()),
        red_flag_items: red_flags,
        red_flag_recall: ratio(caught, red_flags),
        false_alarm_items: below_urgent,
        false_alarm_rate: if below_urgent == 0 { 0.0 } else { alarms as f64 / below_urgent as f64 },
        negated_items: negated,
        negation_accuracy: ratio(negation_hits, negated),
        per_intent,
        missed_red_flags,
        false_alarms,
        misclassified,
    }
}

/// Reads labelled items, one JSON object a line; blank lines are skipped, bad lines are errors
/// with their line number.
pub fn read_items(input: impl BufRead) -> Result<Vec<LabelledItem>, String> {
    let mut items = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", number + 1))?;
        items.push(item);
    }
    Ok(items)
}

fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// Writes the report for people.
pub fn write_text(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "items                 {}", report.items)?;
    writeln!(out, "top-intent accuracy   {}", percent(report.intent_accuracy))?;
    writeln!(out, "disposition accuracy  {}", percent(report.disposition_accuracy))?;
    writeln!(out, "red-flag recall       {} of {} items", percent(report.red_flag_recall), report.red_flag_items)?;
    writeln!(out, "false-alarm rate      {} of {} items", percent(report.false_alarm_rate), report.false_alarm_items)?;
    writeln!(out, "negation accuracy     {} of {} items", percent(report.negation_accuracy), report.negated_items)?;
    writeln!(out, "\nper intent (support, precision, recall):")?;
    for (id, score) in &report.per_intent {
        writeln!(
            out,
            "  {id:<26} {:>3}  {:>6}  {:>6}",
            score.support,
            percent(score.precision),
            percent(score.recall)
        )?;
    }
    for (title, misses) in [
        ("missed red flags", &report.missed_red_flags),
        ("false alarms", &report.false_alarms),
        ("misclassified", &report.misclassified),
    ] {
        writeln!(out, "\n{title} ({}):", misses.len())?;
        for m in misses {
            writeln!(
                out,
                "  {} expected {}/{} got {}/{} [{}] {:?}",
                m.id, m.expected_intent, m.expected_disposition, m.got_intent, m.got_disposition, m.found, m.text
            )?;
        }
    }
    Ok(())
}
