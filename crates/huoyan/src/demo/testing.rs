//! 景程小区's mass testing over the nine days of lockdown from 2022-08-21 (SCENARIO.md: 70,000+
//! tests, 20,000 tubes). The dispatcher sets up the compound's point and its door teams,
//! imports the registry one building at a time and sets a round each day; the point pools ten
//! to a tube, the door teams take the old, the yellow and red codes and the buildings kept in
//! one tube each; tubes are sealed, boxed every hour, carried to the lab and resulted. Two
//! pooled tubes come back positive: each recalls its people, files its follow-up cases (walked
//! to their close that day, `follow_ups`) and proposes its buildings' control to the commander,
//! who accepts the first and declines the second; the door teams retest the people one by one
//! that evening. Every write goes through `testing`'s (and `cases`') own functions at its
//! historical time, by whoever made it; the scans in the ingest's batches of 1,000, each sealed
//! as the writer seals it.

mod follow_ups;
mod plan;
mod registry;

use anyhow::Context;
use chrono::{Days, NaiveDate, NaiveTime};
use huoyan_core::testing::codes::{Barcode, HealthCode};
use huoyan_core::testing::tubes::{TubeMode, TubeState};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use self::plan::{Day, Desk, Planner, RoundDay};
use super::cases::{HOUR, MIN, SNAPSHOT, bj};
use crate::audit::{Actor, Change};
use crate::auth::{Principal, principal_of};
use crate::check::Text;
use crate::db::Db;
use crate::error::AppError;
use crate::org::sites;
use crate::tabular::Table;
use crate::testing::{self as t, NewBox, NewHandout, NewPoint, NewRound, RoundPoint, Scan};

const SEED: u64 = 0x5EED_0821;
/// The first of the nine days, and how many.
const FIRST_DAY: &str = "2022-08-21";
const DAYS: u64 = 9;
/// The ingest's batch.
const BATCH: usize = 1_000;
/// Tubes the volunteers handed out over the nine days (SCENARIO.md): the daily deliveries come
/// to exactly this, which the load checks.
const KITS: i64 = 20_000;

/// A pooled tube that came back positive: on which day (from 0), holding people of two
/// neighbouring buildings from which on, and the commander's answer the next morning to its
/// proposals.
struct Positive {
    day: u64,
    from_building: usize,
    accept: bool,
    decided: (u32, u32),
    note: &'static str,
}

const POSITIVES: [Positive; 2] = [
    Positive {
        day: 0,
        from_building: 7,
        accept: true,
        decided: (8, 45),
        note: "同意。指挥部9时发布2022年第10号公告，景程小区整体划为高风险区。",
    },
    Positive {
        day: 3,
        from_building: 12,
        accept: false,
        decided: (9, 10),
        note: "景程小区已整体为高风险区（第10号公告），两栋楼按封控楼栋入户单采，不再另行升级。",
    },
];

/// Who acts: the dispatcher sets up, the sampler scans, the lab results, the commander decides.
struct Cast {
    dispatcher: Principal,
    sampler: Principal,
    lab: Principal,
    commander: Principal,
}

/// An instant on `day` at `h:m` in Beijing.
fn at(day: NaiveDate, h: u32, m: u32) -> i64 {
    let time = NaiveTime::from_hms_opt(h, m, 0).expect("a time of day");
    day.and_time(time).and_utc().timestamp_millis() - 8 * HOUR
}

/// A result's time as a lab's sheet writes it: Beijing, to the second.
fn sheet_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub(super) fn fail(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}: {:?}", e.fields())
}

/// The demo account `username` as it acts.
pub(super) async fn principal(db: &Db, username: &str) -> anyhow::Result<Principal> {
    let id = crate::auth::accounts::id_by_username(db, username)
        .await
        .map_err(fail)?;
    principal_of(db, id).await.map_err(fail)
}

