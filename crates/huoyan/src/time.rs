//! Time at the edges: instants are stored as UTC epoch milliseconds, written in the API as RFC 3339
//! in UTC, and shown on pages in the city's zone (Asia/Shanghai), where its calendar days begin.

use chrono::TimeZone;

use crate::error::FieldError;

/// The clock every change and query reads.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Times leave the API as RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Parses an RFC 3339 time from the API into epoch milliseconds, naming the field when it is bad.
pub fn parse_time(field: &str, s: &str) -> Result<i64, FieldError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            FieldError::new(
                field,
                "expected an RFC 3339 time such as 2022-08-20T20:00:00+08:00",
            )
        })
}

/// Beijing time as every page shows it: `2022-08-20 20:00`.
pub fn beijing(ms: i64) -> String {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// An RFC 3339 time from the API shown in Beijing time.
pub fn beijing_rfc3339(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| beijing(t.timestamp_millis()))
        .unwrap_or_else(|_| s.to_string())
}

/// The first instant of a Beijing calendar day given as YYYY-MM-DD.
/// The document's schema of a day parameter: YYYY-MM-DD, or blank (empty or only spaces, what a
/// page's unchosen date field sends), which counts as absent.
pub fn day_or_blank() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^\\s*$")),
        )
        .build()
        .into()
}

pub fn beijing_day_start(field: &str, day: &str) -> Result<i64, FieldError> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| chrono_tz::Asia::Shanghai.from_local_datetime(&t).single())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| FieldError::new(field, "expected a day such as 2022-08-20"))
}

/// The Beijing calendar day of an instant (YYYY-MM-DD): the day a 4 a.m. check-in belongs to.
pub fn beijing_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string()
}

/// A `datetime-local` input (Beijing wall time without a zone, `2022-08-20T20:00`, seconds
/// optional) as RFC 3339; None when it is not one.
pub fn beijing_local(s: &str) -> Option<String> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| format!("{}+08:00", t.format("%Y-%m-%dT%H:%M:%S")))
}

/// An instant as the API takes and gives it: RFC 3339 (`2022-08-20T20:00:00+08:00`), refused at
/// parsing with an example when it is not one, answered in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i64);

impl<'de> serde::Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| Instant(t.timestamp_millis()))
            .map_err(|_| {
                serde::de::Error::custom(
                    "expected an RFC 3339 time such as 2022-08-20T20:00:00+08:00",
                )
            })
    }
}

impl serde::Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        rfc3339(self.0).serialize(s)
    }
}

impl utoipa::PartialSchema for Instant {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Instant {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Instant")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_show_in_beijing() {
        let t = parse_time("at", "2022-08-20T20:00:00+08:00").unwrap();
        assert_eq!(rfc3339(t), "2022-08-20T12:00:00Z");
        assert_eq!(beijing(t), "2022-08-20 20:00");
        assert_eq!(beijing_rfc3339("2022-08-20T12:00:00Z"), "2022-08-20 20:00");
        assert_eq!(parse_time("at", "yesterday").unwrap_err().field, "at");
        assert_eq!(
            beijing_day_start("from", "2022-08-21").unwrap(),
            parse_time("x", "2022-08-21T00:00:00+08:00").unwrap()
        );
        assert_eq!(
            beijing_day_start("from", "08-21").unwrap_err().field,
            "from"
        );
        assert_eq!(beijing_day(t - 5 * 3_600_000), "2022-08-20");
        assert_eq!(
            beijing_local("2022-08-20T20:00").as_deref(),
            Some("2022-08-20T20:00:00+08:00")
        );
        assert_eq!(beijing_local("tomorrow"), None);
    }
}
