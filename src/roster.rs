//! The on-call roster: the clinic's staff, who is on call when (shifts by weekday and wall-clock
//! time in the clinic's time zone, each with a primary and a backup), the staff group chat as the
//! last level, and how long a page waits for an acknowledgement.
//!
//! Pure: no IO and no clock; times come in as arguments. `config.rs` reads the `[roster]` section
//! and reports the problems [`Roster::check`] finds against the lines of the file.
//!
//! Time model: a shift on `fri` from `20:00` to `08:00` starts on Friday at 20:00 and ends on
//! Saturday at 08:00 (`to` earlier than `from` runs past midnight; `to` equal to `from` is a full
//! 24 hours; `to = "24:00"` ends at midnight). Shifts are read in local wall-clock time, so across
//! a daylight-saving change a shift is as long as the clocks say.

use crate::triage::Disposition;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::fmt;
use std::time::Duration;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// How long an emergency page waits for an acknowledgement before the next level, by default.
pub const DEFAULT_ACK_TIMEOUT_EMERGENCY: Duration = Duration::from_secs(5 * 60);
/// How long an urgent page waits for an acknowledgement before the next level, by default.
pub const DEFAULT_ACK_TIMEOUT_URGENT: Duration = Duration::from_secs(10 * 60);
/// After the staff group, how often pages repeat until acknowledged, by default.
pub const DEFAULT_REPEAT_EVERY: Duration = Duration::from_secs(10 * 60);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
static WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// One person who can be paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// The short handle shifts use, like `patel`.
    pub id: String,
    /// As shown in alerts and acknowledgements, like `Dr Priya Patel`.
    pub name: String,
    /// Their private chat with the bot.
    pub chat_id: i64,
    /// Free text shown in alerts, like `psychiatrist`; may be empty.
    pub role: String,
}

/// A wall-clock time of day, `00:00` to `24:00` (`24:00` only ends a shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    /// The end of the day, written `24:00`.
    pub const END_OF_DAY: ClockTime = ClockTime(MINUTES_PER_DAY as u16);

    /// `hour:minute`; `None` unless it is `00:00`..=`24:00`.
    pub fn new(hour: u8, minute: u8) -> Option<ClockTime> {
        let minutes = u32::from(hour) * 60 + u32::from(minute);
        (minute < 60 && minutes <= MINUTES_PER_DAY).then_some(ClockTime(minutes as u16))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }

    /// Reads `HH:MM` on the 24-hour clock (`8:00` is accepted too). The error is the reason.
    pub fn parse(text: &str) -> Result<ClockTime, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a time like \"08:00\" or \"20:30\" (24-hour clock)");
        let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
        let digits = |s: &str, widths: &[usize]| widths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(hour, &[1, 2]) || !digits(minute, &[2]) {
            return Err(bad());
        }
        let (hour, minute): (u8, u8) = (hour.parse().map_err(|_| bad())?, minute.parse().map_err(|_| bad())?);
        ClockTime::new(hour, minute).ok_or_else(bad)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Reads one entry of a shift's `days`: a day (`mon` or `monday`, any case) or a group
/// (`weekdays`, `weekends`, `daily`). The error is the reason.
pub fn parse_days(text: &str) -> Result<&'static [Weekday], String> {
    let name = text.trim().to_ascii_lowercase();
    let days: &'static [Weekday] = match name.as_str() {
        "daily" => &WEEK,
        "weekdays" => &WEEK[..5],
        "weekends" => &WEEK[5..],
        _ => {
            let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
            let index = DAY_NAMES.iter().chain(&full).position(|d| *d == name).ok_or_else(|| {
                format!(
                    "`{}` is not a day (use mon, tue, wed, thu, fri, sat, sun, weekdays, weekends or daily)",
                    text.trim()
                )
            })?;
            std::slice::from_ref(&WEEK[index % 7])
        }
    };
    Ok(days)
}

/// Who is on call for part of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// The days the shift starts on.
    pub days: Vec<Weekday>,
    pub from: ClockTime,
    /// Earlier than `from`: the next day; equal to `from`: 24 hours later.
    pub to: ClockTime,
    /// Staff id paged first.
    pub primary: String,
    /// Staff id paged when the primary does not acknowledge.
    pub backup: Option<String>,
}

