//! One compiled catalogue pattern (an intent's patterns, its excludes, a raise's `when`, the
//! lexicon's triggers and breaks): where it matches in folded text, leftmost-first and without
//! overlaps, as `regex::bytes::Regex::find_iter` reports them.
//!
//! Built as a forward lazy DFA searched anchored from each place a match may begin. The `regex`
//! crate finds a match's end with a forward DFA and then its start with a second, reverse one;
//! that doubles the automata and the match caches (each holds a state table sized to its
//! automaton as soon as the pattern has run once): 17 MB more at the load benchmark's peak. The
//! places tried are few: where the intent set saw the pattern begin (an intent's own patterns),
//! else where one of its leading words occurs (a prefilter), else where [`Starts`] allows (a word
//! boundary, on a byte a match can begin with). A try where nothing begins ends on its first byte.

use super::lazy_dfa::{CacheMaker, LazyDfa};
use super::lexicon::pattern_parser;
use super::starts::Starts;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{pikevm::PikeVM, WhichCaptures};
use regex_automata::util::pool::PoolGuard;
use regex_automata::util::prefilter::Prefilter;
use regex_automata::{Anchored, Input, MatchKind, Span};
use std::fmt;
use std::ops::Range;

/// The lazy DFA's cache: past this it is cleared and refilled. After every labelled message and
/// example (about 2,600) the largest pattern's cache (self-harm's) held under 1 MB and none had
/// been cleared; all of them together about 15 MB.
const CACHE_CAPACITY: usize = 2 << 20;

/// A compiled pattern. A copy shares the automaton and has a cache of its own.
#[derive(Clone)]
pub struct Pattern {
    dfa: LazyDfa,
    /// Every match begins with one of a few literal words: where one occurs is a place to try.
    prefilter: Option<Prefilter>,
    /// The places where a match may begin.
    starts: Starts,
    /// The same automaton run by the PikeVM, should the lazy DFA ever fail a search (it is
    /// configured never to): slower, but nothing is missed.
    fallback: PikeVM,
}

impl Pattern {
    /// Compiles a prepared pattern (see `lexicon::prepare_pattern`) over bytes, without Unicode,
    /// since folded text is ASCII. `size_limit` bounds the automaton, in bytes.
    pub(crate) fn new(prepared: &str, size_limit: usize) -> Result<Pattern, String> {
        let hir = pattern_parser().parse(prepared).map_err(|e| e.to_string())?;
        let starts = Starts::of(std::slice::from_ref(&hir));
        let prefilter = Prefilter::from_hir_prefix(MatchKind::LeftmostFirst, &hir).filter(Prefilter::is_fast);
        // The whole match's span only; the lazy DFA ignores it, the fallback needs it.
        let nfa = LazyDfa::nfa(std::slice::from_ref(&hir), size_limit, WhichCaptures::Implicit)?;
        let config = DFA::config()
            .match_kind(MatchKind::LeftmostFirst)
            .cache_capacity(CACHE_CAPACITY)
            // A pattern too large for the capacity still gets the least it needs.
            .skip_cache_capacity_check(true);
        let dfa = LazyDfa::new(nfa.clone(), config)?;
        let fallback = PikeVM::builder()
            .configure(PikeVM::config().match_kind(MatchKind::LeftmostFirst))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        Ok(Pattern { dfa, prefilter, starts, fallback })
    }

    /// Where the pattern matches in `text`, in order, without overlaps: at each place, the
    /// leftmost match, and of the matches starting there the one the pattern prefers (its first
    /// alternative that matches, repeats as long as they go), as `regex` reports them.
    pub fn find_iter<'p, 't>(&'p self, text: &'t [u8]) -> Matches<'p, 't> {
        Matches { pattern: self, cache: self.dfa.cache(), text, places: None, at: 0, last_end: None }
    }

    /// The same matches, when they can only begin at `places` (in order): where the intent set
    /// saw a looser form of the pattern begin.
    pub(crate) fn find_iter_at<'p, 't>(&'p self, text: &'t [u8], places: &'t [usize]) -> Matches<'p, 't> {
        Matches { pattern: self, cache: self.dfa.cache(), text, places: Some(places), at: 0, last_end: None }
    }
}

/// The matches of a pattern in one text, found as they are asked for.
pub struct Matches<'p, 't> {
    pattern: &'p Pattern,
    cache: PoolGuard<'p, Cache, CacheMaker>,
    text: &'t [u8],
    /// The only places a match can begin, when known.
    places: Option<&'t [usize]>,
    /// Where the next match may begin.
    at: usize,
    last_end: Option<usize>,
}

