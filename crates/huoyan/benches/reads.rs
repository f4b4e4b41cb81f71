//! Case reads at city scale: the hot read routes of the case system (the list with each filter,
//! the group's board, a unit's inbox, the figures and their workbook, the Open311 list and the
//! full export), each as the role that uses it, on SQLite and PostgreSQL.
//!
//! For each backend it prepares a database (the plain demo, or the demo with about `--cases`
//! generated cases; a database named with `--sqlite` or `--pg` that already holds data is reused
//! as it is, since generating a million cases takes many minutes), serves the real router
//! in-process on a random port and signs in the demo accounts. Then, for each route: one warm-up
//! request, `--requests` sequential requests on one connection (median and p99, nearest rank, and
//! every status seen), and `--clients` HTTP/1.1 connections sending back to back for `--seconds`
//! (answers per second). Before the routes, the server's resident memory is sampled every 10 ms
//! during one full export (`export.xlsx`); the server runs in this process, so measure it with one
//! backend per run. Run with `bench/reads.sh`.

// The server's allocator (see src/main.rs), so that the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::Full;
use huoyan::db::{Backend, Db};
use huoyan_core::audit::seal::{AuditKey, KEY_BYTES};
use hyper::body::Bytes;
use sqlx::Row;

#[derive(Parser, Debug)]
#[command(about = "Case reads: latency and throughput of the hot read routes at city scale")]
struct Args {
    /// Cases to generate when a database is loaded (0: the plain demo's own).
    #[arg(long, default_value_t = 0)]
    cases: usize,
    /// The SQLite file to use: reused when it holds data, else created and loaded.
    #[arg(long)]
    sqlite: Option<PathBuf>,
    /// The PostgreSQL database to use (a URL naming it): reused when it holds data, else created
    /// (through --pg-admin, on the same server) and loaded.
    #[arg(long)]
    pg: Option<String>,
    /// A PostgreSQL URL with the right to create databases (trust auth), for throwaway databases
    /// and for creating the one --pg names.
    #[arg(
        long,
        env = "HUOYAN_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_admin: String,
    /// Backends to measure: sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Keep the databases this run created (they are dropped otherwise).
    #[arg(long)]
    keep: bool,
    /// Folder for a throwaway SQLite file; it must be on a real disk.
    #[arg(long, default_value = "/var/tmp")]
    dir: PathBuf,
    /// Concurrent HTTP connections of the throughput phase.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds the throughput phase of each route runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Sequential requests per route for the median and p99.
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Measure only the routes whose path contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The audit key file of a reused database that the bench did not make (`huoyan demo
    /// --cases N` seals with the key it names or creates).
    #[arg(long)]
    audit_key: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The audit key of every database this bench makes: fixed, so that a kept database's chain
/// still verifies when a later run adds to it (an export is an audited event).
fn bench_key() -> AuditKey {
    AuditKey::from_bytes([0x5a; KEY_BYTES])
}

/// The key a reused database is sealed with: `--audit-key`'s file (one filled by `huoyan demo
/// --cases N`), else the bench's own.
fn reused_key(args: &Args) -> anyhow::Result<AuditKey> {
    match &args.audit_key {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            AuditKey::parse(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
        }
        None => Ok(bench_key()),
    }
}

/// A database ready to be measured.
struct Prepared {
    db: Db,
    /// What to remove afterwards (a SQLite path or a PostgreSQL database name), if anything.
    remove: Option<String>,
    /// How the data came to be there, for the table's heading.
    origin: String,
}

async fn count(db: &Db, table: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?,
    )
}

/// Loads the demo (with `--cases`) into the empty `db`; returns the heading's account of it.
async fn load(args: &Args, backend: Backend, db: &Db) -> anyhow::Result<String> {
    let label = support::label(backend);
    let cases = (args.cases > 0).then_some(args.cases);
    eprintln!(
        "{label}: loading the demo{}",
        cases.map_or(String::new(), |n| format!(" with about {n} cases"))
    );
    let t = Instant::now();
    huoyan::demo::load(db, cases, &mut |m: &str| eprintln!("{label}:   {m}")).await?;
    let took = t.elapsed().as_secs_f64();
    eprintln!("{label}: loaded in {took:.1} s");
    if backend == Backend::Postgres {
        // What autovacuum does shortly after a bulk load, done now so the plans are settled ones.
        sqlx::query("ANALYZE").execute(&db.pool).await?;
    }
    Ok(format!("loaded in {took:.0} s"))
}

