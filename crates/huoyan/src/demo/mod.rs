//! `huoyan demo`: the Daqing August 2022 scenario (SCENARIO.md) in a fresh database. Places and
//! figures are the real ones (data/); compounds, buildings and people are invented,
//! deterministically, so every demo database is the same.

mod cases;
pub use cases::Replay;
mod drones;
mod inspections;
mod loader;
mod names;
mod places;
mod supply;
mod testing;
mod workforce;

use std::collections::HashMap;

use huoyan_core::auth::{Role, Scope};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use self::loader::Loader;
use crate::audit::{Actor, Change};
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::DEMO_PASSWORD;
use crate::db::{Backend, Db, normalise_url};
use crate::org::{departments, orders, people, regions, sites, teams};

/// One login per role, all with the demo password.
pub const LOGINS: [&str; 14] = [
    "admin",
    "commander",
    "office",
    "group",
    "department",
    "supervisor",
    "inspector",
    "discipline",
    "dispatcher",
    "branch",
    "volunteer",
    "sampler",
    "lab",
    "pilot",
];

/// The four districts of order No. 9: High-tech Zone, Sartu, Longfeng, Ranghulu.
pub const ORDER_9_DISTRICTS: [&str; 4] = ["230671", "230602", "230603", "230604"];
const GELIN: &str = "230602022";
const JINGCHENG_COMMUNITY: &str = "230671010022";
const LIMING_SUBDISTRICT: &str = "230671010";
const LONGFENG: &str = "230603";

/// Opens `target` empty: a SQLite file is deleted and created anew; a PostgreSQL database must
/// hold no data yet.
pub async fn fresh_database(target: &str) -> anyhow::Result<Db> {
    let (_, backend) = normalise_url(target);
    if backend == Backend::Sqlite && !target.starts_with("sqlite:") {
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{target}{suffix}");
            if std::path::Path::new(&path).exists() {
                std::fs::remove_file(&path)?;
            }
        }
    }
    let db = Db::connect_and_migrate(target).await?;
    let accounts: i64 = sqlx::query("SELECT COUNT(*) FROM accounts")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    let regions: i64 = sqlx::query("SELECT COUNT(*) FROM regions")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    if accounts + regions > 0 {
        anyhow::bail!("the database already holds data; the demo loads only into an empty one");
    }
    Ok(db)
}

fn t(s: &str) -> String {
    // Scenario times are written in Beijing time.
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("scenario times are valid")
        .to_utc()
        .to_rfc3339()
}

