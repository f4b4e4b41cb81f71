//! The database: one pool over SQLite or PostgreSQL through sqlx's `Any` driver, chosen from the
//! URL, with one portable SQL dialect (`$1` placeholders work on both) and a migration folder each.

pub mod group;

use std::time::Duration;

use huoyan_core::audit::seal::AuditKey;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The key that seals the audit chain's head, kept outside the database (`audit::key`):
    /// every writer and verification need it, and refuse to work without it.
    pub audit_key: Option<AuditKey>,
}

/// Turns what a user types after `--db` into a URL: a postgres:// URL as it is, anything else a
/// SQLite file path (created when missing).
pub fn normalise_url(db: &str) -> (String, Backend) {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        (db.to_string(), Backend::Postgres)
    } else if db.starts_with("sqlite:") {
        (db.to_string(), Backend::Sqlite)
    } else {
        (format!("sqlite://{db}?mode=rwc"), Backend::Sqlite)
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How every pool is opened, with at most `connections`.
fn pool_options(backend: Backend, connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings a connection each time it leaves the pool: a second round trip for every
        // query. A SQLite file cannot go away underneath; a PostgreSQL connection can (a
        // restart, a proxy's timeout), but one in use a moment ago is alive, so only one idle
        // for a while is pinged (sqlx replaces it if the ping fails).
        .test_before_acquire(false);
    if backend == Backend::Postgres {
        return options.before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(5) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        });
    }
    options.after_connect(|conn, _| {
        Box::pin(async move {
            // WAL lets readers run beside the writer; FULL sync because a write is
            // acknowledged only once it is on disk; the busy timeout queues writers instead
            // of failing them. A 32 MiB page cache a connection (SQLite's default is 2 MiB)
            // keeps the indexes of a city's cases in memory instead of reading them again
            // from the file for every statement.
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA cache_size = -32768;",
            )
            .await?;
            Ok(())
        })
    })
}

/// Whether a statement whose best plan depends on its values (a key lookup, a filtered list) may
/// be prepared once and reused. Not on PostgreSQL: after five runs it keeps one generic plan for a
/// prepared statement, made without the values, and keeps it while the data changes under it (a
/// key lookup planned while `cases` was nearly empty stayed a sequential scan, 40 ms at 60,000
/// cases; a district's overdue cases were read through every compound's cases, 30 ms alone and
/// 250 ms under 32 clients at 399,168 cases, where the values' own plan takes under 1 ms).
/// Unprepared, PostgreSQL plans each run with its values; SQLite plans with them either way.
pub fn prepared(backend: Backend) -> bool {
    backend == Backend::Sqlite
}

