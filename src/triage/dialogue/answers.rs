//! Reading a patient's free-text answers (specification section 4): yes/no and their many
//! forms, severity as a number or a word, trend, the time and route of a treatment. Readings
//! (blood pressure, pulse) come from [`crate::triage::readings`].
//!
//! Every parser takes the patient's original text, folds it like the matcher does, and returns
//! `None` when the answer cannot be read (the dialogue then asks again with buttons).

use super::state::{Route, Trend, YesNo};
use crate::triage::elapsed::{count_word, unit_seconds};
use crate::triage::normalise::FoldedText;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use regex::Regex;
use std::sync::LazyLock;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("answer patterns are valid")
}

static UNSURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:(?:um+|erm+|hm+|well|honestly|tbh|i mean)\s+)?(?:(?:im|i am|i m)\s+)?(?:not (?:sure|certain)|unsure|maybe|i think so|i think|possibly|probably|dunno|i dunno|(?:i )?(?:dont|do not) know|(?:i )?(?:cant|cannot) (?:tell|say)|idk|kind of|kinda|sort of|sorta|perhaps|might be|i guess|hard to say|no idea)(?-u:\b)",
    )
});
static NO: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:no|nope|nah|nay|n|not really|not at all|i dont|im not|i am not|i m not|i havent|i have not|i wasnt|i didnt|none|nothing|never|negative|no way|not now|not that i know)(?-u:\b)|^-1$",
    )
});
static YES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:yes|y|yeah|yea|yeh|yep|yup|ya|yah|ye|sure|correct|i do|i am|i have|i did|definitely|absolutely|right|true|affirmative|uh huh|indeed|certainly|yess|aye)(?-u:\b)|^\+1",
    )
});

/// A yes, no or "not sure" at the start of the answer ("yeah", "nope", "not really", "I think so").
pub fn yes_no(text: &str) -> Option<YesNo> {
    let folded = FoldedText::new(text);
    let t = folded.as_str().trim_start_matches(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '-');
    if UNSURE.is_match(t) {
        Some(YesNo::Unsure)
    } else if NO.is_match(t) {
        Some(YesNo::No)
    } else if YES.is_match(t) {
        Some(YesNo::Yes)
    } else {
        None
    }
}

const NUMBER_WORDS: [&str; 11] =
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

static OUT_OF_TEN: LazyLock<Regex> = LazyLock::new(|| regex(r"(?-u:\b)(\d{1,2})\s*(?:/|out of|outta|of)\s*10(?-u:\b)"));
static LONE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:(?:its|it is|about|around|like|maybe|a|an|i would say|id say|prob|probably|say)\s+)*(\d{1,2}(?:\.5)?|zero|one|two|three|four|five|six|seven|eight|nine|ten)(?:\s*(?:ish|or so|maybe|now))?[.!]?$",
    )
});
/// Severity words, longest phrases first so "not bad" is not read as "bad".
const SEVERITY_WORDS: &[(&str, u8)] = &[
    ("worst ever", 10),
    ("worst", 10),
    ("unbearable", 10),
    ("excruciating", 10),
    ("agony", 10),
    ("not too bad", 3),
    ("not that bad", 3),
    ("not bad", 2),
    ("really bad", 8),
    ("very bad", 8),
    ("so bad", 8),
    ("severe", 8),
    ("terrible", 8),
    ("awful", 8),
    ("horrible", 8),
    ("quite bad", 6),
    ("pretty bad", 6),
    ("bad", 6),
    ("moderate", 5),
    ("medium", 5),
    ("so so", 5),
    ("manageable", 4),
    ("very mild", 1),
    ("barely", 1),
    ("mild", 3),
    ("slight", 2),
    ("a little", 3),
    ("a bit", 3),
    ("none", 0),
    ("gone", 0),
];

static SEVERITY_PHRASES: LazyLock<Vec<(Regex, u8)>> = LazyLock::new(|| {
    SEVERITY_WORDS.iter().map(|&(phrase, value)| (regex(&format!(r"(?-u:\b){phrase}(?-u:\b)")), value)).collect()
});

static FINE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:im |i am |i feel |feeling |all )?(?:fine|good|ok|okay|great|well|alright|all right|all good|grand|not bad|pretty good|much better|better|really good|very good|no problems|no issues)(?-u:\b)",
    )
});

