//! Case intake benchmark: durable creates per second through the JSON API, beside the two limits
//! that bound it, measured in the same run with the same load generator.
//!
//! For each backend (a SQLite file with the production pragmas, a throwaway PostgreSQL database)
//! it loads the demo, serves the real router in-process on a random port, signs in the demo
//! supervisor and runs, each for `--seconds` with `--clients` concurrent clients:
//!
//! - **no-op**: the same HTTP load against `POST /bench/noop`, a route added only here that reads
//!   the body and answers `{}` (the HTTP limit: server and load generator, no database);
//! - **http**: `POST /api/v1/cases` with a distinct `Idempotency-Key` on every request;
//! - **storage**: the same rows and audit events written straight through the same group-commit
//!   writer (`huoyan::cases::intake::Intake`) by as many tasks, without HTTP or validation (the
//!   storage limit);
//! - **storage, one per transaction**: the same again through `intake::write_one`, one
//!   transaction per case, as the API wrote before group commit (for comparison).
//!
//! After each writing phase it checks that the new cases and audit events equal the successful
//! answers and that the audit chain verifies. Run with `bench/intake.sh` (see BENCHMARKS.md).

// The server's allocator (see src/main.rs), so that the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use clap::Parser;
use http_body_util::Full;
use huoyan::audit::Actor;
use huoyan::cases::intake::{self, Filing};
use huoyan::db::{Backend, Db};
use huoyan_core::cases::{Kind, Priority, Source};
use hyper::body::Bytes;
use sqlx::Row;
use support::{cpu_seconds, login};

#[derive(Parser, Debug)]
#[command(
    about = "Case intake: creates per second through the API against its HTTP and storage limits"
)]
struct Args {
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent clients (HTTP connections, or storage tasks).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Backends to measure: sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// PostgreSQL server to create the throwaway database on (trust auth).
    #[arg(
        long,
        env = "HUOYAN_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg: String,
    /// Folder for the SQLite file; it must be on a real disk, or fsync means nothing.
    #[arg(long, default_value = "/var/tmp")]
    dir: std::path::PathBuf,
    /// Phases to run, of no-op, http, storage, single (storage one case per transaction).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "no-op,http,storage,single"
    )]
    phases: Vec<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Counts and latencies of one phase.
struct Phase {
    name: String,
    ok: u64,
    failed: u64,
    elapsed: Duration,
    /// Microseconds, sorted.
    latencies: Vec<u32>,
    /// CPU seconds this process spent in the phase (server and load generator; not PostgreSQL's).
    cpu: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank quantile in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        support::quantile_ms(&self.latencies, q)
    }
}

fn collect(name: &str, elapsed: Duration, cpu: f64, parts: Vec<(u64, u64, Vec<u32>)>) -> Phase {
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for (o, f, l) in parts {
        ok += o;
        failed += f;
        latencies.extend(l);
    }
    latencies.sort_unstable();
    Phase {
        name: name.to_string(),
        ok,
        failed,
        elapsed,
        latencies,
        cpu,
    }
}

/// The request every HTTP client sends, numbered so that no two are alike.
fn case_body(compound: i64, client: usize, n: u64) -> String {
    serde_json::json!({
        "category": "supplies",
        "compound_id": compound,
        "priority": "high",
        "address": "5号楼2单元",
        "description": format!("5号楼2单元蔬菜包未送达，独居老人缺药（客户端 {client}，第 {n} 次）"),
    })
    .to_string()
}

