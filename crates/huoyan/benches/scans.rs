//! Scan ingest benchmark: durable scans per second through `POST /api/v1/testing/scans`, one scan
//! a request from many keep-alive connections, beside the two limits that bound it, measured in
//! the same run with the same load generator.
//!
//! For each backend it loads the demo, adds a round per phase with enough residents and open
//! 10-in-1 tubes at 景程小区's point (written straight to the tables: fixtures, not what is
//! measured), serves the real router in-process, signs in the demo sampler and runs:
//!
//! - **no-op**: the same requests against `POST /bench/noop`, a route added only here that reads
//!   the body and answers `{}` (the HTTP limit: server and load generator, no database);
//! - **http**: the scans, each connection filling its own tubes ten people at a time, a distinct
//!   idempotency key each;
//! - **storage**: the same scans written straight through `testing::write_many` in batches of
//!   1,000, one after another (the storage limit, not bounded by the number of clients);
//! - **overload**: open loop at `--overload` times the http phase's rate (a fixed arrival rate;
//!   latency from when each request was sent, and how late against when it was due): the excess
//!   must be refused with 503 fast, the accepted ones kept;
//! - **replay** (only when asked): a whole city round of `--replay` scans through the API.
//!
//! After each writing phase it checks that every acknowledged scan is stored exactly once, that
//! no scan was stored that was not acknowledged, and that no tube holds more than its capacity or
//! other than its added scans. Run with `bench/scans.sh` (see BENCHMARKS.md).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod scans_fixture;
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use clap::Parser;
use http_body_util::Full;
use huoyan::db::{Backend, Db};
use huoyan::testing::Scan;
use huoyan_core::testing::codes::{Barcode, HealthCode};
use hyper::body::Bytes;
use scans_fixture::{Fixture, fixture};
use sqlx::Row;
use support::{cpu_seconds, login, resident_bytes};

#[derive(Parser, Debug)]
#[command(about = "Scan ingest: durable scans per second through the API against its limits")]
struct Args {
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Keep-alive connections (thousands of scanners share them through proxies).
    #[arg(long, default_value_t = 512)]
    clients: usize,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    #[arg(
        long,
        env = "HUOYAN_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg: String,
    /// Folder for the SQLite file; it must be on a real disk, or fsync means nothing.
    #[arg(long, default_value = "/var/tmp")]
    dir: std::path::PathBuf,
    /// Phases: no-op, http, writer, storage, overload, replay.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "no-op,http,storage,overload"
    )]
    phases: Vec<String>,
    /// The overload phase offers this many times the http phase's rate.
    #[arg(long, default_value_t = 10.0)]
    overload: f64,
    /// Connections of the overload phase: more requests in flight than the server queues, so
    /// that it must refuse some.
    #[arg(long, default_value_t = 8192)]
    overload_clients: usize,
    /// Scans in the replayed city round.
    #[arg(long, default_value_t = 2_800_000)]
    replay: u64,
    /// Residents (and a tenth as many tubes) each phase's round has per connection.
    #[arg(long, default_value_t = 2_000)]
    per_client: u64,
    #[arg(long, hide = true)]
    bench: bool,
}

struct Phase {
    name: String,
    ok: u64,
    busy: u64,
    failed: u64,
    elapsed: Duration,
    latencies: Vec<u32>,
    cpu: f64,
    rss: u64,
    offered: Option<f64>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

fn scan_body(f: &Fixture, i: u64, key: &str) -> String {
    format!(
        r#"{{"tube":"{}","code":"{}","key":"{key}"}}"#,
        f.tube(i),
        f.code(i)
    )
}

fn request(path: &str, token: &str, body: String) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    Ok(hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::from(body)))?)
}