/// The database of `backend` this run measures: the one named by `--sqlite` or `--pg`
/// (reused when it holds data), or a throwaway one.
async fn prepare(args: &Args, backend: Backend) -> anyhow::Result<Prepared> {
    let label = support::label(backend);
    let name = format!("huoyan_reads_{}", std::process::id());
    let named = match backend {
        Backend::Sqlite => args.sqlite.as_ref().map(|p| p.display().to_string()),
        Backend::Postgres => args.pg.clone(),
    };
    let Some(target) = named else {
        let (db, remove) =
            support::fresh(backend, &args.dir, &args.pg_admin, &name, bench_key()).await?;
        let origin = load(args, backend, &db).await?;
        if args.keep {
            eprintln!("{label}: keeping {remove}");
        }
        let remove = (!args.keep).then_some(remove);
        return Ok(Prepared { db, remove, origin });
    };
    // Whether this run creates what `target` names.
    let (created, remove) = match backend {
        Backend::Sqlite => (!std::path::Path::new(&target).exists(), target.clone()),
        Backend::Postgres => {
            let db_name = target
                .rsplit_once('/')
                .map(|(_, n)| n.split('?').next().unwrap_or(n))
                .filter(|n| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .ok_or_else(|| {
                    anyhow::anyhow!("--pg {target}: name a database of letters, digits and _")
                })?
                .to_string();
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&args.pg_admin).await?;
            let exists: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM pg_database WHERE datname = '{db_name}'"
            )))
            .fetch_one(&admin)
            .await?
            .try_get(0)?;
            admin.close().await;
            if exists == 0 {
                eprintln!("{label}: creating database {db_name}");
                support::pg_admin(&args.pg_admin, format!("CREATE DATABASE {db_name}")).await?;
            }
            (exists == 0, db_name)
        }
    };
    let db = Db::connect_and_migrate(&target)
        .await?
        .with_audit_key(reused_key(args)?);
    let origin = if count(&db, "accounts").await? > 0 {
        let cases = count(&db, "cases").await?;
        eprintln!("{label}: reusing {target} ({cases} cases; not loading)");
        if args.cases > 0 && (cases as f64) < 0.9 * args.cases as f64 {
            eprintln!(
                "{label}: WARNING: {target} holds {cases} cases, fewer than the {} asked for; \
                 remove it to load again",
                args.cases
            );
        }
        // The search index of a database written before it, built as a server's job would.
        let t = Instant::now();
        let indexed = huoyan::cases::search::rebuild(&db, &mut |last, upto| {
            if last % 1_000_000 < 5_000 {
                eprintln!("{label}: search index: entries to {last} of {upto}")
            }
        })
        .await?;
        if indexed > 0 {
            eprintln!(
                "{label}: search index: {indexed} entries in {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
        format!("reused {target}")
    } else {
        format!("{}, {target}", load(args, backend, &db).await?)
    };
    let remove = (created && !args.keep).then_some(remove);
    Ok(Prepared { db, remove, origin })
}

/// One route to measure, as one role.
struct Route {
    path: String,
    /// The account that asks, or `None` for a route that needs no sign-in.
    user: Option<String>,
    /// How the role shows in the table.
    role: String,
}

/// What was measured on one route.
struct Measured {
    route: Route,
    /// Statuses of the sequential requests, with how many times each was seen.
    statuses: BTreeMap<u16, usize>,
    /// Sequential latencies in microseconds, sorted.
    latencies: Vec<u32>,
    /// Answers per second at `--clients`.
    rate: f64,
    /// Answers of the throughput phase that were not 2xx.
    load_failed: u64,
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn get(path: &str, token: Option<&str>) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let mut req = hyper::Request::get(path).header("host", "127.0.0.1");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    Ok(req.body(Full::new(Bytes::new()))?)
}

async fn one_value(db: &Db, sql: &'static str) -> anyhow::Result<Option<sqlx::any::AnyRow>> {
    Ok(sqlx::query(sql).fetch_optional(&db.pool).await?)
}

/// The routes, with the ids their filters need looked up in `db`.
async fn routes(db: &Db) -> anyhow::Result<(Vec<Route>, String)> {
    let dept = one_value(
        db,
        "SELECT username, scope_department_id FROM accounts WHERE role = 'department' ORDER BY id LIMIT 1",
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("no department account"))?;
    let (dept_user, dept_id): (String, Option<i64>) = (dept.try_get(0)?, dept.try_get(1)?);
    let id = |row: Option<sqlx::any::AnyRow>| -> anyhow::Result<Option<i64>> {
        row.map(|r| r.try_get::<i64, _>(0))
            .transpose()
            .map_err(Into::into)
    };
    let district = id(one_value(
        db,
        "SELECT id FROM regions WHERE level = 'district' ORDER BY id LIMIT 1",
    )
    .await?)?;
    let compound = id(one_value(
        db,
        "SELECT compound_id FROM cases GROUP BY compound_id ORDER BY COUNT(*) DESC, compound_id LIMIT 1",
    )
    .await?)?;
    let department = id(one_value(
        db,
        "SELECT department_id FROM case_tasks GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1",
    )
    .await?)?;
    let category: Option<String> = one_value(
        db,
        "SELECT category FROM cases GROUP BY category ORDER BY COUNT(*) DESC, category LIMIT 1",
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;

    let as_user = |path: String, user: &str| Route {
        path,
        user: Some(user.to_string()),
        role: user.to_string(),
    };
    let dept_role = format!(
        "{dept_user} (department {})",
        dept_id.map_or("?".into(), |d| d.to_string())
    );
    let as_dept = |path: &str| Route {
        path: path.to_string(),
        user: Some(dept_user.clone()),
        role: dept_role.clone(),
    };
    let list = "/api/v1/cases?limit=50";
    let mut filters = vec!["state=dispatched".to_string()];
    filters.extend(category.map(|c| format!("category={}", enc(&c))));
    filters.push("source=hotline".into());
    filters.extend(district.map(|d| format!("region_id={d}")));
    filters.extend(compound.map(|c| format!("compound_id={c}")));
    filters.extend(department.map(|d| format!("department_id={d}")));
    filters.push("overdue=true".into());
    filters.push("from=2022-09-01&to=2022-09-02".into());
    filters.push(format!("q={}", enc("蔬菜")));
    // A word in no text: every case read, before the index of pairs.
    filters.push(format!("q={}", enc("饕餮")));

    let mut r = vec![as_user(list.to_string(), "group")];
    r.extend(
        filters
            .iter()
            .map(|f| as_user(format!("{list}&{f}"), "group")),
    );
    r.push(as_user(format!("{list}&mine=true"), "supervisor"));
    r.push(as_user(format!("{list}&offset=5000"), "group"));
    r.push(as_dept(list));
    r.push(as_user("/cases".into(), "group"));
    r.push(as_user("/cases?view=board".into(), "group"));
    r.push(as_dept("/cases?view=inbox"));
    r.push(as_user("/api/v1/cases/figures".into(), "commander"));
    r.push(as_dept("/api/v1/cases/figures"));
    r.push(as_user("/api/v1/cases/figures.xlsx".into(), "commander"));
    r.push(as_user("/cases/figures".into(), "commander"));
    // Without dates the list covers the last 90 days, which hold none of the demo's cases: this
    // window covers the scenario (the list stops at 1,000 requests).
    r.push(Route {
        path: format!(
            "/open311/v2/requests.json?start_date={}",
            enc("2022-08-20T00:00:00+08:00")
        ),
        user: None,
        role: "— (no sign-in)".into(),
    });
    r.push(as_user("/api/v1/cases/export.xlsx".into(), "commander"));
    Ok((r, dept_user))
}

/// One warm-up request, `n` sequential ones, then `clients` connections for `seconds`.
async fn measure(
    args: &Args,
    addr: SocketAddr,
    route: Route,
    token: Option<String>,
) -> anyhow::Result<Measured> {
    let mut sender = support::connect(addr).await?;
    support::send(&mut sender, get(&route.path, token.as_deref())?).await?;
    let (mut statuses, mut latencies) = (BTreeMap::new(), Vec::new());
    let mut shown = false;
    for _ in 0..args.requests {
        let req = get(&route.path, token.as_deref())?;
        let t = Instant::now();
        let (status, body) = support::send(&mut sender, req).await?;
        latencies.push(support::micros(t.elapsed()));
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
        if !status.is_success() && !shown {
            shown = true;
            let body = String::from_utf8_lossy(&body);
            let body: String = body.chars().take(300).collect();
            eprintln!("  {} answered {status}: {body}", route.path);
        }
    }
    latencies.sort_unstable();
    drop(sender);

    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let (path, t) = (route.path.clone(), token.clone());
    let runs = support::http_load(addr, args.clients, deadline, move |_, _| {
        get(&path, t.as_deref())
    })
    .await?;
    let elapsed = start.elapsed().as_secs_f64();
    let answers: u64 = runs.iter().map(|r| r.ok + r.failed).sum();
    let load_failed: u64 = runs.iter().map(|r| r.failed).sum();
    Ok(Measured {
        route,
        statuses,
        latencies,
        rate: answers as f64 / elapsed,
        load_failed,
    })
}

/// The export's memory: the peak of this process's resident memory, sampled every 10 ms during
/// one request, over its level just before.
async fn export_memory(addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    let path = "/api/v1/cases/export.xlsx";
    let mut sender = support::connect(addr).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let baseline = support::resident_bytes();
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = support::resident_bytes();
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(support::resident_bytes());
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(support::resident_bytes())
        })
    };
    let t = Instant::now();
    let answer = support::send(&mut sender, get(path, Some(token))?).await;
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler
        .join()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?;
    let (status, body) = answer?;
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    Ok(format!(
        "Memory during one `GET {path}` as commander: status {status}, {:.0} kB answered in {:.0} ms; \
         resident memory peaked {:.1} MB over its {:.1} MB baseline (VmRSS every 10 ms; the \
         server runs in the bench's process, with the load generator and the sqlx pool).",
        body.len() as f64 / 1024.0,
        took.as_secs_f64() * 1000.0,
        mb(peak.saturating_sub(baseline)),
        mb(baseline)
    ))
}

