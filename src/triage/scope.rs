//! NegEx-style scope: whether a mention in folded text is asserted, negated ("no nausea",
//! "heart's fine") or hypothetical ("what if I get dizzy", "last time I was sick").
//!
//! A `before` trigger reaches forward a few words, an `after` trigger reaches back a few words,
//! and neither crosses punctuation or a scope-breaking word ("but", "though", "just"...). A
//! trigger inside the mention itself does not count, so a pattern may carry its own negation
//! ("not getting enough air", "don't want to be here").

use crate::triage::catalogue::{Lexicon, Pattern};
use crate::triage::normalise::is_word_byte;

/// How a mention stands in its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stance {
    pub negated: bool,
    pub hypothetical: bool,
}

impl Stance {
    /// Neither negated nor hypothetical: the patient says they have it.
    pub fn is_asserted(self) -> bool {
        !self.negated && !self.hypothetical
    }
}

type Range = (usize, usize);

/// Triggers and clause breaks found in one folded message.
pub(crate) struct Scope<'t> {
    text: &'t str,
    breaks: Vec<Range>,
    negation_before: Vec<Range>,
    negation_after: Vec<Range>,
    hypothetical_before: Vec<Range>,
    hypothetical_after: Vec<Range>,
    max_after: usize,
    max_before: usize,
}

fn ranges(pattern: Option<&Pattern>, text: &str) -> Vec<Range> {
    pattern.map(|p| p.find_iter(text.as_bytes()).map(|m| (m.start, m.end)).collect()).unwrap_or_default()
}

impl<'t> Scope<'t> {
    pub(crate) fn new(lexicon: &Lexicon, text: &'t str) -> Self {
        let pseudo = ranges(lexicon.pseudo.as_ref(), text);
        // A trigger word inside a pseudo-trigger ("dont know", "no matter") is not a trigger.
        let triggers = |pattern: Option<&Pattern>| -> Vec<Range> {
            let mut found = ranges(pattern, text);
            found.retain(|t| !pseudo.iter().any(|p| p.0 <= t.0 && t.1 <= p.1));
            found
        };
        Self {
            text,
            breaks: ranges(Some(&lexicon.breaks), text),
            negation_before: triggers(Some(&lexicon.negation_before)),
            negation_after: triggers(lexicon.negation_after.as_ref()),
            hypothetical_before: triggers(Some(&lexicon.hypothetical_before)),
            hypothetical_after: triggers(lexicon.hypothetical_after.as_ref()),
            max_after: lexicon.max_words_after_trigger,
            max_before: lexicon.max_words_before_trigger,
        }
    }

    /// The clause around `start..end`: from the break before it to the break after it.
    pub(crate) fn clause(&self, start: usize, end: usize) -> Range {
        let clause_start = self.breaks.iter().filter(|b| b.1 <= start).map(|b| b.1).max().unwrap_or(0);
        let clause_end = self.breaks.iter().filter(|b| b.0 >= end).map(|b| b.0).min().unwrap_or(self.text.len());
        (clause_start, clause_end)
    }

    /// Whether the clause around `start..end` ends in a question mark.
    pub(crate) fn is_question(&self, start: usize, end: usize) -> bool {
        let (_, clause_end) = self.clause(start, end);
        self.text[clause_end..].starts_with('?')
    }

    /// The stance of the mention at `start..end`.
    pub(crate) fn stance(&self, start: usize, end: usize) -> Stance {
        let clause = self.clause(start, end);
        Stance {
            negated: self.reaches(&self.negation_before, &self.negation_after, clause, start, end),
            hypothetical: self.reaches(&self.hypothetical_before, &self.hypothetical_after, clause, start, end),
        }
    }

    fn reaches(&self, before: &[Range], after: &[Range], clause: Range, start: usize, end: usize) -> bool {
        let forward = before.iter().any(|&(t_start, t_end)| {
            t_start >= clause.0 && t_end <= start && words(&self.text[t_end..start]) <= self.max_after
        });
        forward
            || after.iter().any(|&(t_start, t_end)| {
                t_start >= end && t_end <= clause.1 && words(&self.text[end..t_start]) <= self.max_before
            })
    }
}

/// The number of words (runs of letters, digits and `_`) in folded text.
fn words(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for b in text.bytes() {
        let is_word = is_word_byte(b);
        if is_word && !in_word {
            count += 1;
        }
        in_word = is_word;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn counts_words() {
        assert_eq!(words(""), 0);
        assert_eq!(words(" no "), 1);
        assert_eq!(words("chest pain or "), 3);
    }
}
