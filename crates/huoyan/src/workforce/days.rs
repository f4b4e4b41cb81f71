//! Days of the city's calendar as requests name them (`YYYY-MM-DD`), parsed at the boundary.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A day in the city's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub NaiveDate);

impl Day {
    pub fn parse(s: &str) -> Result<Day, String> {
        let s = s.trim();
        if s.len() != 10 {
            return Err("a day as YYYY-MM-DD".into());
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| "a day as YYYY-MM-DD".into())
    }

    /// The day `n` days on.
    pub fn plus(self, n: i64) -> Day {
        Day(self.0 + chrono::Duration::days(n))
    }

    /// Days from `self` to `later`.
    pub fn until(self, later: Day) -> i64 {
        (later.0 - self.0).num_days()
    }

    /// Milliseconds of this day's 00:00 in the city's zone.
    pub fn start_ms(self) -> i64 {
        crate::time::beijing_day_start("day", &self.to_string()).expect("a parsed day has a start")
    }

    /// Today in the city's zone.
    pub fn today() -> Day {
        Day::parse(&crate::time::beijing_day(crate::time::now_ms())).expect("today is a day")
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A query's day: blank (what a page's unchosen date field sends) counts as absent. Document
/// the field with `crate::time::day_or_blank`.
pub fn blank_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Day>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => {
            Day::parse(&s).map(Some).map_err(serde::de::Error::custom)
        }
        _ => Ok(None),
    }
}

/// A page's query day (the text of field `field`): blank is none, anything else must be a day.
pub fn from_query(field: &str, v: Option<&str>) -> crate::error::AppResult<Option<Day>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Day::parse(s)
            .map(Some)
            .map_err(|why| crate::error::AppError::invalid(field, why)),
        None => Ok(None),
    }
}

/// Checks that `first..=last` runs forward and covers at most `max` days.
pub fn span(first: Day, last: Day, max: i64) -> Result<i64, String> {
    let n = first.until(last) + 1;
    if n < 1 {
        return Err("must not be before the first day".into());
    }
    if n > max {
        return Err(format!("at most {max} days from the first"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_strictly_and_count() {
        let d = Day::parse("2022-08-31").unwrap();
        assert_eq!(d.plus(1).to_string(), "2022-09-01");
        assert_eq!(d.until(Day::parse("2022-09-02").unwrap()), 2);
        assert!(Day::parse("2022-8-31").is_err());
        assert!(Day::parse("2022-02-30").is_err());
        assert_eq!(span(d, d, 14), Ok(1));
        assert!(span(d.plus(1), d, 14).is_err());
        assert!(span(d, d.plus(14), 14).is_err());
        assert_eq!(span(d, d.plus(13), 14), Ok(14));
    }

    #[test]
    fn a_day_starts_at_beijing_midnight() {
        // 2022-08-31 00:00 +08:00 is 2022-08-30 16:00 UTC.
        assert_eq!(
            Day::parse("2022-08-31").unwrap().start_ms(),
            1_661_875_200_000
        );
    }
}
