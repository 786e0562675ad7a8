//! The compiled lexicon: negation and hypothetical trigger phrases, the words that end their
//! scope, and the pattern macros, all from `intents/_lexicon.toml`.

use super::pattern::Pattern;

/// Trigger patterns and scope limits, compiled once.
#[derive(Debug, Clone)]
pub struct Lexicon {
    pub(crate) negation_before: Pattern,
    pub(crate) negation_after: Option<Pattern>,
    pub(crate) hypothetical_before: Pattern,
    pub(crate) hypothetical_after: Option<Pattern>,
    /// Phrases that contain a trigger word without being a trigger; triggers inside them are ignored.
    pub(crate) pseudo: Option<Pattern>,
    /// Punctuation and words that end a trigger's scope.
    pub(crate) breaks: Pattern,
    pub(crate) max_words_after_trigger: usize,
    pub(crate) max_words_before_trigger: usize,
    /// Whole words spelled out before matching ("cnt" -> "cant").
    pub(crate) words: std::collections::HashMap<String, String>,
}

/// Rewrites a pattern as written by a clinician into the form compiled against folded text:
/// letters lower-cased (folded text has no capitals), `\b`, `\w` and `\W` made ASCII (folded
/// text is ASCII, and ASCII classes keep the fast DFA engine usable), and the whole pattern held
/// to word boundaries.
pub(crate) fn prepare_pattern(pattern: &str) -> String {
    let mut body = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            body.push(ch.to_ascii_lowercase());
            continue;
        }
        match chars.next() {
            Some('b') => body.push_str(r"(?-u:\b)"),
            Some('w') => body.push_str("[0-9a-z_]"),
            Some('W') => body.push_str("[^0-9a-z_]"),
            Some(other) => {
                body.push('\\');
                body.push(other);
            }
            None => body.push('\\'),
        }
    }
    format!(r"(?-u:\b)(?:{body})(?-u:\b)")
}

/// A parser for prepared patterns, configured as they are compiled: over bytes, without Unicode
/// (folded text is ASCII).
pub(crate) fn pattern_parser() -> regex_syntax::Parser {
    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build()
}

/// Joins several prepared patterns into one alternation.
pub(crate) fn alternation<'a>(patterns: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<&str> = patterns.into_iter().collect();
    if parts.is_empty() {
        // Matches nothing: an empty class.
        return r"[^\s\S]".to_string();
    }
    parts.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiled as the catalogue compiles patterns.
    fn compiled(pattern: &str) -> Pattern {
        Pattern::new(&prepare_pattern(pattern), 1 << 20).unwrap()
    }

    #[test]
    fn patterns_are_lowercased_and_bounded() {
        let re = compiled(r"BP\s*\d+");
        assert!(re.find_iter(b"my bp 180").next().is_some());
        assert!(re.find_iter(b"abp 180").next().is_none());
        assert!(prepare_pattern(r"\D").contains(r"\D"));
    }

    #[test]
    fn ascii_word_classes() {
        let re = compiled(r"dizz\w*");
        assert!(re.find_iter(b"so dizzy now").next().is_some());
        assert!(re.find_iter(b"undizzy").next().is_none());
    }
}
