//! Helpers shared by the fuzz targets: the built-in catalogue, a clock and time zones read from
//! the input's first bytes, and the invariants each target asserts after the no-panic check.

use aftercare::triage::catalogue::CatalogueSource;
use aftercare::triage::readings::Readings;
use aftercare::triage::{Catalogue, Classification};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::sync::LazyLock;

/// The built-in catalogue, compiled once per fuzzing process. Its examples are not run here
/// (`cargo test` does that): under the sanitizer that alone takes seconds, and libFuzzer's fork
/// mode starts a new process for every job.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
        Catalogue::compile(&CatalogueSource::embedded())
            .unwrap_or_else(|problems| panic!("built-in catalogue:\n{problems}"))
    });
    &CATALOGUE
}

/// Zones with odd offsets, half-hour and 45-minute DST, and both ends of the date line.
const ZONES: [&str; 10] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Pacific/Chatham",
    "America/Santiago",
];

/// A time zone picked by one byte of the input.
pub fn zone(byte: u8) -> TimeZone {
    TimeZone::get(ZONES[usize::from(byte) % ZONES.len()]).expect("bundled zone")
}

/// A realistic `now`: 1990-01-01 plus up to 2^32 seconds (to 2126), from four bytes of the input.
pub fn now(bytes: [u8; 4]) -> Timestamp {
    const START: i64 = 631_152_000; // 1990-01-01T00:00:00Z
    Timestamp::from_second(START + i64::from(u32::from_le_bytes(bytes))).expect("in range")
}

/// Splits fuzz input into a zone, a clock and text (the rest, as lossy UTF-8).
pub fn clock_and_text(data: &[u8]) -> Option<(TimeZone, Timestamp, String)> {
    let (head, rest) = data.split_first_chunk::<5>()?;
    let [z, a, b, c, d] = *head;
    Some((zone(z), now([a, b, c, d]), String::from_utf8_lossy(rest).into_owned()))
}

/// What every classification must satisfy.
pub fn check_classification(catalogue: &Catalogue, text: &str, got: &Classification) {
    let length = text.chars().count();
    let mut ids = std::collections::HashSet::new();
    for m in &got.intents {
        assert!(ids.insert(&m.id), "{} twice", m.id);
        assert!(m.span[0] <= m.span[1] && m.span[1] <= length, "span {:?} outside {length} chars", m.span);
        assert!(catalogue.get(&m.id).is_some(), "unknown intent {}", m.id);
    }
    if got.intent == Classification::NONE {
        assert!(got.ranked().is_empty(), "asserted intents but top is none: {}", got.summary());
        assert_eq!(got.disposition, aftercare::triage::Disposition::None);
    } else {
        let top = got.top().expect("the top intent is found and asserted");
        assert_eq!(top.disposition, got.disposition, "top disposition");
        assert!(got.ranked().iter().all(|m| m.disposition <= got.disposition), "a ranked intent above the top");
    }
    for id in &got.confirm {
        let intent = catalogue.get(id).expect("confirm names a known intent");
        assert!(intent.red_flag, "confirm for {id}, which is not a red flag");
        assert!(got.intents.iter().any(|m| &m.id == id && !m.is_asserted()), "confirm for {id}, not found unasserted");
    }
}

/// Readings stay in the plausible ranges, with spans on character boundaries of `text`.
pub fn check_readings(text: &str, readings: &Readings) {
    for (bp, (start, end)) in &readings.blood_pressure {
        assert!((70..=300).contains(&bp.systolic) && (30..=200).contains(&bp.diastolic), "{bp:?}");
        assert!(bp.systolic > bp.diastolic, "{bp:?}");
        assert!(start < end && *end <= text.len() && text.is_char_boundary(*start) && text.is_char_boundary(*end));
    }
    for (pulse, (start, end)) in &readings.pulse {
        assert!((30..=250).contains(pulse), "pulse {pulse}");
        assert!(start < end && *end <= text.len() && text.is_char_boundary(*start) && text.is_char_boundary(*end));
    }
}