/// Closed loop: `clients` connections sending back to back until `seconds` have passed.
async fn closed(
    name: &str,
    addr: SocketAddr,
    path: &str,
    token: &str,
    f: &Fixture,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let (path, token, f2) = (path.to_string(), token.to_string(), f.clone());
    let rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watch = watch_rss(rss.clone(), deadline);
    let runs = support::http_load(addr, clients, deadline, move |c, n| {
        let i = f2.scan_of(c, clients, n);
        request(
            &path,
            &token,
            scan_body(&f2, i, &uuid::Uuid::now_v7().to_string()),
        )
    })
    .await?;
    let elapsed = start.elapsed();
    watch.abort();
    let (mut ok, mut busy, mut failed, mut latencies) = (0, 0, 0, Vec::new());
    for r in runs {
        for failure in &r.failures {
            if failure.starts_with("503") {
                busy += 1;
            } else {
                eprintln!("  {failure}");
            }
        }
        ok += r.ok;
        failed += r.failed;
        latencies.extend(r.latencies);
    }
    latencies.sort_unstable();
    Ok(Phase {
        name: name.into(),
        ok,
        busy: busy.min(failed),
        failed: failed - busy.min(failed),
        elapsed,
        latencies,
        cpu: cpu_seconds() - cpu,
        rss: rss.load(std::sync::atomic::Ordering::Relaxed),
        offered: None,
    })
}

/// Samples this process's RSS every 100 ms until `deadline`, keeping the highest.
fn watch_rss(
    peak: Arc<std::sync::atomic::AtomicU64>,
    deadline: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while Instant::now() < deadline {
            peak.fetch_max(resident_bytes(), std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Open loop: `rate` requests a second for `seconds`, the n-th due at `start + n / rate`, sent by
/// whichever of `connections` is free (the scans those of the fixture's `clients`) (a connection still waiting for an answer does not
/// hold the next arrival back, so the arrival rate holds while any connection is free). Latency
/// runs from when each request was sent (the server's answer time); how late the accepted ones
/// were against when they were due is printed beside, so a generator that fell behind is seen.
async fn open_loop(
    name: &str,
    addr: SocketAddr,
    token: &str,
    f: &Fixture,
    (clients, connections): (usize, usize),
    seconds: u64,
    rate: f64,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watch = watch_rss(rss.clone(), deadline);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (token, f, next) = (token.to_string(), f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut sender = support::connect(addr).await?;
            let (mut ok, mut failed, mut lat, mut busy, mut late) = (
                0u64,
                0u64,
                Vec::with_capacity(1 << 12),
                Vec::new(),
                Vec::with_capacity(1 << 12),
            );
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let due = start + interval.mul_f64(n as f64);
                // What was due but not sent by the deadline is not sent: the load stops on time
                // however slow the answers.
                if due >= deadline || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                // The k-th scan of every connection in turn, as the closed loop sends them.
                let i = f.scan_of(
                    (n % clients as u64) as usize,
                    clients,
                    n / clients as u64 + 1,
                );
                let key = uuid::Uuid::now_v7().to_string();
                let req = request("/api/v1/testing/scans", &token, scan_body(&f, i, &key))?;
                let sent = Instant::now();
                let (status, _) = support::send(&mut sender, req).await?;
                let took = support::micros(sent.elapsed());
                match status.as_u16() {
                    200 => {
                        ok += 1;
                        lat.push(took);
                        late.push(support::micros(due.elapsed()));
                    }
                    503 => busy.push(took),
                    _ => failed += 1,
                }
            }
            anyhow::Ok((ok, busy, failed, lat, late))
        }));
    }
    let (mut ok, mut busy, mut failed, mut latencies, mut lateness) =
        (0, Vec::new(), 0, Vec::new(), Vec::new());
    for t in tasks {
        let (o, b, f, l, d) = t.await??;
        ok += o;
        busy.extend(b);
        failed += f;
        latencies.extend(l);
        lateness.extend(d);
    }
    lateness.sort_unstable();
    let elapsed = start.elapsed();
    watch.abort();
    latencies.sort_unstable();
    busy.sort_unstable();
    let sent = ok + busy.len() as u64 + failed;
    eprintln!(
        "  {name}: {rate:.0}/s asked, {:.0}/s sent; 503 answered in p50 {:.2} ms, p99 {:.2} ms; \
         accepted ones answered p99 {:.2} ms after they were due",
        sent as f64 / elapsed.as_secs_f64(),
        support::quantile_ms(&busy, 0.50),
        support::quantile_ms(&busy, 0.99),
        support::quantile_ms(&lateness, 0.99),
    );
    Ok(Phase {
        name: name.into(),
        ok,
        busy: busy.len() as u64,
        failed,
        elapsed,
        latencies,
        cpu: cpu_seconds() - cpu,
        rss: rss.load(std::sync::atomic::Ordering::Relaxed),
        offered: Some(sent as f64 / elapsed.as_secs_f64()),
    })
}

