//! How long something has been going on, as a patient writes it: "5 hours since the infusion",
//! "day 3", "for 2 days", "weeks of brain fog", "session was yesterday". The matcher uses the
//! longest span mentioned to decide whether an effect has outlasted its expected window.

use regex::Regex;
use std::sync::LazyLock;
use std::time::Duration;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

static COUNTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)(?-u:\b)(every\ |each\ )?
        (\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a\ few|few|a\ couple\ of|couple\ of|a\ couple|several)
        \ ?(minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?|years?|yrs?)(?-u:\b)",
    )
    .expect("valid regex")
});
static UNCOUNTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:for|of|in|over|past|last) (hours|days|weeks|months|years)(?-u:\b)|(?-u:\b)(hours|days|weeks|months|years) (?:now|of|on end)(?-u:\b)").expect("valid regex")
});
static DAY_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)day (\d{1,2}|two|three|four|five|six|seven)(?-u:\b)").expect("valid regex"));
static LAST_UNIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:past|last|over the) (week|month|year)(?-u:\b)").expect("valid regex"));
static NEXT_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:yesterday|next day|day after|morning after|since last night|woke up today|overnight)(?-u:\b)",
    )
    .expect("valid regex")
});

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(mon|tues|tue|wednes|wed|thurs|thu|fri|satur|sat|sun)(?:day)?s?(?-u:\b)").expect("valid regex")
});
/// A weekday said to be today: "it's Friday now", "today is Friday", "Friday now".
static WEEKDAY_NOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:(?:its|it is|today is|today its|now its|now)(?: \w+)? (mon|tues|tue|wednes|wed|thurs|thu|fri|satur|sat|sun)(?:day)?|(mon|tues|tue|wednes|wed|thurs|thu|fri|satur|sat|sun)(?:day)? (?:now|today))(?-u:\b)")
        .expect("valid regex")
});
static CLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(\d{1,2})(?:[:.](\d{2}))? ?(am|pm)(?-u:\b)").expect("valid regex"));
/// A clock time said to be now: "it's now about 3pm", "it's 5pm now".
static CLOCK_NOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:now(?: \w+){0,2}|its|it is|its now|it is now) (\d{1,2})(?:[:.](\d{2}))? ?(am|pm)(?-u:\b)")
        .expect("valid regex")
});

fn weekday_index(stem: &str) -> Option<i64> {
    WEEKDAYS.iter().position(|day| day.starts_with(stem)).map(|i| i as i64)
}

fn minutes_of_day(hour: &str, minute: Option<&str>, meridiem: &str) -> Option<i64> {
    let hour: i64 = hour.parse().ok().filter(|h| (1..=12).contains(h))?;
    let minute: i64 = minute.map_or(Some(0), |m| m.parse().ok())?;
    let hour = match (meridiem, hour) {
        ("am", 12) => 0,
        ("pm", h) if h < 12 => h + 12,
        (_, h) => h,
    };
    Some(hour * 60 + minute)
}

/// "since Monday's session and it's Friday now": the days from the first weekday named to the
/// one said to be today.
fn weekday_span(text: &str) -> Option<u64> {
    let now = WEEKDAY_NOW.captures(text)?;
    let today = weekday_index(now.get(1).or_else(|| now.get(2))?.as_str())?;
    let now_start = now.get(0)?.start();
    let earlier = WEEKDAY.captures_iter(&text[..now_start]).next()?;
    let then = weekday_index(&earlier[1])?;
    let days = (today - then).rem_euclid(7);
    Some(if days == 0 { 7 } else { days } as u64 * DAY)
}

/// "infusion at 10am ... it's now about 3pm": the time between a clock time and the one said to
/// be now (the same day, or across midnight).
fn clock_span(text: &str) -> Option<u64> {
    let now = CLOCK_NOW.captures(text)?;
    let now_minutes = minutes_of_day(&now[1], now.get(2).map(|m| m.as_str()), &now[3])?;
    let earlier = CLOCK.captures_iter(&text[..now.get(0)?.start()]).next()?;
    let then_minutes = minutes_of_day(&earlier[1], earlier.get(2).map(|m| m.as_str()), &earlier[3])?;
    Some((now_minutes - then_minutes).rem_euclid(24 * 60) as u64 * 60)
}