impl Db {
    pub async fn connect(db: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let (url, backend) = normalise_url(db);
        let pool = pool_options(
            backend,
            match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            },
        )
        .connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", redact(&url)))?;
        Ok(Db {
            pool,
            backend,
            audit_key: None,
        })
    }

    /// The same database through a pool of its own, of at most `connections`, opened on first
    /// use: for a writer that must not queue for a connection behind the requests' reads.
    pub fn own_pool(&self, connections: u32) -> Db {
        let options = (*self.pool.connect_options()).clone();
        Db {
            pool: pool_options(self.backend, connections).connect_lazy_with(options),
            ..self.clone()
        }
    }

    /// A connection of its own, outside the pool, for reading a large part of the history once
    /// (a full export). On SQLite its page cache is small: caching what is read once saves
    /// nothing, and a pooled connection's 32 MiB cache, once grown by such a read, would stay
    /// with the server (a full export of 516,526 cases took it to 221 MB). Closed when dropped.
    pub async fn scan_connection(&self) -> Result<sqlx::AnyConnection, sqlx::Error> {
        use sqlx::ConnectOptions;
        let mut conn = self.pool.connect_options().connect().await?;
        if self.backend == Backend::Sqlite {
            conn.execute("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -2048;")
                .await?;
        }
        Ok(conn)
    }

    /// A key for `purpose` derived from the audit key, which the database never holds: what
    /// personal numbers are hashed with for look-up, so a copy of the database does not give them
    /// back by hashing every possible one.
    pub fn derived_key(&self, purpose: &str) -> crate::error::AppResult<[u8; 32]> {
        Ok(self
            .audit_key
            .as_ref()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no audit key: personal numbers are hashed with a key derived from it"
                )
            })?
            .derive(purpose))
    }

    pub fn with_audit_key(self, key: AuditKey) -> Db {
        Db {
            audit_key: Some(key),
            ..self
        }
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies the migrations the database lacks. With none pending it touches nothing, so the
    /// application's own PostgreSQL role, which may not change the schema, starts too (sqlx's
    /// migrator would first try to create its table).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.pending_migrations().await == 0 {
            return Ok(());
        }
        self.migrator().run(&self.pool).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot apply the migrations: {e} (the application's restricted role cannot; run `huoyan migrate` as the database's owner)"
            )
        })
    }

    /// How many embedded migrations the database has not applied as they are (all of them when
    /// it cannot tell, e.g. before the first).
    pub async fn pending_migrations(&self) -> usize {
        let wanted = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration());
        let Ok(rows) = sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
        else {
            return wanted.count();
        };
        let applied: Vec<(i64, Vec<u8>)> = rows
            .iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
        wanted
            .filter(|m| !applied.contains(&(m.version, m.checksum.to_vec())))
            .count()
    }

    pub async fn connect_and_migrate(db: &str) -> anyhow::Result<Db> {
        let db = Db::connect(db).await?;
        db.migrate().await?;
        Ok(db)
    }
}

/// Hides a password in a database URL before it is printed.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_locked_by_another_writer_is_busy_not_an_internal_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("t.db").to_str().unwrap())
            .await
            .unwrap();
        let mut holder = db.pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *holder)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *holder)
            .await
            .unwrap();
        let mut waiter = db.pool.acquire().await.unwrap();
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *waiter)
            .await
            .unwrap();
        let locked = sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&mut *waiter)
            .await
            .unwrap_err();
        let e = crate::error::AppError::from(locked);
        assert!(matches!(e, crate::error::AppError::Busy), "{e:?}");
        let answer = axum::response::IntoResponse::into_response(e);
        assert_eq!(answer.status(), 503);
        assert_eq!(answer.headers()["retry-after"], "1");
    }

    #[test]
    fn a_like_pattern_escapes_the_users_wildcards_only() {
        assert_eq!(like_pattern("%", "50%", "%"), "%50\\%%");
        assert_eq!(like_pattern("", "a_b\\c", "%"), "a\\_b\\\\c%");
        assert_eq!(like_pattern("%,", "扫码", ",%"), "%,扫码,%");
    }

    #[test]
    fn urls() {
        assert_eq!(normalise_url("huoyan.db").1, Backend::Sqlite);
        assert_eq!(normalise_url("/tmp/x.db").0, "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(normalise_url("postgres://u@h/d").1, Backend::Postgres);
        assert_eq!(redact("postgres://u:secret@h/d"), "postgres://u:***@h/d");
    }
}

/// A value bound into dynamically built SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

impl Arg {
    /// A NULL of the same type.
    fn null(&self) -> Arg {
        match self {
            Arg::Int(_) => Arg::Int(None),
            Arg::Float(_) => Arg::Float(None),
            Arg::Text(_) => Arg::Text(None),
        }
    }
}

impl Arg {
    /// The value as the audit trail records it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Arg::Int(v) => (*v).into(),
            Arg::Float(v) => (*v).into(),
            Arg::Text(v) => v.clone().into(),
        }
    }
}

