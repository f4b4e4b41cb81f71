//! The index behind the case list's search: every text the search reads (a timeline entry's
//! note, the report's address with its description) as the set of its adjacent character pairs.
//!
//! A search word is a substring, and Chinese has no spaces for a word index to split on; a word
//! of two characters or more holds every pair of its own, so the entries holding all of them are
//! a superset of those holding the word, which the list's LIKE then checks. A rare word so reads
//! a few entries instead of the whole timeline (6.4 s a page at 292,530 cases before). Each
//! backend keeps the pairs in its own full-text index, as tokens of plain ASCII (`g` and the
//! pair's code points in hex) so that neither's tokenizer splits or folds them: SQLite's FTS5,
//! contentless and without positions, and PostgreSQL's GIN over a stripped `tsvector`. Written
//! once per entry (entries are never edited), by the same transaction that writes the entry;
//! entries older than the index are indexed by `backfill`, a job beside the server.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::audit::Change;
use crate::db::{Backend, Db, Sql};
use crate::error::AppResult;

/// A word whose pairs are all in this many entries or more is common enough that the list's
/// newest-first scan meets its cases soon, which costs less than collecting every match (小区 is
/// in most reports).
pub const COMMON: i64 = 20_000;

/// Entries indexed by one transaction of the backfill.
const BACKFILL_BATCH: i64 = 5_000;

/// Rows in one INSERT into the index.
const ROWS_PER_INSERT: usize = 500;

/// The distinct pairs of adjacent characters in `text`, lower-cased character by character (so
/// that a text's pairs hold those of any of its substrings, whichever case either was typed in),
/// as space-separated tokens. Pairs across white space are left out: a search word has none.
pub fn tokens(text: &str) -> String {
    let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let pairs: BTreeSet<u64> = chars
        .windows(2)
        .filter(|w| !w[0].is_whitespace() && !w[1].is_whitespace())
        .map(|w| (u64::from(w[0]) << 21) | u64::from(w[1]))
        .collect();
    let mut out = String::with_capacity(pairs.len() * 12);
    for p in pairs {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("g{p:x}"));
    }
    out
}

/// Indexes timeline entries given as (entry id, case id, text), in `change`.
pub async fn index(change: &mut Change, entries: &[(i64, i64, String)]) -> AppResult<()> {
    let backend = change.backend();
    write(&mut change.tx, backend, entries).await
}

/// Writes the index's rows of `entries` on `conn`.
async fn write(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    entries: &[(i64, i64, String)],
) -> AppResult<()> {
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        insert(backend, chunk).query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One INSERT of the index's rows of `chunk`.
fn insert(backend: Backend, chunk: &[(i64, i64, String)]) -> Sql {
    let mut sql = Sql::new(match backend {
        Backend::Sqlite => "INSERT INTO case_search (rowid, grams) VALUES ",
        Backend::Postgres => "INSERT INTO case_search (entry_id, case_id, grams) VALUES ",
    });
    for (i, (entry, case, text)) in chunk.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind_for(backend, *entry);
        if backend == Backend::Postgres {
            sql.push(", ").bind_for(backend, *case);
            sql.push(", strip(to_tsvector('simple', ")
                .bind_for(backend, tokens(text))
                .push("))");
        } else {
            sql.push(", ").bind_for(backend, tokens(text));
        }
        sql.push(")");
    }
    if backend == Backend::Postgres {
        // The backfill may meet an entry the application indexed meanwhile.
        sql.push(" ON CONFLICT (entry_id) DO NOTHING");
    }
    sql
}

/// For each search word, the tokens to narrow the cases by through the index, or `None` where
/// the list should scan instead: the index is not complete yet, the word is one character (it
/// has no pair), or its pairs are common (`COMMON`).
pub async fn narrowing(db: &Db, words: &[String]) -> AppResult<Vec<Option<String>>> {
    if words.is_empty() || !complete(db).await? {
        return Ok(vec![None; words.len()]);
    }
    let statistics = analysed(db).await?;
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        let t = tokens(word);
        if t.is_empty() || (statistics && common_by_statistics(db, &t).await?) {
            out.push(None);
            continue;
        }
        let mut probe = Sql::new("SELECT COUNT(*) FROM (SELECT 1 FROM case_search WHERE ");
        matches(&mut probe, db.backend, &t);
        probe.push(" LIMIT ").bind(COMMON).push(") AS m");
        let n: i64 = probe.query().fetch_one(&db.pool).await?.try_get(0)?;
        out.push((n < COMMON).then_some(t));
    }
    Ok(out)
}

