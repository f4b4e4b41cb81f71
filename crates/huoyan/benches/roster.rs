//! Planning tomorrow through the dispatcher's own route, end to end (the request, reading the
//! database, the engine, writing the draft's rows, read back by polling the plan), beside the
//! engine alone on the same input with the same budget, in the same run. The limit: the
//! wiring adds at most 20 % and 200 ms.
//!
//! Cases: the Daqing demo (294 people, 63 posts), and the demo with a generated city of 5,000
//! more people and 400 more posts in Gelin's communities, loaded through the write path.
//!
//! Usage: cargo bench -p huoyan --bench roster -- [--postgres ADMIN_URL] [--seconds S] [--runs N]

mod support;

use std::time::{Duration, Instant};

use huoyan::audit::Change;
use huoyan::check::Text;
use huoyan::db::Backend;
use huoyan::workforce::{self, Day, DutyKind, Enrolment, Horizon, NewPost, NewShift};
use huoyan_core::workforce::posts::Job;
use huoyan_core::workforce::roster::{self, SolveOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

struct Args {
    postgres: Option<String>,
    seconds: f64,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        postgres: None,
        seconds: 1.5,
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--postgres" => a.postgres = it.next(),
            "--seconds" => a.seconds = it.next().and_then(|s| s.parse().ok()).expect("--seconds S"),
            "--runs" => a.runs = it.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            "--bench" => {}
            other => panic!("unknown argument {other}; see the header of benches/roster.rs"),
        }
    }
    a
}

