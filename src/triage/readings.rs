//! Blood-pressure and pulse readings written in free text ("165/95", "bp 182 over 121",
//! "pulse 128", "watch says 138"), numbers spelled out included ("two hundred over one ten",
//! "pulse a hundred and forty"), for the matcher and for answers to the reading question.

use regex::bytes::{Regex, RegexBuilder};
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

/// Number words, the one list the patterns below and [`number`] read.
const UNITS: [&str; 9] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const TEENS: [&str; 10] =
    ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
/// A common misspelling, read as the word it stands for.
const FOURTY: (&str, &str) = ("fourty", "forty");

/// A number as a reading is said aloud, from 20 to 399: "ninety five", "one ten", "one oh five",
/// "a hundred and forty", "two hundred". Longer forms come first: the leftmost alternative wins.
static SPOKEN: LazyLock<String> = LazyLock::new(|| {
    let units = UNITS.join("|");
    let teens = TEENS.join("|");
    let tens = format!("{}|{}", TENS.join("|"), FOURTY.0);
    let below_hundred = format!("(?:{tens})(?:[ -](?:{units}))?");
    format!(
        "(?:(?:a|one|two|three) hundred(?: and)?(?: {below_hundred}| (?:{teens}|{units}))?\
         |(?:one|two|three) (?:{below_hundred}|{teens}|oh (?:{units}))\
         |{below_hundred})"
    )
});

/// Two numbers, in digits or words, joined as a blood pressure is written or said. "on" joins
/// digits only: said between words it is too often something else.
static BLOOD_PRESSURE: LazyLock<Regex> = LazyLock::new(|| {
    let spoken = SPOKEN.as_str();
    ascii(&format!(
        r"(?-u:\b)(?:(\d{{2,3}})\s*(?:/|\\|over|on)\s*(\d{{2,3}})|(\d{{2,3}}|{spoken})\s*(?:/|over)\s*(\d{{2,3}}|{spoken}))(?-u:\b)"
    ))
});
/// A number shortly after a pulse word, or a number followed by "bpm".
static PULSE: LazyLock<Regex> = LazyLock::new(|| {
    let spoken = SPOKEN.as_str();
    ascii(&format!(
        r"(?-u:\b)(?:pulse|heart ?rate|hr|heart|watch|oximeter|resting)(?-u:\b)[^0-9.!?]{{0,25}}?(?-u:\b)(\d{{2,3}}|{spoken})(?-u:\b)|(?-u:\b)(\d{{2,3}}|{spoken}) ?(?:bpm|beats)(?-u:\b)",
    ))
});
/// A later number of the same reading, just after one: "72 then it jumped to 140", "90 and now
/// its 145", "went from 88 up to 150".
static PULSE_CHAIN: LazyLock<Regex> = LazyLock::new(|| {
    let spoken = SPOKEN.as_str();
    ascii(&format!(
        r"^(?: ?bpm| beats)?[^0-9.!?]{{0,25}}?(?-u:\b)(?:to|now|then|hit|reached|over|at)(?-u:\b)[^0-9.!?]{{0,12}}?(?-u:\b)(\d{{2,3}}|{spoken})(?-u:\b)"
    ))
});
/// A word that every number [`SPOKEN`] matches holds: text without one (and without digits)
/// has no reading, and the costlier searches are skipped.
static NUMBER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    let words = [TENS.as_slice(), TEENS.as_slice(), &[FOURTY.0, "hundred", "oh"]].concat().join("|");
    ascii(&format!(r"(?-u:\b)(?:{words})(?-u:\b)"))
});
/// Units that show a number is not a pulse ("heart racing for 40 min").
static NOT_A_RATE: LazyLock<Regex> =
    LazyLock::new(|| ascii(r"^\s*(?:min|hour|hr|sec|day|week|month|year|mg|ml|%|times|x\b)"));

/// Compiled over ASCII bytes: the text is folded (lower-case ASCII), and Unicode classes under
/// a bounded repeat (`[^0-9.!?]{0,25}`) make automata hundreds of times larger.
fn ascii(pattern: &str) -> Regex {
    RegexBuilder::new(pattern).unicode(false).build().expect("valid regex")
}

