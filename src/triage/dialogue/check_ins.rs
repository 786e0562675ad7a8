//! Proactive check-ins after a treatment, pure: when they fall due (offsets after the session,
//! moved out of quiet hours in the clinic's time zone), and whether one that is due is still
//! worth sending (a check-in missed while the bot was down is sent if still within its grace
//! period, and skipped otherwise). The clock lives in the adapter.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// Check-in settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInPlan {
    /// After the treatment (default 4h, 24h, 72h).
    pub offsets: Vec<Duration>,
    /// Quiet hours in the clinic's time zone: a check-in due then waits for `quiet_until`.
    pub quiet_from: Time,
    pub quiet_until: Time,
    /// How late a missed check-in may still go out.
    pub grace: Duration,
}

impl Default for CheckInPlan {
    fn default() -> Self {
        CheckInPlan {
            offsets: [4, 24, 72].map(|h| Duration::from_secs(h * 3600)).to_vec(),
            quiet_from: Time::constant(22, 0, 0, 0),
            quiet_until: Time::constant(8, 0, 0, 0),
            grace: Duration::from_secs(6 * 3600),
        }
    }
}

/// One scheduled check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCheckIn {
    /// 1 for the first after the treatment.
    pub number: u32,
    pub due_at: Timestamp,
}

/// What to do with a check-in whose time has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Missed by more than the grace period (the bot was down): drop it.
    Skip,
    /// Not yet.
    Wait,
}

impl CheckInPlan {
    /// The check-ins after a treatment at `treated_at`.
    pub fn schedule(&self, treated_at: Timestamp, tz: &TimeZone) -> Vec<DueCheckIn> {
        self.offsets
            .iter()
            .zip(1..)
            .filter_map(|(offset, number)| {
                let at = treated_at.checked_add(SignedDuration::try_from(*offset).ok()?).ok()?;
                Some(DueCheckIn { number, due_at: self.outside_quiet_hours(at, tz) })
            })
            .collect()
    }

    fn in_quiet_hours(&self, time: Time) -> bool {
        if self.quiet_from <= self.quiet_until {
            time >= self.quiet_from && time < self.quiet_until
        } else {
            time >= self.quiet_from || time < self.quiet_until
        }
    }

    /// `at`, or the end of the quiet hours it falls in.
    pub fn outside_quiet_hours(&self, at: Timestamp, tz: &TimeZone) -> Timestamp {
        let local = at.to_zoned_datetime(tz.clone());
        if !self.in_quiet_hours(local.time()) {
            return at;
        }
        let mut date = local.date();
        if local.time() >= self.quiet_until {
            // In the evening part: the quiet hours end tomorrow morning.
            date = date.tomorrow().unwrap_or(date);
        }
        date.to_datetime(self.quiet_until).to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).unwrap_or(at)
    }

    /// Whether a check-in due at `due_at` goes out `now`.
    pub fn decide(&self, due_at: Timestamp, now: Timestamp) -> Decision {
        if now < due_at {
            return Decision::Wait;
        }
        let late = Duration::try_from(now.duration_since(due_at)).unwrap_or_default();
        if late > self.grace {
            Decision::Skip
        } else {
            Decision::Send
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn london() -> TimeZone {
        TimeZone::get("Europe/London").unwrap()
    }

    #[test]
    fn scheduled_at_the_offsets() {
        // 10:00 London (BST, UTC+1): 4h -> 14:00, 24h -> 10:00 next day, 72h -> 10:00 in 3 days.
        let due = CheckInPlan::default().schedule(at("2026-06-10T09:00:00Z"), &london());
        let times: Vec<String> = due.iter().map(|d| d.due_at.to_string()).collect();
        assert_eq!(times, ["2026-06-10T13:00:00Z", "2026-06-11T09:00:00Z", "2026-06-13T09:00:00Z"]);
        assert_eq!(due.iter().map(|d| d.number).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn quiet_hours_wait_for_the_morning() {
        let plan = CheckInPlan::default();
        // Treated 20:00 London: 4h later is midnight, inside quiet hours: 08:00 next morning.
        let due = plan.schedule(at("2026-06-10T19:00:00Z"), &london());
        assert_eq!(due[0].due_at.to_string(), "2026-06-11T07:00:00Z");
        // 03:00 London waits until 08:00 the same day.
        assert_eq!(plan.outside_quiet_hours(at("2026-06-11T02:00:00Z"), &london()).to_string(), "2026-06-11T07:00:00Z");
        // 12:00 is not quiet.
        assert_eq!(plan.outside_quiet_hours(at("2026-06-11T11:00:00Z"), &london()).to_string(), "2026-06-11T11:00:00Z");
    }

    #[test]
    fn grace_decides_whether_a_missed_check_in_goes_out() {
        let plan = CheckInPlan::default();
        let due = at("2026-06-10T13:00:00Z");
        assert_eq!(plan.decide(due, at("2026-06-10T12:59:59Z")), Decision::Wait);
        assert_eq!(plan.decide(due, due), Decision::Send);
        assert_eq!(plan.decide(due, at("2026-06-10T18:59:00Z")), Decision::Send);
        assert_eq!(plan.decide(due, at("2026-06-10T19:00:01Z")), Decision::Skip);
    }
}