/// 5,000 people on duty and 400 posts in Gelin's communities, through the write path.
async fn generate_city(db: &huoyan::db::Db) -> anyhow::Result<()> {
    let fail = |e: huoyan::error::AppError| anyhow::anyhow!("{e}: {:?}", e.fields());
    let mut rng = StdRng::seed_from_u64(5000);
    let dispatcher: i64 =
        sqlx::query_scalar("SELECT id FROM accounts WHERE username = 'dispatcher'")
            .fetch_one(&db.pool)
            .await?;
    let p = huoyan::auth::principal_of(db, dispatcher)
        .await
        .map_err(fail)?;
    let communities: Vec<(i64, f64, f64)> = sqlx::query_as(
        "SELECT g.id, AVG(s.lon), AVG(s.lat) FROM regions g JOIN regions sd ON sd.id = g.parent_id \
         JOIN sites s ON s.region_id = g.id WHERE sd.code = '230602022' GROUP BY g.id ORDER BY g.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let skills = [
        "扫码",
        "秩序维护",
        "消杀",
        "群众帮扶",
        "政策宣传",
        "采样协助",
    ];
    let jobs = [
        (Job::Scanning, "扫码"),
        (Job::Order, "秩序维护"),
        (Job::Disinfection, "消杀"),
        (Job::Guiding, ""),
        (Job::Delivery, ""),
        (Job::Publicity, "政策宣传"),
        (Job::GateDuty, ""),
        (Job::Patrol, ""),
    ];
    let mut change = Change::begin(db, &p.actor()).await.map_err(fail)?;
    let mut posts = 0;
    for n in 0.. {
        if posts >= 400 {
            break;
        }
        let (community, lon, lat) = communities[n % communities.len()];
        let site = huoyan::org::sites::insert(
            &mut change,
            &huoyan::org::sites::NewSite {
                region_id: community,
                kind: "sampling_point".into(),
                name: format!("生成采样点{n}"),
                lon: Some(lon + rng.random_range(-0.01..0.01)),
                lat: Some(lat + rng.random_range(-0.01..0.01)),
                address: String::new(),
            },
        )
        .await
        .map_err(fail)?;
        for (job, skill) in jobs.iter().take(5) {
            let shifts = if rng.random_bool(0.5) {
                vec![
                    ("04:30-12:30", rng.random_range(1..=4)),
                    ("12:30-20:30", rng.random_range(1..=3)),
                ]
            } else {
                vec![("08:00-16:00", rng.random_range(1..=4))]
            };
            let new = NewPost {
                site_id: site,
                job: *job,
                skills: if skill.is_empty() {
                    Vec::new()
                } else {
                    vec![Text::field("skills", *skill).map_err(fail)?]
                },
                note: Text::default(),
                shifts: shifts
                    .into_iter()
                    .map(|(h, c)| {
                        Ok(NewShift {
                            hours: Text::field("hours", h)?,
                            headcount: c,
                        })
                    })
                    .collect::<Result<_, huoyan::error::AppError>>()
                    .map_err(fail)?,
            };
            workforce::create_post(&mut change, &p, &new)
                .await
                .map_err(fail)?;
            posts += 1;
        }
    }
    for k in 0..5000usize {
        let (community, _, _) = communities[k % communities.len()];
        let mut own: Vec<String> = Vec::new();
        for s in skills {
            if rng.random_bool(0.35) {
                own.push(s.to_string());
            }
        }
        let person = huoyan::org::people::insert(
            &mut change,
            &huoyan::org::people::NewPerson {
                name: format!("志愿者{k}"),
                phone: format!("1391{k:07}"),
                gender: if k % 2 == 0 { "male" } else { "female" }.into(),
                birth_year: 1963 + (k as i64 % 36),
                party_member: k % 3 == 0,
                employer: String::new(),
                home_region_id: None,
                skills: own,
            },
            "",
        )
        .await
        .map_err(fail)?;
        let e = Enrolment {
            community_id: community,
            kind: DutyKind::Volunteer,
            max_hours_per_week: 40,
            avoid_early: k % 17 == 0,
            days_off: Vec::new(),
        };
        workforce::enrol(&mut change, &p, person, &e)
            .await
            .map_err(fail)?;
        if k % 500 == 499 {
            change.commit().await.map_err(fail)?;
            change = Change::begin(db, &p.actor()).await.map_err(fail)?;
        }
    }
    change.commit().await.map_err(fail)?;
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    let dir = tempfile::tempdir()?;
    let mut backends = vec![(Backend::Sqlite, String::new())];
    if let Some(pg) = &a.postgres {
        backends.push((Backend::Postgres, pg.clone()));
    }
    println!(
        "budget {} s a plan, {} runs each; medians",
        a.seconds, a.runs
    );
    println!(
        "{:<10} {:<9} {:>7} {:>7} {:>10} {:>10} {:>10} {:>7}",
        "case", "backend", "people", "shifts", "engine ms", "route ms", "added ms", "ratio"
    );
    for (backend, admin) in &backends {
        for city in [false, true] {
            let name = format!("huoyan_roster_bench_{}", if city { "city" } else { "demo" });
            let (db, handle) =
                support::fresh(*backend, dir.path(), admin, &name, support::random_key()).await?;
            huoyan::demo::load(&db, None, &mut |_| {}).await?;
            if city {
                generate_city(&db).await?;
            }
            let app = huoyan::app::App::new(db.clone(), Default::default());
            let (addr, server) = support::serve(huoyan::app::router(&app)).await?;
            let token = support::login(addr, "dispatcher").await?;
            let client = reqwest::Client::new();
            let base = format!("http://{addr}");
            let first = Day::today().plus(1);
            let path: String = sqlx::query_scalar(
                "SELECT r.path FROM accounts a JOIN regions r ON r.id = a.scope_region_id WHERE a.username = 'dispatcher'",
            )
            .fetch_one(&db.pool)
            .await?;
            let h = Horizon { first, days: 1 };
            let (mut engine, mut route) = (Vec::new(), Vec::new());
            let mut size = (0, 0);
            for run in 0..a.runs {
                let problem = workforce::problem_for_region(&db, &path, h)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                size = (problem.people.len(), problem.shifts.len());
                let opts = SolveOptions {
                    seed: run as u64 + 1,
                    time_limit: Some(Duration::from_secs_f64(a.seconds)),
                    max_iterations: u64::MAX,
                    control: None,
                };
                let t = Instant::now();
                let solved =
                    tokio::task::spawn_blocking(move || roster::solve(&problem, &opts)).await??;
                engine.push(t.elapsed());
                anyhow::ensure!(!solved.assignments.is_empty(), "the engine rostered nobody");

                let t = Instant::now();
                let started: serde_json::Value = client
                    .post(format!("{base}/api/v1/workforce/plans"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"first_day": first, "days": 1, "seconds": a.seconds}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let id = started["id"]
                    .as_i64()
                    .ok_or_else(|| anyhow::anyhow!("{started}"))?;
                loop {
                    let plan: serde_json::Value = client
                        .get(format!("{base}/api/v1/workforce/plans/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await?
                        .json()
                        .await?;
                    if plan["state"] != "planning" {
                        anyhow::ensure!(plan["state"] == "draft", "{}", plan["state"]);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                route.push(t.elapsed());
            }
            let (e, r) = (median(engine), median(route));
            println!(
                "{:<10} {:<9} {:>7} {:>7} {:>10.0} {:>10.0} {:>10.0} {:>7.3}",
                if city { "city-5000" } else { "demo" },
                support::label(*backend),
                size.0,
                size.1,
                e.as_secs_f64() * 1e3,
                r.as_secs_f64() * 1e3,
                (r.as_secs_f64() - e.as_secs_f64()) * 1e3,
                r.as_secs_f64() / e.as_secs_f64()
            );
            server.abort();
            support::drop_db(*backend, admin, db, &handle).await?;
        }
    }
    Ok(())
}
