//! The intent matcher: free text in, [`Classification`] out. Pure: no IO, no clock.
//!
//! Steps: fold the text ([`FoldedText`]); the catalogue's intent set finds which intents may
//! appear and where; each such intent's own pattern finds its mentions there; NegEx-style scope marks
//! each mention asserted, negated or hypothetical; message-level rules (raise patterns,
//! blood-pressure and pulse readings, time since treatment) set each intent's disposition; the
//! most urgent asserted intent is the top one. A red flag that is only negated, hypothetical or
//! unsure is never dropped: it goes to `confirm`.

use crate::triage::catalogue::{Catalogue, Group, Intent, LastingOutcome};
use crate::triage::classification::{Classification, IntentMatch};
use crate::triage::disposition::Disposition;
use crate::triage::elapsed;
use crate::triage::normalise::FoldedText;
use crate::triage::readings::{self, Readings};
use crate::triage::scope::{Scope, Stance};
use std::time::Duration;

/// Classifies one message with no knowledge of when the patient was treated.
pub fn classify(catalogue: &Catalogue, text: &str) -> Classification {
    classify_with(catalogue, text, None)
}

/// Classifies one message; `since_treatment` is the time since the patient's last recorded
/// treatment, when known (the longer of it and any span the message mentions is used).
pub fn classify_with(catalogue: &Catalogue, text: &str, since_treatment: Option<Duration>) -> Classification {
    let folded = FoldedText::with_words(text, &catalogue.lexicon().words);
    let folded_text = folded.as_str();
    let scope = Scope::new(catalogue.lexicon(), folded_text);
    let readings = readings::find(folded_text);
    let elapsed = match (elapsed::longest_mentioned(folded_text), since_treatment) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let mut found: Vec<Found> = catalogue
        .any_pattern()
        .matches(folded_text)
        .into_iter()
        .filter_map(|(i, places)| first_mention(&catalogue.intents()[i], folded_text, places.as_deref(), &scope))
        .collect();
    demote_symptoms_in_questions(&mut found, &scope);
    add_reading_intents(catalogue, &mut found, &readings);

    let mut intents: Vec<(usize, IntentMatch)> = found
        .iter()
        .map(|f| (f.start, decide(catalogue, f, folded_text, &scope, &readings, elapsed, &folded)))
        .collect();
    intents.sort_by_key(|(start, _)| *start);
    let intents: Vec<IntentMatch> = intents
        .into_iter()
        .map(|(_, mut m)| {
            m.span = m.span.map(|byte| text[..byte].chars().count());
            m
        })
        .collect();
    summarise(catalogue, intents)
}

/// The first mention of an intent, preferring an asserted one.
struct Found<'c> {
    intent: &'c Intent,
    start: usize,
    end: usize,
    stance: Stance,
}

/// `places`: where the intent set saw the intent's patterns begin, when it knows.
fn first_mention<'c>(intent: &'c Intent, text: &str, places: Option<&[usize]>, scope: &Scope<'_>) -> Option<Found<'c>> {
    let excluded: Vec<(usize, usize)> =
        intent.exclude().map(|p| p.find_iter(text.as_bytes()).map(|m| (m.start, m.end)).collect()).unwrap_or_default();
    let mut first: Option<Found<'c>> = None;
    let mentions = match places {
        Some(places) => intent.pattern().find_iter_at(text.as_bytes(), places),
        None => intent.pattern().find_iter(text.as_bytes()),
    };
    for m in mentions {
        // Scope applies to symptoms; a question or a control message is what it is.
        let mut stance = if intent.group.is_symptom() { scope.stance(m.start, m.end) } else { Stance::default() };
        if excluded.iter().any(|&(start, end)| start <= m.start && m.end <= end) {
            // Another sense of the words. A red flag is still asked about, never dropped.
            if !intent.red_flag {
                continue;
            }
            stance.hypothetical = true;
        }
        let found = Found { intent, start: m.start, end: m.end, stance };
        if stance.is_asserted() {
            return Some(found);
        }
        first.get_or_insert(found);
    }
    first
}