impl Iterator for Matches<'_, '_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        while let Some(at) = self.next_place() {
            self.at = at;
            let input = Input::new(self.text).range(at..).anchored(Anchored::Yes);
            let found = match self.pattern.dfa.dfa().try_search_fwd(&mut self.cache, &input) {
                Ok(Some(end)) => at..end.offset(),
                Ok(None) => {
                    self.at = at + 1;
                    continue;
                }
                Err(_) => self.fallback_search()?,
            };
            self.at = if found.is_empty() { found.end + 1 } else { found.end };
            // An empty match right where the last one ended is not a new match.
            if found.is_empty() && self.last_end == Some(found.end) {
                continue;
            }
            self.last_end = Some(found.end);
            return Some(found);
        }
        None
    }
}

impl Matches<'_, '_> {
    /// The first place from `at` on where a match may begin.
    fn next_place(&mut self) -> Option<usize> {
        let (text, at) = (self.text, self.at);
        if let Some(places) = &mut self.places {
            let skipped = places.iter().take_while(|&&place| place < at).count();
            *places = &places[skipped..];
            return places.first().copied();
        }
        let mut from = at;
        while from <= text.len() {
            let candidate = match &self.pattern.prefilter {
                Some(prefilter) => prefilter.find(text, Span::from(from..text.len()))?.start,
                None => from,
            };
            if self.pattern.starts.may_begin_at(text, candidate) {
                return Some(candidate);
            }
            from = candidate + 1;
        }
        None
    }

