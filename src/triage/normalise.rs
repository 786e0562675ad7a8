//! Text folding before matching: one canonical ASCII form that the catalogue's patterns are
//! written against, with a map back to the patient's original text for spans.
//!
//! Folding rules (the catalogue README documents them for clinicians):
//! - lower case; accents and other letters folded to ASCII ("café" -> "cafe");
//! - apostrophes removed, so "can't", "can’t" and "cant" are all `cant`;
//! - a letter repeated three or more times is cut to two ("soooo dizzzy" -> "soo dizzy");
//! - every run of white space is one space;
//! - an emoji becomes one word `e_<name>` ("😴" -> `e_sleeping`, "🤢" -> `e_nauseated_face`),
//!   so patterns can use emoji as signals without ever matching them by accident as words.
//!
//! Folding to ASCII is also what keeps matching fast: the regex engine's lazy DFA handles word
//! boundaries only on ASCII text, and otherwise falls back to a much slower engine.

/// Whether a byte of folded text is part of a word: what `\w` and `\b` mean in patterns.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Text folded for matching, with the byte offset in the original text of every folded byte.
#[derive(Debug, Clone)]
pub struct FoldedText {
    text: String,
    /// `origin[i]` is the byte range in the original of the character that produced byte `i`.
    origin: Vec<(usize, usize)>,
}

impl FoldedText {
    /// Folds `original` as the module documentation describes.
    pub fn new(original: &str) -> Self {
        let mut folded = Folder {
            text: String::with_capacity(original.len() + 8),
            origin: Vec::with_capacity(original.len() + 8),
            last_letter: None,
            repeat_count: 0,
        };
        for (offset, ch) in original.char_indices() {
            folded.push_char((offset, offset + ch.len_utf8()), ch);
        }
        let mut text = folded.text;
        let mut origin = folded.origin;
        while text.ends_with(' ') {
            text.pop();
            origin.pop();
        }
        Self { text, origin }
    }

    /// Folds `original`, then replaces whole words by their spelled-out form ("cnt" -> "cant",
    /// "rly" -> "really"), from the catalogue's `[words]` table.
    pub fn with_words(original: &str, words: &std::collections::HashMap<String, String>) -> Self {
        let folded = Self::new(original);
        if words.is_empty() {
            return folded;
        }
        let bytes = folded.text.as_bytes();
        let mut text = String::with_capacity(folded.text.len() + 16);
        let mut origin = Vec::with_capacity(folded.origin.len() + 16);
        let mut i = 0;
        while i < bytes.len() {
            if !is_word_byte(bytes[i]) {
                text.push(bytes[i] as char);
                origin.push(folded.origin[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_word_byte(bytes[i]) {
                i += 1;
            }
            let word = &folded.text[start..i];
            match words.get(word) {
                Some(replacement) => {
                    let span = (folded.origin[start].0, folded.origin[i - 1].1);
                    text.push_str(replacement);
                    origin.extend(std::iter::repeat_n(span, replacement.len()));
                }
                None => {
                    text.push_str(word);
                    origin.extend_from_slice(&folded.origin[start..i]);
                }
            }
        }
        Self { text, origin }
    }

    /// The folded text that patterns run against.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a byte range of the folded text back to a byte range of the original text.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.origin.is_empty() || start >= end {
            return (0, 0);
        }
        let first = self.origin[start.min(self.origin.len() - 1)].0;
        let last = self.origin[(end - 1).min(self.origin.len() - 1)].1;
        (first, last.max(first))
    }
}

struct Folder {
    text: String,
    origin: Vec<(usize, usize)>,
    last_letter: Option<char>,
    repeat_count: usize,
}

impl Folder {
    fn push_char(&mut self, offset: (usize, usize), ch: char) {
        if ch.is_ascii() {
            self.push_folded(offset, ch);
            return;
        }
        if ch.is_whitespace() {
            self.push_folded(offset, ' ');
            return;
        }
        let Some(ascii) = deunicode::deunicode_char(ch) else {
            return;
        };
        let is_emoji = !ch.is_alphanumeric()
            && ascii.trim().len() > 1
            && ascii.trim().chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
        if is_emoji {
            self.push_emoji(offset, ascii.trim());
        } else {
            for folded in ascii.chars() {
                self.push_folded(offset, folded);
            }
        }
    }

    fn push_emoji(&mut self, offset: (usize, usize), name: &str) {
        self.push_folded(offset, ' ');
        for ch in "e_".chars().chain(name.chars().map(|c| if c == ' ' { '_' } else { c })) {
            self.push_raw(offset, ch.to_ascii_lowercase());
        }
        self.push_folded(offset, ' ');
        self.last_letter = None;
    }

    fn push_folded(&mut self, offset: (usize, usize), ch: char) {
        let ch = match ch {
            '\'' | '`' => return,
            c if c.is_ascii_whitespace() => ' ',
            c => c.to_ascii_lowercase(),
        };
        if ch == ' ' {
            self.last_letter = None;
            if self.text.is_empty() || self.text.ends_with(' ') {
                return;
            }
            self.push_raw(offset, ' ');
            return;
        }
        if ch.is_ascii_alphabetic() {
            if self.last_letter == Some(ch) {
                self.repeat_count += 1;
                if self.repeat_count > 2 {
                    return;
                }
            } else {
                self.last_letter = Some(ch);
                self.repeat_count = 1;
            }
        } else {
            self.last_letter = None;
        }
        self.push_raw(offset, ch);
    }

    fn push_raw(&mut self, offset: (usize, usize), ch: char) {
        self.text.push(ch);
        self.origin.push(offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_apostrophes_and_repeats() {
        assert_eq!(FoldedText::new("I CAN’T   stop, soooo dizzzy").as_str(), "i cant stop, soo dizzy");
    }

    #[test]
    fn emoji_become_marked_words() {
        assert_eq!(FoldedText::new("cant stay awake 😴😴").as_str(), "cant stay awake e_sleeping e_sleeping");
        assert_eq!(FoldedText::new("🤢").as_str(), "e_nauseated_face");
    }

    #[test]
    fn accents_fold_to_ascii() {
        assert_eq!(FoldedText::new("Café naïve").as_str(), "cafe naive");
    }

    #[test]
    fn words_are_spelled_out_and_map_back() {
        let words = std::collections::HashMap::from([
            ("cnt".to_string(), "cant".to_string()),
            ("rly".to_string(), "really".to_string()),
        ]);
        let original = "I CNT breathe, rly";
        let folded = FoldedText::with_words(original, &words);
        assert_eq!(folded.as_str(), "i cant breathe, really");
        let start = folded.as_str().find("cant").unwrap();
        let (a, b) = folded.original_range(start, start + 4);
        assert_eq!(&original[a..b], "CNT");
    }

    #[test]
    fn ranges_map_back_to_the_original() {
        let original = "Très dizzzy’ now";
        let folded = FoldedText::new(original);
        let start = folded.as_str().find("dizzy").unwrap();
        let (a, b) = folded.original_range(start, start + "dizzy".len());
        assert_eq!(&original[a..b], "dizzzy");
    }
}
