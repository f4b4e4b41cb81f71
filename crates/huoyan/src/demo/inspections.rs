//! The supervision teams' rounds from the night of 2022-08-20 to 09-05: the starting checklists
//! (the zone gates' revised on 08-28, so earlier rounds keep their first version), each team's
//! area, rounds planned and visited through `inspections`' own functions at their historical
//! times by the team's inspector, failures fixed on the spot or (in the last days) left in the
//! case flow, a few visits recorded far from their site, discipline records in every state, and
//! two key sites nobody visits, for the blind-spot view.

use huoyan_core::inspections::checklist::Item;
use huoyan_core::inspections::discipline::FlagAction;
use huoyan_core::inspections::standard;
use huoyan_core::org::SiteKind;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use super::cases::{HOUR, MIN, bj};
use crate::audit::{Actor, Change};
use crate::auth::principal_of;
use crate::db::Db;
use crate::inspections::{NewRound, Visit};

/// Its own generator, so that adding it shifts nothing else the demo makes.
const SEED: u64 = 202_208_202;

/// Each team's area, by region name: a community each, then three teams across two.
const AREAS: [&[&str]; 10] = [
    &["景程小区"],
    &["格林社区居委会"],
    &["香逸社区居委会"],
    &["唯美社区居委会"],
    &["米兰社区居委会"],
    &["兰德社区居委会"],
    &["月亮湾社区居委会"],
    &["格林社区居委会", "香逸社区居委会"],
    &["唯美社区居委会", "米兰社区居委会"],
    &["兰德社区居委会", "月亮湾社区居委会"],
];

/// The key sites nobody visits (region, site): the blind spots the coverage view shows.
pub const NEVER_VISITED: [(&str, &str); 2] = [
    ("兰德社区居委会", "物资保供站"),
    ("月亮湾社区居委会", "社区办公室"),
];

/// What an inspector writes of a failed item.
const SEEN: [&str; 6] = [
    "现场检查未落实，已当场指出",
    "现场发现问题，负责人不在岗",
    "台账缺失，无法说明情况",
    "夜间巡查发现，现场无人整改",
    "群众反映属实，现场核实存在问题",
    "多次提醒仍未整改",
];

/// Something the teams did, at its time: the history is written in time order.
enum Act {
    Plan {
        team: usize,
        sites: Vec<i64>,
    },
    Visit {
        round: usize,
        seq: usize,
        far: bool,
    },
    Fix {
        round: usize,
        seq: usize,
    },
    Flag {
        round: usize,
        seq: usize,
        subject: &'static str,
        seen: &'static str,
    },
    Step {
        flag: usize,
        action: FlagAction,
        note: &'static str,
    },
}

