//! Where a match of a compiled pattern may begin. Patterns and the intent set are searched
//! anchored, one place at a time ([`super::pattern`], [`super::intent_set`]); this keeps the
//! places tried to those where a match can begin: at a word boundary when every match begins at
//! one (`prepare_pattern` puts `\b` first), and on a byte some match can begin with.

use crate::triage::normalise::is_word_byte;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, Look};

/// The places in a text where a match may begin.
#[derive(Debug, Clone)]
pub(crate) struct Starts {
    /// Every match begins at a word boundary.
    at_word_boundary: bool,
    /// The bytes a match can begin with; `None` when any may, or a match may be empty.
    first_bytes: Option<Box<[bool; 256]>>,
}

impl Starts {
    /// The starts of a pattern that matches if any of `hirs` does.
    pub(crate) fn of(hirs: &[Hir]) -> Starts {
        let at_word_boundary = hirs.iter().all(|hir| hir.properties().look_set_prefix().contains(Look::WordAscii));
        let mut first_bytes = Box::new([false; 256]);
        for hir in hirs {
            if !add_first_bytes(hir, &mut first_bytes) {
                return Starts { at_word_boundary, first_bytes: None };
            }
        }
        Starts { at_word_boundary, first_bytes: Some(first_bytes) }
    }

    /// Whether a match may begin at byte `at` of `text` (`at` may be its length).
    pub(crate) fn may_begin_at(&self, text: &[u8], at: usize) -> bool {
        if self.at_word_boundary && !is_word_boundary(text, at) {
            return false;
        }
        match (&self.first_bytes, text.get(at)) {
            (None, _) => true,
            (Some(bytes), Some(&byte)) => bytes[usize::from(byte)],
            // Only an empty match could begin at the end, and then `first_bytes` is `None`.
            (Some(_), None) => false,
        }
    }
}

/// Marks the bytes a match of `hir` can begin with; false when that is not known (a class too
/// large to list, or a match that may be empty).
fn add_first_bytes(hir: &Hir, first_bytes: &mut [bool; 256]) -> bool {
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_literal_len(1).limit_class(256).limit_total(100_000);
    let prefixes = extractor.extract(hir);
    let Some(literals) = prefixes.literals() else {
        return false;
    };
    for literal in literals {
        match literal.as_bytes().first() {
            Some(&byte) => first_bytes[usize::from(byte)] = true,
            None => return false,
        }
    }
    true
}

/// Whether an ASCII word boundary (`(?-u:\b)`) is at byte `at` of `text`.
fn is_word_boundary(text: &[u8], at: usize) -> bool {
    let is_word = |i: usize| text.get(i).copied().is_some_and(is_word_byte);
    let before = at > 0 && is_word(at - 1);
    before != is_word(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::catalogue::lexicon::{pattern_parser, prepare_pattern};

    fn starts(patterns: &[&str]) -> Starts {
        let hirs: Vec<Hir> = patterns.iter().map(|p| pattern_parser().parse(&prepare_pattern(p)).unwrap()).collect();
        Starts::of(&hirs)
    }

    fn places(starts: &Starts, text: &str) -> Vec<usize> {
        (0..=text.len()).filter(|&at| starts.may_begin_at(text.as_bytes(), at)).collect()
    }

    #[test]
    fn word_starts_with_a_first_byte_of_some_pattern() {
        let s = starts(&["chest pain", "(?:very )?dizzy"]);
        assert_eq!(places(&s, "so dizzy, chest ok"), [3, 10]);
    }

    #[test]
    fn punctuation_that_begins_a_pattern_is_tried() {
        let s = starts(&["[,.] ?stop"]);
        assert_eq!(places(&s, "ok, stop"), [2]);
    }

    #[test]
    fn a_large_class_lists_its_bytes() {
        let s = starts(&["[^.!?]*?pain"]);
        assert_eq!(places(&s, "a b. c"), [0, 1, 2, 5], "not the full stop, nor the space after it (no boundary)");
    }

    #[test]
    fn a_pattern_that_may_be_empty_may_begin_anywhere() {
        let s = Starts::of(&[pattern_parser().parse("x*").unwrap()]);
        assert_eq!(places(&s, "ab"), [0, 1, 2]);
    }

    #[test]
    fn without_a_leading_word_boundary_every_place_with_a_first_byte() {
        let s = Starts::of(&[pattern_parser().parse("ain").unwrap()]);
        assert_eq!(places(&s, "pain again"), [1, 5, 7]);
    }
}
