//! The catalogue loader on one arbitrary intent file beside the real negation lexicon: never
//! panics; every problem names a file, a line inside it and a reason; a file that compiles
//! gives a catalogue the matcher can run on.
#![no_main]

use aftercare::triage::catalogue::{CatalogueSource, SourceFile};
use aftercare::triage::matcher::classify;
use aftercare::triage::Catalogue;
use aftercare_fuzz::check_classification;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const PATH: &str = "intents/fuzz.toml";

static LEXICON: LazyLock<SourceFile> = LazyLock::new(|| {
    CatalogueSource::embedded()
        .files
        .into_iter()
        .find(|f| f.path.ends_with("_lexicon.toml"))
        .expect("the embedded catalogue has _lexicon.toml")
});

fuzz_target!(|data: &[u8]| {
    let contents = String::from_utf8_lossy(data).into_owned();
    let lines = contents.lines().count().max(1);
    let source = CatalogueSource { files: vec![LEXICON.clone(), SourceFile { path: PATH.to_string(), contents }] };
    let (catalogue, problems) = Catalogue::check(&source);
    // Problems name the fuzzed file, or an intent the engine requires that it did not provide.
    for problem in &problems {
        assert!(!problem.path.is_empty() && problem.line >= 1, "no place: {problem}");
        assert!(!problem.reason.trim().is_empty(), "empty reason: {problem}");
        assert!(!problem.field.trim().is_empty(), "empty field: {problem}");
        if problem.path == PATH {
            assert!(problem.line >= 1 && problem.line <= lines + 1, "line {} of {lines}: {problem}", problem.line);
        }
    }
    if let Some(catalogue) = catalogue {
        for text in catalogue.intents().iter().flat_map(|i| i.examples.iter().chain(&i.counter_examples)).take(8) {
            check_classification(&catalogue, text, &classify(&catalogue, text));
        }
        let text = "I feel dizzy and sick, not chest pain, bp 180/110 for 2 days";
        check_classification(&catalogue, text, &classify(&catalogue, text));
    }
});
