//! The roster engine's input read from the database: a region's active posts and their shifts
//! over the horizon, the people on duty there with their skills, branch groups, blockers and
//! wishes, and the published roster as the baseline a re-plan stays close to. Read on whatever
//! connection the caller holds: the pool when planning, the publishing transaction when a
//! draft is checked again against what is true now.

use std::collections::HashMap;

use huoyan_core::workforce::roster::{
    Assignment, Blocker, BlockerReason, MINUTES_PER_DAY, Person, Place, Post, Reach, RosterProblem,
    Rules, Shift, Weights,
};
use sqlx::Row;

use super::days::Day;
use super::posts::shift_time;
use crate::error::AppResult;

/// Rest between two shifts, and where an early shift begins.
const MIN_REST_MINUTES: u32 = 10 * 60;
const EARLY_BEFORE_MINUTE: u32 = 6 * 60;

/// The days a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    pub first: Day,
    pub days: u16,
}

impl Horizon {
    pub fn last(&self) -> Day {
        self.first.plus(i64::from(self.days) - 1)
    }

    /// The horizon's index of `day`, if it falls inside.
    pub fn index(&self, day: Day) -> Option<u16> {
        let i = self.first.until(day);
        (0..i64::from(self.days)).contains(&i).then_some(i as u16)
    }
}

/// The engine's id of shift `shift` on horizon day `day`, and back.
pub fn shift_key(shift: i64, day: u16) -> String {
    format!("{shift}/{day}")
}

pub fn parse_shift_key(key: &str) -> Option<(i64, u16)> {
    let (s, d) = key.split_once('/')?;
    Some((s.parse().ok()?, d.parse().ok()?))
}

/// Metres east and north of `origin` on a local plane: enough for distances inside a city.
fn plane(origin: (f64, f64), (lon, lat): (f64, f64)) -> (i32, i32) {
    let x = (lon - origin.0) * 111_320.0 * origin.1.to_radians().cos();
    let y = (lat - origin.1) * 110_540.0;
    (x.round() as i32, y.round() as i32)
}

/// The community and subdistrict ids a region's path (`/city/district/subdistrict/community/…/`)
/// runs through, when it reaches that deep.
fn areas(path: &str) -> (Option<i64>, Option<i64>) {
    let ids: Vec<i64> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    (ids.get(3).copied(), ids.get(2).copied())
}