/// "Fine", "all good", "feeling great": an answer to "how are you feeling?" that needs nothing.
pub fn feeling_fine(text: &str) -> bool {
    FINE.is_match(FoldedText::new(text).as_str().trim())
}

/// Severity 0-10 from "7", "7/10", "seven", "really bad", "mild".
pub fn severity(text: &str) -> Option<u8> {
    let folded = FoldedText::new(text);
    let t = folded.as_str().trim();
    let number = |word: &str| -> Option<u8> {
        let value =
            NUMBER_WORDS.iter().position(|w| *w == word).map(|p| p as f32).or_else(|| word.parse::<f32>().ok())?;
        (0.0..=10.0).contains(&value).then_some(value.round() as u8)
    };
    if let Some(caps) = OUT_OF_TEN.captures(t) {
        return number(&caps[1]);
    }
    if let Some(caps) = LONE_NUMBER.captures(t) {
        return number(&caps[1]);
    }
    SEVERITY_PHRASES.iter().find(|(re, _)| re.is_match(t)).map(|&(_, value)| value)
}

static TREND_SAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?-u:\b)(?:same|no change|unchanged|not changed|hasnt changed|not changing|steady|staying|no better|no worse|not better|not worse|not really changing|about the same|similar)(?-u:\b)",
    )
});
static TREND_WORSE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?-u:\b)(?:worse|worsening|getting worse|increasing|spreading|more and more|stronger|escalating|building)(?-u:\b)",
    )
});
static TREND_BETTER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?-u:\b)(?:better|improving|improved|easing|eased|settling|settled|calmer|less|going away|fading|wearing off|lifting|passing)(?-u:\b)",
    )
});

/// Better, the same, or worse.
pub fn trend(text: &str) -> Option<Trend> {
    let folded = FoldedText::new(text);
    let t = folded.as_str();
    if TREND_SAME.is_match(t) {
        Some(Trend::Same)
    } else if TREND_WORSE.is_match(t) {
        Some(Trend::Worse)
    } else if TREND_BETTER.is_match(t) {
        Some(Trend::Better)
    } else {
        None
    }
}

static ROUTES: LazyLock<[(Regex, Route); 4]> = LazyLock::new(|| {
    [
        (regex(r"(?-u:\b)(?:nasal|nose|spray|spravato|esketamine|intranasal)(?-u:\b)"), Route::NasalSpray),
        (regex(r"(?-u:\b)(?:iv|i\.v\.?|infusion|drip|intravenous)(?-u:\b)"), Route::IvInfusion),
        (regex(r"(?-u:\b)(?:injection|injected|shot|jab|im|intramuscular)(?-u:\b)"), Route::Injection),
        (
            regex(r"(?-u:\b)(?:oral|mouth|troches?|lozenges?|tablets?|pills?|sublingual|rdt|swallowed)(?-u:\b)"),
            Route::Oral,
        ),
    ]
});

/// The route of a treatment from the words used ("my infusion", "the nasal spray").
pub fn route(text: &str) -> Option<Route> {
    let folded = FoldedText::new(text);
    ROUTES.iter().find(|(re, _)| re.is_match(folded.as_str())).map(|(_, route)| *route)
}

static AGO: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?-u:\b)(\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|half an?|a couple of|couple of|a few|few)\s*(minutes?|mins?|hours?|hrs?|h|days?|weeks?)\s*(?:ago|back|before|earlier)(?-u:\b)",
    )
});
static CLOCK: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?-u:\b)(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?:$|[^0-9a-z/])"));
static PART_OF_DAY: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?-u:\b)(?:(this|yesterday|last) )?(morning|afternoon|evening|night|lunchtime|lunch|noon|midday)(?-u:\b)")
});
static YESTERDAY: LazyLock<Regex> = LazyLock::new(|| regex(r"(?-u:\b)(?:yesterday|last night)(?-u:\b)"));
static DAYS_AGO_WORD: LazyLock<Regex> = LazyLock::new(|| regex(r"(?-u:\b)(?:day before yesterday)(?-u:\b)"));
static JUST_NOW: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?-u:\b)(?:just now|just had|right now|just got back|just finished|moments? ago|now)(?-u:\b)")
});
static TODAY: LazyLock<Regex> = LazyLock::new(|| regex(r"(?-u:\b)(?:today|earlier)(?-u:\b)"));

