//! `huoyan copy --to postgres://…`: a whole SQLite database copied into a new, empty PostgreSQL
//! database, for a city that outgrows the embedded default (and for measuring PostgreSQL at the
//! size a SQLite database reached).
//!
//! The source is read in one read transaction, so a server may keep writing meanwhile and the
//! copy holds exactly what was committed when it began; the destination is written in one
//! transaction, so an interrupted copy leaves it empty. The tables, their columns and types and
//! the order that foreign keys impose are read from the destination's schema, which the same
//! migrations made, so a new table is copied without a change here. A column that refers to its
//! own table (a case merged into a later one) is written in a second pass, once every row it may
//! name is there. Then the identity sequences continue after the copied ids, the planner's
//! statistics are gathered and the copy's audit chain is verified with the key that sealed it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use anyhow::{Context, bail};
use huoyan_core::audit::seal::AuditKey;
use sqlx::{AssertSqlSafe, Row};

use crate::audit::Verdict;
use crate::db::{Backend, Db, normalise_url, redact};

/// Most values bound in one INSERT (PostgreSQL takes up to 65,535).
const BINDS: usize = 16_384;
/// A table's progress is told every so many rows.
const PROGRESS: u64 = 250_000;

/// How a column's values travel: read from SQLite as, and bound for PostgreSQL as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Text,
    Json,
    Bytes,
}

impl Kind {
    fn of(table: &str, column: &str, pg_type: &str) -> anyhow::Result<Kind> {
        Ok(match pg_type {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "double precision" | "real" => Kind::Float,
            "text" => Kind::Text,
            "json" | "jsonb" => Kind::Json,
            "bytea" => Kind::Bytes,
            other => bail!("{table}.{column} has type {other}, which the copy does not know"),
        })
    }
}

struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    /// Columns that refer to this table itself, written after its rows.
    own_refs: Vec<String>,
    identity: Option<String>,
    /// The primary key's columns.
    key: Vec<String>,
}

/// Copies SQLite database `from` into PostgreSQL database `to` (migrated here if it is not), which
/// must hold no data yet. `report` is told each table's progress.
pub async fn run(
    from: &str,
    to: &str,
    key: AuditKey,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<Verdict> {
    if normalise_url(from).1 != Backend::Sqlite {
        bail!(
            "the source must be a SQLite database (--db), not {}",
            redact(from)
        );
    }
    if normalise_url(to).1 != Backend::Postgres {
        bail!("the destination must be a postgres:// URL (--to), not {to}");
    }
    if !from.starts_with("sqlite:") && !std::path::Path::new(from).is_file() {
        bail!("no SQLite database at {from} (name it with --db)");
    }
    // Both at the same schema: the source as `serve` would leave it, the destination made so.
    let source = Db::connect_and_migrate(from).await?;
    let dest = Db::connect_and_migrate(to).await?.with_audit_key(key);
    let tables = tables(&dest).await?;
    let mut read = source.pool.begin().await?;
    let mut write = dest.pool.begin().await?;
    // Every write through Huoyan moves the audit chain's head: a head at 0 is a database that
    // holds only what its migrations put there.
    // Locked, as every writer locks it first: a server or a second copy waits for this one.
    let head: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *write)
        .await?
        .try_get(0)?;
    if head != 0 {
        bail!(
            "{} already holds data (its audit trail has {head} events); copy into a new, empty database",
            redact(to)
        );
    }
    // The migrations' own rows (the chain's empty head) give way to the source's, last, once the
    // events a head must name are there.
    let mut seeded = Vec::new();
    for t in &tables {
        let holds: bool = sqlx::query(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {})",
            t.name
        )))
        .fetch_one(&mut *write)
        .await?
        .try_get(0)?;
        if holds {
            seeded.push(t.name.clone());
        }
    }
    let (last, first): (Vec<&Table>, Vec<&Table>) =
        tables.iter().partition(|t| seeded.contains(&t.name));
    for t in first.into_iter().chain(last) {
        let replace = seeded.contains(&t.name);
        if replace && t.key.is_empty() {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", t.name)))
                .execute(&mut *write)
                .await?;
        }
        let started = Instant::now();
        let upsert = replace && !t.key.is_empty();
        let rows = copy_table(&mut read, &mut write, t, upsert, &mut *report).await?;
        report(&format!(
            "{}: {rows} rows ({:.0}/s)",
            t.name,
            rows as f64 / started.elapsed().as_secs_f64().max(1e-3)
        ));
    }
    for t in &tables {
        if let Some(id) = &t.identity {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{0}', '{id}'), COALESCE(MAX({id}), 0) + 1, false) FROM {0}",
                t.name
            )))
            .fetch_one(&mut *write)
            .await?;
        }
    }
    write.commit().await?;
    read.rollback().await?;
    sqlx::query("ANALYZE").execute(&dest.pool).await?;
    crate::audit::verify(&dest).await
}