/// The problem for the region at `path` over `h`, with the published roster as its baseline.
pub async fn load(
    conn: &mut sqlx::AnyConnection,
    path: &str,
    h: Horizon,
) -> AppResult<RosterProblem> {
    let like = format!("{path}%");
    // Where each community is: the mean of its sites' coordinates (the sampling points, gates
    // and stations its people are sent to).
    let mut centre: HashMap<i64, (f64, f64)> = HashMap::new();
    for r in sqlx::query(
        "SELECT s.region_id, AVG(s.lon) AS lon, AVG(s.lat) AS lat FROM sites s JOIN regions g ON g.id = s.region_id \
         WHERE g.path LIKE $1 AND s.lon IS NOT NULL AND s.lat IS NOT NULL GROUP BY s.region_id",
    )
    .bind(&like)
    .fetch_all(&mut *conn)
    .await?
    {
        centre.insert(r.try_get("region_id")?, (r.try_get("lon")?, r.try_get("lat")?));
    }
    let origin = if centre.is_empty() {
        (0.0, 0.0)
    } else {
        let n = centre.len() as f64;
        let (x, y) = centre
            .values()
            .fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1));
        (x / n, y / n)
    };
    let place = |region: i64, path: &str, point: Option<(f64, f64)>| {
        let (x_m, y_m) = point
            .or_else(|| centre.get(&region).copied())
            .map_or((0, 0), |p| plane(origin, p));
        let (community, subdistrict) = areas(path);
        Place {
            x_m,
            y_m,
            community: community.unwrap_or(region).to_string(),
            subdistrict: subdistrict.unwrap_or(region).to_string(),
        }
    };

    let mut posts = Vec::new();
    let mut post_skills: HashMap<i64, Vec<String>> = HashMap::new();
    for r in sqlx::query(
        "SELECT po.id, po.skills, s.region_id, g.path, s.lon, s.lat FROM posts po \
         JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id \
         WHERE po.active = 1 AND g.path LIKE $1 ORDER BY po.id",
    )
    .bind(&like)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.try_get("id")?;
        let point = match (r.try_get("lon")?, r.try_get("lat")?) {
            (Some(lon), Some(lat)) => Some((lon, lat)),
            _ => None,
        };
        posts.push(Post {
            id: id.to_string(),
            name: id.to_string(),
            place: place(
                r.try_get("region_id")?,
                &r.try_get::<String, _>("path")?,
                point,
            ),
        });
        post_skills.insert(
            id,
            serde_json::from_str(&r.try_get::<String, _>("skills")?)
                .map_err(anyhow::Error::from)?,
        );
    }
    let mut shifts = Vec::new();
    for r in sqlx::query(
        "SELECT sh.id, sh.post_id, sh.start_minute, sh.end_minute, sh.headcount FROM post_shifts sh \
         JOIN posts po ON po.id = sh.post_id JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id \
         WHERE po.active = 1 AND g.path LIKE $1 ORDER BY sh.id",
    )
    .bind(&like)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.try_get("id")?;
        let post: i64 = r.try_get("post_id")?;
        let t = shift_time(r.try_get("start_minute")?, r.try_get("end_minute")?)?;
        for day in 0..h.days {
            let (start, end) = t.on_day(day);
            shifts.push(Shift {
                id: shift_key(id, day),
                post: post.to_string(),
                day,
                start,
                end,
                headcount: r.try_get::<i64, _>("headcount")?.clamp(1, i64::from(u16::MAX)) as u16,
                skills: post_skills.get(&post).cloned().unwrap_or_default(),
            });
        }
    }

    let mut people = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for r in sqlx::query(
        "SELECT d.person_id, d.community_id, g.path, d.max_minutes_per_week, d.avoid_early, d.days_off, pe.skills, \
         (SELECT MIN(t.id) FROM team_members m JOIN teams t ON t.id = m.team_id \
          WHERE m.person_id = d.person_id AND t.kind IN ('volunteer_group', 'party_branch', 'cadre_group')) AS team_id \
         FROM duty_people d JOIN people pe ON pe.id = d.person_id JOIN regions g ON g.id = d.community_id \
         WHERE g.path LIKE $1 ORDER BY d.person_id",
    )
    .bind(&like)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.try_get("person_id")?;
        let days_off: Vec<String> = serde_json::from_str(&r.try_get::<String, _>("days_off")?)
            .map_err(anyhow::Error::from)?;
        let off_requests = days_off
            .iter()
            .filter_map(|d| Day::parse(d).ok())
            .filter_map(|d| h.index(d))
            .collect();
        index.insert(id, people.len());
        people.push(Person {
            id: id.to_string(),
            skills: crate::org::people::split_skills(&r.try_get::<String, _>("skills")?),
            home: place(
                r.try_get("community_id")?,
                &r.try_get::<String, _>("path")?,
                None,
            ),
            blockers: Vec::new(),
            off_requests,
            max_minutes_per_week: r
                .try_get::<i64, _>("max_minutes_per_week")?
                .clamp(0, i64::from(7 * MINUTES_PER_DAY)) as u32,
            group: r.try_get::<Option<i64>, _>("team_id")?.map(|t| t.to_string()),
            avoid_early: r.try_get::<i64, _>("avoid_early")? != 0,
        });
    }
    // Open blockers, and refused requests (the pass never came), on the horizon's days.
    for r in sqlx::query(
        "SELECT b.person_id, b.reason, b.first_day, b.last_day FROM blockers b \
         JOIN duty_people d ON d.person_id = b.person_id JOIN regions g ON g.id = d.community_id \
         WHERE g.path LIKE $1 AND b.state IN ('open', 'refused') AND b.first_day <= $2 AND b.last_day >= $3",
    )
    .bind(&like)
    .bind(h.last().to_string())
    .bind(h.first.to_string())
    .fetch_all(&mut *conn)
    .await?
    {
        let Some(&i) = index.get(&r.try_get::<i64, _>("person_id")?) else {
            continue;
        };
        let reason = BlockerReason::parse(&r.try_get::<String, _>("reason")?)
            .unwrap_or(BlockerReason::Other);
        let (Ok(first), Ok(last)) = (
            Day::parse(&r.try_get::<String, _>("first_day")?),
            Day::parse(&r.try_get::<String, _>("last_day")?),
        ) else {
            continue;
        };
        for day in (0..h.days).filter(|d| {
            let at = h.first.plus(i64::from(*d));
            first <= at && at <= last
        }) {
            if !people[i].blockers.iter().any(|b| b.day == day) {
                people[i].blockers.push(Blocker { day, reason });
            }
        }
    }
    let baseline = published(conn, &like, h).await?;
    // A fresh plan has nothing to change: an empty baseline would count every place as a change.
    let baseline = (!baseline.is_empty()).then_some(baseline);
    Ok(RosterProblem {
        rules: Rules {
            days: h.days,
            min_rest_minutes: MIN_REST_MINUTES,
            reach: Reach::SameSubdistrict,
            early_before_minute: EARLY_BEFORE_MINUTE,
        },
        weights: Weights::default(),
        people,
        posts,
        shifts,
        baseline,
    })
}

