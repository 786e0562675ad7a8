//! Which intents a message mentions at all, in one pass over it: every intent's patterns as one
//! lazy DFA that reports all the patterns that match (overlapping), built on the forward automaton
//! only. `regex::RegexSet` does the same job but also builds a reverse automaton and the caches
//! of several engines; this keeps about half of that memory for the same speed.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

/// The lazy DFA's cache: past this it is cleared and refilled, never given up on (a search that
/// gave up would need a slower engine). The catalogue's states for a day of messages fit; below
/// about 8 MB the clearing makes matching several times slower.
const CACHE_CAPACITY: usize = 16 << 20;

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
        let dfa = DFA::builder()
            .configure(
                DFA::config().match_kind(MatchKind::All).cache_capacity(CACHE_CAPACITY).minimum_cache_clear_count(None),
            )
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false).nfa_size_limit(Some(size_limit)))
            .build_many(patterns)
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
    fn a_too_large_set_is_an_error() {
        assert!(IntentSet::new(&["(?:a|b|c|d){1000}"], 1000).is_err());
    }
}