impl From<bool> for Arg {
    /// Booleans are stored as 0 and 1 on both backends.
    fn from(v: bool) -> Self {
        Arg::Int(Some(v as i64))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(Some(v))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Float(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

/// A `double precision` that may be NULL, bound so that PostgreSQL types the NULL as `double
/// precision` too. sqlx 0.9's `Any` driver binds a NULL `f64` as `real` and a NULL `f32` as
/// `double precision` (the two swapped in sqlx-core's `any/arguments.rs`), and PostgreSQL keeps
/// a statement prepared once per connection with the types of its first execution: a statement
/// first run with a NULL there then refused every later `f64` in that place ("incorrect binary
/// data format"), a place on a timeline entry, a report's position in a batch.
#[derive(Debug, Clone, Copy)]
pub struct Float8(pub Option<f64>);

impl sqlx::Type<sqlx::Any> for Float8 {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Any> for Float8 {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(v) => <f64 as sqlx::Encode<sqlx::Any>>::encode_by_ref(&v, buf),
            // Comes out of the driver as PostgreSQL's `double precision` NULL.
            None => <Option<f32> as sqlx::Encode<sqlx::Any>>::encode_by_ref(&None, buf),
        }
    }
}

/// SQL assembled at run time (filters that depend on the request and the caller's scope) with
/// What follows a `LIKE` whose pattern came from [`like_pattern`]. Both backends take it.
pub const LIKE_ESCAPE: &str = " ESCAPE '\\'";

/// A `LIKE` pattern (with [`LIKE_ESCAPE`]) of `before`, the user's text `q`, and `after`: the `%`,
/// `_` and `\` in `q` are escaped, so a search for `10%` or `a_b` finds those characters rather
/// than everything.
pub fn like_pattern(before: &str, q: &str, after: &str) -> String {
    let mut out = String::with_capacity(before.len() + q.len() + after.len() + 4);
    out.push_str(before);
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(after);
    out
}

/// `$n` placeholders numbered as values are pushed. sqlx's own `QueryBuilder` cannot be used: on
/// the `Any` driver it writes `?`, which PostgreSQL refuses.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends ` LIKE <pattern> ESCAPE '\'`, the pattern being [`like_pattern`]: `q` matches its
    /// own `%` and `_`.
    pub fn like(&mut self, before: &str, q: &str, after: &str) -> &mut Self {
        self.push(" LIKE ")
            .bind(like_pattern(before, q, after))
            .push(LIKE_ESCAPE)
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Binds `value` as a statement of many values on `backend` should: with SQLite's anonymous
    /// placeholder `?`, PostgreSQL's `$N` (see `insert_rows`). A statement binds either way, never
    /// both.
    pub fn bind_for(&mut self, backend: Backend, value: impl Into<Arg>) -> &mut Self {
        match backend {
            Backend::Sqlite => self.bind_anonymous(value),
            Backend::Postgres => self.bind(value),
        }
    }

    /// Appends SQLite's anonymous placeholder `?` for `value` (SQLite only; see `insert_rows`).
    fn bind_anonymous(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('?');
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(Float8(*v)),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

impl Sql {
    /// The same bound values under another text that embeds this one's placeholders (a count
    /// around a filter).
    pub fn with_text(&self, text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: self.args.clone(),
        }
    }
}

/// Most rows that one statement of `insert_rows` carries.
pub const ROWS_PER_INSERT: usize = 128;

/// Appends `(VALUES (a, b), …) AS k` of `pairs` (not empty), its columns named `k.column1` and
/// `k.column2` on both backends: joined to a table's unique index on the pair, each pair is an
/// index probe whatever the planner's statistics say (two IN lists let PostgreSQL read all of an
/// account's rows through another index when its statistics, lagging behind a busy intake, think
/// the account has few). The list repeats its last pair up to a power of two, so the statement
/// has few shapes (see `insert_rows`).
pub fn pair_list(sql: &mut Sql, backend: Backend, pairs: &[(i64, &str)]) {
    sql.push("(VALUES ");
    for i in 0..pairs.len().next_power_of_two() {
        let (a, b) = pairs[i.min(pairs.len() - 1)];
        sql.push(if i == 0 { "(" } else { ", (" })
            .bind_for(backend, a)
            .push(", ")
            .bind_for(backend, b)
            .push(")");
    }
    sql.push(") AS k");
}

/// `INSERT INTO table (columns)` of `rows` (a value per column each, the first never NULL) in as
/// few statements as `ROWS_PER_INSERT` allows. Each statement carries a power of two of rows,
/// those past the real ones all NULL and skipped, so that a table sees at most eight statement
/// texts, each prepared once per connection, rather than one per number of rows.
///
/// On SQLite the placeholders are anonymous (`?`): sqlx asks SQLite for each numbered
/// placeholder's name when it binds, and SQLite finds a name by a linear search, so a statement
/// of n `$N` placeholders took n² steps to bind (5 % of the intake bench's CPU, on the writer).
pub fn insert_rows(backend: Backend, table: &str, columns: &[&str], rows: &[Vec<Arg>]) -> Vec<Sql> {
    rows.chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let mut sql = Sql::new(&format!(
                "INSERT INTO {table} ({}) SELECT * FROM ",
                columns.join(", ")
            ));
            padded_values(&mut sql, backend, columns.len(), chunk);
            // Both backends name the columns of VALUES column1, column2…
            sql.push(" WHERE v.column1 IS NOT NULL");
            sql
        })
        .collect()
}

/// Appends `(VALUES (…), …) AS v` of `rows` (`width` values each), padded with all-NULL rows of
/// the first row's types up to a power of two of rows (see `insert_rows`).
fn padded_values(sql: &mut Sql, backend: Backend, width: usize, rows: &[Vec<Arg>]) {
    sql.push("(VALUES ");
    for i in 0..rows.len().next_power_of_two() {
        sql.push(if i == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push(", ");
            }
            let value = match rows.get(i) {
                Some(row) => row[c].clone(),
                None => rows[0][c].null(),
            };
            sql.bind_for(backend, value);
        }
        sql.push(")");
    }
    sql.push(") AS v");
}