/// `clients` HTTP/1.1 connections, each sending POSTs back to back to `path` until `seconds`
/// have passed. Successful answers are 2xx; anything else is counted as failed.
async fn http_load(
    name: &str,
    addr: SocketAddr,
    path: &str,
    token: &str,
    compounds: &[i64],
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let (path, token, compounds) = (path.to_string(), token.to_string(), compounds.to_vec());
    let run = format!("{name}-{}", std::process::id());
    let runs = support::http_load(addr, clients, deadline, move |c, n| {
        let compound = compounds[c % compounds.len()];
        Ok(hyper::Request::post(&path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("idempotency-key", format!("{run}-{c}-{n}"))
            .body(Full::new(Bytes::from(case_body(compound, c, n))))?)
    })
    .await?;
    let elapsed = start.elapsed();
    let mut parts = Vec::new();
    for r in runs {
        for failure in &r.failures {
            eprintln!("{failure}");
        }
        parts.push((r.ok, r.failed, r.latencies));
    }
    Ok(collect(name, elapsed, cpu_seconds() - cpu, parts))
}

/// How the storage phase writes a filing.
#[derive(Clone)]
enum Writer {
    /// Through the group-commit writer, as the API files cases.
    Batched(std::sync::Arc<intake::Intake>),
    /// One transaction per case.
    Single(Db),
}

impl Writer {
    async fn write(&self, f: Filing) -> huoyan::error::AppResult<intake::Filed> {
        match self {
            Writer::Batched(intake) => intake.file(f).await,
            Writer::Single(db) => intake::write_one(db, &f, &[]).await,
        }
    }
}

/// `clients` tasks writing filings straight through `writer` until `seconds` have passed.
async fn storage_load(
    name: &str,
    template: &Filing,
    compounds: &[i64],
    clients: usize,
    seconds: u64,
    writer: Writer,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut filing = template.clone();
        filing.compound_id = compounds[c % compounds.len()];
        let writer = writer.clone();
        let run = format!("{name}-{}", std::process::id());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::with_capacity(1 << 16));
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let mut f = filing.clone();
                f.key = Some(format!("{run}-{c}-{n}"));
                f.description =
                    format!("5号楼2单元蔬菜包未送达，独居老人缺药（客户端 {c}，第 {n} 次）");
                let t = Instant::now();
                let done = writer.write(f).await;
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                match done {
                    Ok(intake::Filed::New { .. }) => ok += 1,
                    other => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("{other:?}");
                        }
                    }
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut parts = Vec::new();
    for t in tasks {
        parts.push(t.await?);
    }
    Ok(collect(name, start.elapsed(), cpu_seconds() - cpu, parts))
}

async fn count(db: &Db, table: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?,
    )
}

/// Runs `phase` and checks afterwards that exactly its successes were written, each with its
/// audit event, and that the chain is intact.
async fn durable<Fut>(db: &Db, phase: Fut) -> anyhow::Result<Phase>
where
    Fut: Future<Output = anyhow::Result<Phase>>,
{
    let (cases, events) = (count(db, "cases").await?, count(db, "audit_events").await?);
    let p = phase.await?;
    let (new_cases, new_events) = (
        count(db, "cases").await? - cases,
        count(db, "audit_events").await? - events,
    );
    let verdict = huoyan::audit::verify(db).await?;
    let intact = matches!(verdict, huoyan::audit::Verdict::Intact { .. });
    eprintln!(
        "  {}: {} created, {} failed; {new_cases} new cases, {new_events} new audit events, chain {verdict:?}",
        p.name, p.ok, p.failed
    );
    anyhow::ensure!(
        new_cases == p.ok as i64 && new_events == p.ok as i64 && p.failed == 0 && intact,
        "{}: not durable or lost something",
        p.name
    );
    Ok(p)
}

/// A fresh database of `backend`; the second value drops it afterwards.
async fn fresh(args: &Args, backend: Backend) -> anyhow::Result<(Db, String)> {
    let name = format!("huoyan_bench_{}", std::process::id());
    support::fresh(backend, &args.dir, &args.pg, &name, support::random_key()).await
}

async fn noop(body: Bytes) -> &'static str {
    std::hint::black_box(body);
    "{}"
}