/// The storage limit: the same scans through `write_many` in batches of 1,000, back to back.
async fn storage(
    db: &Db,
    sampler: i64,
    f: &Fixture,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let (mut ok, mut failed, mut latencies, mut i) = (0u64, 0u64, Vec::new(), 0u64);
    // What the writer remembers between batches, as the server's writer does.
    let mut memory = huoyan::testing::TubeMemory::default();
    while Instant::now() < deadline {
        // The same rows in the same order as the HTTP load sends them: the k-th scan of every
        // connection in turn, each connection into its own tubes.
        let batch: Vec<Scan> = (i..i + 1000)
            .map(|j| {
                let (c, n) = ((j % clients as u64) as usize, j / clients as u64 + 1);
                let at = f.scan_of(c, clients, n);
                Scan {
                    account_id: sampler,
                    scope_path: None,
                    key: uuid::Uuid::now_v7().to_string(),
                    tube: Barcode::parse(&f.tube(at)).expect("a barcode"),
                    code: HealthCode::parse(&f.code(at)).expect("a code"),
                    at_ms: 0,
                }
            })
            .collect();
        i += 1000;
        let t = Instant::now();
        let answers = huoyan::testing::write_many(db, &mut memory, &batch).await?;
        latencies.push(support::micros(t.elapsed()));
        for a in answers {
            if a.is_ok() { ok += 1 } else { failed += 1 }
        }
    }
    latencies.sort_unstable();
    Ok(Phase {
        name: "storage (batches of 1,000)".into(),
        ok,
        busy: 0,
        failed,
        elapsed: start.elapsed(),
        latencies,
        cpu: cpu_seconds() - cpu,
        rss: resident_bytes(),
        offered: None,
    })
}

/// The group-commit writer without HTTP: `clients` tasks each sending its scans through
/// `testing::Ingest` as the route does, back to back.
async fn writer(
    db: &Db,
    sampler: i64,
    f: &Fixture,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let deadline = start + Duration::from_secs(seconds);
    let ingest = Arc::new(huoyan::testing::Ingest::new(db));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (ingest, f) = (ingest.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut busy, mut failed, mut lat) =
                (0u64, 0u64, 0u64, Vec::with_capacity(1 << 12));
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let i = f.scan_of(c, clients, n);
                let scan = Scan {
                    account_id: sampler,
                    scope_path: None,
                    key: format!("writer-{c}-{n}"),
                    tube: Barcode::parse(&f.tube(i)).expect("a barcode"),
                    code: HealthCode::parse(&f.code(i)).expect("a code"),
                    at_ms: 0,
                };
                let t = Instant::now();
                match ingest.scan(scan).await {
                    Ok(_) => ok += 1,
                    Err(huoyan::error::AppError::Busy) => busy += 1,
                    Err(_) => failed += 1,
                }
                lat.push(support::micros(t.elapsed()));
            }
            (ok, busy, failed, lat)
        }));
    }
    let (mut ok, mut busy, mut failed, mut latencies) = (0, 0, 0, Vec::new());
    for t in tasks {
        let (o, b, f, l) = t.await?;
        ok += o;
        busy += b;
        failed += f;
        latencies.extend(l);
    }
    latencies.sort_unstable();
    Ok(Phase {
        name: "writer (no HTTP)".into(),
        ok,
        busy,
        failed,
        elapsed: start.elapsed(),
        latencies,
        cpu: cpu_seconds() - cpu,
        rss: resident_bytes(),
        offered: None,
    })
}

