//! 31 August's vegetable packages (蔬菜包) carried in the rain to every door of the ten compounds
//! with a temporary party branch, planned by the dispatcher at 14:00 and split among each
//! compound's three volunteer groups, marked by the group leaders through the evening (three
//! buildings short, each a case); and a week of residents' requests for help (29 August to 4
//! September): medicine bought, sampling at the door, the elderly's health codes, two urgent
//! medical visits; the last two still open. All through `supply`'s own functions.

use std::collections::BTreeMap;

use huoyan_core::auth::{Role, Scope};
use huoyan_core::supply::assistance::RequestKind;
use huoyan_core::supply::{Condition, Goods};
use sqlx::Row;

use super::cases::{MIN, bj};
use super::testing::{fail, principal};
use crate::audit::Change;
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::{self, DEMO_PASSWORD};
use crate::auth::{Principal, principal_of};
use crate::check::{Required, Text};
use crate::db::Db;
use crate::org::regions;
use crate::supply::{Assignment, Closing, Mark, NewBatch, NewRequest, NewShare};

const HOUR: i64 = 60 * MIN;

/// The buildings marked short: (compound index, building index, packages short, why).
const SHORT: [(usize, usize, i64, &str); 3] = [
    (1, 2, 3, "雨大车辆晚到，差3份明早补送"),
    (4, 0, 2, "两户无人应答，菜包放回保供站"),
    (7, 3, 4, "4份包装破损退回，已报保供站"),
];

/// A week of requests: (day of 29 August on, hour, compound index, kind, conditions, what is
/// needed).
type Asked = (
    i64,
    i64,
    usize,
    RequestKind,
    &'static [Condition],
    &'static str,
);
const ASKED: [Asked; 14] = [
    (
        0,
        9,
        0,
        RequestKind::DoorSampling,
        &[Condition::Bedridden],
        "卧床老人无法下楼，需上门采样",
    ),
    (
        0,
        15,
        2,
        RequestKind::MedicinePurchase,
        &[Condition::ElderlyAlone],
        "降压药（硝苯地平）两盒",
    ),
    (
        1,
        8,
        0,
        RequestKind::MedicalVisit,
        &[Condition::Dialysis],
        "尿毒症患者周二上午透析，需送医",
    ),
    (
        1,
        10,
        5,
        RequestKind::ElderlyHelp,
        &[Condition::NoSmartphone],
        "老人无智能手机，需代亮健康码",
    ),
    (
        2,
        9,
        3,
        RequestKind::DoorSampling,
        &[Condition::Disabled],
        "残疾人行动不便，需上门采样",
    ),
    (
        2,
        16,
        0,
        RequestKind::MedicinePurchase,
        &[Condition::RegularTreatment],
        "胰岛素三支，家中已用完",
    ),
    (
        3,
        7,
        8,
        RequestKind::MedicalVisit,
        &[Condition::Pregnant],
        "孕36周，产检需外出",
    ),
    (
        3,
        11,
        6,
        RequestKind::ElderlyHelp,
        &[Condition::ElderlyAlone],
        "独居老人家中断菜，需代购",
    ),
    (
        4,
        9,
        1,
        RequestKind::DoorSampling,
        &[Condition::Bedridden],
        "术后卧床，需上门采样",
    ),
    (
        4,
        14,
        9,
        RequestKind::MedicinePurchase,
        &[],
        "儿童退烧药一盒",
    ),
    (
        5,
        10,
        0,
        RequestKind::ElderlyHelp,
        &[Condition::NoSmartphone],
        "两位老人无智能手机，需代亮健康码",
    ),
    (
        5,
        15,
        4,
        RequestKind::MedicinePurchase,
        &[Condition::ElderlyAlone],
        "速效救心丸、阿司匹林各一盒",
    ),
    (
        6,
        17,
        2,
        RequestKind::DoorSampling,
        &[Condition::Bedridden],
        "卧床老人需上门采样",
    ),
    (
        6,
        19,
        0,
        RequestKind::MedicinePurchase,
        &[Condition::RegularTreatment],
        "哮喘喷剂一支",
    ),
];

const RESIDENTS: [&str; 14] = [
    "李淑芬",
    "王桂兰",
    "张建国",
    "刘玉珍",
    "陈志强",
    "杨秀英",
    "赵丽娟",
    "黄德明",
    "周凤兰",
    "吴海燕",
    "徐长生",
    "孙玉梅",
    "马春华",
    "朱永福",
];

