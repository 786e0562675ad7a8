//! The free-text answer parsers, readings and time spans: never panic, answers in range, times
//! never in the future.
#![no_main]

use aftercare::triage::dialogue::answers;
use aftercare::triage::normalise::FoldedText;
use aftercare::triage::{elapsed, readings};
use aftercare_fuzz::{check_readings, clock_and_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Byte 0: the time zone; bytes 1-4: the clock; the rest: the patient's answer.
    let Some((tz, now, text)) = clock_and_text(data) else { return };

    let _ = answers::yes_no(&text);
    let _ = answers::feeling_fine(&text);
    let _ = answers::trend(&text);
    let _ = answers::route(&text);
    if let Some(severity) = answers::severity(&text) {
        assert!(severity <= 10, "severity {severity} from {text:?}");
    }
    if let Some(at) = answers::when(&text, now, &tz) {
        assert!(at <= now, "when({text:?}) = {at} is after now {now}");
    }
    if let Some((at, _route)) = answers::treatment_report(&text, now, &tz) {
        assert!(at <= now, "treatment_report({text:?}) = {at} is after now {now}");
    }

    // Readings and spans are found in folded text; `find` must also cope with raw text.
    let folded = FoldedText::new(&text);
    check_readings(folded.as_str(), &readings::find(folded.as_str()));
    check_readings(&text, &readings::find(&text));
    let _ = elapsed::longest_mentioned(folded.as_str());
    let _ = elapsed::longest_mentioned(&text);
});