/// Checks that round `f.round` holds exactly `acknowledged` scans, each key once, and that every
/// tube holds its added scans and no more than its capacity.
async fn check(db: &Db, f: &Fixture, acknowledged: u64, label: &str) -> anyhow::Result<()> {
    let one = |sql: &str| {
        let sql = sql.to_string();
        let pool = db.pool.clone();
        let round = f.round;
        async move {
            anyhow::Ok(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(round)
                    .fetch_one(&pool)
                    .await?
                    .try_get::<i64, _>(0)?,
            )
        }
    };
    let stored = one("SELECT COUNT(*) FROM scans WHERE round_id = $1").await?;
    let keys = one("SELECT COUNT(DISTINCT idempotency_key) FROM scans WHERE round_id = $1").await?;
    let over = one("SELECT COUNT(*) FROM tubes WHERE round_id = $1 AND count > capacity").await?;
    let wrong = one(
        "SELECT COUNT(*) FROM tubes t WHERE t.round_id = $1 AND t.count <> \
         (SELECT COUNT(*) FROM scans s WHERE s.tube_id = t.id AND s.outcome = 'added')",
    )
    .await?;
    let twice = one(
        "SELECT COUNT(*) FROM (SELECT resident_id FROM scans WHERE round_id = $1 AND outcome = 'added' \
         GROUP BY resident_id HAVING COUNT(*) > 1) AS d",
    )
    .await?;
    eprintln!(
        "  {label}: {acknowledged} acknowledged, {stored} stored ({keys} keys); tubes over capacity {over}, miscounted {wrong}; residents added twice {twice}"
    );
    anyhow::ensure!(
        stored == acknowledged as i64 && keys == stored && over == 0 && wrong == 0 && twice == 0,
        "{label}: the stored scans are not the acknowledged ones"
    );
    Ok(())
}

async fn noop(body: Bytes) -> &'static str {
    std::hint::black_box(body);
    "{}"
}

