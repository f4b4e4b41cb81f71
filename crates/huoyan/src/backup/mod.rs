//! `huoyan backup`: a consistent copy of a live SQLite database, checked before it is trusted.
//!
//! The copy is made with `VACUUM INTO`, which reads the database in one read transaction: in WAL
//! mode the server keeps writing meanwhile, and the copy holds exactly the transactions committed
//! before that read began (a prefix of the audit chain, with the rows its events record). Copying
//! the file with `cp` is not a backup: recent commits live in the `-wal` file beside it.
//!
//! The copy is written under a temporary name, flushed to disk, checked (SQLite's integrity check
//! and the audit chain) and only then linked under the name asked for, which must not exist: an
//! interrupted backup never leaves a half-written file under a name that looks finished, and no
//! backup overwrites another.
//!
//! PostgreSQL has its own tools for this (`pg_dump -Fc`, `pg_restore`); the command says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use sqlx::Row;
use sqlx::any::AnyPoolOptions;

use huoyan_core::audit::seal::AuditKey;

use crate::audit::Verdict;
use crate::db::{Backend, Db, normalise_url, redact};

pub mod to_postgres;

/// What an operator is told to do for a PostgreSQL database.
pub const POSTGRES_ADVICE: &str = "\
huoyan backup copies SQLite databases only. Back up PostgreSQL with its own tools, while the server runs:
  pg_dump -Fc --file=huoyan.dump 'postgres://USER@HOST/DB'
and restore into a new, empty database with the server stopped:
  createdb -O USER -T template0 NEWDB
  pg_restore --no-owner --no-privileges --exit-on-error -d 'postgres://USER@HOST/NEWDB' huoyan.dump
  huoyan audit verify --db 'postgres://USER@HOST/NEWDB'
then start the server on NEWDB. See README.md, \"Backup and restore\".";

/// Backs up database `db` (what `--db` names) to the new file `to`. Exit code 0 when the copy is
/// made and its audit chain is intact; 2 when the copy is made but its chain is broken (as is the
/// database's); an error when no copy could be made.
pub async fn run(db: &str, to: &Path, key: AuditKey) -> anyhow::Result<ExitCode> {
    if normalise_url(db).1 == Backend::Postgres {
        eprintln!(
            "{} is a PostgreSQL database.\n{POSTGRES_ADVICE}",
            redact(db)
        );
        return Ok(ExitCode::FAILURE);
    }
    if !db.starts_with("sqlite:") && !Path::new(db).is_file() {
        bail!("no SQLite database at {db} (name it with --db)");
    }
    if to.exists() {
        bail!(
            "{} already exists; a backup never overwrites a file, name a new one",
            to.display()
        );
    }
    let partial = partial_name(to)?;
    let result = copy_and_check(db, &partial, key).await;
    let verdict = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // A hard link, unlike a rename, fails when the name was taken meanwhile.
    let linked = std::fs::hard_link(&partial, to);
    let _ = std::fs::remove_file(&partial);
    linked.with_context(|| format!("cannot create {}", to.display()))?;
    sync_dir(to)?;
    let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(match verdict {
        Verdict::Intact { events, .. } => {
            println!(
                "backed up {} to {} ({size} bytes): {events} audit events, chain intact",
                redact(db),
                to.display()
            );
            ExitCode::SUCCESS
        }
        Verdict::Broken(finding) => {
            println!(
                "copied {} to {}, but its audit trail is BROKEN: {finding}; the database itself is broken the same way",
                redact(db),
                to.display()
            );
            ExitCode::from(2)
        }
    })
}

/// A name beside `to` (same directory, so same file system for the link) that does not exist.
fn partial_name(to: &Path) -> anyhow::Result<PathBuf> {
    let name = to
        .file_name()
        .with_context(|| format!("{} names no file", to.display()))?
        .to_string_lossy();
    Ok(to.with_file_name(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        crate::time::now_ms()
    )))
}

/// Writes the copy to `partial`, flushes it to disk and checks it.
async fn copy_and_check(db: &str, partial: &Path, key: AuditKey) -> anyhow::Result<Verdict> {
    let source = Db::connect(db).await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&source.pool)
        .await;
    source.pool.close().await;
    copied.with_context(|| format!("cannot copy {} to {}", redact(db), partial.display()))?;
    // SQLite does not flush the file VACUUM INTO writes.
    std::fs::File::open(partial)?.sync_all()?;
    // Read only: checking the copy must not change it (no WAL switch, no -wal file left beside).
    let copy = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", partial.display()))
        .await
        .with_context(|| format!("cannot open the copy {}", partial.display()))?;
    let copy = Db {
        pool: copy,
        backend: Backend::Sqlite,
        audit_key: None,
    }
    .with_audit_key(key);
    let checked = check(&copy).await;
    copy.pool.close().await;
    checked
}

async fn check(copy: &Db) -> anyhow::Result<Verdict> {
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&copy.pool)
        .await?
        .try_get(0)?;
    if integrity != "ok" {
        bail!("the copy fails SQLite's integrity check: {integrity}");
    }
    crate::audit::verify(copy).await
}

/// Makes the new directory entry durable.
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
