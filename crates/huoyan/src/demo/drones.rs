//! The police drone squad's patrol of 31 August 08:00 ("eyes in the sky" over the sealed zones):
//! its five drones registered, the mission over ten sealed compounds planned through `drones`'
//! own functions by the squad's pilot at 07:30, each drone's first sortie flown from 08:00 as a
//! track (a fix every five seconds at cruise speed, the battery draining), and what the cameras
//! saw filed as cases in the compounds below.

use huoyan_core::cases::Category;
use huoyan_core::drones::Objective;
use huoyan_core::drones::coverage::Waypoint;
use sqlx::Row;

use super::cases::{MIN, bj};
use super::testing::fail;
use crate::audit::Change;
use crate::check::Text;
use crate::db::Db;
use crate::drones::{Live, NewDrone, NewFinding, NewMission, Stream};

/// What the cameras saw, one per drone: category, description.
const SEEN: [(Category, &str); 5] = [
    (
        Category::StaticControl,
        "小区南侧围挡有缺口，有居民翻越外出",
    ),
    (Category::SpillOver, "封控区边缘路口有人员聚集，未保持距离"),
    (Category::SupplyVendors, "沿街商户卷帘门半开，疑似违规营业"),
    (
        Category::OutsideWorkers,
        "外卖、快递人员在卡口外聚集等候，无人登记",
    ),
    (Category::Testing, "核酸采样点排队过长，间距不足一米"),
];

/// Seconds between two stored fixes of the historical tracks.
const EVERY_S: f64 = 5.0;

