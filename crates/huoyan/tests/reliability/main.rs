//! Reliability tests: the real `huoyan` binary under load, killed, backed up and restored; and
//! the two migration folders kept in step. A test binary of its own, so that the servers it
//! starts and kills do not share the machine with the API suite's tests.
//!
//! The backend is chosen by HUOYAN_TEST_BACKEND (`sqlite`, the default, or `postgres` with
//! HUOYAN_TEST_PG), as in `tests/api`. All traffic goes to 127.0.0.1.

mod backup;
mod crash;
mod harness;
mod migrations;
mod scans;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// The longest any one run of the binary (a command, or a server coming up) may take.
pub const PROCESS_LIMIT: Duration = Duration::from_secs(60);

/// The audit key every run of the binary in this process seals and verifies with, written once
/// (owner-only) before the first run: the binary never falls back on a key of the machine's.
fn audit_key_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let file = std::env::temp_dir().join(format!("{}.key", unique_name()));
        let key = huoyan_core::audit::seal::AuditKey::from_bytes(rand::random());
        std::fs::write(&file, key.to_text()).expect("write the audit key");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("the audit key readable by its owner only");
        file
    })
}

pub fn backend() -> String {
    std::env::var("HUOYAN_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "huoyan_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// What `--db` takes for a new, empty database of the backend under test (a PostgreSQL database
/// is created; a SQLite file is created by its first user).
pub async fn fresh_db() -> String {
    if backend() == "postgres" {
        fresh_postgres().await
    } else {
        fresh_sqlite()
    }
}

/// A path for a new SQLite database in the temporary directory.
pub fn fresh_sqlite() -> String {
    std::env::temp_dir()
        .join(format!("{}.db", unique_name()))
        .display()
        .to_string()
}

/// The database the test command gives for making and dropping others.
fn pg_admin() -> String {
    std::env::var("HUOYAN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh_postgres() -> String {
    let admin = pg_admin();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (the test command starts it)");
    let name = unique_name();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("URL has a database");
    format!("{base}/{name}")
}

/// The longest the binary's demo load may take: it writes nine days of a compound's testing
/// through the application's own functions, over a minute in a debug build on PostgreSQL.
const DEMO_LIMIT: Duration = Duration::from_secs(600);

/// `db` (new and empty, from `fresh_db`) made a copy of the Daqing demo (accounts, compounds),
/// which the binary loads once per test process into a template: a file copy on SQLite,
/// `CREATE DATABASE … TEMPLATE` on PostgreSQL.
pub async fn demo_into(db: &str) {
    // One of each kind: a SQLite-only test (a file backup) runs on a PostgreSQL run too.
    static TEMPLATES: [tokio::sync::OnceCell<String>; 2] =
        [const { tokio::sync::OnceCell::const_new() }; 2];
    let postgres = db.starts_with("postgres");
    let template = TEMPLATES[usize::from(postgres)]
        .get_or_init(|| async {
            let template = if postgres {
                fresh_postgres().await
            } else {
                fresh_sqlite()
            };
            let (code, out) = run_within(
                DEMO_LIMIT,
                &["demo", "--no-serve", "--db", template.as_str()],
            )
            .await;
            assert_eq!(code, 0, "demo: {out}");
            template
        })
        .await;
    if let Some((_, name)) = db.rsplit_once('/').filter(|_| postgres) {
        let (_, source) = template.rsplit_once('/').expect("a database name");
        let pool = sqlx::AnyPool::connect(&pg_admin())
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        for sql in [
            format!("DROP DATABASE {name}"),
            format!("CREATE DATABASE {name} TEMPLATE {source}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("copy the demo's template");
        }
        pool.close().await;
    } else {
        // Nobody has the template open: its file and log, as they are, are the demo.
        for suffix in ["", "-wal"] {
            let from = format!("{template}{suffix}");
            if std::path::Path::new(&from).exists() {
                std::fs::copy(&from, format!("{db}{suffix}")).expect("copy the demo's template");
            }
        }
    }
}

/// Removes a SQLite database and its WAL files (nothing for PostgreSQL's test databases, which
/// the test command drops at its next start).
pub fn remove_db(db: &str) {
    if !db.starts_with("postgres") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{db}{suffix}"));
        }
    }
}

/// Runs the binary to the end; its exit code and everything it wrote.
pub async fn huoyan(args: &[&str]) -> (i32, String) {
    run_within(PROCESS_LIMIT, args).await
}

async fn run_within(limit: Duration, args: &[&str]) -> (i32, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_huoyan"))
        .args(args)
        .env("HUOYAN_LOG", "huoyan=warn")
        .env("HUOYAN_AUDIT_KEY_FILE", audit_key_file())
        .env_remove("HUOYAN_AUDIT_KEY")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(limit, run)
        .await
        .unwrap_or_else(|_| panic!("huoyan {args:?} took over {limit:?}"))
        .expect("the huoyan binary runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `huoyan audit verify` on `db` (which no server may be writing: the walk and the head are read
/// apart) exits 0.
pub async fn assert_chain_intact(db: &str) {
    let (code, out) = huoyan(&["audit", "verify", "--db", db]).await;
    assert_eq!(code, 0, "audit verify: {out}");
}

/// Where a running server answers, and a client for it.
#[derive(Clone)]
pub struct Endpoint {
    pub base: String,
    pub client: reqwest::Client,
}

/// The `huoyan serve` process on a port of 127.0.0.1 the system chose. Killed when dropped.
pub struct Server {
    child: Child,
    /// Held open so that the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    pub endpoint: Endpoint,
}

impl Server {
    /// The one place the server's command line is made.
    pub async fn start(db: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_huoyan"))
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .env("HUOYAN_LOG", "huoyan=warn")
            .env("HUOYAN_AUDIT_KEY_FILE", audit_key_file())
            .env_remove("HUOYAN_AUDIT_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the huoyan binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        tokio::time::timeout(PROCESS_LIMIT, stdout.read_line(&mut line))
            .await
            .expect("the server comes up in time")
            .expect("the server's output reads");
        let addr = line
            .trim()
            .strip_prefix("Huoyan serving on http://")
            .unwrap_or_else(|| panic!("the server said {line:?}"));
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Server {
            child,
            _stdout: stdout,
            endpoint: Endpoint {
                base: format!("http://{addr}"),
                client,
            },
        }
    }

    /// SIGKILL: no shutdown, no flush, whatever the server was doing.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("the server is ours to kill");
        tokio::time::timeout(PROCESS_LIMIT, self.child.wait())
            .await
            .expect("a killed server ends")
            .expect("wait for the server");
    }
}