/// `{select} FROM (VALUES …) AS v {join}` over `rows` (`width` values each, `v.column1` … in the
/// join), in statements of `ROWS_PER_INSERT` rows padded as `insert_rows` pads them (a padding
/// row of NULLs joins nothing). A join probes the index once per row whatever the planner
/// believes of the table; `IN` lists on two columns of it did not: on PostgreSQL with statistics
/// taken before a round filled up, one column's list became a filter over the whole round
/// (100 ms at 300,000 scans, against 2 ms for the join).
pub fn select_joined(
    backend: Backend,
    select: &str,
    width: usize,
    join: &str,
    rows: &[Vec<Arg>],
) -> Vec<Sql> {
    rows.chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let mut sql = Sql::new(&format!("{select} FROM "));
            padded_values(&mut sql, backend, width, chunk);
            sql.push(&format!(" {join}"));
            sql
        })
        .collect()
}

/// `UPDATE table SET columns[1..] …` of `rows`, each row's first value the `id` of the row it
/// sets (never NULL), in statements of `ROWS_PER_INSERT` rows padded as `insert_rows` pads them.
pub fn update_rows(backend: Backend, table: &str, columns: &[&str], rows: &[Vec<Arg>]) -> Vec<Sql> {
    update_rows_where(backend, table, columns, &[], rows)
}

/// As `update_rows`, but each row is set only where the table's `guards` columns still hold the
/// values that follow the row's `columns` (compare the statements' affected rows with the rows
/// given to learn whether every one held).
pub fn update_rows_where(
    backend: Backend,
    table: &str,
    columns: &[&str],
    guards: &[&str],
    rows: &[Vec<Arg>],
) -> Vec<Sql> {
    let set: Vec<String> = columns
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = v.column{}", i + 1))
        .collect();
    let held: String = guards
        .iter()
        .enumerate()
        .map(|(i, c)| format!(" AND {table}.{c} = v.column{}", columns.len() + i + 1))
        .collect();
    rows.chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let mut sql = Sql::new(&format!("UPDATE {table} SET {} FROM ", set.join(", ")));
            padded_values(&mut sql, backend, columns.len() + guards.len(), chunk);
            sql.push(&format!(" WHERE {table}.{} = v.column1{held}", columns[0]));
            sql
        })
        .collect()
}