impl Shift {
    /// How long each occurrence lasts, in minutes (1 to 1440).
    pub fn length_minutes(&self) -> u32 {
        let (from, to) = (self.from.minutes() % MINUTES_PER_DAY, self.to.minutes());
        if to > from {
            to - from
        } else {
            to + MINUTES_PER_DAY - from
        }
    }

    /// Whether the shift covers `minute` of the week (0 is Monday 00:00).
    pub fn covers(&self, minute: u32) -> bool {
        let length = self.length_minutes();
        self.starts().any(|start| (minute + MINUTES_PER_WEEK - start) % MINUTES_PER_WEEK < length)
    }

    /// The minute of the week each occurrence starts.
    fn starts(&self) -> impl Iterator<Item = u32> + '_ {
        self.days.iter().map(|day| day_index(*day) * MINUTES_PER_DAY + self.from.minutes() % MINUTES_PER_DAY)
    }

    /// Every minute of the week the shift covers.
    fn minutes(&self) -> Vec<bool> {
        let mut covered = vec![false; MINUTES_PER_WEEK as usize];
        let length = self.length_minutes();
        for start in self.starts() {
            for offset in 0..length {
                covered[((start + offset) % MINUTES_PER_WEEK) as usize] = true;
            }
        }
        covered
    }
}

impl fmt::Display for Shift {
    /// Like `mon-fri 08:00-20:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut days: Vec<u32> = self.days.iter().map(|d| day_index(*d)).collect();
        days.sort_unstable();
        days.dedup();
        let to = if self.to.minutes() == 0 { ClockTime::END_OF_DAY } else { self.to };
        write!(f, "{} {}-{}", day_list(&days), self.from, to)
    }
}

/// Who is paged now: the primary first, then the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnCall<'a> {
    pub primary: &'a StaffMember,
    pub backup: Option<&'a StaffMember>,
    pub shift: &'a Shift,
}

/// The clinic's on-call roster. An empty one (no staff) means "no roster configured": pages then
/// go to `telegram.staff_chat_id`. The configuration only hands out rosters that passed
/// [`Roster::check`]: every id resolves, shifts do not overlap, and the whole week is covered.
#[derive(Debug, Clone)]
pub struct Roster {
    pub staff: Vec<StaffMember>,
    pub shifts: Vec<Shift>,
    /// The staff group chat, paged after the primary and the backup.
    pub staff_group: Option<i64>,
    pub ack_timeout_emergency: Duration,
    pub ack_timeout_urgent: Duration,
    /// After the staff group, pages repeat this often until someone acknowledges.
    pub repeat_every: Duration,
    /// The clinic's time zone, which shifts are written in.
    pub time_zone: TimeZone,
}

impl Default for Roster {
    /// No roster: no staff, no shifts, the default timeouts, UTC.
    fn default() -> Self {
        Roster {
            staff: Vec::new(),
            shifts: Vec::new(),
            staff_group: None,
            ack_timeout_emergency: DEFAULT_ACK_TIMEOUT_EMERGENCY,
            ack_timeout_urgent: DEFAULT_ACK_TIMEOUT_URGENT,
            repeat_every: DEFAULT_REPEAT_EVERY,
            time_zone: TimeZone::UTC,
        }
    }
}

/// Where a roster problem is, for the configuration to find its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `roster.<field>` (the field is empty for the roster as a whole, as with gaps).
    Roster,
    /// `roster.staff[i].<field>`.
    Staff(usize),
    /// `roster.shift[i].<field>` (the field is empty for the shift as a whole).
    Shift(usize),
}

/// One thing wrong with a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterProblem {
    pub place: Place,
    /// The field within the place, like `chat_id`; empty for the place as a whole.
    pub field: &'static str,
    pub reason: String,
}

impl RosterProblem {
    fn new(place: Place, field: &'static str, reason: impl Into<String>) -> Self {
        RosterProblem { place, field, reason: reason.into() }
    }
}