/// Loads the scenario, reporting each step; returns a summary of what was created. With `cases`,
/// about that many cases are generated over the scenario's days instead of its own (`huoyan demo
/// --cases N`).
pub async fn load(
    db: &Db,
    cases: Option<usize>,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<String> {
    load_with(db, cases, Replay::Batched, report).await
}

/// `load`, with generated cases written as `replay` says (the scenario's own are always
/// replayed step by step through the application's functions).
pub async fn load_with(
    db: &Db,
    cases: Option<usize>,
    replay: Replay,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<String> {
    let actor = Actor::system("demo");
    let mut l = Loader {
        rng: StdRng::seed_from_u64(20220820),
        codes: HashMap::new(),
        phones: 0,
        names: names::Names::default(),
    };
    let e = |e: crate::error::AppError| anyhow::anyhow!("{e}: {:?}", e.fields());

    report("regions: Daqing and the four districts of order No. 9");
    let mut change = Change::begin(db, &actor).await.map_err(e)?;
    let mut reader =
        csv::Reader::from_reader(include_str!("../../../../data/daqing-divisions.csv").as_bytes());
    for rec in reader.records() {
        let rec = rec?;
        let (code, name, level, parent) = (&rec[0], &rec[1], &rec[2], &rec[3]);
        let in_order = level == "city" || ORDER_9_DISTRICTS.iter().any(|d| code.starts_with(d));
        if !in_order {
            continue;
        }
        let new = regions::NewRegion {
            parent_id: if parent.is_empty() {
                None
            } else {
                Some(l.code(parent))
            },
            level: level.to_string(),
            code: Some(code.to_string()),
            name: name.to_string(),
            geometry: None,
        };
        let id = regions::insert(&mut change, &new).await.map_err(e)?;
        l.codes.insert(code.to_string(), id);
    }
    // Named in the scenario but not in the official list: placed in the High-tech Zone.
    let yiteng = regions::insert(
        &mut change,
        &regions::NewRegion {
            parent_id: Some(l.code(LIMING_SUBDISTRICT)),
            level: "community".into(),
            code: None,
            name: "毅腾商都社区".into(),
            geometry: None,
        },
    )
    .await
    .map_err(e)?;
    let mut geo: serde_json::Value =
        serde_json::from_str(include_str!("../../../../data/daqing-districts.geojson"))?;
    places::gcj_to_wgs(&mut geo);
    for f in geo["features"].as_array().into_iter().flatten() {
        if let (Some(code), Some(id)) = (
            f["id"].as_str(),
            f["id"].as_str().and_then(|c| l.codes.get(c)),
        ) {
            sqlx::query("UPDATE regions SET geometry = $1 WHERE id = $2")
                .bind(f["geometry"].to_string())
                .bind(*id)
                .execute(&mut *change.tx)
                .await?;
            change
                .record(
                    "region",
                    *id,
                    "set_geometry",
                    &serde_json::json!({"source": "daqing-districts.geojson", "code": code}),
                )
                .await
                .map_err(e)?;
        }
    }

    // The city's outline is all its districts' (the demo loads only four districts as regions).
    let parts: Vec<serde_json::Value> = geo["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["geometry"]["type"] == "Polygon")
        .map(|f| f["geometry"]["coordinates"].clone())
        .collect();
    let city: i64 =
        sqlx::query("UPDATE regions SET geometry = $1 WHERE level = 'city' RETURNING id")
            .bind(serde_json::json!({"type": "MultiPolygon", "coordinates": parts}).to_string())
            .fetch_one(&mut *change.tx)
            .await?
            .try_get(0)?;
    change
        .record(
            "region",
            city,
            "set_geometry",
            &serde_json::json!({"source": "daqing-districts.geojson", "parts": parts.len()}),
        )
        .await
        .map_err(e)?;

    report("compounds and buildings");
    let gelin_communities: Vec<String> = (1..=6).map(|i| format!("{GELIN}{i:03}")).collect();
    let mut compounds: Vec<(i64, i64, String)> = Vec::new(); // (compound id, community id, name)
    let add_compound = |community: i64, name: String| (community, name);
    let mut wanted = vec![
        add_compound(l.code(JINGCHENG_COMMUNITY), "景程小区".into()),
        add_compound(l.code(JINGCHENG_COMMUNITY), "景程东苑".into()),
        add_compound(yiteng, "毅腾商都".into()),
    ];
    let ranghulu_first = l
        .codes
        .iter()
        .filter(|(c, _)| c.starts_with("230604") && c.len() == 12)
        .map(|(c, _)| c.clone())
        .min()
        .expect("Ranghulu has communities");
    wanted.push(add_compound(l.code(&ranghulu_first), "新村七区".into()));
    for c in &gelin_communities {
        for _ in 0..4 {
            let name = l.names.compound(&mut l.rng);
            wanted.push(add_compound(l.code(c), name));
        }
    }
    let mut all_communities: Vec<(String, i64)> = l
        .codes
        .iter()
        .filter(|(c, _)| c.len() == 12)
        .map(|(c, id)| (c.clone(), *id))
        .collect();
    all_communities.sort();
    while wanted.len() < 140 {
        let (_, community) = all_communities[l.rng.random_range(0..all_communities.len())];
        let name = l.names.compound(&mut l.rng);
        wanted.push(add_compound(community, name));
    }
    // Each compound gets an invented outline of about 230 × 220 m, near its community's centre
    // and inside its real district, so reported points can be matched to compounds.
    let districts: HashMap<String, geojson::Geometry> = geo["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let code = f["id"].as_str()?.to_string();
            Some((code, serde_json::from_value(f["geometry"].clone()).ok()?))
        })
        .collect();
    let code_of: HashMap<i64, String> = l.codes.iter().map(|(c, id)| (*id, c.clone())).collect();
    let mut centres: HashMap<i64, (f64, f64)> = HashMap::new();
    // Where the first compound (景程小区) lies, for its own sites.
    let mut first_at = (0.0, 0.0);
    for (i, (community, name)) in wanted.into_iter().enumerate() {
        let district = code_of
            .get(&community)
            .map_or(&LIMING_SUBDISTRICT[..6], |c| &c[..6]);
        // The High-tech Zone has no outline of its own: it was carved out of Longfeng.
        let outline = districts.get(district).unwrap_or(&districts[LONGFENG]);
        let centre = *centres
            .entry(community)
            .or_insert_with(|| places::random_point_in(&mut l.rng, outline, None));
        let (lon, lat) = places::random_point_in(&mut l.rng, outline, Some((centre, 0.012)));
        if i == 0 {
            first_at = (lon, lat);
        }
        let (dx, dy) = (0.0015, 0.001);
        let ring: Vec<[f64; 2]> = vec![
            [lon - dx, lat - dy],
            [lon + dx, lat - dy],
            [lon + dx, lat + dy],
            [lon - dx, lat + dy],
            [lon - dx, lat - dy],
        ];
        let new = regions::NewRegion {
            parent_id: Some(community),
            level: "compound".into(),
            code: Some(format!("DQ-C{:03}", i + 1)),
            name: name.clone(),
            geometry: Some(serde_json::json!({"type": "Polygon", "coordinates": [ring]})),
        };
        let id = regions::insert(&mut change, &new).await.map_err(e)?;
        compounds.push((id, community, name));
    }
    let jingcheng = compounds[0].0;
    // The sampler works 景程小区's point, so their region is its community.
    let jingcheng_community = compounds[0].1;
    for b in 1..=18 {
        let new = regions::NewRegion {
            parent_id: Some(jingcheng),
            level: "building".into(),
            code: None,
            name: format!("{b}号楼"),
            geometry: None,
        };
        regions::insert(&mut change, &new).await.map_err(e)?;
    }

    report("control orders No. 9 and No. 10");
    orders::insert(
        &mut change,
        &orders::NewOrder {
            number: "2022年第9号".into(),
            issued_at: t("2022-08-20T19:30:00+08:00"),
            effective_from: t("2022-08-20T20:00:00+08:00"),
            effective_until: None,
            level: "static_management".into(),
            region_ids: ORDER_9_DISTRICTS.iter().map(|c| l.code(c)).collect(),
            body: "为切实保障广大人民群众生命安全和身体健康，坚决阻断疫情传播链条，经市应对新冠肺炎疫情工作领导小组研究决定，自2022年8月20日20时起，对高新区、萨尔图区、龙凤区、让胡路区实行临时性管控、静态管理。".into(),
        },
    )
    .await
    .map_err(e)?;
    orders::insert(
        &mut change,
        &orders::NewOrder {
            number: "2022年第10号".into(),
            issued_at: t("2022-08-22T09:00:00+08:00"),
            effective_from: t("2022-08-22T10:00:00+08:00"),
            effective_until: None,
            level: "high_risk".into(),
            region_ids: vec![jingcheng],
            body: "景程小区划定为高风险区，实行“区域封闭、足不出户、服务上门”。".into(),
        },
    )
    .await
    .map_err(e)?;

    report("departments and sites");
    let mut dept_ids = HashMap::new();
    let community_offices: Vec<(String, i64)> = gelin_communities
        .iter()
        .map(|c| c.as_str())
        .chain([JINGCHENG_COMMUNITY])
        .map(|c| (c.to_string(), l.code(c)))
        .chain([("yiteng".to_string(), yiteng)])
        .collect();
    for (code, id) in &community_offices {
        let name: String = sqlx::query("SELECT name FROM regions WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *change.tx)
            .await?
            .try_get(0)?;
        let did = departments::insert(
            &mut change,
            &departments::NewDepartment {
                name: name.clone(),
                kind: "community".into(),
                region_id: Some(*id),
                phone: String::new(),
            },
        )
        .await
        .map_err(e)?;
        dept_ids.insert(code.clone(), did);
    }
    for (name, kind) in [
        ("大庆市公安局萨尔图分局", "police"),
        ("大庆市公安局高新区分局", "police"),
        ("大庆市市场监督管理局", "market_regulator"),
        ("景程小区物业服务中心", "property_manager"),
        ("大庆市卫生健康委员会", "health"),
        ("萨尔图区疾病预防控制中心", "health"),
        ("大庆市商务局", "supply"),
    ] {
        departments::insert(
            &mut change,
            &departments::NewDepartment {
                name: name.into(),
                kind: kind.into(),
                region_id: None,
                phone: String::new(),
            },
        )
        .await
        .map_err(e)?;
    }
    // 13 sampling points in five of Gelin's communities (月亮湾 had none).
    let mut sampling = 0;
    for (c, n) in gelin_communities.iter().zip([3, 3, 3, 2, 2, 0]) {
        let community = l.code(c);
        for k in 1..=n {
            sampling += 1;
            let (lon, lat) = (
                125.10 + l.rng.random_range(0.0..0.05),
                46.60 + l.rng.random_range(0.0..0.04),
            );
            let name = format!("格林街道第{sampling}核酸采样点");
            sites::insert(
                &mut change,
                &sites::NewSite {
                    region_id: community,
                    kind: "sampling_point".into(),
                    name,
                    lon: Some(lon),
                    lat: Some(lat),
                    address: format!("{k}号采样台"),
                },
            )
            .await
            .map_err(e)?;
        }
        for (kind, name) in [
            ("zone_gate", "东卡口"),
            ("zone_gate", "西卡口"),
            ("supply_station", "物资保供站"),
            ("community_office", "社区办公室"),
        ] {
            let (lon, lat) = (
                125.10 + l.rng.random_range(0.0..0.05),
                46.60 + l.rng.random_range(0.0..0.04),
            );
            sites::insert(
                &mut change,
                &sites::NewSite {
                    region_id: community,
                    kind: kind.into(),
                    name: name.into(),
                    lon: Some(lon),
                    lat: Some(lat),
                    address: String::new(),
                },
            )
            .await
            .map_err(e)?;
        }
    }
    // The compound's own sites on its outline and inside it (±0.0015° by ±0.001°).
    let (lon0, lat0) = first_at;
    for (kind, name, (dx, dy)) in [
        ("zone_gate", "景程小区南门卡口", (0.0, -0.001)),
        ("zone_gate", "景程小区北门卡口", (0.0, 0.001)),
        ("sampling_point", "景程小区核酸采样点", (-0.0008, 0.0)),
        ("supply_station", "景程小区蔬菜包发放点", (0.0009, 0.0004)),
    ] {
        sites::insert(
            &mut change,
            &sites::NewSite {
                region_id: jingcheng,
                kind: kind.into(),
                name: name.into(),
                lon: Some(lon0 + dx),
                lat: Some(lat0 + dy),
                address: String::new(),
            },
        )
        .await
        .map_err(e)?;
    }
    change.commit().await.map_err(e)?;

    report("people, teams and temporary party branches");
    let mut change = Change::begin(db, &actor).await.map_err(e)?;
    let homes: Vec<i64> = compounds.iter().map(|c| c.0).collect();
    let random_home = |l: &mut Loader| homes[l.rng.random_range(0..homes.len())];
    let mut named: HashMap<&str, i64> = HashMap::new();
    let mut team_of: HashMap<&str, i64> = HashMap::new();

    // 10 supervision teams × 4 cadres.
    for n in 1..=10 {
        let (team, members) = l
            .staffed_team(
                &mut change,
                &homes,
                "supervision_team",
                format!("第{n}督战队"),
                4,
                "大庆市纪委监委",
                &["督查"],
                |_| true,
            )
            .await
            .map_err(e)?;
        if n == 1 {
            named.insert("inspector", members[1]);
            team_of.insert("inspector", team);
        }
    }
    // The supervision group (督导组) that dispatches problems to departments.
    let (_, members) = l
        .staffed_team(
            &mut change,
            &homes,
            "supervision_group",
            "市纪委监委督导组".into(),
            5,
            "大庆市纪委监委",
            &["督导"],
            |_| true,
        )
        .await
        .map_err(e)?;
    named.insert("group", members[1]);
    // 280 compound supervisors: two cadres living in each of the 140 compounds.
    for (i, (compound, _, _)) in compounds.iter().enumerate() {
        for k in 0..2 {
            let pid = people::insert(
                &mut change,
                &l.person(*compound, names::employer(i + k), &["监督"], true),
                "",
            )
            .await
            .map_err(e)?;
            if i == 0 && k == 0 {
                named.insert("supervisor", pid);
            }
        }
    }
    // 79 sinking cadres for Gelin's sampling points.
    for i in 0..79 {
        let home = random_home(&mut l);
        let skills: &[&str] = if i % 3 == 0 {
            &["扫码", "秩序维护"]
        } else {
            &["扫码", "采样协助"]
        };
        let pid = people::insert(
            &mut change,
            &l.person(home, names::employer(i), skills, true),
            "",
        )
        .await
        .map_err(e)?;
        if i == 0 {
            named.insert("sampler", pid);
        }
    }
    // 215 double-registered volunteers in ten temporary party branches with three levels.
    let branch_compounds: Vec<(i64, i64, String)> = std::iter::once(compounds[0].clone())
        .chain(compounds[4..13].iter().cloned())
        .collect();
    let mut volunteers = 0;
    for (b, (compound, community, cname)) in branch_compounds.iter().enumerate() {
        let branch = teams::insert(
            &mut change,
            &teams::NewTeam {
                kind: "party_branch".into(),
                name: format!("{cname}临时党支部"),
                parent_id: None,
                region_id: Some(*compound),
            },
            "",
        )
        .await
        .map_err(e)?;
        let enrolment = |pid: i64| teams::NewRegistration {
            person_id: pid,
            community_id: *community,
            branch_id: branch,
        };
        for k in 0..3 {
            let pid = people::insert(
                &mut change,
                &l.person(*compound, names::employer(b + k), &["组织协调"], true),
                "",
            )
            .await
            .map_err(e)?;
            teams::add_member(
                &mut change,
                branch,
                &teams::NewMember {
                    person_id: pid,
                    role: if k == 0 { "leader" } else { "working_group" }.into(),
                },
                "",
            )
            .await
            .map_err(e)?;
            teams::register(&mut change, &enrolment(pid), "")
                .await
                .map_err(e)?;
            volunteers += 1;
            if b == 0 && k == 0 {
                named.insert("branch", pid);
                team_of.insert("branch", branch);
            }
        }
        let extra = if b < 5 { 1 } else { 0 };
        for g in 1..=3 {
            let vg = teams::insert(
                &mut change,
                &teams::NewTeam {
                    kind: "volunteer_group".into(),
                    name: format!("{cname}志愿者第{g}小组"),
                    parent_id: Some(branch),
                    region_id: Some(*compound),
                },
                "",
            )
            .await
            .map_err(e)?;
            let size = 6 + if g == 1 { extra } else { 0 };
            for k in 0..size {
                let skills: &[&str] = match k % 4 {
                    0 => &["扫码"],
                    1 => &["秩序维护"],
                    2 => &["消杀"],
                    _ => &["群众帮扶", "政策宣传"],
                };
                let party = l.rng.random_bool(0.6);
                let pid = people::insert(
                    &mut change,
                    &l.person(*compound, names::employer(b * 7 + k), skills, party),
                    "",
                )
                .await
                .map_err(e)?;
                teams::add_member(
                    &mut change,
                    vg,
                    &teams::NewMember {
                        person_id: pid,
                        role: if k == 0 { "group_leader" } else { "member" }.into(),
                    },
                    "",
                )
                .await
                .map_err(e)?;
                teams::register(&mut change, &enrolment(pid), "")
                    .await
                    .map_err(e)?;
                volunteers += 1;
                if b == 0 && g == 1 && k == 1 {
                    named.insert("volunteer", pid);
                    team_of.insert("volunteer", vg);
                }
            }
        }
    }
    // The police drone squad: five pilots, one per drone.
    let (squad, members) = l
        .staffed_team(
            &mut change,
            &homes,
            "drone_squad",
            "市公安局无人机分队".into(),
            5,
            "大庆市公安局",
            &["无人机驾驶"],
            |k| k < 3,
        )
        .await
        .map_err(e)?;
    named.insert("pilot", members[1]);
    team_of.insert("pilot", squad);
    for (login, employer) in [
        ("commander", "大庆市疫情防控指挥部"),
        ("office", "大庆市纪委监委办公室"),
        ("discipline", "大庆市纪委监委审查调查室"),
        ("dispatcher", "大庆市纪委监委"),
        ("lab", "大庆市第三方检测机构"),
        ("department", "景程社区居委会"),
    ] {
        let home = random_home(&mut l);
        let pid = people::insert(&mut change, &l.person(home, employer, &[], true), "")
            .await
            .map_err(e)?;
        named.insert(login, pid);
    }
    change.commit().await.map_err(e)?;

    report("accounts");
    let city = l.code("2306");
    for login in LOGINS {
        let role = Role::parse(login).expect("every demo login is a role name");
        let scope = match login {
            "admin" => Scope::default(),
            "supervisor" => Scope {
                region_id: Some(jingcheng),
                ..Default::default()
            },
            "sampler" => Scope {
                region_id: Some(jingcheng_community),
                ..Default::default()
            },
            "department" => Scope {
                department_id: Some(dept_ids[JINGCHENG_COMMUNITY]),
                ..Default::default()
            },
            "inspector" | "branch" | "volunteer" | "pilot" => Scope {
                team_id: Some(team_of[login]),
                ..Default::default()
            },
            _ => Scope {
                region_id: Some(city),
                ..Default::default()
            },
        };
        let new = NewAccount {
            username: login.into(),
            password: DEMO_PASSWORD.into(),
            role: role.code().into(),
            person_id: named.get(login).copied(),
            scope,
        };
        accounts::create(db, &actor, &new, true).await.map_err(e)?;
    }

    report("cases of 2022-08-20 to 09-05, with their timelines");
    cases::load(db, &actor, &mut l, cases, replay, &mut *report).await?;
    report("supervision teams' rounds, findings and discipline records");
    inspections::load(db).await?;
    report("posts, the duty roll, blockers and the rosters of 08-27 to 09-05");
    workforce::load(db).await?;
    report(
        "景程小区's testing of 08-21 to 08-29: registry, rounds, tubes, boxes, results, recalls",
    );
    testing::load(db).await?;
    report("the drone squad's patrol of 08-31 08:00: five drones, their tracks and findings");
    drones::load(db).await?;
    report("31 August's vegetable packages to every door, and a week of requests for help");
    supply::load(db).await?;
    if db.backend == crate::db::Backend::Postgres {
        // A bulk load leaves PostgreSQL's planner without statistics until autovacuum comes
        // by; without them it plans the demo's first queries (and those of databases copied
        // from it) for empty tables. Tables the role does not own are skipped with a warning.
        report("planner statistics");
        sqlx::query("ANALYZE").execute(&db.pool).await?;
    }

    let count = |table: &'static str| async move {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        Ok::<_, sqlx::Error>(n)
    };
    Ok(format!(
        "Daqing 2022 demo loaded: {} regions ({} compounds), {} orders, {} sites ({sampling} sampling points), {} departments, {} people, {} teams, {volunteers} double-registered volunteers, {} accounts, {} cases, {} residents registered for testing, {} tubes, {} buildings supplied, {} requests for help",
        count("regions").await?,
        compounds.len(),
        count("control_orders").await?,
        count("sites").await?,
        count("departments").await?,
        count("people").await?,
        count("teams").await?,
        count("accounts").await?,
        count("cases").await?,
        count("residents").await?,
        count("tubes").await?,
        count("supply_deliveries").await?,
        count("assistance_requests").await?,
    ))
}