/// The value of a number in digits or in the words [`SPOKEN`] matches.
fn number(text: &str) -> Option<u32> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let words: Vec<&str> = text.split([' ', '-']).filter(|w| !matches!(*w, "" | "and" | "oh")).collect();
    let (hundreds, rest) = match words.iter().position(|w| *w == "hundred") {
        Some(at) => (if at == 0 || words[0] == "a" { 1 } else { word_value(words[0])? }, &words[at + 1..]),
        // "one ten", "two oh five": a leading digit word says the hundreds.
        None => match words.split_first() {
            Some((first, rest)) if !rest.is_empty() && word_value(first).is_some_and(|v| v < 10) => {
                (word_value(first)?, rest)
            }
            _ => (0, &words[..]),
        },
    };
    let below_hundred = rest.iter().try_fold(0, |sum, w| word_value(w).map(|v| sum + v))?;
    Some(hundreds * 100 + below_hundred)
}

/// One number word below a hundred.
fn word_value(word: &str) -> Option<u32> {
    let word = if word == FOURTY.0 { FOURTY.1 } else { word };
    let position = |list: &[&str]| list.iter().position(|w| *w == word).map(|i| i as u32);
    position(&UNITS)
        .map(|i| i + 1)
        .or_else(|| position(&TEENS).map(|i| i + 10))
        .or_else(|| position(&TENS).map(|i| i * 10 + 20))
}

/// Finds the readings in folded (lower-case ASCII) text.
pub fn find(text: &str) -> Readings {
    let mut readings = Readings::default();
    if !text.bytes().any(|b| b.is_ascii_digit()) && !NUMBER_WORD.is_match(text.as_bytes()) {
        return readings;
    }
    for caps in BLOOD_PRESSURE.captures_iter(text.as_bytes()) {
        let pair = |a: usize, b: usize| {
            Some((number(text.get(caps.get(a)?.range())?)?, number(text.get(caps.get(b)?.range())?)?))
        };
        let Some((systolic, diastolic)) = pair(1, 2).or_else(|| pair(3, 4)) else {
            continue;
        };
        let plausible = (70..=300).contains(&systolic) && (30..=200).contains(&diastolic) && systolic > diastolic;
        if plausible {
            let whole = caps.get(0).expect("group 0 always matches");
            readings.blood_pressure.push((BloodPressure { systolic, diastolic }, (whole.start(), whole.end())));
        }
    }
    for caps in PULSE.captures_iter(text.as_bytes()) {
        let Some(first) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        // "pulse 72 then it jumped to 140": every number of the chain is a reading.
        let mut next = Some((first.start(), first.end()));
        while let Some((start, end)) = next {
            let seen = readings.blood_pressure.iter().any(|(_, (s, e))| start >= *s && end <= *e)
                || readings.pulse.iter().any(|(_, (s, _))| *s == start);
            let rate = text.get(start..end).and_then(number).filter(|rate| (30..=250).contains(rate));
            if let (false, false, Some(rate)) = (seen, NOT_A_RATE.is_match(&text.as_bytes()[end..]), rate) {
                readings.pulse.push((rate, (start, end)));
            }
            next = PULSE_CHAIN
                .captures(&text.as_bytes()[end..])
                .and_then(|c| c.get(1))
                .map(|m| (end + m.start(), end + m.end()));
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
    fn numbers_in_words() {
        assert_eq!(bp("dads blood pressure is two hundred over one ten"), vec![(200, 110)]);
        assert_eq!(bp("bp one eighty five over ninety"), vec![(185, 90)]);
        assert_eq!(bp("a hundred and ninety over a hundred and twenty"), vec![(190, 120)]);
        assert_eq!(bp("it said 182 over one oh five"), vec![(182, 105)]);
        assert_eq!(bp("one twenty over eighty-two"), vec![(120, 82)]);
        assert_eq!(find("pulse is a hundred and forty").pulse[0].0, 140);
        assert_eq!(find("heart rate one thirty").pulse[0].0, 130);
        assert_eq!(find("resting heart rate ninety five").pulse[0].0, 95);
        assert!(find("heart racing for twenty minutes").pulse.is_empty());
        assert!(bp("one over the other").is_empty());
        assert!(bp("pain went from eight over to seven").is_empty());
    }

    #[test]
    fn pulse_forms() {
        assert_eq!(find("pulse 128").pulse[0].0, 128);
        assert_eq!(find("heart racing, watch says 138 and im lying down").pulse[0].0, 138);
        assert_eq!(find("resting at 131 bpm").pulse[0].0, 131);
        assert!(find("heart racing for 40 min").pulse.is_empty());
        assert!(find("bp 150/95").pulse.is_empty());
        let rates = |text: &str| find(text).pulse.iter().map(|(rate, _)| *rate).collect::<Vec<_>>();
        assert_eq!(rates("pulse 72 then it jumped to 140"), vec![72, 140]);
        assert_eq!(rates("heart rate was 90 and now its 145 bpm"), vec![90, 145]);
        assert_eq!(rates("pulse 88 for 20 minutes"), vec![88]);
    }
}