impl fmt::Display for RosterProblem {
    /// Like `roster.shift[1].backup: is the same as primary`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Roster => write!(f, "roster")?,
            Place::Staff(i) => write!(f, "roster.staff[{i}]")?,
            Place::Shift(i) => write!(f, "roster.shift[{i}]")?,
        }
        if !self.field.is_empty() {
            write!(f, ".{}", self.field)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl Roster {
    /// Whether a roster is configured (it has staff).
    pub fn is_configured(&self) -> bool {
        !self.staff.is_empty()
    }

    /// The staff member with this id.
    pub fn member(&self, id: &str) -> Option<&StaffMember> {
        self.staff.iter().find(|m| m.id == id)
    }

    /// The staff member whose private chat this is.
    pub fn member_by_chat(&self, chat_id: i64) -> Option<&StaffMember> {
        self.staff.iter().find(|m| m.chat_id == chat_id && chat_id != 0)
    }

    /// Whether messages from this chat come from staff: a member's chat or the staff group.
    /// (`telegram.staff_chat_id` is the configuration's business, not the roster's.)
    pub fn is_staff_chat(&self, chat_id: i64) -> bool {
        (chat_id != 0 && self.staff_group == Some(chat_id)) || self.member_by_chat(chat_id).is_some()
    }

    /// The shift on call at `at`, read in the clinic's time zone.
    pub fn shift_at(&self, at: Timestamp) -> Option<&Shift> {
        let minute = minute_of_week(at, &self.time_zone);
        self.shifts.iter().find(|s| s.covers(minute))
    }

    /// Who is on call at `at`; `None` with no roster, or (only in an unchecked roster) a gap.
    pub fn on_call(&self, at: Timestamp) -> Option<OnCall<'_>> {
        let minute = minute_of_week(at, &self.time_zone);
        self.shifts.iter().filter(|s| s.covers(minute)).find_map(|shift| {
            let primary = self.member(&shift.primary)?;
            let backup = shift.backup.as_deref().and_then(|id| self.member(id));
            Some(OnCall { primary, backup, shift })
        })
    }

    /// How long a page waits for an acknowledgement before the next level: the emergency
    /// timeout for an emergency, the urgent one for anything else.
    pub fn ack_timeout(&self, disposition: Disposition) -> Duration {
        if disposition >= Disposition::Emergency {
            self.ack_timeout_emergency
        } else {
            self.ack_timeout_urgent
        }
    }

    /// Every problem with the roster, in file order within each kind. A roster without staff
    /// needs no shifts; a roster with staff must have somebody on call at every minute of the week.
    pub fn check(&self) -> Vec<RosterProblem> {
        let mut problems = Vec::new();
        self.check_settings(&mut problems);
        self.check_staff(&mut problems);
        self.check_shifts(&mut problems);
        if self.is_configured() {
            self.check_coverage(&mut problems);
        }
        problems
    }

    fn check_settings(&self, problems: &mut Vec<RosterProblem>) {
        for (field, value) in [
            ("ack_timeout_emergency", self.ack_timeout_emergency),
            ("ack_timeout_urgent", self.ack_timeout_urgent),
            ("repeat_every", self.repeat_every),
        ] {
            if value.is_zero() {
                problems.push(RosterProblem::new(Place::Roster, field, "must be longer than zero"));
            }
        }
        if self.ack_timeout_emergency > self.ack_timeout_urgent {
            problems.push(RosterProblem::new(
                Place::Roster,
                "ack_timeout_emergency",
                format!(
                    "{} is longer than ack_timeout_urgent ({}): an emergency must escalate at least as fast",
                    humantime::format_duration(self.ack_timeout_emergency),
                    humantime::format_duration(self.ack_timeout_urgent)
                ),
            ));
        }
        if let Some(group) = self.staff_group.filter(|g| *g != 0) {
            if !self.is_configured() {
                problems.push(RosterProblem::new(
                    Place::Roster,
                    "staff_group",
                    "is set but the roster has no [[roster.staff]]; without a roster pages go to telegram.staff_chat_id",
                ));
            }
            if let Some(member) = self.member_by_chat(group) {
                problems.push(RosterProblem::new(
                    Place::Roster,
                    "staff_group",
                    format!("{group} is the private chat of `{}`, not a group", member.id),
                ));
            }
        }
    }

    fn check_staff(&self, problems: &mut Vec<RosterProblem>) {
        for (i, member) in self.staff.iter().enumerate() {
            let earlier = &self.staff[..i];
            if member.id.is_empty() {
                problems.push(RosterProblem::new(Place::Staff(i), "id", "is missing: a short handle like \"patel\""));
            } else if member.id.contains(char::is_whitespace) {
                problems.push(RosterProblem::new(
                    Place::Staff(i),
                    "id",
                    format!("`{}` has spaces: use a short handle like \"patel\"", member.id),
                ));
            } else if earlier.iter().any(|m| m.id == member.id) {
                problems.push(RosterProblem::new(
                    Place::Staff(i),
                    "id",
                    format!("`{}` is already the id of another member", member.id),
                ));
            }
            if member.chat_id == 0 {
                problems.push(RosterProblem::new(
                    Place::Staff(i),
                    "chat_id",
                    "is missing: the member's private chat id with the bot (not 0)",
                ));
            } else if let Some(other) = earlier.iter().find(|m| m.chat_id == member.chat_id) {
                problems.push(RosterProblem::new(
                    Place::Staff(i),
                    "chat_id",
                    format!("{} is also the chat of `{}`", member.chat_id, other.id),
                ));
            }
        }
    }

    fn check_shifts(&self, problems: &mut Vec<RosterProblem>) {
        let known = || {
            if self.staff.is_empty() {
                "there is no [[roster.staff]]".to_string()
            } else {
                let mut ids: Vec<&str> = Vec::new();
                for id in self.staff.iter().map(|m| m.id.as_str()).filter(|id| !id.is_empty()) {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                format!("known: {}", ids.join(", "))
            }
        };
        for (i, shift) in self.shifts.iter().enumerate() {
            if shift.days.is_empty() {
                problems.push(RosterProblem::new(Place::Shift(i), "days", "names no day"));
            }
            if shift.from == ClockTime::END_OF_DAY {
                problems.push(RosterProblem::new(Place::Shift(i), "from", "24:00 can only end a shift: use \"00:00\""));
            }
            if shift.primary.is_empty() {
                problems.push(RosterProblem::new(
                    Place::Shift(i),
                    "primary",
                    "is missing: the id of the staff member paged first",
                ));
            } else if self.member(&shift.primary).is_none() {
                problems.push(RosterProblem::new(
                    Place::Shift(i),
                    "primary",
                    format!("no staff member has the id `{}` ({})", shift.primary, known()),
                ));
            }
            match shift.backup.as_deref() {
                Some("") => problems.push(RosterProblem::new(
                    Place::Shift(i),
                    "backup",
                    "is empty: leave it out for a shift without a backup",
                )),
                Some(backup) if backup == shift.primary => {
                    problems.push(RosterProblem::new(Place::Shift(i), "backup", "is the same as primary"))
                }
                Some(backup) if self.member(backup).is_none() => problems.push(RosterProblem::new(
                    Place::Shift(i),
                    "backup",
                    format!("no staff member has the id `{backup}` ({})", known()),
                )),
                _ => {}
            }
        }
        let covered: Vec<Vec<bool>> = self.shifts.iter().map(Shift::minutes).collect();
        for (j, later) in covered.iter().enumerate() {
            for (i, earlier) in covered[..j].iter().enumerate() {
                let both: Vec<bool> = later.iter().zip(earlier).map(|(a, b)| *a && *b).collect();
                if both.contains(&true) {
                    problems.push(RosterProblem::new(
                        Place::Shift(j),
                        "",
                        format!(
                            "overlaps the {} shift of `{}` on {} (only one shift may be on call at a time)",
                            self.shifts[i],
                            self.shifts[i].primary,
                            describe_minutes(&both)
                        ),
                    ));
                }
            }
        }
    }

    fn check_coverage(&self, problems: &mut Vec<RosterProblem>) {
        let mut gaps = vec![true; MINUTES_PER_WEEK as usize];
        for shift in &self.shifts {
            for (gap, covered) in gaps.iter_mut().zip(shift.minutes()) {
                *gap &= !covered;
            }
        }
        if !gaps.contains(&true) {
            return;
        }
        let reason = if gaps.contains(&false) {
            format!("nobody on call on {} (every minute of the week needs a shift)", describe_minutes(&gaps))
        } else {
            "nobody on call at any time: add [[roster.shift]] entries that cover the whole week".to_string()
        };
        problems.push(RosterProblem::new(Place::Roster, "shift", reason));
    }
}

/// Monday 0 .. Sunday 6.
fn day_index(day: Weekday) -> u32 {
    day.to_monday_zero_offset() as u32
}

/// The minute of the week at `at` on the clinic's clocks (0 is Monday 00:00).
pub fn minute_of_week(at: Timestamp, time_zone: &TimeZone) -> u32 {
    let local = time_zone.to_datetime(at);
    day_index(local.weekday()) * MINUTES_PER_DAY + local.hour() as u32 * 60 + local.minute() as u32
}

/// Days (Monday 0) as `daily`, `mon-fri`, `sat, sun`, `mon, wed-fri`.
fn day_list(days: &[u32]) -> String {
    if days.len() == 7 {
        return "daily".to_string();
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", DAY_NAMES[days[i] as usize], DAY_NAMES[days[j] as usize]));
        } else {
            parts.extend(days[i..=j].iter().map(|d| DAY_NAMES[*d as usize].to_string()));
        }
        i = j + 1;
    }
    parts.join(", ")
}