/// A count written as digits or words ("3", "a", "a couple of", "half an").
pub(crate) fn count_word(word: &str) -> Option<f64> {
    Some(match word {
        "a" | "an" | "one" => 1.0,
        "half a" | "half an" => 0.5,
        "two" | "a couple of" | "couple of" | "a couple" => 2.0,
        "three" | "a few" | "few" => 3.0,
        "four" | "several" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "eleven" => 11.0,
        "twelve" => 12.0,
        digits => digits.parse().ok()?,
    })
}

/// Seconds in a unit of time written as people write it ("min", "hrs", "day", "weeks").
pub(crate) fn unit_seconds(unit: &str) -> u64 {
    match unit.trim_end_matches('s') {
        "minute" | "min" => 60,
        "hour" | "hr" | "h" => HOUR,
        "day" => DAY,
        "week" | "wk" => 7 * DAY,
        "month" => 30 * DAY,
        _ => 365 * DAY,
    }
}

/// The longest span of time mentioned in folded text, if any.
pub fn longest_mentioned(text: &str) -> Option<Duration> {
    let mut longest: Option<u64> = None;
    let mut note = |seconds: u64| longest = Some(longest.map_or(seconds, |l| l.max(seconds)));
    for caps in COUNTED.captures_iter(text) {
        if caps.get(1).is_some() {
            continue; // "every 20 min" is how often, not how long
        }
        if let Some(n) = count_word(&caps[2]) {
            note((n * unit_seconds(&caps[3]) as f64) as u64);
        }
    }
    for caps in UNCOUNTED.captures_iter(text) {
        let unit = caps.get(1).or_else(|| caps.get(2)).map_or("", |m| m.as_str());
        // An uncounted plural ("for days") means at least two of them; hours, a few.
        let count = if unit == "hours" { 3 } else { 2 };
        note(count * unit_seconds(unit));
    }
    for caps in DAY_NUMBER.captures_iter(text) {
        if let Some(n) = count_word(&caps[1]) {
            note(n as u64 * DAY);
        }
    }
    for caps in LAST_UNIT.captures_iter(text) {
        note(unit_seconds(&caps[1]));
    }
    if NEXT_DAY.is_match(text) {
        note(DAY);
    }
    if let Some(span) = weekday_span(text) {
        note(span);
    }
    if let Some(span) = clock_span(text) {
        note(span);
    }
    longest.map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(text: &str) -> Option<u64> {
        longest_mentioned(text).map(|d| d.as_secs() / HOUR)
    }

    #[test]
    fn counted_spans() {
        assert_eq!(hours("its been 5 hours since the infusion"), Some(5));
        assert_eq!(hours("still foggy 4 days after"), Some(96));
        assert_eq!(hours("throwing up for two days"), Some(48));
        assert_eq!(hours("about 3 weeks now"), Some(504));
    }

    #[test]
    fn uncounted_and_relative_spans() {
        assert_eq!(hours("weeks of brain fog now"), Some(336));
        assert_eq!(hours("day 3 and i still cant focus"), Some(72));
        assert_eq!(hours("session was yesterday"), Some(24));
    }

    #[test]
    fn weekdays_and_clock_times_said_to_be_now() {
        assert_eq!(hours("trouble focusing since mondays session and its friday now"), Some(96));
        assert_eq!(hours("had my 4th infusion at 10am, its now about 3pm and i still feel detached"), Some(5));
        assert_eq!(hours("session at 11pm, now 1am and still floaty"), Some(2));
        assert_eq!(hours("treatment was at 9am, its 5pm now"), Some(8));
        assert_eq!(hours("my infusions are on monday and friday"), None);
        assert_eq!(hours("at 10am i felt fine"), None);
    }

    #[test]
    fn frequencies_and_nothing() {
        assert_eq!(hours("i need to pee every 20 min"), None);
        assert_eq!(hours("room is spinning"), None);
    }
}
