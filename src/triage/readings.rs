//! Blood-pressure and pulse readings written in free text ("165/95", "bp 182 over 121",
//! "pulse 128", "watch says 138"), for the matcher and for answers to the reading question.

use regex::Regex;
use std::sync::LazyLock;

/// A blood-pressure reading in mmHg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloodPressure {
    pub systolic: u32,
    pub diastolic: u32,
}

/// Every reading found in one piece of folded text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readings {
    /// Each with its byte range in the folded text.
    pub blood_pressure: Vec<(BloodPressure, (usize, usize))>,
    pub pulse: Vec<(u32, (usize, usize))>,
}

impl Readings {
    pub fn is_empty(&self) -> bool {
        self.blood_pressure.is_empty() && self.pulse.is_empty()
    }

    /// The highest systolic, diastolic and pulse seen (0 when absent).
    pub fn peaks(&self) -> (u32, u32, u32) {
        let systolic = self.blood_pressure.iter().map(|(bp, _)| bp.systolic).max().unwrap_or(0);
        let diastolic = self.blood_pressure.iter().map(|(bp, _)| bp.diastolic).max().unwrap_or(0);
        let pulse = self.pulse.iter().map(|(p, _)| *p).max().unwrap_or(0);
        (systolic, diastolic, pulse)
    }
}

static BLOOD_PRESSURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(\d{2,3})\s*(?:/|\\|over|on)\s*(\d{2,3})(?-u:\b)").expect("valid regex"));
/// A number shortly after a pulse word, or a number followed by "bpm".
static PULSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:pulse|heart ?rate|hr|heart|watch|oximeter|resting)(?-u:\b)[^0-9.!?]{0,25}?(?-u:\b)(\d{2,3})(?-u:\b)|(?-u:\b)(\d{2,3}) ?(?:bpm|beats)(?-u:\b)",
    )
    .expect("valid regex")
});
/// Units that show a number is not a pulse ("heart racing for 40 min").
static NOT_A_RATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:min|hour|hr|sec|day|week|month|year|mg|ml|%|times|x\b)").expect("valid regex")
});

/// Finds the readings in folded (lower-case ASCII) text.
pub fn find(text: &str) -> Readings {
    let mut readings = Readings::default();
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return readings;
    }
    for caps in BLOOD_PRESSURE.captures_iter(text) {
        let (Ok(systolic), Ok(diastolic)) = (caps[1].parse::<u32>(), caps[2].parse::<u32>()) else {
            continue;
        };
        let plausible = (70..=300).contains(&systolic) && (30..=200).contains(&diastolic) && systolic > diastolic;
        if plausible {
            let whole = caps.get(0).expect("group 0 always matches");
            readings.blood_pressure.push((BloodPressure { systolic, diastolic }, (whole.start(), whole.end())));
        }
    }
    for caps in PULSE.captures_iter(text) {
        let Some(number) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        let inside_bp = readings.blood_pressure.iter().any(|(_, (s, e))| number.start() >= *s && number.end() <= *e);
        if inside_bp || NOT_A_RATE.is_match(&text[number.end()..]) {
            continue;
        }
        if let Ok(rate) = number.as_str().parse::<u32>() {
            if (30..=250).contains(&rate) {
                readings.pulse.push((rate, (number.start(), number.end())));
            }
        }
    }
    readings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp(text: &str) -> Vec<(u32, u32)> {
        find(text).blood_pressure.iter().map(|(b, _)| (b.systolic, b.diastolic)).collect()
    }

    #[test]
    fn blood_pressure_forms() {
        assert_eq!(bp("bp 165/95"), vec![(165, 95)]);
        assert_eq!(bp("bp 182 over 121"), vec![(182, 121)]);
        assert_eq!(bp("it was 190 / 115 then 150/90"), vec![(190, 115), (150, 90)]);
    }

    #[test]
    fn severity_and_dates_are_not_blood_pressure() {
        assert!(bp("pain is 7/10").is_empty());
        assert!(bp("on 12/05 i felt bad").is_empty());
        assert!(bp("24/7 headache").is_empty());
    }

    #[test]
    fn pulse_forms() {
        assert_eq!(find("pulse 128").pulse[0].0, 128);
        assert_eq!(find("heart racing, watch says 138 and im lying down").pulse[0].0, 138);
        assert_eq!(find("resting at 131 bpm").pulse[0].0, 131);
        assert!(find("heart racing for 40 min").pulse.is_empty());
        assert!(find("bp 150/95").pulse.is_empty());
    }
}