/// Whether PostgreSQL keeps statistics of the index's most common pairs (ANALYZE has run), so
/// that `common_by_statistics` may be asked. Without them the planner guesses a fixed share of
/// the rows for any word, which on a large table would call every word common. SQLite: never
/// (its probe of FTS5 stops at its LIMIT, so it needs no shortcut).
async fn analysed(db: &Db) -> AppResult<bool> {
    if db.backend != Backend::Postgres {
        return Ok(false);
    }
    Ok(sqlx::query(
        "SELECT 1 FROM pg_stats WHERE tablename = 'case_search' AND attname = 'grams' \
         AND most_common_elems IS NOT NULL AND schemaname = current_schema()",
    )
    .fetch_optional(&db.pool)
    .await?
    .is_some())
}

/// Whether PostgreSQL's statistics of the index (the most common pairs and how often each is
/// in an entry) say that entries holding every one of `tokens` are plainly common: at least
/// twice `COMMON`. The probe that counts them reads a pair's whole posting list whatever its
/// LIMIT, 100–170 ms for 蔬菜's 221,112 entries at 990,188 cases, the most of such a search's
/// time; the planner's estimate costs a plan (the same word: 220,480). Only a shortcut past the
/// probe: a word the statistics do not know, or estimate lower, is probed. Entries are never
/// removed, so statistics older than the table only count low. Only where `analysed`.
async fn common_by_statistics(db: &Db, tokens: &str) -> AppResult<bool> {
    let mut plan = Sql::new("EXPLAIN SELECT 1 FROM case_search WHERE ");
    matches(&mut plan, db.backend, tokens);
    let top: String = plan.query().fetch_one(&db.pool).await?.try_get(0)?;
    Ok(estimated_rows(&top).is_some_and(|rows| rows >= 2 * COMMON))
}

/// The rows estimated on the top line of a PostgreSQL plan (`… (cost=0.00..1.00 rows=42
/// width=4)`).
fn estimated_rows(line: &str) -> Option<i64> {
    let after = &line[line.find(" rows=")? + 6..];
    after[..after.find(|c: char| !c.is_ascii_digit())?]
        .parse()
        .ok()
}

/// The condition on `case_search` that its entry holds every one of `tokens`.
fn matches(sql: &mut Sql, backend: Backend, tokens: &str) {
    match backend {
        Backend::Sqlite => sql.push("case_search MATCH ").bind(tokens.to_string()),
        Backend::Postgres => sql
            .push("case_search.grams @@ plainto_tsquery('simple', ")
            .bind(tokens.to_string())
            .push(")"),
    };
}

/// Narrows a filter on `cases` to the cases with an entry holding every one of `tokens`.
pub fn narrow(sql: &mut Sql, backend: Backend, tokens: &str) {
    let (open, close) = match backend {
        Backend::Sqlite => (
            " AND cases.id IN (SELECT ce.case_id FROM case_search JOIN case_events ce ON ce.id = case_search.rowid WHERE ",
            ")",
        ),
        // An array read first, not an IN: PostgreSQL cannot estimate how many entries hold a
        // pair, and guessing thousands it walked the newest cases testing each against the
        // list, through every case for a word in none (8.5 s at 627,026 cases; 8.5 ms so).
        Backend::Postgres => (
            " AND cases.id = ANY(ARRAY(SELECT case_search.case_id FROM case_search WHERE ",
            "))",
        ),
    };
    sql.push(open);
    matches(sql, backend, tokens);
    sql.push(close);
}

/// Whether every entry is indexed.
async fn complete(db: &Db) -> AppResult<bool> {
    let row = sqlx::query("SELECT through, upto FROM case_search_backfill WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>(0)? >= row.try_get::<i64, _>(1)?)
}

/// Makes a database whose entries were copied without their index (`huoyan copy`) index them
/// again: called before the server takes writes.
pub async fn check(db: &Db) -> AppResult<()> {
    let held: i64 = sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM case_search LIMIT 1) AS one")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    if held == 0 {
        sqlx::query(
            "UPDATE case_search_backfill SET through = 0, upto = (SELECT COALESCE(MAX(id), 0) FROM case_events) WHERE id = 1",
        )
        .execute(&db.pool)
        .await?;
    }
    Ok(())
}