#[cfg(test)]
mod insert_rows_tests {
    use super::*;

    #[test]
    fn a_joined_select_probes_each_row_of_a_padded_list() {
        let rows: Vec<Vec<Arg>> = (0..3)
            .map(|i| vec![Arg::from(i), Arg::from(i * 2)])
            .collect();
        let sql = select_joined(
            Backend::Postgres,
            "SELECT s.a",
            2,
            "JOIN s ON s.a = v.column1 AND s.b = v.column2",
            &rows,
        );
        assert_eq!(
            sql[0].text(),
            "SELECT s.a FROM (VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8)) AS v JOIN s ON s.a = v.column1 AND s.b = v.column2"
        );
        let many: Vec<Vec<Arg>> = (0..(ROWS_PER_INSERT as i64 + 1))
            .map(|i| vec![Arg::from(i), Arg::from(i)])
            .collect();
        assert_eq!(
            select_joined(Backend::Sqlite, "SELECT 1", 2, "", &many).len(),
            2
        );
    }

    #[test]
    fn updates_set_each_row_by_its_id_from_a_padded_list() {
        let rows: Vec<Vec<Arg>> = (0..3).map(|i| vec![Arg::from(i), Arg::from("x")]).collect();
        let sql = update_rows(Backend::Postgres, "t", &["id", "b"], &rows);
        assert_eq!(
            sql[0].text(),
            "UPDATE t SET b = v.column2 FROM (VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8)) AS v WHERE t.id = v.column1"
        );
        assert_eq!(
            update_rows(Backend::Sqlite, "t", &["id", "b"], &rows).len(),
            1
        );
        let guarded: Vec<Vec<Arg>> = (0..2)
            .map(|i| vec![Arg::from(i), Arg::from(i + 1), Arg::from(i)])
            .collect();
        assert_eq!(
            update_rows_where(Backend::Postgres, "t", &["id", "n"], &["n"], &guarded)[0].text(),
            "UPDATE t SET n = v.column2 FROM (VALUES ($1, $2, $3), ($4, $5, $6)) AS v WHERE t.id = v.column1 AND t.n = v.column3"
        );
    }

    #[test]
    fn rows_are_padded_to_a_power_of_two_with_nulls() {
        let rows: Vec<Vec<Arg>> = (0..3).map(|i| vec![Arg::from(i), Arg::from("x")]).collect();
        let sql = insert_rows(Backend::Postgres, "t", &["a", "b"], &rows);
        assert_eq!(sql.len(), 1);
        assert_eq!(
            sql[0].text(),
            "INSERT INTO t (a, b) SELECT * FROM (VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8)) AS v WHERE v.column1 IS NOT NULL"
        );
        assert_eq!(
            insert_rows(Backend::Sqlite, "t", &["a", "b"], &rows)[0].text(),
            "INSERT INTO t (a, b) SELECT * FROM (VALUES (?, ?), (?, ?), (?, ?), (?, ?)) AS v WHERE v.column1 IS NOT NULL"
        );
        assert!(matches!(sql[0].args[6], Arg::Int(None)));
        assert!(matches!(sql[0].args[7], Arg::Text(None)));
        let many: Vec<Vec<Arg>> = (0..200).map(|i| vec![Arg::from(i)]).collect();
        let sql = insert_rows(Backend::Sqlite, "t", &["a"], &many);
        assert_eq!(
            sql.iter().map(|s| s.args.len()).collect::<Vec<_>>(),
            [128, 128]
        );
    }
}
