//! Which intents a message may mention, in one pass over it: every intent's patterns as one lazy
//! DFA that reports all the patterns that match (overlapping), built on the forward automaton
//! only. `regex::RegexSet` does the same job but also builds a reverse automaton and the caches
//! of several engines; this keeps about half of that memory for the same speed.
//!
//! The set only picks which intents' own regexes to run, so it may match more than they do but
//! never less. Its patterns are loosened to that end: a bounded repeat (`(?:\w+ ){0,8}`) becomes
//! an unbounded one, which the automaton holds once instead of once per repetition. The
//! catalogue's automaton is about 40% smaller for it, and on the dev set no extra intent is run.

use super::lexicon::pattern_parser;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::{Input, MatchKind, PatternSet};
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

/// The lazy DFA's cache: past this it is cleared and refilled, never given up on (a search that
/// gave up would need a slower engine). The dev set's variety fills about 14 MB; a cache much
/// smaller than what the messages need is cleared over and over and the set becomes hundreds of
/// times slower (at 12 MB: a hundredth of the speed), so the cap leaves room for wider
/// vocabularies: memory is only taken as states are made.
const CACHE_CAPACITY: usize = 24 << 20;

type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>>;

/// The compiled set. A copy shares the automaton and has caches of its own.
pub struct IntentSet {
    dfa: Arc<DFA>,
    caches: CachePool,
}

impl IntentSet {
    /// Compiles prepared patterns (see `lexicon::prepare_pattern`) the way each intent's own
    /// regex is compiled: over bytes, without Unicode, since folded text is ASCII.
    pub(crate) fn new(patterns: &[&str], size_limit: usize) -> Result<IntentSet, String> {
        let mut parser = pattern_parser();
        let loosened = patterns
            .iter()
            .map(|pattern| parser.parse(pattern).map(|hir| loosen(&hir)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<Hir>, String>>()?;
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(size_limit))
                    .which_captures(WhichCaptures::None),
            )
            .build_many_from_hir(&loosened)
            .map_err(|e| e.to_string())?;
        let dfa = DFA::builder()
            .configure(
                DFA::config().match_kind(MatchKind::All).cache_capacity(CACHE_CAPACITY).minimum_cache_clear_count(None),
            )
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        Ok(IntentSet::with_dfa(Arc::new(dfa)))
    }

    fn with_dfa(dfa: Arc<DFA>) -> IntentSet {
        let for_caches = Arc::clone(&dfa);
        IntentSet { dfa, caches: Pool::new(Box::new(move || for_caches.create_cache())) }
    }

    /// The indexes of the patterns that match somewhere in `text`, in order. Should the search
    /// ever fail, every index: each intent's own regex then decides, so nothing is missed.
    pub(crate) fn matches(&self, text: &str) -> Vec<usize> {
        let mut found = PatternSet::new(self.dfa.pattern_len());
        let mut cache = self.caches.get();
        match self.dfa.try_which_overlapping_matches(&mut cache, &Input::new(text), &mut found) {
            Ok(()) => found.iter().map(|id| id.as_usize()).collect(),
            Err(_) => (0..self.dfa.pattern_len()).collect(),
        }
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

impl Clone for IntentSet {
    fn clone(&self) -> IntentSet {
        IntentSet::with_dfa(Arc::clone(&self.dfa))
    }
}

impl fmt::Debug for IntentSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntentSet").field("patterns", &self.dfa.pattern_len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_pattern_that_matches_even_overlapping() {
        let set = IntentSet::new(&[r"(?-u:\b)chest pain(?-u:\b)", r"(?-u:\b)pain(?-u:\b)", "dizzy"], 1 << 20).unwrap();
        assert_eq!(set.matches("bad chest pain today"), [0, 1]);
        assert_eq!(set.matches("so dizzy"), [2]);
        assert!(set.matches("painful").is_empty(), "word boundaries hold");
        assert_eq!(set.clone().matches("dizzy and in pain"), [1, 2]);
    }

    #[test]
    fn bounded_repeats_are_loosened_never_tightened() {
        let set = IntentSet::new(&[r"(?-u:\b)a (?:b ){1,2}c(?-u:\b)", r"(?-u:\b)x{2,3}(?-u:\b)"], 1 << 20).unwrap();
        assert_eq!(set.matches("a b c"), [0]);
        assert_eq!(set.matches("a b b c"), [0]);
        assert_eq!(set.matches("a b b b b c"), [0], "more repeats than the pattern allows: the set still reports it");
        assert!(set.matches("a c").is_empty(), "a repeat of at least one stays at least one");
        assert_eq!(set.matches("xx xxxxx"), [1]);
        assert_eq!(set.matches("x"), [1], "x{{2,3}} is loosened to x+");
    }

    #[test]
    fn a_too_large_set_is_an_error() {
        assert!(IntentSet::new(&["(?:a|b|c|d)".repeat(1000).as_str()], 1000).is_err());
    }
}
