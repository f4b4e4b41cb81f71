//! Posts: a site and a job there, staffed in shifts that repeat every day.

use serde::{Deserialize, Serialize};

use super::roster::MINUTES_PER_DAY;

crate::coded_enum!(
    /// What the people of a post do.
    Job {
        Scanning = "scanning", "扫码", "Code scanning";
        Order = "order", "秩序维护", "Keeping order";
        Disinfection = "disinfection", "消杀", "Disinfection";
        Guiding = "guiding", "引导", "Guiding";
        Delivery = "delivery", "配送", "Delivery";
        Publicity = "publicity", "宣传", "Publicity";
        GateDuty = "gate_duty", "卡口值守", "Gate duty";
        Patrol = "patrol", "巡逻", "Patrol";
    }
);

/// A daily shift's hours in the city's time: from `start` to `end` minutes after midnight; an
/// end at or before the start crosses midnight (22:00–06:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftTime {
    pub start: u32,
    pub end: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShiftTimeError {
    #[error("a time as HH:MM, from 00:00 to 23:59")]
    BadClock,
    #[error("hours as HH:MM-HH:MM, e.g. 04:30-12:30")]
    BadRange,
    #[error("a shift of at least 30 minutes and at most 16 hours")]
    BadLength,
}

/// Longest shift a post may set: the engine allows 24 hours, nobody works that at a gate.
pub const MAX_SHIFT_MINUTES: u32 = 16 * 60;
pub const MIN_SHIFT_MINUTES: u32 = 30;

/// Minutes after midnight of `HH:MM`.
pub fn parse_clock(s: &str) -> Result<u32, ShiftTimeError> {
    let (h, m) = s.trim().split_once(':').ok_or(ShiftTimeError::BadClock)?;
    let digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h) || (h.len() == 1 && digits(&format!("0{h}")))) || !digits(m) {
        return Err(ShiftTimeError::BadClock);
    }
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| ShiftTimeError::BadClock)?,
        m.parse().map_err(|_| ShiftTimeError::BadClock)?,
    );
    if h > 23 || m > 59 {
        return Err(ShiftTimeError::BadClock);
    }
    Ok(h * 60 + m)
}

/// `HH:MM` of minutes after midnight (wrapping past a day).
pub fn clock(minute: u32) -> String {
    let m = minute % MINUTES_PER_DAY;
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl ShiftTime {
    pub fn new(start: u32, end: u32) -> Result<Self, ShiftTimeError> {
        if start >= MINUTES_PER_DAY || end >= MINUTES_PER_DAY {
            return Err(ShiftTimeError::BadClock);
        }
        let t = ShiftTime { start, end };
        if !(MIN_SHIFT_MINUTES..=MAX_SHIFT_MINUTES).contains(&t.minutes()) {
            return Err(ShiftTimeError::BadLength);
        }
        Ok(t)
    }

    /// `04:30-12:30` (an en dash, a tilde or 至 between the times also do).
    pub fn parse(s: &str) -> Result<Self, ShiftTimeError> {
        let s = s.trim();
        let (a, b) = ['-', '–', '—', '~', '～', '至']
            .iter()
            .find_map(|sep| s.split_once(*sep))
            .ok_or(ShiftTimeError::BadRange)?;
        Self::new(parse_clock(a)?, parse_clock(b)?)
    }

    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    pub fn minutes(&self) -> u32 {
        if self.crosses_midnight() {
            self.end + MINUTES_PER_DAY - self.start
        } else {
            self.end - self.start
        }
    }

    /// The shift on day `day` of a horizon, as the engine's minutes from its start.
    pub fn on_day(&self, day: u16) -> (u32, u32) {
        let start = u32::from(day) * MINUTES_PER_DAY + self.start;
        (start, start + self.minutes())
    }
}

impl std::fmt::Display for ShiftTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", clock(self.start), clock(self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_print_back() {
        let t = ShiftTime::parse("04:30-12:30").unwrap();
        assert_eq!((t.start, t.end, t.minutes()), (270, 750, 480));
        assert_eq!(t.to_string(), "04:30-12:30");
        assert_eq!(ShiftTime::parse("4:30 至 12:30"), Ok(t));
        assert_eq!(ShiftTime::parse("04:30–12:30"), Ok(t));
    }

    #[test]
    fn a_night_shift_crosses_midnight() {
        let t = ShiftTime::parse("22:00-06:00").unwrap();
        assert!(t.crosses_midnight());
        assert_eq!(t.minutes(), 480);
        assert_eq!(t.on_day(1), (1440 + 1320, 1440 + 1320 + 480));
        assert!(!ShiftTime::parse("08:00-16:00").unwrap().crosses_midnight());
    }

    #[test]
    fn bad_hours_are_named() {
        assert_eq!(
            ShiftTime::parse("04:30 12:30"),
            Err(ShiftTimeError::BadRange)
        );
        assert_eq!(ShiftTime::parse("0430-1230"), Err(ShiftTimeError::BadClock));
        assert_eq!(
            ShiftTime::parse("24:00-08:00"),
            Err(ShiftTimeError::BadClock)
        );
        assert_eq!(
            ShiftTime::parse("08:60-09:00"),
            Err(ShiftTimeError::BadClock)
        );
        assert_eq!(
            ShiftTime::parse("a8:00-09:00"),
            Err(ShiftTimeError::BadClock)
        );
        assert_eq!(
            ShiftTime::parse("08:00-08:10"),
            Err(ShiftTimeError::BadLength)
        );
        assert_eq!(
            ShiftTime::parse("08:00-08:00"),
            Err(ShiftTimeError::BadLength)
        );
        assert_eq!(
            ShiftTime::parse("06:00-23:00"),
            Err(ShiftTimeError::BadLength)
        );
    }
}