pub(super) async fn load(db: &Db) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let who = |name| principal(db, name);
    let cast = Cast {
        dispatcher: who("dispatcher").await?,
        sampler: who("sampler").await?,
        lab: who("lab").await?,
        commander: who("commander").await?,
    };
    let first = NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d")?;
    let compound: i64 =
        sqlx::query_scalar("SELECT id FROM regions WHERE name = $1 AND level = 'compound'")
            .bind(registry::COMPOUND)
            .fetch_one(&db.pool)
            .await?;
    let (residents, sheets) = registry::residents(&mut rng);
    let points = set_up(db, &cast, compound, &sheets, first).await?;

    // Buildings sampled at their doors, and the tubes each point holds unused.
    let mut sealed: Vec<usize> = Vec::new();
    let (mut stock, mut handed) = ([0_i64; 2], 0);
    for d in 0..DAYS {
        let date = first + Days::new(d);
        let mut planner = Planner {
            rng: &mut rng,
            residents: &residents,
            mmdd: date.format("%m%d").to_string(),
        };
        let positive = POSITIVES.iter().find(|p| p.day == d);
        let day = planner.round(&RoundDay {
            opens: at(date, 5, 0),
            doors_open: at(date, 6, 0),
            sealed: &sealed,
            flag_colours: d < 2,
            positive: positive.map(|p| p.from_building),
        });
        let retests = day.positive().map(|tube| {
            let known = day.positive_known().expect("a positive tube is resulted");
            (known, planner.retests(&tube.people, known + 90 * MIN))
        });

        let mut change = Change::begin(db, &cast.dispatcher.actor())
            .await
            .map_err(fail)?;
        // The day's round, set the evening before (the first on the night the order came).
        let set = if d == 0 {
            at(date, 3, 0)
        } else {
            at(date, 3, 0) - 6 * HOUR
        };
        change.act_as(&cast.dispatcher.actor(), set);
        let name = format!("景程小区第{}轮全员核酸", d + 1);
        let modes = [TubeMode::Pooled10, TubeMode::Single];
        let round = new_round(&mut change, &cast, &name, date, compound, &points, &modes).await?;
        // The morning's delivery tops each point up to what it will use, in hundreds.
        change.act_as(&cast.dispatcher.actor(), at(date, 4, 0));
        let need = [
            day.used(Desk::Pooled),
            day.used(Desk::Door) + retests.as_ref().map_or(0, |(_, r)| r.used(Desk::Door)),
        ];
        for (k, mode) in modes.into_iter().enumerate() {
            let quantity = ((need[k] - stock[k]).max(0) + 99) / 100 * 100;
            if quantity > 0 {
                let new = NewHandout {
                    mode,
                    quantity,
                    note: "每日配送".into(),
                };
                t::hand_out_kits(&mut change, &cast.dispatcher, points[k], &new)
                    .await
                    .map_err(fail)?;
            }
            stock[k] += quantity - need[k];
            handed += quantity;
        }
        let recalls = write(&mut change, db, &cast, &residents, &day, round, points).await?;

        if let (Some(p), Some(tube), Some((known, retests))) = (positive, day.positive(), retests) {
            // That evening the door teams retest the tube's people one by one.
            change.act_as(&cast.dispatcher.actor(), known + 30 * MIN);
            let name = format!("景程小区混管阳性复核（{}）", tube.barcode);
            let retest = new_round(
                &mut change,
                &cast,
                &name,
                date,
                compound,
                &points[1..],
                &modes[1..],
            )
            .await?;
            write(&mut change, db, &cast, &residents, &retests, retest, points).await?;
            let recall = *recalls.first().context("the positive tube's recall")?;
            let times = follow_ups::Times {
                recalled: known,
                retested: retests
                    .tubes
                    .iter()
                    .map(|t| t.sealed_at)
                    .max()
                    .unwrap_or(known),
                resulted: retests
                    .boxes
                    .iter()
                    .map(|b| b.imported_at)
                    .max()
                    .unwrap_or(known),
            };
            follow_ups::walk(&mut change, db, recall, &times).await?;
            decide(&mut change, &cast, recall, p, date + Days::new(1)).await?;
            // From the next day its buildings are sampled at their doors.
            for &i in &tube.people {
                if !sealed.contains(&residents[i].building) {
                    sealed.push(residents[i].building);
                }
            }
        }
        change.commit().await.map_err(fail)?;
    }
    anyhow::ensure!(
        handed == KITS,
        "the deliveries came to {handed} tubes, not the scenario's {KITS}: the plan changed"
    );
    // Everyone told of the recalls, their cases and proposals read it within the hour or two.
    read_what_was_told(db, &cast.dispatcher, |_| rng.random_range(5..120) * MIN).await
}

/// Marks every notification not yet read as read `after(at)` its sending (by the scenario's
/// snapshot at the latest), as `p` records it.
pub(super) async fn read_what_was_told(
    db: &Db,
    p: &Principal,
    mut after: impl FnMut(i64) -> i64,
) -> anyhow::Result<()> {
    let told: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, at FROM notifications WHERE read_at IS NULL ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    let snapshot = bj(SNAPSHOT);
    let read: Vec<(i64, i64)> = told
        .into_iter()
        .map(|(id, at)| (id, (at + after(at)).clamp(at, snapshot)))
        .collect();
    let mut change = Change::begin(db, &p.actor()).await.map_err(fail)?;
    change.act_as(&p.actor(), snapshot);
    crate::notifications::mark_read(&mut change, &read)
        .await
        .map_err(fail)?;
    change.commit().await.map_err(fail)?;
    Ok(())
}

