//! The case generator (`huoyan demo --cases N`): cases per second written step by step through
//! the application's functions (the baseline: `cases::take` for each step) and many rows to a
//! statement (`cases::bulk`, what the command runs), on SQLite and PostgreSQL, each into a fresh
//! database, in one run. Both write the same rows (`tests/api/generator.rs`). Run with
//! `bench/generator.sh`.

// The server's allocator (see src/main.rs), so that the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use huoyan::db::Backend;
use huoyan::demo::Replay;
use sqlx::Row;

#[derive(Parser, Debug)]
#[command(about = "The case generator: step by step against many rows to a statement")]
struct Args {
    /// About this many cases for each writer and backend.
    #[arg(long, default_value_t = 20_000)]
    cases: usize,
    /// Backends to measure: sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// A PostgreSQL URL with the right to create databases (trust auth).
    #[arg(
        long,
        env = "HUOYAN_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg: String,
    /// Folder for the throwaway SQLite files; it must be on a real disk.
    #[arg(long, default_value = "/var/tmp")]
    dir: PathBuf,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backends = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    println!(
        "| backend | writer | cases | seconds | cases/s | CPU s (this process) | batched / steps |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for backend in backends {
        let mut steps_rate = None;
        for (how, label) in [
            (Replay::Steps, "step by step"),
            (Replay::Batched, "batched"),
        ] {
            let name = format!("huoyan_generator_{}", std::process::id());
            let (db, made) =
                support::fresh(backend, &args.dir, &args.pg, &name, support::random_key()).await?;
            let (cpu, started) = (support::cpu_seconds(), Instant::now());
            huoyan::demo::load_with(&db, Some(args.cases), how, &mut |_| {}).await?;
            let seconds = started.elapsed().as_secs_f64();
            let cpu = support::cpu_seconds() - cpu;
            let cases: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
                .fetch_one(&db.pool)
                .await?
                .try_get(0)?;
            let rate = cases as f64 / seconds;
            let ratio = match (how, steps_rate) {
                (Replay::Batched, Some(s)) => format!("{:.2}", rate / s),
                _ => String::new(),
            };
            println!(
                "| {} | {label} | {cases} | {seconds:.1} | {rate:.0} | {cpu:.1} | {ratio} |",
                support::label(backend)
            );
            if how == Replay::Steps {
                steps_rate = Some(rate);
            }
            support::drop_db(backend, &args.pg, db, &made).await?;
        }
    }
    Ok(())
}