static TREATMENT_REPORT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?-u:\b)(?:had|got|did|done|finished|took|taken|came back from|home from|back from|after) (?:my |the |a |an |our |his |her )?(?:\w+ )?(?:ketamine |esketamine |spravato )?(?:infusion|session|treatment|spray|dose|injection|shot|troche|lozenge|appointment)s?(?-u:\b)",
    )
});

/// A new treatment reported in passing: "I had my infusion today at 2pm", "back from my session
/// an hour ago". Both a treatment and a readable time are needed.
pub fn treatment_report(text: &str, now: Timestamp, tz: &TimeZone) -> Option<(Timestamp, Option<Route>)> {
    let folded = FoldedText::new(text);
    if !TREATMENT_REPORT.is_match(folded.as_str()) {
        return None;
    }
    let at = when(text, now, tz)?;
    Some((at, route(text)))
}

/// The furthest back a treatment time may be read, typed or from a button: a year.
pub(crate) const MAX_AGO_MINUTES: u32 = 366 * 24 * 60;

/// When something happened, from "2 hours ago", "this morning", "yesterday at 3pm", "at 14:00",
/// "last night", "just now"; interpreted in the clinic's time zone and never in the future.
pub fn when(text: &str, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let folded = FoldedText::new(text);
    let t = folded.as_str();
    if let Some(caps) = AGO.captures(t) {
        let n = count_word(&caps[1])?;
        let minutes = n * unit_seconds(&caps[2]) as f64 / 60.0;
        // "9999999999 hours ago" is not a treatment time (and would overflow the calendar).
        if !(0.0..=f64::from(MAX_AGO_MINUTES)).contains(&minutes) {
            return None;
        }
        return now.checked_sub(jiff::SignedDuration::from_mins(minutes.round() as i64)).ok();
    }
    let today = now.to_zoned_datetime(tz.clone()).date();
    let days_back: i64 = if DAYS_AGO_WORD.is_match(t) {
        2
    } else if YESTERDAY.is_match(t) {
        1
    } else {
        0
    };
    let date = today.checked_sub(days_back.days()).ok()?;
    let time_of_day = clock_time(t).or_else(|| {
        PART_OF_DAY.captures(t).map(|caps| match &caps[2] {
            "morning" => Time::constant(9, 0, 0, 0),
            "lunchtime" | "lunch" | "noon" | "midday" => Time::constant(12, 0, 0, 0),
            "afternoon" => Time::constant(14, 0, 0, 0),
            "evening" => Time::constant(18, 0, 0, 0),
            _ => Time::constant(21, 0, 0, 0),
        })
    });
    let at = match time_of_day {
        Some(time) => date.to_datetime(time).to_zoned_datetime(tz.clone()).ok()?.timestamp(),
        None if days_back > 0 => now.checked_sub((days_back * 24).hours()).ok()?,
        None if JUST_NOW.is_match(t) => now,
        // "today" or "earlier" with no time: a few hours back is the best reading.
        None if TODAY.is_match(t) => now.checked_sub(3.hours()).ok()?,
        None => return None,
    };
    // "at 11pm" said at 9am means last night, not tonight.
    if at > now {
        let earlier = at.checked_sub(24.hours()).ok()?;
        return (days_back == 0 && earlier <= now).then_some(earlier);
    }
    Some(at)
}