/// A compound with a branch: its id, name and three volunteer groups with their leaders.
struct Compound {
    id: i64,
    name: String,
    /// (group, its leader's person).
    groups: Vec<(i64, i64)>,
}

async fn compounds(db: &Db) -> anyhow::Result<Vec<Compound>> {
    let rows = sqlx::query(
        "SELECT t.id, t.region_id, g.name, m.person_id FROM teams t JOIN regions g ON g.id = t.region_id \
         JOIN team_members m ON m.team_id = t.id AND m.role = 'group_leader' \
         WHERE t.kind = 'volunteer_group' ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut by: BTreeMap<i64, Compound> = BTreeMap::new();
    let mut order = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("region_id")?;
        let c = by.entry(id).or_insert_with(|| {
            order.push(id);
            Compound {
                id,
                name: String::new(),
                groups: Vec::new(),
            }
        });
        c.name = r.try_get("name")?;
        c.groups.push((r.try_get("id")?, r.try_get("person_id")?));
    }
    Ok(order.into_iter().filter_map(|id| by.remove(&id)).collect())
}

/// Each compound's buildings with their doors: 景程小区's from its residents' registry, the
/// others' given buildings of two units, six floors and two to six doors a floor.
async fn buildings(
    db: &Db,
    change: &mut Change,
    k: usize,
    compound: &Compound,
) -> anyhow::Result<Vec<(i64, i64)>> {
    let existing: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM regions WHERE parent_id = $1 AND level = 'building' ORDER BY id",
    )
    .bind(compound.id)
    .fetch_all(&mut *change.tx)
    .await?;
    if !existing.is_empty() {
        let mut out = Vec::new();
        for (id, name) in existing {
            let doors: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT DISTINCT unit, room FROM residents \
                 WHERE compound_id = $1 AND building = $2) AS d",
            )
            .bind(compound.id)
            .bind(&name)
            .fetch_one(&db.pool)
            .await?;
            out.push((id, doors.max(1)));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for b in 1..=(6 + k % 5) {
        let id = regions::insert(
            change,
            &regions::NewRegion {
                parent_id: Some(compound.id),
                level: "building".into(),
                code: None,
                name: format!("{b}号楼"),
                geometry: None,
            },
        )
        .await
        .map_err(fail)?;
        out.push((id, 24 * (1 + ((b + k) % 3) as i64)));
    }
    Ok(out)
}

fn text<const N: usize>(s: &str) -> anyhow::Result<Text<N>> {
    Text::field("demo", s).map_err(fail)
}

fn required<const N: usize>(s: &str) -> anyhow::Result<Required<N>> {
    Required::field("demo", s).map_err(fail)
}