async fn bench(args: &Args, backend: Backend) -> anyhow::Result<Vec<Phase>> {
    let label = support::label(backend);
    eprintln!("{label}: loading the demo");
    let name = format!("huoyan_scans_{}", std::process::id());
    let (db, dropper) =
        support::fresh(backend, &args.dir, &args.pg, &name, support::random_key()).await?;
    huoyan::demo::load(&db, None, &mut |_| {}).await?;
    let sampler: i64 = sqlx::query("SELECT id FROM accounts WHERE username = 'sampler'")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    let point: i64 = {
        let site: i64 = sqlx::query("SELECT id FROM sites WHERE name = '景程小区核酸采样点'")
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        // The demo's own point there (its nine days of testing sampled at it).
        sqlx::query("SELECT id FROM testing_points WHERE site_id = $1")
            .bind(site)
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?
    };
    let state = huoyan::app::App::new(db.clone(), Default::default());
    let app = Router::new()
        .route("/bench/noop", post(noop))
        .merge(huoyan::app::router(&state));
    let (addr, server) = support::serve(app).await?;
    let token = login(addr, "sampler").await?;
    let residents = args.per_client * args.clients as u64;
    let run = |phase: &str| args.phases.iter().any(|p| p == phase);
    let mut phases: Vec<Phase> = Vec::new();
    if run("no-op") {
        eprintln!("{label}: no-op route");
        let f = Fixture {
            round: 0,
            residents,
        };
        phases.push(
            closed(
                "no-op",
                addr,
                "/bench/noop",
                &token,
                &f,
                args.clients,
                args.seconds,
            )
            .await?,
        );
    }
    if run("http") {
        eprintln!("{label}: seeding {residents} residents");
        let f = fixture(&db, sampler, point, residents, args.clients).await?;
        eprintln!("{label}: POST /api/v1/testing/scans");
        let p = closed(
            "http",
            addr,
            "/api/v1/testing/scans",
            &token,
            &f,
            args.clients,
            args.seconds,
        )
        .await?;
        check(&db, &f, p.ok, "http").await?;
        phases.push(p);
    }
    if run("writer") {
        let f = fixture(&db, sampler, point, residents, args.clients).await?;
        eprintln!("{label}: the writer without HTTP");
        let p = writer(&db, sampler, &f, args.clients, args.seconds).await?;
        check(&db, &f, p.ok, "writer").await?;
        phases.push(p);
    }
    if run("storage") {
        let f = fixture(&db, sampler, point, residents, args.clients).await?;
        eprintln!("{label}: storage");
        let p = storage(&db, sampler, &f, args.clients, args.seconds).await?;
        check(&db, &f, p.ok, "storage").await?;
        phases.push(p);
    }
    if run("overload") {
        let base = phases
            .iter()
            .find(|p| p.name == "http")
            .map_or(10_000.0, Phase::rate);
        let f = fixture(&db, sampler, point, residents, args.clients).await?;
        let rate = base * args.overload;
        eprintln!("{label}: overload, {rate:.0} offered a second");
        let p = open_loop(
            &format!("overload ×{}", args.overload),
            addr,
            &token,
            &f,
            (args.clients, args.overload_clients),
            args.seconds,
            rate,
        )
        .await?;
        check(&db, &f, p.ok, "overload").await?;
        phases.push(p);
    }
    if run("replay") {
        eprintln!("{label}: seeding a city round of {} residents", args.replay);
        let f = fixture(&db, sampler, point, args.replay, args.clients).await?;
        let per = args.replay / args.clients as u64;
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let runs = {
            let (token, f2) = (token.clone(), f.clone());
            let clients = args.clients;
            let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (token, f2, counter) = (token.clone(), f2.clone(), counter.clone());
                tasks.push(tokio::spawn(async move {
                    let mut sender = support::connect(addr).await?;
                    let (mut ok, mut other) = (0u64, 0u64);
                    let mut n = 0;
                    while n < per {
                        let i = c as u64 * per + n;
                        let req = request(
                            "/api/v1/testing/scans",
                            &token,
                            scan_body(&f2, i, &uuid::Uuid::now_v7().to_string()),
                        )?;
                        let (status, _) = support::send(&mut sender, req).await?;
                        match status.as_u16() {
                            200 => {
                                ok += 1;
                                n += 1;
                                let done =
                                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                                if done % 200_000 == 0 {
                                    eprintln!("  replay: {done} scans");
                                }
                            }
                            // Busy: the scanner sends the same scan again.
                            503 => tokio::time::sleep(Duration::from_millis(50)).await,
                            _ => {
                                other += 1;
                                n += 1;
                            }
                        }
                    }
                    anyhow::Ok((ok, other))
                }));
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await??);
            }
            out
        };
        let ok: u64 = runs.iter().map(|r| r.0).sum();
        let failed: u64 = runs.iter().map(|r| r.1).sum();
        let p = Phase {
            name: format!("replay of {} scans", per * args.clients as u64),
            ok,
            busy: 0,
            failed,
            elapsed: start.elapsed(),
            latencies: Vec::new(),
            cpu: cpu_seconds() - cpu,
            rss: resident_bytes(),
            offered: None,
        };
        check(&db, &f, p.ok, "replay").await?;
        eprintln!("  replay took {:.1} s", p.elapsed.as_secs_f64());
        phases.push(p);
    }
    let verdict = huoyan::audit::verify(&db).await?;
    eprintln!("{label}: audit chain {verdict:?}");
    anyhow::ensure!(
        matches!(verdict, huoyan::audit::Verdict::Intact { .. }),
        "the audit chain does not verify"
    );
    server.abort();
    support::drop_db(backend, &args.pg, db, &dropper).await?;
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
        "{} connections, {} s a phase, {} cores, load generator and server in one process",
        args.clients,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = Vec::new();
    for backend in backends {
        rows.push((backend, bench(&args, backend).await?));
    }
    println!(
        "| backend | phase | offered /s | scans ok | busy (503) | failed | scans /s | p50 ms | p99 ms | cores busy | peak RSS MB | s |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (backend, phases) in &rows {
        for p in phases {
            println!(
                "| {backend:?} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.1} |",
                p.name,
                p.offered.map_or("–".into(), |o| format!("{o:.0}")),
                p.ok,
                p.busy,
                p.failed,
                p.rate(),
                support::quantile_ms(&p.latencies, 0.50),
                support::quantile_ms(&p.latencies, 0.99),
                p.cpu / p.elapsed.as_secs_f64(),
                p.rss as f64 / 1e6,
                p.elapsed.as_secs_f64()
            );
        }
    }
    println!();
    for (backend, phases) in &rows {
        let rate = |name: &str| {
            phases
                .iter()
                .find(|p| p.name.starts_with(name))
                .map(Phase::rate)
        };
        if let (Some(http), Some(noop), Some(storage)) =
            (rate("http"), rate("no-op"), rate("storage"))
        {
            println!(
                "{backend:?}: http / no-op = {:.3}, http / storage = {:.3}, http / lower limit = {:.3}",
                http / noop,
                http / storage,
                http / noop.min(storage)
            );
        }
    }
    Ok(())
}