/// A backend's table, as markdown.
struct Report {
    heading: String,
    memory: String,
    rows: Vec<Measured>,
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
}

/// Measures `backend`; `after_other` when another backend ran before it in this process.
async fn bench(args: &Args, backend: Backend, after_other: bool) -> anyhow::Result<Report> {
    let label = support::label(backend);
    let Prepared { db, remove, origin } = prepare(args, backend).await?;
    let cases = count(&db, "cases").await?;
    // As `huoyan serve` does before it listens: the figures' tallies of a database filled before
    // they existed are built from its history.
    if let Some(n) = huoyan::cases::figures::tallies::build(&db).await? {
        eprintln!("{label}: built the figures' tallies from {n} cases");
    }
    let state = huoyan::app::App::new(db.clone(), Default::default());
    let (addr, server) = support::serve(huoyan::app::router(&state)).await?;

    eprintln!("{label}: looking up the filters' ids");
    let (all, dept_user) = routes(&db).await?;
    let mut tokens: HashMap<String, String> = HashMap::new();
    for user in ["group", "supervisor", "commander", dept_user.as_str()] {
        tokens.insert(user.to_string(), support::login(addr, user).await?);
    }

    eprintln!("{label}: memory during one export");
    let mut memory = export_memory(addr, &tokens["commander"]).await?;
    if after_other {
        // The allocator keeps pages the other backend's run freed, and reuses them unseen.
        memory.push_str(
            " Another backend ran before in this process, so its freed heap may hide this peak: \
             measure the memory with one --backend per run.",
        );
    }
    eprintln!("  {memory}");

    let mut rows = Vec::new();
    for route in all {
        if !args.only.is_empty() && !args.only.iter().any(|o| route.path.contains(o.as_str())) {
            continue;
        }
        eprintln!("{label}: {} as {}", route.path, route.role);
        let token = route.user.as_ref().map(|u| tokens[u].clone());
        let m = measure(args, addr, route, token).await?;
        eprintln!(
            "  median {:.1} ms, p99 {:.1} ms, {:.0}/s",
            support::quantile_ms(&m.latencies, 0.5),
            support::quantile_ms(&m.latencies, 0.99),
            m.rate
        );
        rows.push(m);
    }
    server.abort();
    match remove {
        Some(name) => support::drop_db(backend, &args.pg_admin, db, &name).await?,
        None => db.pool.close().await,
    }
    let heading = format!(
        "**{label}**: {cases} cases in the database ({origin}); {} cores; {}; commit {}; {} \
         sequential requests after one warm-up, then {} clients for {} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chrono::Utc::now().format("%FT%TZ"),
        commit(),
        args.requests,
        args.clients,
        args.seconds,
    );
    Ok(Report {
        heading,
        memory,
        rows,
    })
}