/// The night the order came: the door teams' base beside the point, a testing point at each,
/// and the registry imported one building's sheet at a time. Returns the points: the pooled
/// one's, the door teams'.
async fn set_up(
    db: &Db,
    cast: &Cast,
    compound: i64,
    sheets: &[Table],
    first: NaiveDate,
) -> anyhow::Result<[i64; 2]> {
    let site = sqlx::query("SELECT id, lon, lat FROM sites WHERE name = '景程小区核酸采样点'")
        .fetch_one(&db.pool)
        .await?;
    let mut change = Change::begin(db, &cast.dispatcher.actor())
        .await
        .map_err(fail)?;
    change.act_as(&cast.dispatcher.actor(), at(first, 0, 30));
    let doors = sites::insert(
        &mut change,
        &sites::NewSite {
            region_id: compound,
            kind: "sampling_point".into(),
            name: "景程小区入户单采点".into(),
            lon: site.try_get::<Option<f64>, _>("lon")?.map(|x| x + 0.0004),
            lat: site.try_get::<Option<f64>, _>("lat")?.map(|y| y - 0.0003),
            address: "封控楼栋及80岁以上居民入户单管单采".into(),
        },
    )
    .await
    .map_err(fail)?;
    // The door teams work on into the evening's retests.
    let mut points = [0; 2];
    for (k, (site, opens, closes)) in [(site.try_get("id")?, 5, 12), (doors, 6, 18)]
        .into_iter()
        .enumerate()
    {
        let time = |h| NaiveTime::from_hms_opt(h, 0, 0).expect("an hour");
        let new = NewPoint {
            site_id: site,
            opens: time(opens),
            closes: time(closes),
            desks: plan::DESKS as i64,
        };
        points[k] = t::create_point(&mut change, &cast.dispatcher, &new)
            .await
            .map_err(fail)?;
    }
    let key = t::id_key(db).map_err(fail)?;
    for (b, sheet) in sheets.iter().enumerate() {
        let at = at(first, 1, 0) + b as i64 * 5 * MIN;
        change.act_as(&cast.dispatcher.actor(), at);
        t::import_residents(&mut change, &cast.dispatcher, &key, sheet)
            .await
            .map_err(fail)?;
    }
    change.commit().await.map_err(fail)?;
    Ok(points)
}

/// A round named `name` on `day` over the compound, sampled at `points` in `modes`, by the
/// dispatcher at the change's time.
async fn new_round(
    change: &mut Change,
    cast: &Cast,
    name: &str,
    day: NaiveDate,
    compound: i64,
    points: &[i64],
    modes: &[TubeMode],
) -> anyhow::Result<i64> {
    let new = NewRound {
        name: Text::field("name", name).map_err(fail)?,
        day,
        region_ids: vec![compound],
        points: points
            .iter()
            .zip(modes)
            .map(|(&point_id, &mode)| RoundPoint { point_id, mode })
            .collect(),
    };
    t::create_round(change, &cast.dispatcher, &new)
        .await
        .map_err(fail)
}

