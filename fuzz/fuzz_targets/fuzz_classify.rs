//! The matcher on arbitrary text: never panics, spans in range, a consistent verdict.
#![no_main]

use aftercare::triage::matcher::{classify, classify_with};
use aftercare_fuzz::{catalogue, check_classification};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a time since treatment (none, or up to ~10 days in 1-hour steps).
    let Some((&hours, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let got = classify(catalogue(), &text);
    check_classification(catalogue(), &text, &got);
    let since = (hours != 0).then(|| Duration::from_secs(u64::from(hours) * 3600));
    let with_time = classify_with(catalogue(), &text, since);
    check_classification(catalogue(), &text, &with_time);
});