fn print(report: &Report, clients: usize) {
    println!("{}\n", report.heading);
    println!("| route | role | status | median ms | p99 ms | req/s at {clients} |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    for m in &report.rows {
        let bad = m.statuses.keys().any(|s| !(200..300).contains(s));
        let statuses: Vec<String> = m
            .statuses
            .iter()
            .map(|(s, n)| {
                if m.statuses.len() > 1 {
                    format!("{s}×{n}")
                } else {
                    s.to_string()
                }
            })
            .collect();
        let status = if bad {
            format!("**{}**", statuses.join(", "))
        } else {
            statuses.join(", ")
        };
        let rate = if m.load_failed > 0 {
            format!("{:.1} ({} not 2xx)", m.rate, m.load_failed)
        } else {
            format!("{:.1}", m.rate)
        };
        println!(
            "| `{}` | {} | {status} | {:.1} | {:.1} | {rate} |",
            m.route.path,
            m.route.role,
            support::quantile_ms(&m.latencies, 0.5),
            support::quantile_ms(&m.latencies, 0.99),
        );
    }
    println!("\n{}\n", report.memory);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // HUOYAN_LOG=sqlx::query=debug prints each statement with its time, as the server does.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUOYAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let backends = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => anyhow::bail!("--backend sqlite, postgres or both, not {other}"),
    };
    let mut reports = Vec::new();
    for (i, backend) in backends.into_iter().enumerate() {
        reports.push(bench(&args, backend, i > 0).await?);
    }
    for r in &reports {
        print(r, args.clients);
    }
    Ok(())
}
