//! Property tests: the matcher and the text folding never panic, whatever the input.

use crate::catalogue;
use aftercare::triage::matcher::classify;
use aftercare::triage::normalise::FoldedText;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics_on_arbitrary_unicode(text in "\\PC{0,10000}") {
        let got = classify(catalogue(), &text);
        let length = text.chars().count();
        for m in &got.intents {
            prop_assert!(m.span[0] <= m.span[1] && m.span[1] <= length);
        }
    }

    #[test]
    fn classify_never_panics_on_words_and_symbols(text in "([a-z' ,.?!/0-9]|😴|🤢|’|é){0,400}") {
        let got = classify(catalogue(), &text);
        prop_assert!(got.intent == "none" || got.intents.iter().any(|m| m.id == got.intent));
    }

    #[test]
    fn folded_text_is_ascii_and_maps_back(text in "\\PC{0,2000}") {
        let folded = FoldedText::new(&text);
        prop_assert!(folded.as_str().is_ascii());
        let (start, end) = folded.original_range(0, folded.as_str().len());
        prop_assert!(start <= end && end <= text.len());
        prop_assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
    }
}
