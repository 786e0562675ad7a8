//! Which intents a message may mention, and where: every intent's patterns as one lazy DFA that
//! reports all the patterns that match (overlapping), built on the forward automaton only.
//! `regex::RegexSet` does the same job but also builds a reverse automaton and the caches of
//! several engines.
//!
//! The set is searched anchored, from each place a match may begin (see [`super::starts`]), so
//! it also tells where each intent's matches begin, and the intent's own pattern is tried only
//! there. An unanchored search would be one pass, but its automaton's states are combinations of
//! every partial match in flight, so their number grows with the variety of messages: on about
//! 2,600 varied messages it filled a 24 MB cache and was cleared over and over (0.65 ms a
//! message). Anchored, a state holds what can follow one start, bounded by the catalogue rather
//! than by what patients write: the same messages took 14 MB, never cleared, 12 µs a message.
//!
//! The set only picks which intents' own patterns to run and where, so it may match more than
//! they do but never less. Its patterns are loosened to that end: a bounded repeat
//! (`(?:\w+ ){0,8}`) becomes an unbounded one, which the automaton holds once instead of once per
//! repetition. The catalogue's automaton is about 40% smaller for it.

use super::lazy_dfa::LazyDfa;
use super::lexicon::pattern_parser;
use super::starts::Starts;
use regex_automata::hybrid::dfa::DFA;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::{Anchored, Input, MatchKind, PatternSet};
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
use std::fmt;

/// The lazy DFA's cache: past this it is cleared and refilled. Every labelled message and
/// example (about 2,600) fill about 14 MB; memory is only taken as states are made, and a cache
/// much smaller than what the messages need is cleared over and over, which makes the set many
/// times slower.
const CACHE_CAPACITY: usize = 24 << 20;

/// The compiled set. A copy shares the automaton and has caches of its own.
#[derive(Clone)]
pub struct IntentSet {
    dfa: LazyDfa,
    /// The places where a match of some pattern may begin.
    starts: Starts,
}

impl IntentSet {
    /// Compiles prepared patterns (see `lexicon::prepare_pattern`) the way each intent's own
    /// pattern is compiled: over bytes, without Unicode, since folded text is ASCII.
    pub(crate) fn new(patterns: &[&str], size_limit: usize) -> Result<IntentSet, String> {
        let mut parser = pattern_parser();
        let loosened = patterns
            .iter()
            .map(|pattern| parser.parse(pattern).map(|hir| loosen(&hir)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<Hir>, String>>()?;
        let starts = Starts::of(&loosened);
        let nfa = LazyDfa::nfa(&loosened, size_limit, WhichCaptures::None)?;
        let dfa = LazyDfa::new(nfa, DFA::config().match_kind(MatchKind::All).cache_capacity(CACHE_CAPACITY))?;
        Ok(IntentSet { dfa, starts })
    }

    /// The patterns that match somewhere in `text`, in order, each with the places (byte
    /// offsets, in order) where its matches begin. Should the search ever fail, every pattern
    /// with `None`: each intent's own pattern then searches the whole text, so nothing is missed.
    pub(crate) fn matches(&self, text: &str) -> Vec<(usize, Option<Vec<usize>>)> {
        let text = text.as_bytes();
        let (dfa, mut cache) = (self.dfa.dfa(), self.dfa.cache());
        let mut begins: Vec<Vec<usize>> = vec![Vec::new(); dfa.pattern_len()];
        let mut here = PatternSet::new(dfa.pattern_len());
        for at in (0..=text.len()).filter(|&at| self.starts.may_begin_at(text, at)) {
            here.clear();
            let input = Input::new(text).range(at..).anchored(Anchored::Yes);
            if dfa.try_which_overlapping_matches(&mut cache, &input, &mut here).is_err() {
                return (0..dfa.pattern_len()).map(|i| (i, None)).collect();
            }
            for id in here.iter() {
                begins[id.as_usize()].push(at);
            }
        }
        begins.into_iter().enumerate().filter(|(_, at)| !at.is_empty()).map(|(i, at)| (i, Some(at))).collect()
    }
}

/// The same expression with every repeat of more than one (`{0,8}`, `{2,5}`) made unbounded
/// (`*`, `+`): everything it matched still matches.
fn loosen(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(repetition) => {
            let sub = Box::new(loosen(&repetition.sub));
            let (min, max) = match repetition.max {
                Some(max) if max > 1 => (repetition.min.min(1), None),
                bounded => (repetition.min, bounded),
            };
            Hir::repetition(Repetition { min, max, greedy: repetition.greedy, sub })
        }
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(loosen).collect()),
        HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(loosen).collect()),
        HirKind::Capture(capture) => Hir::capture(Capture { sub: Box::new(loosen(&capture.sub)), ..capture.clone() }),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
    }
}