/// Indexes the entries written before the index, a batch a transaction, until none is left;
/// returns how many it indexed. `report` is told the progress.
pub async fn backfill(db: &Db, report: &mut (dyn FnMut(i64, i64) + Send)) -> AppResult<i64> {
    let mut done = 0;
    loop {
        let mut tx = db.pool.begin().await?;
        // A write first, so that the batch holds the write lock from its start on SQLite, and a
        // second backfill waits on PostgreSQL.
        let row = sqlx::query(
            "UPDATE case_search_backfill SET through = through WHERE id = 1 RETURNING through, upto",
        )
        .fetch_one(&mut *tx)
        .await?;
        let (through, upto): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if through >= upto {
            return Ok(done);
        }
        let rows = sqlx::query(
            "SELECT ce.id, ce.case_id, ce.note, CASE WHEN ce.action = 'report' THEN c.address END \
             FROM case_events ce JOIN cases c ON c.id = ce.case_id \
             WHERE ce.id > $1 AND ce.id <= $2 ORDER BY ce.id LIMIT $3",
        )
        .bind(through)
        .bind(upto)
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, case, note, address): (i64, i64, Option<String>, Option<String>) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            entries.push((id, case, entry_text(note.as_deref(), address.as_deref())));
        }
        let last = entries.last().map_or(upto, |e| e.0);
        write(&mut tx, db.backend, &entries).await?;
        sqlx::query("UPDATE case_search_backfill SET through = $1 WHERE id = 1")
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += entries.len() as i64;
        report(last, upto);
    }
}

/// Builds the index of a database whose entries came without it (`huoyan copy`, which leaves
/// derived tables out); returns how many entries it indexed.
pub async fn rebuild(db: &Db, report: &mut (dyn FnMut(i64, i64) + Send)) -> AppResult<i64> {
    check(db).await?;
    backfill(db, report).await
}

/// What the index holds of an entry: its note, and the report's address with it.
pub fn entry_text(note: Option<&str>, address: Option<&str>) -> String {
    match (note, address) {
        (Some(n), Some(a)) => format!("{n}\n{a}"),
        (n, a) => n.or(a).unwrap_or_default().to_string(),
    }
}

/// Runs the backfill beside the server, telling its progress to the log.
pub async fn run(db: Db) {
    let started = std::time::Instant::now();
    let mut told = std::time::Instant::now();
    let mut report = |last: i64, upto: i64| {
        if told.elapsed().as_secs() >= 10 {
            tracing::info!("search index: entries to {last} of {upto} indexed");
            told = std::time::Instant::now();
        }
    };
    match backfill(&db, &mut report).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            "search index: {n} earlier entries indexed in {:.0} s",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => tracing::error!(error = %e, "search index: the backfill stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> BTreeSet<String> {
        tokens(text).split(' ').map(str::to_string).collect()
    }

    #[test]
    fn a_text_holds_the_pairs_of_its_substrings_in_either_case() {
        let text = "3号楼Ｂ栋 门口 Covid 消杀不到位";
        for word in ["消杀", "楼ｂ栋", "COVID", "cov", "号楼", "杀不到位"] {
            let w = pairs(word);
            assert!(!w.is_empty(), "{word}");
            assert!(w.is_subset(&pairs(text)), "{word}");
        }
        assert!(!pairs("消毒").is_subset(&pairs(text)));
        // Letters fold in case, not in width, as LIKE does: Ｂ is not b.
        assert!(!pairs("b栋").is_subset(&pairs(text)));
        // No pair across a space: 口 and C are not neighbours.
        assert!(!pairs("口c").is_subset(&pairs(text)));
    }

    #[test]
    fn the_estimate_is_read_from_a_plans_top_line() {
        let top = "Bitmap Heap Scan on case_search  (cost=3896.72..349877.14 rows=220480 width=0)";
        assert_eq!(estimated_rows(top), Some(220_480));
        assert_eq!(
            estimated_rows("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)"),
            Some(1)
        );
        assert_eq!(estimated_rows("Result  (cost=0.00..0.01 rows="), None);
        assert_eq!(estimated_rows("no estimate"), None);
    }

    #[test]
    fn a_word_of_one_character_has_no_pair_and_tokens_are_plain_ascii() {
        assert_eq!(tokens("楼"), "");
        assert_eq!(tokens(""), "");
        let t = tokens("消杀消杀");
        assert_eq!(t.split(' ').count(), 2, "distinct pairs: 消杀, 杀消");
        assert!(t.bytes().all(|b| b == b' ' || b.is_ascii_alphanumeric()));
        assert!(t.split(' ').all(|w| w.starts_with('g')));
    }

    #[test]
    fn an_entry_text_is_its_note_and_the_reports_address() {
        assert_eq!(
            entry_text(Some("无人值守"), Some("1号门")),
            "无人值守\n1号门"
        );
        assert_eq!(entry_text(Some("无人值守"), None), "无人值守");
        assert_eq!(entry_text(None, Some("1号门")), "1号门");
        assert_eq!(entry_text(None, None), "");
    }
}