/// The problem `load` reads for the region at `path`, on a connection of its own (the benchmark
/// runs the engine alone on it).
pub async fn for_region(db: &crate::db::Db, path: &str, h: Horizon) -> AppResult<RosterProblem> {
    let mut conn = db.pool.acquire().await?;
    load(&mut conn, path, h).await
}

/// The published roster over `h` of the people on duty in the region (`like`: its path's
/// pattern), as engine assignments.
async fn published(
    conn: &mut sqlx::AnyConnection,
    like: &str,
    h: Horizon,
) -> AppResult<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT r.person_id, r.day, r.shift_id FROM roster r JOIN duty_people d ON d.person_id = r.person_id \
         JOIN regions g ON g.id = d.community_id WHERE g.path LIKE $1 AND r.day >= $2 AND r.day <= $3",
    )
    .bind(like)
    .bind(h.first.to_string())
    .bind(h.last().to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Ok(day) = Day::parse(&r.try_get::<String, _>("day")?) else {
            continue;
        };
        if let Some(d) = h.index(day) {
            out.push(Assignment::new(
                r.try_get::<i64, _>("person_id")?.to_string(),
                shift_key(r.try_get("shift_id")?, d),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_keys_round_trip() {
        assert_eq!(parse_shift_key(&shift_key(42, 13)), Some((42, 13)));
        assert_eq!(parse_shift_key("42"), None);
        assert_eq!(parse_shift_key("x/1"), None);
    }

    #[test]
    fn the_horizon_indexes_its_own_days_only() {
        let first = Day::parse("2022-09-06").unwrap();
        let h = Horizon { first, days: 2 };
        assert_eq!(h.index(first), Some(0));
        assert_eq!(h.index(first.plus(1)), Some(1));
        assert_eq!(h.index(first.plus(2)), None);
        assert_eq!(h.index(first.plus(-1)), None);
        assert_eq!(h.last(), first.plus(1));
    }

    #[test]
    fn a_path_names_its_community_and_subdistrict() {
        assert_eq!(areas("/1/5/38/278/288/"), (Some(278), Some(38)));
        assert_eq!(areas("/1/2/15/88/"), (Some(88), Some(15)));
        assert_eq!(areas("/1/2/15/"), (None, Some(15)));
    }

    #[test]
    fn the_plane_keeps_city_distances() {
        // 0.01° of latitude is about 1.1 km; of longitude at 46.6° N about 765 m.
        let o = (125.1, 46.6);
        assert_eq!(plane(o, (125.1, 46.61)), (0, 1105));
        let (x, _) = plane(o, (125.11, 46.6));
        assert!((760..770).contains(&x), "{x}");
    }
}