impl fmt::Debug for IntentSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntentSet").field("patterns", &self.dfa.dfa().pattern_len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The indexes of the patterns that match.
    fn found(set: &IntentSet, text: &str) -> Vec<usize> {
        set.matches(text).into_iter().map(|(i, _)| i).collect()
    }

    #[test]
    fn reports_every_pattern_that_matches_even_overlapping_with_where_it_begins() {
        let set = IntentSet::new(&[r"(?-u:\b)chest pain(?-u:\b)", r"(?-u:\b)pain(?-u:\b)", "dizzy"], 1 << 20).unwrap();
        assert_eq!(set.matches("bad chest pain, pain"), [(0, Some(vec![4])), (1, Some(vec![10, 16]))]);
        assert_eq!(found(&set, "so dizzy"), [2]);
        assert!(found(&set, "painful").is_empty(), "word boundaries hold");
        assert_eq!(set.clone().matches("undizzy and in pain"), [(1, Some(vec![15])), (2, Some(vec![2]))]);
    }

    #[test]
    fn bounded_repeats_are_loosened_never_tightened() {
        let set = IntentSet::new(&[r"(?-u:\b)a (?:b ){1,2}c(?-u:\b)", r"(?-u:\b)x{2,3}(?-u:\b)"], 1 << 20).unwrap();
        assert_eq!(found(&set, "a b c"), [0]);
        assert_eq!(found(&set, "a b b c"), [0]);
        assert_eq!(found(&set, "a b b b b c"), [0], "more repeats than the pattern allows: the set still reports it");
        assert!(found(&set, "a c").is_empty(), "a repeat of at least one stays at least one");
        assert_eq!(found(&set, "xx xxxxx"), [1]);
        assert_eq!(found(&set, "x"), [1], "x{{2,3}} is loosened to x+");
    }

    /// What the matcher relies on: every place an intent's own pattern begins a match, the set
    /// reports for it (over every labelled message and example of the built-in catalogue).
    #[test]
    fn the_catalogue_set_reports_every_place_an_intent_matches() {
        let catalogue = crate::triage::Catalogue::embedded().unwrap();
        let labelled = [
            include_str!("../../../tests/data/dev.jsonl"),
            include_str!("../../../tests/data/holdout.jsonl"),
            include_str!("../../../tests/data/holdout2.jsonl"),
            include_str!("../../../tests/data/holdout3.jsonl"),
        ];
        let messages = labelled
            .iter()
            .flat_map(|set| crate::cli::eval::read_items(set.as_bytes()).expect("a valid labelled set"))
            .map(|item| item.text);
        let examples = catalogue.intents().iter().flat_map(|i| i.examples.iter().chain(&i.counter_examples).cloned());
        let mut checked = 0;
        for text in messages.chain(examples) {
            let folded = crate::triage::normalise::FoldedText::with_words(&text, &catalogue.lexicon().words);
            let reported = catalogue.any_pattern().matches(folded.as_str());
            for (i, intent) in catalogue.intents().iter().enumerate() {
                let places = reported.iter().find(|(r, _)| *r == i).and_then(|(_, places)| places.as_deref());
                for found in intent.pattern().find_iter(folded.as_str().as_bytes()) {
                    assert!(places.unwrap_or(&[]).contains(&found.start), "{}: {text:?} at {}", intent.id, found.start);
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "only {checked} mentions checked");
    }

    #[test]
    fn a_too_large_set_is_an_error() {
        assert!(IntentSet::new(&["(?:a|b|c|d)".repeat(1000).as_str()], 1000).is_err());
    }
}