    /// The leftmost match from `at` on, by the PikeVM.
    fn fallback_search(&mut self) -> Option<Range<usize>> {
        let mut cache = self.pattern.fallback.create_cache();
        let input = Input::new(self.text).range(self.at..);
        self.pattern.fallback.find(&mut cache, input).map(|m| m.range())
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern").field("nfa_states", &self.dfa.dfa().get_nfa().states().len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::catalogue::lexicon::prepare_pattern;

    fn pattern(source: &str) -> Pattern {
        Pattern::new(&prepare_pattern(source), 1 << 20).unwrap()
    }

    fn regex_spans(source: &str, text: &str) -> Vec<Range<usize>> {
        let re = regex::bytes::RegexBuilder::new(&prepare_pattern(source)).unicode(false).build().unwrap();
        re.find_iter(text.as_bytes()).map(|m| m.range()).collect()
    }

    #[test]
    fn finds_what_the_regex_crate_finds() {
        let cases = [
            ("chest (?:pain|hurts?)", "my chest hurts and chest pain again, chest hurts"),
            ("(?:a|a b|a b c)", "a b c a b a"),
            ("(?:\\w+ )*pain", "sharp stabbing pain then more pain"),
            ("dizzy|dizzy spells?", "dizzy spells and dizzy"),
            ("\\d+ ?(?:mg|ml)", "took 50mg then 2 ml then 3mgs"),
            ("not? safe", "i am not safe, no safe place, notsafe"),
            ("x*", "a xx b"),
            ("pain", "painful"),
        ];
        for (source, text) in cases {
            let found: Vec<Range<usize>> = pattern(source).find_iter(text.as_bytes()).collect();
            assert_eq!(found, regex_spans(source, text), "{source} on {text:?}");
        }
    }

    proptest::proptest! {
        /// Any text of the words these patterns use, spaces and punctuation: the same spans as
        /// the `regex` crate, for alternatives that prefer a shorter match, lazy and bounded
        /// repeats, patterns that may match nothing and patterns without a leading `\b`.
        #[test]
        fn spans_agree_with_the_regex_crate(text in "(?:(?:no|not|pain|chest|ache|a|b|ab|x| |, |\\.|!|-){0,12})") {
            let sources = [
                "(?:a|a b|ab)",
                "(?:not? )?(?:chest )?(?:pain|ache)",
                "(?:\\w+ ){0,3}?pain",
                "[^.!?]{0,20}?pain",
                "(?:\\w+ )*(?:pain|ache)s?",
                "x*",
            ];
            for source in sources {
                let found: Vec<Range<usize>> = pattern(source).find_iter(text.as_bytes()).collect();
                proptest::prop_assert_eq!(found, regex_spans(source, &text), "{} on {:?}", source, text);
            }
            let bare = "[.!,] ?(?:pain|x)?";
            let compiled = Pattern::new(bare, 1 << 20).unwrap();
            let expected: Vec<Range<usize>> = regex::bytes::Regex::new(bare).unwrap().find_iter(text.as_bytes()).map(|m| m.range()).collect();
            proptest::prop_assert_eq!(compiled.find_iter(text.as_bytes()).collect::<Vec<_>>(), expected);
        }

        /// Random patterns too (words, classes, alternatives, greedy, lazy and bounded repeats,
        /// with and without a leading `\b`) on random text: the same spans as the `regex` crate.
        #[test]
        fn random_patterns_agree_with_the_regex_crate(
            source in random_pattern(),
            bounded in proptest::bool::ANY,
            text in "(?:(?:no|not|pain|chest|a|b|ab|x|7| |, |\\.|!){0,14})",
        ) {
            let prepared = if bounded { prepare_pattern(&source) } else { source.clone() };
            let compiled = Pattern::new(&prepared, 1 << 20).unwrap();
            let re = regex::bytes::RegexBuilder::new(&prepared).unicode(false).build().unwrap();
            let expected: Vec<Range<usize>> = re.find_iter(text.as_bytes()).map(|m| m.range()).collect();
            proptest::prop_assert_eq!(compiled.find_iter(text.as_bytes()).collect::<Vec<_>>(), expected, "{:?}", prepared);
        }
    }

    /// Patterns built from the shapes catalogue patterns use.
    fn random_pattern() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let atom = prop_oneof![
            Just("no".to_string()),
            Just("not".to_string()),
            Just("pain".to_string()),
            Just("chest".to_string()),
            Just("a".to_string()),
            Just("b".to_string()),
            Just(" ".to_string()),
            Just("\\w".to_string()),
            Just("\\d".to_string()),
            Just("[^.!]".to_string()),
            Just("[.,!]".to_string()),
            Just("\\b".to_string()),
        ];
        atom.prop_recursive(4, 24, 4, |inner| {
            let repeat =
                prop_oneof![Just("?"), Just("*"), Just("+"), Just("*?"), Just("??"), Just("{0,2}"), Just("{1,3}?")];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|parts| parts.concat()),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|parts| format!("(?:{})", parts.join("|"))),
                (inner, repeat).prop_map(|(part, repeat)| format!("(?:{part}){repeat}")),
            ]
        })
    }

    #[test]
    fn a_pattern_led_by_words_tries_only_where_they_occur() {
        assert!(pattern("(?:not? )?(?:chest )?(?:pain|ache)").prefilter.is_some());
        assert!(pattern("(?:\\w+ )*pain").prefilter.is_none(), "any word may start it");
    }

    #[test]
    fn a_pattern_without_a_leading_word_boundary_matches_inside_words() {
        let unbounded = Pattern::new("ain", 1 << 20).unwrap();
        assert_eq!(unbounded.find_iter(b"pain again").collect::<Vec<_>>(), [1..4, 7..10]);
        assert_eq!(pattern("ain").find_iter(b"pain again").count(), 0);
    }

    #[test]
    fn the_fallback_finds_the_same_matches() {
        let p = pattern("(?:\\w+ )*pain|ache");
        let text = b"a dull ache, then sharp pain";
        let expected: Vec<Range<usize>> = p.find_iter(text).collect();
        let mut matches = p.find_iter(text);
        let mut by_fallback = Vec::new();
        while let Some(found) = matches.fallback_search() {
            matches.at = found.end;
            by_fallback.push(found);
        }
        assert_eq!(by_fallback, expected);
        assert_eq!(expected.len(), 2);
    }

    #[test]
    fn given_the_places_matches_can_begin_the_same_matches() {
        let p = pattern("chest pain|pain");
        let text = b"chest pain, pain";
        let everywhere: Vec<Range<usize>> = p.find_iter(text).collect();
        assert_eq!(everywhere, [0..10, 12..16]);
        assert!(p.find_iter_at(text, &[0, 6, 12]).eq(everywhere), "a superset of the places");
        assert!(p.find_iter_at(text, &[6, 12]).eq([6..10, 12..16]), "only where told");
    }

    #[test]
    fn a_too_large_pattern_is_an_error() {
        assert!(Pattern::new(&"(?:a|b|c|d)".repeat(1000), 1000).is_err());
    }

    #[test]
    fn a_copy_matches_alike() {
        let p = pattern("sore (?:throat|head)");
        assert!(p.clone().find_iter(b"sore head, sore throat").eq(p.find_iter(b"sore head, sore throat")));
        assert_eq!(p.find_iter(b"a sore throat").count(), 1);
        assert_eq!(p.find_iter(b"sorethroat").count(), 0);
    }
}