/// A symptom named in the same question as an FAQ ("is it normal to feel detached during the
/// first infusion?") is asked about, not reported.
fn demote_symptoms_in_questions(found: &mut [Found<'_>], scope: &Scope<'_>) {
    let question_clauses: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| f.intent.group == Group::Question && scope.is_question(f.start, f.end))
        .map(|f| scope.clause(f.start, f.end))
        .collect();
    for f in found.iter_mut().filter(|f| f.intent.group.is_symptom()) {
        if question_clauses.contains(&scope.clause(f.start, f.end)) {
            f.stance.hypothetical = true;
        }
    }
}

/// A reading in the message ("180/110") is a report of that reading even with no other words.
fn add_reading_intents<'c>(catalogue: &'c Catalogue, found: &mut Vec<Found<'c>>, readings: &Readings) {
    let Some(&(_, (start, end))) = readings.blood_pressure.first() else {
        return;
    };
    for intent in catalogue.intents().iter().filter(|i| i.readings.is_some()) {
        if !found.iter().any(|f| f.intent.id == intent.id) {
            found.push(Found { intent, start, end, stance: Stance::default() });
        }
    }
}

/// The intent's disposition in this message, after its rules.
fn decide(
    catalogue: &Catalogue,
    found: &Found<'_>,
    text: &str,
    scope: &Scope<'_>,
    readings: &Readings,
    elapsed: Option<Duration>,
    folded: &FoldedText,
) -> IntentMatch {
    let mut intent = found.intent;
    let mut disposition = intent.disposition;
    let mut reasons = Vec::new();
    if found.stance.is_asserted() {
        if let Some(rule) = elapsed.and_then(|elapsed| intent.lasting_at(elapsed)) {
            match &rule.outcome {
                LastingOutcome::Raise(to) => disposition = disposition.max(*to),
                LastingOutcome::Becomes(target) => {
                    if let Some(target) = catalogue.get(target) {
                        intent = target;
                        disposition = target.disposition;
                    }
                }
            }
            reasons.push(rule.reason.clone());
        }
        let high_reading = intent.readings.is_some_and(|t| {
            let (systolic, diastolic, pulse) = readings.peaks();
            systolic >= t.systolic_at_least || diastolic >= t.diastolic_at_least || pulse >= t.pulse_at_least
        });
        if let (Some(thresholds), true) = (intent.readings, high_reading) {
            disposition = disposition.max(thresholds.to);
            reasons.push("reading at or over the threshold".to_string());
        }
        for raise in &intent.raises {
            let present = raise
                .when
                .iter()
                .all(|p| p.find_iter(text.as_bytes()).any(|m| scope.stance(m.start, m.end).is_asserted()));
            if present && (!raise.with_high_reading || high_reading) && raise.to > disposition {
                disposition = raise.to;
                reasons.push(raise.reason.clone());
            }
        }
    }
    let (start, end) = folded.original_range(found.start, found.end);
    IntentMatch {
        id: intent.id.clone(),
        disposition,
        negated: found.stance.negated,
        hypothetical: found.stance.hypothetical,
        span: [start, end],
        reasons,
    }
}

/// Picks the top intent and the red flags to confirm.
fn summarise(catalogue: &Catalogue, mut intents: Vec<IntentMatch>) -> Classification {
    // An intent can appear twice after a `becomes` rule; keep its first mention.
    let mut seen = std::collections::HashSet::new();
    intents.retain(|m| seen.insert(m.id.clone()));
    let top = intents
        .iter()
        .filter(|m| m.is_asserted())
        .min_by(|a, b| b.disposition.cmp(&a.disposition).then(a.span[0].cmp(&b.span[0])));
    let (intent, disposition) = match top {
        Some(top) => (top.id.clone(), top.disposition),
        None => (Classification::NONE.to_string(), Disposition::None),
    };
    let confirm = intents
        .iter()
        .filter(|m| !m.is_asserted() && catalogue.get(&m.id).is_some_and(|i| i.red_flag))
        .map(|m| m.id.clone())
        .collect();
    Classification { intent, disposition, intents, confirm }
}