pub(super) async fn load(db: &Db) -> anyhow::Result<()> {
    let dispatcher = principal(db, "dispatcher").await?;
    let compounds = compounds(db).await?;
    anyhow::ensure!(compounds.len() == 10, "ten compounds with branches");

    // The group leaders' logins (`group-01` …), for the phones that mark the buildings.
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let day = bj("2022-08-31T14:00:00+08:00");
    let mut change = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
    change.act_as(&dispatcher.actor(), day - 2 * HOUR);
    let mut leaders: BTreeMap<i64, i64> = BTreeMap::new(); // group → account
    let mut n = 0;
    for c in &compounds {
        for &(group, person) in &c.groups {
            n += 1;
            let login = NewAccount {
                username: format!("group-{n:02}"),
                password: DEMO_PASSWORD.into(),
                role: Role::Volunteer.code().into(),
                person_id: Some(person),
                scope: Scope {
                    team_id: Some(group),
                    ..Default::default()
                },
            };
            accounts::check_new(&login, true).map_err(fail)?;
            let id = accounts::insert(&mut change, &login, &hash)
                .await
                .map_err(fail)?;
            leaders.insert(group, id);
        }
    }
    let mut shares = Vec::new();
    for (k, c) in compounds.iter().enumerate() {
        shares.push(buildings(db, &mut change, k, c).await?);
    }
    change.commit().await.map_err(fail)?;

    // The batches at 14:00, due at 20:00.
    let mut change = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
    change.act_as(&dispatcher.actor(), day);
    let mut batches = Vec::new();
    for (c, shares) in compounds.iter().zip(&shares) {
        let new = NewBatch {
            goods: Goods::VegetablePackage,
            title: required("8月31日蔬菜包")?,
            region_id: c.id,
            deadline: crate::time::rfc3339(day + 6 * HOUR),
            shares: shares
                .iter()
                .map(|&(building_id, doors)| NewShare {
                    building_id,
                    planned: doors,
                    doors,
                })
                .collect(),
            team_ids: c.groups.iter().map(|g| g.0).collect(),
        };
        batches.push(
            crate::supply::plan(&mut change, &dispatcher, &new)
                .await
                .map_err(fail)?,
        );
    }
    change.commit().await.map_err(fail)?;

    // The leaders mark their buildings from 16:30, every few minutes.
    let mut as_leader: BTreeMap<i64, Principal> = BTreeMap::new();
    for (&group, &account) in &leaders {
        as_leader.insert(group, principal_of(db, account).await.map_err(fail)?);
    }
    for (k, batch) in batches.iter().enumerate() {
        let tasks: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT id, team_id, planned, building_id FROM supply_deliveries WHERE batch_id = $1 ORDER BY building_id",
        )
        .bind(batch)
        .fetch_all(&db.pool)
        .await?;
        let mut change = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
        for (b, (id, team, planned, _)) in tasks.into_iter().enumerate() {
            let leader = &as_leader[&team];
            change.act_as(
                &leader.actor(),
                day + 2 * HOUR + 30 * MIN + (b as i64 * 9 + k as i64 * 2) * MIN,
            );
            let short = SHORT.iter().find(|s| s.0 == k && s.1 == b);
            let m = Mark {
                delivered: planned - short.map_or(0, |s| s.2),
                note: text(short.map_or("", |s| s.3))?,
            };
            crate::supply::mark(&mut change, leader, id, &m)
                .await
                .map_err(fail)?;
        }
        change.commit().await.map_err(fail)?;
    }

    // A week of requests: filed by the compound's supervisor, its community office or the
    // hotline; assigned by the dispatcher to a group leader within the half hour; closed by the
    // leader a few hours later, but for the last two.
    let supervisor = principal(db, "supervisor").await?;
    let office = principal(db, "office").await?;
    let department = principal(db, "department").await?;
    let start = bj("2022-08-29T00:00:00+08:00");
    for (i, (d, h, c, kind, conditions, need)) in ASKED.iter().enumerate() {
        let compound = &compounds[*c];
        let filer = match (c, i % 2) {
            (0, 0) => &supervisor,
            (0, _) => &department,
            _ => &office,
        };
        let at = start + d * 24 * HOUR + h * HOUR + (i as i64 * 7 % 50) * MIN;
        let mut change = Change::begin(db, &filer.actor()).await.map_err(fail)?;
        change.act_as(&filer.actor(), at);
        let new = NewRequest {
            compound_id: compound.id,
            address: required(&format!(
                "{}号楼{}单元{}0{}",
                1 + i % 6,
                1 + i % 2,
                2 + i % 5,
                1 + i % 2
            ))?,
            resident: required(RESIDENTS[i])?,
            phone: text(&format!("1390459{:04}", 1000 + i * 37))?,
            kind: *kind,
            description: required(need)?,
            conditions: conditions.to_vec(),
            deadline: None,
        };
        let id = crate::supply::file_request(&mut change, filer, &new)
            .await
            .map_err(fail)?;
        let last = i + 1 == ASKED.len();
        if !last {
            let (group, person) = compound.groups[i % compound.groups.len()];
            change.act_as(&dispatcher.actor(), at + (10 + i as i64 % 20) * MIN);
            let a = Assignment {
                person_id: person,
                deadline: None,
            };
            crate::supply::assign(&mut change, &dispatcher, id, &a)
                .await
                .map_err(fail)?;
            if i + 2 < ASKED.len() {
                let leader = &as_leader[&group];
                change.act_as(&leader.actor(), at + (1 + i as i64 % 5) * HOUR);
                let medicines = if *kind == RequestKind::MedicinePurchase {
                    1 + i as i64 % 3
                } else {
                    0
                };
                let done = match kind {
                    RequestKind::DoorSampling => "已联系采样员上门采样，样本已送检",
                    RequestKind::MedicinePurchase => "已代购送达，居民已签收",
                    RequestKind::MedicalVisit => "已联系120转运，社区全程陪同",
                    RequestKind::ElderlyHelp => "已上门协助，老人已确认",
                };
                let closing = Closing {
                    note: required(done)?,
                    medicines,
                };
                crate::supply::close(&mut change, leader, id, &closing)
                    .await
                    .map_err(fail)?;
            }
        }
        change.commit().await.map_err(fail)?;
    }
    // What the groups, offices and leaders were told, read within the half hour.
    super::testing::read_what_was_told(db, &dispatcher, |_| 20 * MIN).await
}