/// A clock time: "2pm", "2:30 pm", "14:00", "at 9".
fn clock_time(t: &str) -> Option<Time> {
    for caps in CLOCK.captures_iter(t) {
        let hour: i8 = caps[1].parse().ok()?;
        let minute: i8 = caps.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
        let meridiem = caps.get(3).map(|m| m.as_str().starts_with('p'));
        let has_colon = caps.get(2).is_some();
        let hour = match meridiem {
            Some(true) if hour < 12 => hour + 12,
            Some(false) if hour == 12 => 0,
            Some(_) => hour,
            // A bare number is a time only with "at" before it or minutes after it.
            None if has_colon || t[..caps.get(0)?.start()].trim_end().ends_with("at") => hour,
            None => continue,
        };
        if let Ok(time) = Time::new(hour, minute, 0, 0) {
            return Some(time);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_forms() {
        for yes in ["yes", "Yeah", "yep!", "y", "I do", "👍", "sure, it hurts"] {
            assert_eq!(yes_no(yes), Some(YesNo::Yes), "{yes}");
        }
        for no in ["no", "Nope", "nah", "not really", "NO.", "none at all", "I don't think so", "I am not safe"] {
            assert_eq!(yes_no(no), Some(YesNo::No), "{no}");
        }
        for unsure in
            ["not sure", "maybe", "I think so", "dunno", "kinda", "I'm not sure", "I don't know", "um not sure"]
        {
            assert_eq!(yes_no(unsure), Some(YesNo::Unsure), "{unsure}");
        }
        assert_eq!(yes_no("the room is spinning"), None);
        assert_eq!(yes_no(""), None);
    }

    #[test]
    fn severity_forms() {
        assert_eq!(severity("7"), Some(7));
        assert_eq!(severity("7/10"), Some(7));
        assert_eq!(severity("about a 4"), Some(4));
        assert_eq!(severity("8 out of 10"), Some(8));
        assert_eq!(severity("seven"), Some(7));
        assert_eq!(severity("really bad"), Some(8));
        assert_eq!(severity("not bad"), Some(2));
        assert_eq!(severity("mild"), Some(3));
        assert_eq!(severity("worst ever"), Some(10));
        assert_eq!(severity("12"), None);
        assert_eq!(severity("2 hours ago"), None);
    }

    #[test]
    fn trend_forms() {
        assert_eq!(trend("getting better"), Some(Trend::Better));
        assert_eq!(trend("worse"), Some(Trend::Worse));
        assert_eq!(trend("about the same"), Some(Trend::Same));
        assert_eq!(trend("not better"), Some(Trend::Same));
        assert_eq!(trend("banana"), None);
    }

    #[test]
    fn route_forms() {
        assert_eq!(route("IV infusion"), Some(Route::IvInfusion));
        assert_eq!(route("the nasal spray"), Some(Route::NasalSpray));
        assert_eq!(route("a shot in my arm"), Some(Route::Injection));
        assert_eq!(route("troche"), Some(Route::Oral));
        assert_eq!(route("hello"), None);
    }

    #[test]
    fn treatment_reports() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let now: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();
        let (at, route) = treatment_report("I had my infusion today at 2pm", now, &tz).unwrap();
        assert_eq!((at.to_string(), route), ("2026-06-10T13:00:00Z".to_string(), Some(Route::IvInfusion)));
        assert!(treatment_report("had my nasal spray 2 hours ago and feel sick", now, &tz).is_some());
        assert_eq!(treatment_report("my infusion is on thursday", now, &tz), None);
        assert_eq!(treatment_report("I feel dizzy since 2pm", now, &tz), None);
    }

    #[test]
    fn when_forms() {
        let tz = TimeZone::get("Europe/London").unwrap();
        // 2026-06-10 15:00 London time (BST, UTC+1).
        let now: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();
        let at = |text: &str| when(text, now, &tz).map(|t| t.to_string());
        assert_eq!(at("2 hours ago"), Some("2026-06-10T12:00:00Z".into()));
        assert_eq!(at("half an hour ago"), Some("2026-06-10T13:30:00Z".into()));
        assert_eq!(at("this morning"), Some("2026-06-10T08:00:00Z".into()));
        assert_eq!(at("today at 2pm"), Some("2026-06-10T13:00:00Z".into()));
        assert_eq!(at("at 14:30"), Some("2026-06-10T13:30:00Z".into()));
        assert_eq!(at("yesterday at 3pm"), Some("2026-06-09T14:00:00Z".into()));
        assert_eq!(at("yesterday"), Some("2026-06-09T14:00:00Z".into()));
        assert_eq!(at("at 11pm"), Some("2026-06-09T22:00:00Z".into()));
        assert_eq!(at("just now"), Some("2026-06-10T14:00:00Z".into()));
        assert_eq!(at("purple"), None);
    }
}