pub(super) async fn load(db: &Db) -> anyhow::Result<()> {
    let pilot = super::testing::principal(db, "pilot").await?;
    let compounds: Vec<(i64, f64, f64, geojson::Geometry)> = {
        let rows = sqlx::query(
            "SELECT id, geometry FROM regions WHERE level = 'compound' AND geometry IS NOT NULL ORDER BY id",
        )
        .fetch_all(&db.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let g: geojson::Geometry = serde_json::from_str(&r.try_get::<String, _>("geometry")?)?;
            let (lon, lat) = huoyan_core::org::places::centre(&g)
                .ok_or_else(|| anyhow::anyhow!("a compound without a centre"))?;
            out.push((r.try_get("id")?, lon, lat, g));
        }
        // 景程小区 (the first) and the nine compounds nearest it: one district's sealed zones,
        // within the drones' reach of one another.
        let (x0, y0) = (out[0].1, out[0].2);
        out.sort_by(|a, b| {
            (a.1 - x0)
                .hypot(a.2 - y0)
                .total_cmp(&(b.1 - x0).hypot(b.2 - y0))
        });
        out.truncate(10);
        out
    };
    let mut change = Change::begin(db, &pilot.actor()).await.map_err(fail)?;
    change.act_as(&pilot.actor(), bj("2022-08-31T07:30:00+08:00"));
    let mut drones = Vec::new();
    for k in 1..=5usize {
        // Each takes off 400 m south of one of the compounds.
        let (_, lon, lat, _) = compounds[(k - 1) * 2 % compounds.len()];
        let new = NewDrone {
            callsign: Text::field("callsign", format!("警航{k}"))?,
            model: Text::field(
                "model",
                if k <= 3 {
                    "大疆 M300 RTK"
                } else {
                    "大疆 M30T"
                },
            )?,
            team_id: None,
            system_id: k as i64,
            endurance_min: if k <= 3 { 40 } else { 35 },
            cruise_mps: 10.0,
            hfov_deg: if k <= 3 { 82.0 } else { 84.0 },
            home_lon: lon,
            home_lat: lat - 0.0036,
            streams: vec![Stream {
                kind: huoyan_core::drones::StreamKind::Hls,
                url: format!("https://video.dqga.example/uav{k}/index.m3u8"),
            }],
        };
        drones.push(
            crate::drones::register(&mut change, &pilot, &new)
                .await
                .map_err(fail)?,
        );
    }
    let mission = crate::drones::plan(
        &mut change,
        &pilot,
        &NewMission {
            name: Text::field("name", "8月31日08:00 封控区空中巡查")?,
            team_id: None,
            objectives: vec![
                Objective::ZoneControl,
                Objective::TestingOrder,
                Objective::OutsideWorkers,
                Objective::Vendors,
                Objective::SpillOver,
            ],
            altitude_m: 80.0,
            side_overlap: Some(0.2),
            region_ids: compounds.iter().map(|c| c.0).collect(),
            polygons: Vec::new(),
            drone_ids: drones.clone(),
        },
    )
    .await
    .map_err(fail)?;
    change.commit().await.map_err(fail)?;

    let plan = crate::drones::mission(db, mission)
        .await
        .map_err(fail)?
        .plan;
    let start = bj("2022-08-31T08:00:00+08:00");
    let mut change = Change::begin(db, &pilot.actor()).await.map_err(fail)?;
    for (k, dp) in plan.drones.iter().enumerate() {
        let Some(sortie) = dp.sorties.first() else {
            continue;
        };
        let drone: i64 = dp.drone.parse()?;
        let fixes = fly(&sortie.waypoints, 10.0);
        let flight = fixes.len();
        for (i, (lon, lat, heading)) in fixes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO drone_fixes (drone_id, at_ms, lon, lat, alt_m, heading_deg, battery_pct) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(drone)
            .bind(start + (i as f64 * EVERY_S * 1000.0) as i64)
            .bind(lon)
            .bind(lat)
            .bind(if i == 0 || i + 1 == flight { 0.0 } else { 80.0 })
            .bind(heading)
            .bind(100 - (i * 70 / flight.max(1)) as i64)
            .execute(&mut *change.tx)
            .await?;
        }
        // The finding, a third of the way along, where the track passes over a compound.
        let (category, seen) = SEEN[k % SEEN.len()];
        let Some((i, (lon, lat, _))) =
            fixes
                .iter()
                .enumerate()
                .skip(flight / 3)
                .find(|(_, (lon, lat, _))| {
                    compounds
                        .iter()
                        .any(|c| huoyan_core::org::places::contains(&c.3, *lon, *lat))
                })
        else {
            continue;
        };
        change.act_as(
            &pilot.actor(),
            start + (i as f64 * EVERY_S * 1000.0) as i64 + MIN / 2,
        );
        crate::drones::file_finding(
            db,
            &Live::default(),
            &mut change,
            &pilot,
            &NewFinding {
                drone_id: drone,
                category,
                description: Text::field("description", seen)?,
                lon: Some(*lon),
                lat: Some(*lat),
            },
        )
        .await
        .map_err(fail)?;
    }
    change.commit().await.map_err(fail)?;
    // The office on duty reads of each finding within a quarter of an hour.
    super::testing::read_what_was_told(db, &pilot, |_| 15 * MIN).await
}

/// The sortie flown at `speed` m/s: (lon, lat, heading) every `EVERY_S` seconds.
fn fly(waypoints: &[Waypoint], speed: f64) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    let step = speed * EVERY_S;
    let mut carry = 0.0;
    for w in waypoints.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let k = 111_320.0 * a.lat.to_radians().cos();
        let (dx, dy) = ((b.lon - a.lon) * k, (b.lat - a.lat) * 110_540.0);
        let len = dx.hypot(dy);
        let heading = (dx.atan2(dy).to_degrees() + 360.0) % 360.0;
        let mut s = carry;
        while s < len {
            let t = s / len;
            out.push((
                a.lon + (b.lon - a.lon) * t,
                a.lat + (b.lat - a.lat) * t,
                heading,
            ));
            s += step;
        }
        carry = s - len;
    }
    if let Some(last) = waypoints.last() {
        out.push((last.lon, last.lat, out.last().map_or(0.0, |p| p.2)));
    }
    out
}