async fn bench(args: &Args, backend: Backend) -> anyhow::Result<Vec<Phase>> {
    let label = support::label(backend);
    eprintln!("{label}: loading the demo");
    let (db, name) = fresh(args, backend).await?;
    huoyan::demo::load(&db, None, &mut |_| {}).await?;
    let state = huoyan::app::App::new(db.clone(), Default::default());
    let app = Router::new()
        .route("/bench/noop", post(noop))
        .merge(huoyan::app::router(&state));
    let (addr, server) = support::serve(app).await?;

    let token = login(addr, "supervisor").await?;
    // The compounds in the supervisor's scope, and the supervisor as a filing's author.
    let rows = sqlx::query(
        "SELECT r.id FROM accounts a JOIN regions s ON s.id = a.scope_region_id \
         JOIN regions r ON r.path LIKE s.path || '%' AND r.level = 'compound' \
         WHERE a.username = 'supervisor' ORDER BY r.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let compounds: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(!compounds.is_empty(), "the supervisor has no compounds");
    let account_id: i64 = sqlx::query("SELECT id FROM accounts WHERE username = 'supervisor'")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    let template = Filing {
        actor: Actor {
            id: Some(account_id),
            name: "supervisor".into(),
        },
        account_id,
        key: None,
        kind: Kind::Problem,
        source: Source::Supervisor,
        category: huoyan_core::cases::Category::Supplies,
        priority: Priority::High,
        compound_id: compounds[0],
        lon: None,
        lat: None,
        address: "5号楼2单元".into(),
        description: String::new(),
    };

    let (clients, seconds) = (args.clients, args.seconds);
    let mut phases = Vec::new();
    let run = |phase: &str| args.phases.iter().any(|p| p == phase);
    if run("no-op") {
        eprintln!("{label}: no-op route");
        phases.push(
            http_load(
                "no-op",
                addr,
                "/bench/noop",
                &token,
                &compounds,
                clients,
                seconds,
            )
            .await?,
        );
    }
    if run("http") {
        eprintln!("{label}: POST /api/v1/cases");
        phases.push(
            durable(
                &db,
                http_load(
                    "http",
                    addr,
                    "/api/v1/cases",
                    &token,
                    &compounds,
                    clients,
                    seconds,
                ),
            )
            .await?,
        );
    }
    if run("storage") {
        eprintln!("{label}: storage, through the group-commit writer");
        let batched = Writer::Batched(std::sync::Arc::new(intake::Intake::new(&db)));
        phases.push(
            durable(
                &db,
                storage_load("storage", &template, &compounds, clients, seconds, batched),
            )
            .await?,
        );
    }
    if run("single") {
        eprintln!("{label}: storage, one transaction per case");
        let single = Writer::Single(db.clone());
        phases.push(
            durable(
                &db,
                storage_load(
                    "storage, one per transaction",
                    &template,
                    &compounds,
                    clients,
                    seconds,
                    single,
                ),
            )
            .await?,
        );
    }
    server.abort();
    support::drop_db(backend, &args.pg, db, &name).await?;
    Ok(phases)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backends = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => anyhow::bail!("--backend sqlite, postgres or both, not {other}"),
    };
    eprintln!(
        "{} clients, {} s a phase, {} cores, load generator and server in one process",
        args.clients,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = Vec::new();
    for backend in backends {
        rows.push((backend, bench(&args, backend).await?));
    }
    println!(
        "| backend | phase | ok | failed | per s | p50 ms | p99 ms | cores busy | CPU µs each |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (backend, phases) in &rows {
        for p in phases {
            println!(
                "| {backend:?} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} |",
                p.name,
                p.ok,
                p.failed,
                p.rate(),
                p.quantile_ms(0.50),
                p.quantile_ms(0.99),
                p.cpu / p.elapsed.as_secs_f64(),
                p.cpu * 1e6 / p.ok.max(1) as f64
            );
        }
    }
    println!();
    for (backend, phases) in &rows {
        let rate = |name: &str| phases.iter().find(|p| p.name == name).map(Phase::rate);
        let (Some(http), Some(noop), Some(storage)) =
            (rate("http"), rate("no-op"), rate("storage"))
        else {
            continue;
        };
        println!(
            "{backend:?}: http / no-op = {:.3}, http / storage = {:.3}, http / lower limit = {:.3}",
            http / noop,
            http / storage,
            http / noop.min(storage)
        );
    }
    Ok(())
}