/// The destination's tables (but sqlx's own, and those derived from the others, which the
/// application rebuilds: their comment begins `derived:`) in an order in which each comes after
/// those it refers to.
async fn tables(dest: &Db) -> anyhow::Result<Vec<Table>> {
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_identity::text \
         FROM information_schema.columns c \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
           AND EXISTS (SELECT 1 FROM information_schema.tables t WHERE t.table_schema = c.table_schema \
                       AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE') \
           AND COALESCE(obj_description(format('%I.%I', c.table_schema, c.table_name)::regclass, 'pg_class'), '') \
               NOT LIKE 'derived:%' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&dest.pool)
    .await?;
    let mut by_name: BTreeMap<String, Table> = BTreeMap::new();
    for r in columns {
        let (table, column, pg_type, identity): (String, String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let kind = Kind::of(&table, &column, &pg_type)?;
        let t = by_name.entry(table.clone()).or_insert_with(|| Table {
            name: table,
            columns: Vec::new(),
            own_refs: Vec::new(),
            identity: None,
            key: Vec::new(),
        });
        if identity == "YES" {
            t.identity = Some(column.clone());
        }
        t.columns.push((column, kind));
    }
    let keys = sqlx::query(
        "SELECT t.relname::text, a.attname::text \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indisprimary AND t.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&dest.pool)
    .await?;
    for r in keys {
        let (table, column): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        if let Some(t) = by_name.get_mut(&table) {
            t.key.push(column);
        }
    }
    let refs = sqlx::query(
        "SELECT f.relname::text, p.relname::text, a.attname::text \
         FROM pg_constraint c JOIN pg_class f ON f.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&dest.pool)
    .await?;
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in refs {
        let (from, to, column): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if from == to {
            if let Some(t) = by_name.get_mut(&from) {
                t.own_refs.push(column);
            }
        } else {
            needs.entry(from).or_default().insert(to);
        }
    }
    let mut ordered = Vec::with_capacity(by_name.len());
    while !by_name.is_empty() {
        let ready: Vec<String> = by_name
            .keys()
            .filter(|t| {
                needs
                    .get(*t)
                    .is_none_or(|n| n.iter().all(|d| !by_name.contains_key(d)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            bail!(
                "the tables {:?} refer to each other in a circle",
                by_name.keys().collect::<Vec<_>>()
            );
        }
        for name in ready {
            ordered.extend(by_name.remove(&name));
        }
    }
    Ok(ordered)
}

/// Copies one table a page at a time in rowid order; returns its row count.
async fn copy_table(
    read: &mut sqlx::Transaction<'static, sqlx::Any>,
    write: &mut sqlx::Transaction<'static, sqlx::Any>,
    t: &Table,
    upsert: bool,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<u64> {
    let select = t
        .columns
        .iter()
        .map(|(c, kind)| match kind {
            // SQLite keeps a whole number written to a REAL column as an integer.
            Kind::Float => format!("CAST({c} AS REAL)"),
            _ => c.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Files are kept in the database: a page of them is held in memory at once.
    let page = if t.columns.iter().any(|(_, k)| *k == Kind::Bytes) {
        32
    } else {
        (BINDS / t.columns.len()).max(1)
    };
    let id_at = t
        .identity
        .as_ref()
        .and_then(|id| t.columns.iter().position(|(c, _)| c == id));
    let names = t
        .columns
        .iter()
        .map(|(c, _)| c.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    // A row the migrations wrote is updated in place (the chain's head may only move forward).
    let on_conflict = if upsert {
        format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            t.key.join(", "),
            t.columns
                .iter()
                .filter(|(c, _)| !t.key.contains(c))
                .map(|(c, _)| format!("{c} = EXCLUDED.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let mut after = i64::MIN;
    let mut copied = 0u64;
    let mut deferred: Vec<(i64, Vec<Option<i64>>)> = Vec::new();
    loop {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT rowid, {select} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT {page}",
            t.name
        )))
        .bind(after)
        .fetch_all(&mut **read)
        .await
        .with_context(|| format!("reading {}", t.name))?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        let mut text = format!("INSERT INTO {} ({names}) VALUES ", t.name);
        let mut n = 0;
        for (i, _) in rows.iter().enumerate() {
            text.push_str(if i == 0 { "(" } else { ", (" });
            for (c, (_, kind)) in t.columns.iter().enumerate() {
                n += 1;
                text.push_str(&format!(
                    "{}${n}{}",
                    if c == 0 { "" } else { ", " },
                    if *kind == Kind::Json { "::json" } else { "" }
                ));
            }
            text.push(')');
        }
        text.push_str(&on_conflict);
        let mut insert = sqlx::query(AssertSqlSafe(text)).persistent(false);
        for r in &rows {
            let mut own = Vec::new();
            for (c, (name, kind)) in t.columns.iter().enumerate() {
                let at = c + 1;
                if t.own_refs.contains(name) {
                    own.push(r.try_get::<Option<i64>, _>(at)?);
                    insert = insert.bind(None::<i64>);
                    continue;
                }
                insert = match kind {
                    Kind::Int => insert.bind(r.try_get::<Option<i64>, _>(at)?),
                    Kind::Float => insert.bind(r.try_get::<Option<f64>, _>(at)?),
                    Kind::Text | Kind::Json => insert.bind(r.try_get::<Option<String>, _>(at)?),
                    Kind::Bytes => insert.bind(r.try_get::<Option<Vec<u8>>, _>(at)?),
                };
            }
            if own.iter().any(Option::is_some) {
                let id_at =
                    id_at.with_context(|| format!("{} refers to itself but has no id", t.name))?;
                deferred.push((r.try_get(id_at + 1)?, own));
            }
        }
        insert
            .execute(&mut **write)
            .await
            .with_context(|| format!("writing {}", t.name))?;
        let before = copied;
        copied += rows.len() as u64;
        if copied / PROGRESS > before / PROGRESS {
            report(&format!("{}: {copied} rows so far", t.name));
        }
    }
    if let Some(id) = t.identity.as_deref().filter(|_| !deferred.is_empty()) {
        let set = t
            .own_refs
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let update = format!("UPDATE {} SET {set} WHERE {id} = $1", t.name);
        for (row_id, values) in deferred {
            let mut q = sqlx::query(AssertSqlSafe(update.clone())).bind(row_id);
            for v in values {
                q = q.bind(v);
            }
            q.execute(&mut **write).await?;
        }
    }
    Ok(copied)
}