/// The commander's answer on `day` to each of recall `recall`'s proposals, as `p` tells it.
async fn decide(
    change: &mut Change,
    cast: &Cast,
    recall: i64,
    p: &Positive,
    day: NaiveDate,
) -> anyhow::Result<()> {
    let proposals: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM control_proposals WHERE recall_id = $1 ORDER BY id")
            .bind(recall)
            .fetch_all(&mut *change.tx)
            .await?;
    change.act_as(&cast.commander.actor(), at(day, p.decided.0, p.decided.1));
    for id in proposals {
        let decision = t::Decision {
            accept: p.accept,
            note: p.note.into(),
        };
        t::decide_proposal(change, &cast.commander, id, &decision)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// Writes `day` for round `round` at `points` (the pooled point's, the door teams'): its tubes
/// opened, its scans in the ingest's batches (each scan answered as planned, or the load
/// fails), the tubes sealed, boxed, carried, received and resulted. Returns the recalls its
/// results opened.
async fn write(
    change: &mut Change,
    db: &Db,
    cast: &Cast,
    residents: &[registry::Resident],
    day: &Day,
    round: i64,
    points: [i64; 2],
) -> anyhow::Result<Vec<i64>> {
    let sampler = cast.sampler.actor();
    let barcode = |i: usize| Barcode::parse(&day.tubes[i].barcode).map_err(anyhow::Error::from);
    let mut tubes: Vec<usize> = (0..day.tubes.len()).collect();
    tubes.sort_by_key(|&i| day.tubes[i].opened_at);
    for &i in &tubes {
        let tube = &day.tubes[i];
        change.act_as(&sampler, tube.opened_at);
        let new = t::OpenTube {
            barcode: Text::field("barcode", tube.barcode.clone()).map_err(fail)?,
            round_id: round,
            point_id: points[usize::from(tube.desk == Desk::Door)],
        };
        t::open_tube(change, &cast.sampler, &new)
            .await
            .map_err(fail)?;
    }

    let mut scans: Vec<&plan::Scan> = day.scans.iter().collect();
    scans.sort_by_key(|s| s.at);
    // As the writer does between its batches.
    let mut memory = t::TubeMemory::default();
    for batch in scans.chunks(BATCH) {
        let sent = batch
            .iter()
            .map(|s| {
                Ok(Scan {
                    account_id: cast.sampler.account_id,
                    scope_path: cast.sampler.scope_path.clone(),
                    key: format!("{}-{}", day.tubes[s.tube].barcode, s.at),
                    tube: barcode(s.tube)?,
                    code: HealthCode::parse(&residents[s.person].code)?,
                    at_ms: s.at,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The writer seals a batch as it commits, just after its last scan.
        let last = batch.last().expect("a batch holds scans").at;
        change.act_as(&Actor::system("scans"), last + 1_000);
        let answers = t::write_in(change, db, &mut memory, &sent)
            .await
            .map_err(fail)?
            .ok_or_else(|| anyhow::anyhow!("a tube changed under the demo's own batch"))?;
        for (answer, s) in answers.into_iter().zip(batch) {
            let answer = answer.map_err(fail)?;
            anyhow::ensure!(
                answer.outcome == s.outcome,
                "scan of {} into {}: {} where {} was planned",
                residents[s.person].code,
                answer.tube,
                answer.outcome,
                s.outcome
            );
        }
    }

    tubes.sort_by_key(|&i| day.tubes[i].sealed_at);
    for &i in &tubes {
        change.act_as(&sampler, day.tubes[i].sealed_at);
        t::seal_tube(change, &cast.sampler, &barcode(i)?)
            .await
            .map_err(fail)?;
    }

    let mut boxes: Vec<&plan::TransferBox> = day.boxes.iter().collect();
    boxes.sort_by_key(|b| b.packed_at);
    for b in &boxes {
        change.act_as(&sampler, b.packed_at);
        let new = NewBox {
            code: Text::field("code", b.code.clone()).map_err(fail)?,
            tubes: b
                .tubes
                .iter()
                .map(|&i| Text::field("tubes", day.tubes[i].barcode.clone()))
                .collect::<Result<_, _>>()
                .map_err(fail)?,
        };
        t::pack_box(change, &cast.sampler, &new)
            .await
            .map_err(fail)?;
        let code = Barcode::parse(&b.code)?;
        change.act_as(&sampler, b.sent_at);
        t::hand_over_box(
            change,
            &cast.sampler,
            &code,
            TubeState::Sent,
            Some(b.courier.as_str()),
        )
        .await
        .map_err(fail)?;
        change.act_as(&cast.lab.actor(), b.received_at);
        t::hand_over_box(change, &cast.lab, &code, TubeState::Received, None)
            .await
            .map_err(fail)?;
    }

    // The lab's results, a sheet per box as each box's tubes came off the machines.
    boxes.sort_by_key(|b| b.imported_at);
    let mut recalls = Vec::new();
    for b in boxes {
        let rows = b
            .tubes
            .iter()
            .zip(&b.resulted_at)
            .enumerate()
            .map(|(n, (&i, &at))| {
                let result = if day.tubes[i].positive {
                    "阳性"
                } else {
                    "阴性"
                };
                let row = [day.tubes[i].barcode.clone(), result.into(), sheet_time(at)];
                (n + 2, row.to_vec())
            })
            .collect();
        let sheet = Table {
            headers: ["试管", "结果", "时间"].map(String::from).to_vec(),
            rows,
        };
        change.act_as(&cast.lab.actor(), b.imported_at);
        let (resulted, opened) = t::import_results(change, &cast.lab, &sheet)
            .await
            .map_err(fail)?;
        anyhow::ensure!(resulted == b.tubes.len(), "box {} resulted whole", b.code);
        recalls.extend(opened);
    }
    Ok(recalls)
}
