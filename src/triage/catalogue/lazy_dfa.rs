//! A lazy DFA shared by every thread, with a match cache per thread that uses it: the engine
//! under both a [`super::pattern::Pattern`] and the [`super::intent_set::IntentSet`]. A copy
//! shares the automaton and starts with caches of its own (so the caches a copy filled, while
//! the catalogue checks its examples, are freed with it).

use regex_automata::hybrid::dfa::{Cache, Config, DFA};
use regex_automata::nfa::thompson::{self, WhichCaptures, NFA};
use regex_automata::util::pool::{Pool, PoolGuard};
use regex_syntax::hir::Hir;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

pub(crate) type CacheMaker = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// The automaton and its caches.
pub(crate) struct LazyDfa {
    dfa: Arc<DFA>,
    caches: Pool<Cache, CacheMaker>,
}

impl LazyDfa {
    /// Compiles expressions over bytes (folded text is ASCII) into one NFA of at most
    /// `size_limit` bytes, one pattern per expression.
    pub(crate) fn nfa(hirs: &[Hir], size_limit: usize, captures: WhichCaptures) -> Result<NFA, String> {
        thompson::Compiler::new()
            .configure(thompson::Config::new().utf8(false).nfa_size_limit(Some(size_limit)).which_captures(captures))
            .build_many_from_hir(hirs)
            .map_err(|e| e.to_string())
    }

    /// The lazy DFA of `nfa`. Its cache is cleared and refilled past `config`'s capacity, never
    /// given up on: a search that gave up would need a slower engine.
    pub(crate) fn new(nfa: NFA, config: Config) -> Result<LazyDfa, String> {
        let dfa = DFA::builder()
            .configure(config.minimum_cache_clear_count(None))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        Ok(LazyDfa::sharing(Arc::new(dfa)))
    }

    fn sharing(dfa: Arc<DFA>) -> LazyDfa {
        let for_caches = Arc::clone(&dfa);
        LazyDfa { dfa, caches: Pool::new(Box::new(move || for_caches.create_cache())) }
    }

    pub(crate) fn dfa(&self) -> &DFA {
        &self.dfa
    }

    /// This thread's cache.
    pub(crate) fn cache(&self) -> PoolGuard<'_, Cache, CacheMaker> {
        self.caches.get()
    }
}

impl Clone for LazyDfa {
    fn clone(&self) -> LazyDfa {
        LazyDfa::sharing(Arc::clone(&self.dfa))
    }
}
