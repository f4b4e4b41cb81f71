//! The cast before any case: the logins of every supervisor, inspector and department, and the
//! world the walk reads (departments, compounds, their people and paces).

use super::*;

/// Logins the cases need beyond the demo's one per role: a supervisor for every compound, an
/// inspector for every supervision team and one login for every department. They share one hash
/// of the demo password: argon2 is slow on purpose, and hashing it 160 times would make the demo
/// take seconds to load for a password everyone knows.
pub(super) async fn logins(
    db: &Db,
    actor: &Actor,
    l: &mut Loader,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let e = |e: crate::error::AppError| anyhow::anyhow!("{e}: {:?}", e.fields());
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let mut change = Change::begin(db, actor).await.map_err(e)?;
    let mut news = Vec::new();
    let supervisors = sqlx::query(
        "SELECT r.id, r.code, MIN(p.id) FROM regions r JOIN people p ON p.home_region_id = r.id AND p.skills = '监督' \
         WHERE r.level = 'compound' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.role = 'supervisor' AND a.scope_region_id = r.id) \
         GROUP BY r.id, r.code ORDER BY r.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    for r in &supervisors {
        let (id, code, person): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        news.push(NewAccount {
            username: format!("supervisor-{}", code.trim_start_matches("DQ-C")),
            password: DEMO_PASSWORD.into(),
            role: Role::Supervisor.code().into(),
            person_id: Some(person),
            scope: Scope {
                region_id: Some(id),
                ..Default::default()
            },
        });
    }
    let teams = sqlx::query(
        "SELECT t.id, (SELECT m.person_id FROM team_members m WHERE m.team_id = t.id AND m.role = 'member' ORDER BY m.person_id LIMIT 1) \
         FROM teams t WHERE t.kind = 'supervision_team' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.scope_team_id = t.id) ORDER BY t.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    for (k, r) in teams.iter().enumerate() {
        let (id, person): (i64, Option<i64>) = (r.try_get(0)?, r.try_get(1)?);
        news.push(NewAccount {
            username: format!("inspector-{:02}", k + 2),
            password: DEMO_PASSWORD.into(),
            role: Role::Inspector.code().into(),
            person_id: person,
            scope: Scope {
                team_id: Some(id),
                ..Default::default()
            },
        });
    }
    let depts = sqlx::query(
        "SELECT d.id, d.name FROM departments d WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.scope_department_id = d.id) ORDER BY d.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    let homes: Vec<i64> =
        sqlx::query("SELECT id FROM regions WHERE level = 'compound' ORDER BY id")
            .fetch_all(&mut *change.tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    for r in &depts {
        let (id, name): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        l.phones += 1;
        let (person_name, gender) = l.names.next(rng);
        let person = people::insert(
            &mut change,
            &people::NewPerson {
                name: person_name,
                phone: crate::demo::names::phone(l.phones),
                gender: gender.to_string(),
                birth_year: rng.random_range(1963..=1999),
                party_member: true,
                employer: name.clone(),
                home_region_id: Some(*pick(rng, &homes)),
                skills: Vec::new(),
            },
            "",
        )
        .await
        .map_err(e)?;
        news.push(NewAccount {
            username: dept_login(&name),
            password: DEMO_PASSWORD.into(),
            role: Role::Department.code().into(),
            person_id: Some(person),
            scope: Scope {
                department_id: Some(id),
                ..Default::default()
            },
        });
    }
    for new in &news {
        accounts::check_new(new, true).map_err(e)?;
        accounts::insert(&mut change, new, &hash).await.map_err(e)?;
    }
    change.commit().await.map_err(e)?;
    Ok(())
}

/// A department's login name.
fn dept_login(name: &str) -> String {
    let known = [
        ("格林社区", "gelin"),
        ("香逸社区", "xiangyi"),
        ("唯美社区", "weimei"),
        ("米兰社区", "milan"),
        ("兰德社区", "lande"),
        ("月亮湾社区", "yueliangwan"),
        ("毅腾商都社区", "yiteng"),
        ("萨尔图分局", "police-sartu"),
        ("高新区分局", "police-gaoxin"),
        ("市场监督管理局", "market"),
        ("物业服务中心", "property"),
        ("卫生健康委员会", "health"),
        ("疾病预防控制中心", "cdc-sartu"),
        ("商务局", "commerce"),
    ];
    let short = known
        .iter()
        .find(|(k, _)| name.contains(k))
        .map_or("unit", |(_, v)| v);
    format!("dept-{short}")
}

pub(super) async fn world(db: &Db, rng: StdRng) -> anyhow::Result<World> {
    let account = |username: &'static str| async move {
        let id: i64 = sqlx::query("SELECT id FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        Ok::<_, anyhow::Error>(id)
    };
    let ids = |sql: &'static str| async move {
        let rows = sqlx::query(sql).fetch_all(&db.pool).await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(anyhow::Error::from)
    };
    let cast = Cast {
        office: account("office").await?,
        group: account("group").await?,
        pilot: account("pilot").await?,
        inspectors: ids("SELECT id FROM accounts WHERE role = 'inspector' ORDER BY scope_team_id")
            .await?,
    };
    let mut depts = Vec::new();
    for r in sqlx::query(
        "SELECT d.id, d.name, d.kind, d.region_id, (SELECT MIN(a.id) FROM accounts a WHERE a.scope_department_id = d.id) \
         FROM departments d ORDER BY d.id",
    )
    .fetch_all(&db.pool)
    .await?
    {
        let name: String = r.try_get(1)?;
        let account: Option<i64> = r.try_get(4)?;
        depts.push((
            r.try_get::<Option<i64>, _>(3)?,
            Dept {
                id: r.try_get(0)?,
                pace: pace(&name),
                kind: r.try_get(2)?,
                account: account.ok_or_else(|| anyhow::anyhow!("{name} has a login"))?,
                name,
            },
        ));
    }
    let office_of: HashMap<i64, usize> = depts
        .iter()
        .enumerate()
        .filter(|(_, (_, d))| d.kind == "community")
        .filter_map(|(i, (region, _))| region.map(|r| (r, i)))
        .collect();
    let depts: Vec<Dept> = depts.into_iter().map(|(_, d)| d).collect();
    let mut sampling: HashMap<i64, Vec<String>> = HashMap::new();
    for r in
        sqlx::query("SELECT region_id, name FROM sites WHERE kind = 'sampling_point' ORDER BY id")
            .fetch_all(&db.pool)
            .await?
    {
        sampling
            .entry(r.try_get(0)?)
            .or_default()
            .push(r.try_get(1)?);
    }
    let district = |code: &'static str| async move {
        let id: Option<i64> = sqlx::query("SELECT id FROM regions WHERE code = $1")
            .bind(code)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok::<_, anyhow::Error>(id)
    };
    let (gaoxin_id, sartu_id) = (district("230671").await?, district("230602").await?);
    let mut compounds = Vec::new();
    for (i, r) in sqlx::query(
        "SELECT c.id, c.name, c.parent_id, c.geometry, c.path, \
         (SELECT MIN(a.id) FROM accounts a WHERE a.role = 'supervisor' AND a.scope_region_id = c.id) \
         FROM regions c WHERE c.level = 'compound' ORDER BY c.id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .enumerate()
    {
        let (id, name, community): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let geometry: String = r.try_get(3)?;
        let path: String = r.try_get(4)?;
        let supervisor: Option<i64> = r.try_get(5)?;
        let within = |district: Option<i64>| {
            district.is_some_and(|d| path.split('/').any(|p| p == d.to_string()))
        };
        let (gaoxin, sartu) = (within(gaoxin_id), within(sartu_id));
        let points = sampling
            .get(&id)
            .or_else(|| sampling.get(&community))
            .cloned()
            .unwrap_or_else(|| vec![format!("{name}核酸采样点")]);
        compounds.push(Compound {
            id,
            office: office_of.get(&community).copied(),
            gaoxin,
            sartu,
            outline: serde_json::from_str(&geometry)?,
            supervisor: supervisor.ok_or_else(|| anyhow::anyhow!("{name} has a supervisor login"))?,
            sampling: points,
            gates: if i == 0 {
                &["南门", "北门"]
            } else {
                &["东门", "西门", "南门", "北门", "1号门", "2号门"]
            },
            buildings: if i == 0 { 18 } else { 6 + (i as u32 * 7) % 20 },
            name,
        });
    }
    let dept_names = depts.iter().map(|d| (d.id, d.name.clone())).collect();
    Ok(World {
        rng,
        depts,
        dept_names,
        compounds,
        cast,
        snapshot: bj(SNAPSHOT),
    })
}
