//! The engine's refusals in the dispatcher's words. The engine knows people and shifts by id
//! ("12 on 5/1: blocked that day"); a plan that fails on a pin, or a draft that no longer holds
//! when it is published, names the person and the place instead. Raised in English like every
//! message; `messages.toml` holds their Chinese.

use std::collections::BTreeSet;

use huoyan_core::workforce::roster::{RosterError, Violation};

use super::problem::{Horizon, parse_shift_key};
use crate::error::AppResult;

/// Why the engine refused a plan's input.
pub async fn roster_error(
    conn: &mut sqlx::AnyConnection,
    e: &RosterError,
    h: Horizon,
) -> AppResult<String> {
    Ok(match e {
        RosterError::PinBreaksRule(v) => violation(conn, v, h).await?,
        RosterError::UnknownPerson { id, .. } => {
            format!("{}: not on duty in this region", person(conn, id).await?)
        }
        RosterError::UnknownShift { id, .. } => {
            format!("{}: no such shift in this plan", place(conn, id, h).await?)
        }
        other => other.to_string(),
    })
}

/// Which hard rule a roster breaks, and for whom.
pub async fn violation(
    conn: &mut sqlx::AnyConnection,
    v: &Violation,
    h: Horizon,
) -> AppResult<String> {
    // Who and where, as the first two holes of the message's template.
    let on = async |conn: &mut sqlx::AnyConnection, who: &str, shift: &str| -> AppResult<_> {
        Ok((person(conn, who).await?, place(conn, shift, h).await?))
    };
    Ok(match v {
        Violation::UnknownPerson(id) => {
            format!("{}: not on duty in this region", person(conn, id).await?)
        }
        Violation::UnknownShift(id) => {
            format!("{}: no such shift in this plan", place(conn, id, h).await?)
        }
        Violation::Duplicate { person, shift } => {
            let (who, at) = on(conn, person, shift).await?;
            format!("{who} on {at}: twice on one shift")
        }
        Violation::Blocked { person, shift } => {
            let (who, at) = on(conn, person, shift).await?;
            format!("{who} on {at}: blocked that day")
        }
        Violation::MissingSkill {
            person,
            shift,
            skill,
        } => {
            let (who, at) = on(conn, person, shift).await?;
            format!("{who} on {at}: lacks the skill {skill}")
        }
        Violation::OutOfReach { person, shift } => {
            let (who, at) = on(conn, person, shift).await?;
            format!("{who} on {at}: the post is out of their reach")
        }
        Violation::TwoShiftsOneDay {
            person,
            shift,
            other,
        } => {
            let (who, at) = on(conn, person, shift).await?;
            let other = place(conn, other, h).await?;
            format!("{who} on {at}: already on {other} that day")
        }
        Violation::RestTooShort {
            person,
            shift,
            other,
        } => {
            let (who, at) = on(conn, person, shift).await?;
            let other = place(conn, other, h).await?;
            format!("{who} on {at}: too little rest before or after {other}")
        }
        Violation::WeeklyHoursExceeded { person: who, week } => format!(
            "{}: more than their weekly hours in week {}",
            person(conn, who).await?,
            week + 1
        ),
        Violation::OverHeadcount { shift } => format!(
            "{}: more people than its headcount",
            place(conn, shift, h).await?
        ),
        Violation::BadProblem(e) => e.to_string(),
    })
}

/// A person's name for the engine's id (the id itself when nobody has it).
async fn person(conn: &mut sqlx::AnyConnection, id: &str) -> AppResult<String> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(id.to_string());
    };
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(name.unwrap_or_else(|| id.to_string()))
}

/// A place for the engine's shift key: site, day and hours (the key itself when it names no
/// shift).
async fn place(conn: &mut sqlx::AnyConnection, key: &str, h: Horizon) -> AppResult<String> {
    let Some((shift, day)) = parse_shift_key(key) else {
        return Ok(key.to_string());
    };
    let places = super::plans::places(conn, &BTreeSet::from([shift])).await?;
    Ok(match places.get(&shift) {
        Some((_, site, _, hours)) => format!("{site} {} {hours}", h.first.plus(i64::from(day))),
        None => key.to_string(),
    })
}