pub(super) async fn load(db: &Db) -> anyhow::Result<()> {
    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let mut rng = StdRng::seed_from_u64(SEED);
    let teams: Vec<(i64, i64)> = sqlx::query(
        "SELECT t.id, a.id AS account FROM teams t JOIN accounts a ON a.scope_team_id = t.id \
         AND a.role = 'inspector' WHERE t.kind = 'supervision_team' ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("account")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    anyhow::ensure!(
        teams.len() == AREAS.len(),
        "ten supervision teams with an inspector each"
    );
    let discipline: i64 =
        sqlx::query_scalar("SELECT id FROM accounts WHERE username = 'discipline'")
            .fetch_one(&db.pool)
            .await?;
    let region_id = async |name: &str| -> anyhow::Result<(i64, String)> {
        let r = sqlx::query("SELECT id, path FROM regions WHERE name = $1 ORDER BY id LIMIT 1")
            .bind(name)
            .fetch_one(&db.pool)
            .await?;
        Ok((r.try_get("id")?, r.try_get("path")?))
    };
    let never: Vec<i64> = {
        let mut ids = Vec::new();
        for (region, site) in NEVER_VISITED {
            let (r, _) = region_id(region).await?;
            ids.push(
                sqlx::query_scalar("SELECT id FROM sites WHERE region_id = $1 AND name = $2")
                    .bind(r)
                    .bind(site)
                    .fetch_one(&db.pool)
                    .await?,
            );
        }
        ids
    };
    // Each team's regions and the sites it may visit.
    let mut areas: Vec<Vec<i64>> = Vec::new();
    let mut visitable: Vec<Vec<i64>> = Vec::new();
    for names in AREAS {
        let mut regions = Vec::new();
        let mut sites = Vec::new();
        for name in names {
            let (id, path) = region_id(name).await?;
            regions.push(id);
            for r in sqlx::query(
                "SELECT s.id FROM sites s JOIN regions g ON g.id = s.region_id \
                 WHERE g.path LIKE $1 AND s.lon IS NOT NULL ORDER BY s.id",
            )
            .bind(format!("{path}%"))
            .fetch_all(&db.pool)
            .await?
            {
                let id: i64 = r.try_get("id")?;
                if !never.contains(&id) {
                    sites.push(id);
                }
            }
        }
        areas.push(regions);
        visitable.push(sites);
    }

    // The checklists and the areas, set up before the first night.
    let admin = Actor::system("demo");
    let mut change = Change::begin(db, &admin).await.map_err(fail)?;
    // The notices before these, read already.
    let told_before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM notifications")
        .fetch_one(&mut *change.tx)
        .await?;
    change.act_as(&admin, bj("2022-08-20T18:00:00+08:00"));
    for kind in SiteKind::ALL {
        crate::inspections::save_checklist(&mut change, *kind, &standard::items(*kind))
            .await
            .map_err(fail)?;
    }
    let admin_login: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE username = 'admin'")
        .fetch_one(&db.pool)
        .await?;
    // Each account's principal, read once.
    let mut people: std::collections::HashMap<i64, crate::auth::Principal> = Default::default();
    let mut principal = async |account: i64| -> anyhow::Result<crate::auth::Principal> {
        if let Some(p) = people.get(&account) {
            return Ok(p.clone());
        }
        let p = principal_of(db, account).await.map_err(fail)?;
        people.insert(account, p.clone());
        Ok(p)
    };
    let admin_p = principal(admin_login).await?;
    for ((team, _), regions) in teams.iter().zip(&areas) {
        crate::inspections::set_area(&mut change, &admin_p, *team, regions)
            .await
            .map_err(fail)?;
    }

    // What the teams did, planned here, written below in time order.
    let day0 = bj("2022-08-20T00:00:00+08:00");
    let mut acts: Vec<(i64, Act)> = Vec::new();
    let mut rounds = 0;
    for day in 0..17i64 {
        for (team, sites) in visitable.iter().enumerate() {
            // Every team went out the first night; after it, most nights.
            if day > 0 && !rng.random_bool(0.65) {
                continue;
            }
            let n = rng.random_range(2..=4usize).min(sites.len());
            let mut picked: Vec<i64> = Vec::new();
            while picked.len() < n {
                let s = sites[rng.random_range(0..sites.len())];
                if !picked.contains(&s) {
                    picked.push(s);
                }
            }
            let start = day0 + day * 24 * HOUR + 20 * HOUR + 15 * MIN + team as i64 * 3 * MIN;
            acts.push((
                start,
                Act::Plan {
                    team,
                    sites: picked,
                },
            ));
            for seq in 0..n {
                let at = start + 25 * MIN + seq as i64 * 35 * MIN + rng.random_range(0..10) * MIN;
                acts.push((
                    at,
                    Act::Visit {
                        round: rounds,
                        seq,
                        far: rng.random_bool(0.05),
                    },
                ));
                acts.push((at + 20 * MIN, Act::Fix { round: rounds, seq }));
            }
            rounds += 1;
        }
    }
    // Discipline records on four visits: one left flagged, one verified, one transferred, one
    // dismissed.
    let flagged: [(usize, &str, &str); 4] = [
        (3, "东卡口值守人员", "夜间值守人员离岗饮酒，卡口无人值守"),
        (17, "物资保供站负责人", "保供站负责人要求商户额外收取配送费"),
        (31, "采样点带班干部", "带班干部在采样点对居民态度恶劣、推诿"),
        (45, "社区工作人员", "群众反映社区工作人员优亲厚友发放物资"),
    ];
    for (flag, (round, subject, seen)) in flagged.iter().enumerate() {
        let at = acts
            .iter()
            .find(|(_, a)| matches!(a, Act::Visit { round: r, seq: 0, .. } if r == round))
            .map(|(at, _)| *at + 5 * MIN)
            .ok_or_else(|| anyhow::anyhow!("round {round} has a first visit"))?;
        acts.push((
            at,
            Act::Flag {
                round: *round,
                seq: 0,
                subject,
                seen,
            },
        ));
        let steps: &[(FlagAction, &str)] = match flag {
            0 => &[],
            1 => &[(FlagAction::Verify, "现场核实：情况属实，已固定证据")],
            2 => &[
                (FlagAction::Verify, "现场核实属实，当事人已承认"),
                (FlagAction::Transfer, "移交审查调查室按程序处理"),
            ],
            _ => &[(FlagAction::Dismiss, "核实为误解，物资按名单发放，予以排除")],
        };
        for (k, (action, note)) in steps.iter().enumerate() {
            acts.push((
                at + (k as i64 + 1) * 14 * HOUR,
                Act::Step {
                    flag,
                    action: *action,
                    note,
                },
            ));
        }
    }
    acts.sort_by_key(|(at, _)| *at);

    // The zone gates' checklist revised on 08-28: later rounds use the second version.
    let revised = bj("2022-08-28T12:00:00+08:00");
    let mut revised_done = false;
    let policy = huoyan_core::cases::DeadlinePolicy::default();
    let evidence = huoyan_core::cases::EvidencePolicy::default();
    let photos = super::cases::photos::Photos::new();
    let mut round_ids: Vec<i64> = Vec::new();
    let mut stops: Vec<Vec<i64>> = Vec::new();
    // The case each visit's failure became, by round and stop.
    let mut findings: std::collections::HashMap<(usize, usize), i64> = Default::default();
    let mut flag_ids: Vec<i64> = Vec::new();
    let last_days = day0 + 14 * 24 * HOUR;
    for (at, act) in acts {
        if !revised_done && at >= revised {
            change.act_as(&admin, revised);
            let mut items = standard::items(SiteKind::ZoneGate);
            items.push(Item {
                code: "vehicles_disinfected".into(),
                zh: "进出车辆逐车消杀".into(),
                en: "Every vehicle in or out disinfected".into(),
                category: huoyan_core::cases::Category::Disinfection,
            });
            crate::inspections::save_checklist(&mut change, SiteKind::ZoneGate, &items)
                .await
                .map_err(fail)?;
            revised_done = true;
        }
        match act {
            Act::Plan { team, sites } => {
                let p = principal(teams[team].1).await?;
                change.act_as(&p.actor(), at);
                let members: Vec<i64> = sqlx::query_scalar(
                    "SELECT person_id FROM team_members WHERE team_id = $1 ORDER BY person_id",
                )
                .bind(teams[team].0)
                .fetch_all(&db.pool)
                .await?;
                let day = crate::time::beijing_day(at);
                let new = NewRound {
                    team_id: None,
                    day: crate::check::Text::parse(day).map_err(anyhow::Error::msg)?,
                    site_ids: sites,
                    member_ids: members,
                    start_lon: None,
                    start_lat: None,
                };
                let id = crate::inspections::plan(&mut change, &p, &new)
                    .await
                    .map_err(fail)?;
                round_ids.push(id);
                stops.push(
                    sqlx::query_scalar(
                        "SELECT id FROM inspection_stops WHERE round_id = $1 ORDER BY seq",
                    )
                    .bind(id)
                    .fetch_all(&mut *change.tx)
                    .await?,
                );
            }
            Act::Visit { round, seq, far } => {
                let stop = stops[round][seq];
                let row = sqlx::query(
                    "SELECT r.team_id, s.lon, s.lat, c.items FROM inspection_stops t \
                     JOIN inspection_rounds r ON r.id = t.round_id JOIN sites s ON s.id = t.site_id \
                     JOIN checklists c ON c.id = t.checklist_id WHERE t.id = $1",
                )
                .bind(stop)
                .fetch_one(&mut *change.tx)
                .await?;
                let team_id: i64 = row.try_get("team_id")?;
                let account = teams.iter().find(|(t, _)| *t == team_id).expect("a team").1;
                let p = principal(account).await?;
                change.act_as(&p.actor(), at);
                let items: Vec<Item> = serde_json::from_str(&row.try_get::<String, _>("items")?)?;
                // At most one failure a visit, less often on the first nights' easy sites.
                let failing = rng
                    .random_bool(0.22)
                    .then(|| rng.random_range(0..items.len()));
                let answers = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let (answer, note) = if Some(i) == failing {
                            ("fail", SEEN[rng.random_range(0..SEEN.len())])
                        } else if rng.random_bool(0.05) {
                            ("not_applicable", "")
                        } else {
                            ("pass", "")
                        };
                        serde_json::json!({"code": item.code, "answer": answer, "note": note})
                    })
                    .collect::<Vec<_>>();
                let (lon, lat): (f64, f64) = (row.try_get("lon")?, row.try_get("lat")?);
                let off = if far {
                    0.012
                } else {
                    rng.random_range(-0.0003..0.0003)
                };
                let visit: Visit = serde_json::from_value(serde_json::json!({
                    "lon": lon + off, "lat": lat + off / 2.0, "note": "", "answers": answers,
                }))?;
                crate::inspections::visit(&mut change, db, &p, stop, &visit)
                    .await
                    .map_err(fail)?;
                if failing.is_some() {
                    let case: i64 = sqlx::query_scalar(
                        "SELECT case_id FROM inspection_answers WHERE stop_id = $1 AND case_id IS NOT NULL",
                    )
                    .bind(stop)
                    .fetch_one(&mut *change.tx)
                    .await?;
                    findings.insert((round, seq), case);
                }
            }
            Act::Fix { round, seq } => {
                let Some(&case) = findings.get(&(round, seq)) else {
                    continue;
                };
                // In the last days some findings go into the ordinary flow, where the snapshot
                // finds them waiting for the office.
                if at >= last_days && rng.random_bool(0.5) {
                    continue;
                }
                let reporter: i64 =
                    sqlx::query_scalar("SELECT reporter_account_id FROM cases WHERE id = $1")
                        .bind(case)
                        .fetch_one(&mut *change.tx)
                        .await?;
                let p = principal(reporter).await?;
                change.act_as(&p.actor(), at);
                let req: crate::cases::TransitionRequest =
                    serde_json::from_value(serde_json::json!({
                        "action": "fix_on_site", "note": "现场督促整改到位，已复查",
                    }))?;
                crate::cases::take(
                    &mut change,
                    &policy,
                    &evidence,
                    &p,
                    case,
                    &req,
                    &[photos.after(case as usize)],
                )
                .await
                .map_err(fail)?;
            }
            Act::Flag {
                round,
                seq,
                subject,
                seen,
            } => {
                let stop = stops[round][seq];
                let team: i64 = sqlx::query_scalar(
                    "SELECT r.team_id FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id WHERE s.id = $1",
                )
                .bind(stop)
                .fetch_one(&mut *change.tx)
                .await?;
                let account = teams.iter().find(|(t, _)| *t == team).expect("a team").1;
                let p = principal(account).await?;
                change.act_as(&p.actor(), at);
                let new: crate::inspections::NewFlag = serde_json::from_value(serde_json::json!({
                    "stop_id": stop, "subject": subject, "seen": seen,
                }))?;
                flag_ids.push(
                    crate::inspections::flag_discipline(&mut change, &p, &new)
                        .await
                        .map_err(fail)?,
                );
            }
            Act::Step { flag, action, note } => {
                let p = principal(discipline).await?;
                change.act_as(&p.actor(), at);
                let step: crate::inspections::FlagStep =
                    serde_json::from_value(serde_json::json!({
                        "action": action.code(), "note": note,
                    }))?;
                crate::inspections::step_discipline(&mut change, &p, flag_ids[flag], &step)
                    .await
                    .map_err(fail)?;
            }
        }
    }
    // The office read of the findings within the hour or two, as of the snapshot.
    let snapshot = bj(super::cases::SNAPSHOT);
    let told: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, at FROM notifications WHERE id > $1 ORDER BY id")
            .bind(told_before)
            .fetch_all(&mut *change.tx)
            .await?;
    change.act_as(&admin, snapshot);
    let read: Vec<(i64, i64)> = told
        .into_iter()
        .map(|(id, at)| {
            (
                id,
                (at + rng.random_range(10..120) * MIN).min(snapshot).max(at),
            )
        })
        .collect();
    crate::notifications::mark_read(&mut change, &read)
        .await
        .map_err(fail)?;
    change.commit().await.map_err(fail)?;
    Ok(())
}