/// The runs of a minute-of-week set as `(start, length)`, a run over Sunday midnight joined up.
fn runs(set: &[bool]) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for (minute, _) in set.iter().enumerate().filter(|(_, on)| **on) {
        let minute = minute as u32;
        match runs.last_mut() {
            Some((start, length)) if *start + *length == minute => *length += 1,
            _ => runs.push((minute, 1)),
        }
    }
    if runs.len() > 1 {
        let (last_start, last_length) = runs[runs.len() - 1];
        if runs[0].0 == 0 && last_start + last_length == MINUTES_PER_WEEK {
            runs.pop();
            runs[0] = (last_start, last_length + runs[0].1);
        }
    }
    runs.sort_unstable();
    runs
}

/// A minute-of-week set compactly, like `mon-thu 20:00-08:00; fri 20:00 to mon 08:00`: runs
/// shorter than a day (or a whole day, `00:00-24:00`) that start and end at the same times are
/// listed once with their days.
fn describe_minutes(set: &[bool]) -> String {
    /// Runs that start at the same time of day and last as long, with their days; or one long run.
    enum Part {
        Daily { from: u32, length: u32, days: Vec<u32> },
        Long(String),
    }
    let at = |minute: u32| {
        let minute = minute % MINUTES_PER_WEEK;
        format!("{} {}", DAY_NAMES[(minute / MINUTES_PER_DAY) as usize], ClockTime((minute % MINUTES_PER_DAY) as u16))
    };
    let mut parts: Vec<Part> = Vec::new();
    for (start, length) in runs(set) {
        if length == MINUTES_PER_WEEK {
            return "every day at every time".to_string();
        }
        let whole_day = length == MINUTES_PER_DAY && start % MINUTES_PER_DAY == 0;
        if length >= MINUTES_PER_DAY && !whole_day {
            parts.push(Part::Long(format!("{} to {}", at(start), at(start + length))));
            continue;
        }
        let (from, day) = (start % MINUTES_PER_DAY, start / MINUTES_PER_DAY);
        let same = parts.iter_mut().find_map(|part| match part {
            Part::Daily { from: f, length: l, days } if (*f, *l) == (from, length) => Some(days),
            _ => None,
        });
        match same {
            Some(days) => days.push(day),
            None => parts.push(Part::Daily { from, length, days: vec![day] }),
        }
    }
    let texts: Vec<String> = parts
        .into_iter()
        .map(|part| match part {
            Part::Long(text) => text,
            Part::Daily { from, length, days } => {
                let end = from + length;
                let to = if end == MINUTES_PER_DAY {
                    ClockTime::END_OF_DAY
                } else {
                    ClockTime((end % MINUTES_PER_DAY) as u16)
                };
                format!("{} {}-{}", day_list(&days), ClockTime(from as u16), to)
            }
        })
        .collect();
    texts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, chat_id: i64) -> StaffMember {
        StaffMember { id: id.to_string(), name: format!("Dr {id}"), chat_id, role: "nurse".to_string() }
    }

    fn time(text: &str) -> ClockTime {
        ClockTime::parse(text).unwrap()
    }

    fn shift(days: &str, from: &str, to: &str, primary: &str, backup: Option<&str>) -> Shift {
        let days = days.split(',').flat_map(|d| parse_days(d).unwrap().iter().copied()).collect();
        Shift { days, from: time(from), to: time(to), primary: primary.to_string(), backup: backup.map(str::to_string) }
    }

    /// Weekdays 08:00-20:00 patel/okafor, weekday nights okafor/patel, weekends 24 hours from 08:00.
    fn full_week() -> Roster {
        Roster {
            staff: vec![member("patel", 111), member("okafor", 222)],
            shifts: vec![
                shift("weekdays", "08:00", "20:00", "patel", Some("okafor")),
                shift("weekdays", "20:00", "08:00", "okafor", Some("patel")),
                shift("weekends", "08:00", "08:00", "okafor", None),
            ],
            staff_group: Some(-100123),
            time_zone: TimeZone::get("America/New_York").unwrap(),
            ..Roster::default()
        }
    }

    fn reasons(roster: &Roster) -> Vec<String> {
        roster.check().iter().map(ToString::to_string).collect()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn clock_times_are_24_hour_hh_mm() {
        assert_eq!(time("08:00").minutes(), 480);
        assert_eq!(time("8:05").minutes(), 485);
        assert_eq!(time("24:00"), ClockTime::END_OF_DAY);
        assert_eq!(time("23:59").to_string(), "23:59");
        for bad in ["8", "8am", "24:01", "25:00", "12:60", "12:5", "-1:00", "", "12:00:00", "١٢:00"] {
            let err = ClockTime::parse(bad).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
    }

    #[test]
    fn day_names_and_groups() {
        assert_eq!(parse_days("mon").unwrap(), [Weekday::Monday]);
        assert_eq!(parse_days(" Sunday ").unwrap(), [Weekday::Sunday]);
        assert_eq!(parse_days("weekdays").unwrap().len(), 5);
        assert_eq!(parse_days("weekends").unwrap(), [Weekday::Saturday, Weekday::Sunday]);
        assert_eq!(parse_days("DAILY").unwrap().len(), 7);
        let err = parse_days("tues").unwrap_err();
        assert_eq!(err, "`tues` is not a day (use mon, tue, wed, thu, fri, sat, sun, weekdays, weekends or daily)");
    }

    #[test]
    fn shifts_past_midnight_and_whole_days() {
        let night = shift("fri", "20:00", "08:00", "a", None);
        assert_eq!(night.length_minutes(), 12 * 60);
        let fri_2000 = 4 * MINUTES_PER_DAY + 20 * 60;
        assert!(night.covers(fri_2000));
        assert!(night.covers(5 * MINUTES_PER_DAY + 7 * 60 + 59), "sat 07:59");
        assert!(!night.covers(5 * MINUTES_PER_DAY + 8 * 60), "sat 08:00 is the next shift's");
        assert!(!night.covers(fri_2000 - 1));
        let sunday_night = shift("sun", "22:00", "06:00", "a", None);
        assert!(sunday_night.covers(60), "mon 01:00 wraps from sunday");
        assert_eq!(shift("sat", "08:00", "08:00", "a", None).length_minutes(), MINUTES_PER_DAY);
        assert_eq!(shift("sat", "00:00", "24:00", "a", None).length_minutes(), MINUTES_PER_DAY);
        assert_eq!(shift("sat", "20:00", "24:00", "a", None).length_minutes(), 4 * 60);
        assert_eq!(shift("sat", "20:00", "00:00", "a", None).length_minutes(), 4 * 60);
        assert_eq!(shift("weekdays", "08:00", "20:00", "a", None).to_string(), "mon-fri 08:00-20:00");
        assert_eq!(shift("sat,sun", "20:00", "00:00", "a", None).to_string(), "sat, sun 20:00-24:00");
        assert_eq!(shift("mon,wed,thu,fri", "08:00", "09:00", "a", None).to_string(), "mon, wed-fri 08:00-09:00");
    }

    #[test]
    fn a_full_week_roster_is_valid() {
        assert_eq!(reasons(&full_week()), Vec::<String>::new());
    }

    #[test]
    fn no_roster_is_valid_and_pages_nobody() {
        let roster = Roster::default();
        assert!(!roster.is_configured());
        assert!(roster.check().is_empty());
        assert!(roster.on_call(at("2026-06-10T14:00:00Z")).is_none());
        assert!(!roster.is_staff_chat(0));
        assert_eq!(roster.ack_timeout(Disposition::Emergency), Duration::from_secs(300));
        assert_eq!(roster.ack_timeout(Disposition::Urgent), Duration::from_secs(600));
    }

    #[test]
    fn on_call_is_read_in_the_clinic_time_zone() {
        let roster = full_week();
        // Wednesday 2026-06-10 12:00 UTC is 08:00 in New York (EDT): the day shift has just begun.
        let day = roster.on_call(at("2026-06-10T12:00:00Z")).unwrap();
        assert_eq!(day.primary.id, "patel");
        assert_eq!(day.backup.unwrap().id, "okafor");
        // 11:59 UTC is 07:59 in New York: still the night shift.
        let night = roster.on_call(at("2026-06-10T11:59:00Z")).unwrap();
        assert_eq!(night.primary.id, "okafor");
        assert_eq!(night.backup.unwrap().id, "patel");
        // Saturday 2026-06-13 03:00 local: Friday's night shift runs past midnight.
        assert_eq!(roster.on_call(at("2026-06-13T07:00:00Z")).unwrap().shift.to_string(), "mon-fri 20:00-08:00");
        // Sunday 2026-06-14 10:00 local: the weekend shift, without a backup.
        let weekend = roster.on_call(at("2026-06-14T14:00:00Z")).unwrap();
        assert_eq!((weekend.primary.id.as_str(), weekend.backup), ("okafor", None));
        // In winter (EST, UTC-5) the same local time is an hour later in UTC.
        assert_eq!(roster.on_call(at("2026-01-07T12:30:00Z")).unwrap().primary.id, "okafor");
        assert_eq!(roster.on_call(at("2026-01-07T13:00:00Z")).unwrap().primary.id, "patel");
    }

    #[test]
    fn on_call_at_every_hour_of_a_week_has_somebody() {
        let roster = full_week();
        let start = at("2026-03-02T00:00:00Z"); // spans the spring daylight-saving change
        for hour in 0..(14 * 24) {
            let t = start + jiff::SignedDuration::from_hours(hour);
            assert!(roster.on_call(t).is_some(), "nobody at {t}");
        }
    }

    #[test]
    fn staff_chats_and_timeouts() {
        let roster = Roster { ack_timeout_emergency: Duration::from_secs(90), ..full_week() };
        assert_eq!(roster.member_by_chat(222).unwrap().id, "okafor");
        assert!(roster.member_by_chat(333).is_none());
        assert!(roster.is_staff_chat(111));
        assert!(roster.is_staff_chat(-100123));
        assert!(!roster.is_staff_chat(333));
        assert!(!roster.is_staff_chat(0));
        assert_eq!(roster.ack_timeout(Disposition::Emergency), Duration::from_secs(90));
        assert_eq!(roster.ack_timeout(Disposition::Urgent), Duration::from_secs(600));
        assert_eq!(roster.member("patel").unwrap().chat_id, 111);
    }

    #[test]
    fn gaps_are_reported_once_compactly() {
        let mut roster = full_week();
        roster.shifts.truncate(1); // weekdays 08:00-20:00 only
        assert_eq!(
            reasons(&roster),
            ["roster.shift: nobody on call on mon-thu 20:00-08:00; fri 20:00 to mon 08:00 (every minute of the week needs a shift)"]
        );
        roster.shifts = vec![shift("daily", "00:00", "24:00", "patel", None)];
        roster.shifts[0].days.retain(|d| *d != Weekday::Tuesday);
        assert_eq!(
            reasons(&roster),
            ["roster.shift: nobody on call on tue 00:00-24:00 (every minute of the week needs a shift)"]
        );
        roster.shifts.clear();
        assert_eq!(
            reasons(&roster),
            ["roster.shift: nobody on call at any time: add [[roster.shift]] entries that cover the whole week"]
        );
    }

    #[test]
    fn a_gap_over_sunday_midnight_is_one_range() {
        let mut roster = full_week();
        roster.shifts = vec![
            shift("daily", "06:00", "22:00", "patel", None),
            shift("mon,tue,wed,thu,fri,sat", "22:00", "06:00", "okafor", None),
        ];
        assert_eq!(
            reasons(&roster),
            ["roster.shift: nobody on call on sun 22:00-06:00 (every minute of the week needs a shift)"]
        );
    }

    #[test]
    fn overlaps_are_reported_at_the_later_shift() {
        let mut roster = full_week();
        roster.shifts[0].to = time("21:00");
        roster.shifts.push(shift("sat", "06:00", "09:00", "patel", None));
        assert_eq!(
            reasons(&roster),
            [
                "roster.shift[1]: overlaps the mon-fri 08:00-21:00 shift of `patel` on mon-fri 20:00-21:00 \
                 (only one shift may be on call at a time)",
                "roster.shift[3]: overlaps the mon-fri 20:00-08:00 shift of `okafor` on sat 06:00-08:00 \
                 (only one shift may be on call at a time)",
                "roster.shift[3]: overlaps the sat, sun 08:00-08:00 shift of `okafor` on sat 08:00-09:00 \
                 (only one shift may be on call at a time)",
            ]
        );
    }

    #[test]
    fn overlaps_across_sunday_midnight() {
        let mut roster = full_week();
        roster.shifts.push(shift("mon", "07:00", "07:30", "patel", None));
        assert_eq!(
            reasons(&roster),
            ["roster.shift[3]: overlaps the sat, sun 08:00-08:00 shift of `okafor` on mon 07:00-07:30 \
              (only one shift may be on call at a time)"]
        );
    }

    #[test]
    fn staff_and_shift_references_are_checked() {
        let mut roster = full_week();
        roster.staff.push(member("patel", 333));
        roster.staff.push(member("lee", 111));
        roster.staff.push(member("", 0));
        roster.staff.push(member("dr lee", 444));
        roster.shifts[0].primary = "patle".to_string();
        roster.shifts[1].backup = Some("okafor".to_string());
        roster.shifts[2].backup = Some("nobody".to_string());
        roster.staff_group = Some(222);
        assert_eq!(
            reasons(&roster),
            [
                "roster.staff_group: 222 is the private chat of `okafor`, not a group",
                "roster.staff[2].id: `patel` is already the id of another member",
                "roster.staff[3].chat_id: 111 is also the chat of `patel`",
                "roster.staff[4].id: is missing: a short handle like \"patel\"",
                "roster.staff[4].chat_id: is missing: the member's private chat id with the bot (not 0)",
                "roster.staff[5].id: `dr lee` has spaces: use a short handle like \"patel\"",
                "roster.shift[0].primary: no staff member has the id `patle` (known: patel, okafor, lee, dr lee)",
                "roster.shift[1].backup: is the same as primary",
                "roster.shift[2].backup: no staff member has the id `nobody` (known: patel, okafor, lee, dr lee)",
            ]
        );
    }

    #[test]
    fn settings_are_checked() {
        let roster = Roster {
            ack_timeout_emergency: Duration::from_secs(900),
            repeat_every: Duration::ZERO,
            staff_group: Some(-5),
            ..Roster::default()
        };
        assert_eq!(
            reasons(&roster),
            [
                "roster.repeat_every: must be longer than zero",
                "roster.ack_timeout_emergency: 15m is longer than ack_timeout_urgent (10m): an emergency must \
                 escalate at least as fast",
                "roster.staff_group: is set but the roster has no [[roster.staff]]; without a roster pages go to \
                 telegram.staff_chat_id",
            ]
        );
    }

    #[test]
    fn shifts_without_staff_name_the_missing_staff() {
        let roster = Roster { shifts: vec![shift("mon", "08:00", "09:00", "patel", None)], ..Roster::default() };
        assert_eq!(
            reasons(&roster),
            ["roster.shift[0].primary: no staff member has the id `patel` (there is no [[roster.staff]])"]
        );
    }

    #[test]
    fn empty_days_and_a_late_start_are_reported() {
        let mut roster = full_week();
        roster.shifts.push(Shift { days: Vec::new(), ..shift("mon", "24:00", "08:00", "patel", None) });
        let problems = reasons(&roster);
        assert_eq!(
            problems[..2],
            ["roster.shift[3].days: names no day", "roster.shift[3].from: 24:00 can only end a shift: use \"00:00\""]
        );
    }
}
