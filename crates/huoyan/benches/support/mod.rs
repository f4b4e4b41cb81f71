//! What the benches share: throwaway databases, serving the real router in-process, signing in,
//! CPU time, nearest-rank quantiles and the HTTP/1.1 load loop.

// Each bench uses only part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use http_body_util::{BodyExt, Full};
use huoyan::db::{Backend, Db};
use huoyan_core::audit::seal::AuditKey;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// How a backend is named in the output.
pub fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// CPU seconds used by this process so far (user and system), from /proc; 0 where there is none.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// This process's resident memory in bytes (VmRSS), from /proc; 0 where there is none.
pub fn resident_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Nearest-rank quantile `q` of `sorted` latencies in microseconds, in milliseconds.
pub fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// A duration in whole microseconds, as the latencies are kept.
pub fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// A throwaway audit key for a throwaway database.
pub fn random_key() -> AuditKey {
    AuditKey::from_bytes(rand::random())
}

/// Removes a SQLite file with its journal files, if they are there.
pub fn remove_sqlite(path: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

/// The URL of database `name` on the server that `admin` (a URL naming some database) reaches.
pub fn pg_url(admin: &str, name: &str) -> anyhow::Result<String> {
    let (base, _) = admin
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("{admin} names no database"))?;
    Ok(format!("{base}/{name}"))
}

/// Runs one statement through the server's administrative connection `admin`.
pub async fn pg_admin(admin: &str, statement: String) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

/// Drops PostgreSQL database `name` if it is there, closing its connections.
pub async fn drop_pg(admin: &str, name: &str) -> anyhow::Result<()> {
    pg_admin(
        admin,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
}

/// An empty, migrated database of `backend` named `name` (a file in `dir` for SQLite, a database
/// on the server `admin` reaches for PostgreSQL), replacing any of that name; the second value is
/// what [`drop_db`] takes to remove it.
pub async fn fresh(
    backend: Backend,
    dir: &Path,
    admin: &str,
    name: &str,
    key: AuditKey,
) -> anyhow::Result<(Db, String)> {
    match backend {
        Backend::Sqlite => {
            let path = dir.join(format!("{name}.db")).display().to_string();
            remove_sqlite(&path);
            let db = Db::connect_and_migrate(&path).await?.with_audit_key(key);
            Ok((db, path))
        }
        Backend::Postgres => {
            drop_pg(admin, name).await?;
            pg_admin(admin, format!("CREATE DATABASE {name}")).await?;
            let db = Db::connect_and_migrate(&pg_url(admin, name)?)
                .await?
                .with_audit_key(key);
            Ok((db, name.to_string()))
        }
    }
}

/// Closes `db` and removes what [`fresh`] made.
pub async fn drop_db(backend: Backend, admin: &str, db: Db, name: &str) -> anyhow::Result<()> {
    db.pool.close().await;
    match backend {
        Backend::Sqlite => remove_sqlite(name),
        Backend::Postgres => drop_pg(admin, name).await?,
    }
    Ok(())
}

/// Serves `app` in this process on a random local port, with the sockets `huoyan serve` makes
/// (`huoyan::app::nodelay`).
pub async fn serve(
    app: Router,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let server =
        tokio::spawn(async move { axum::serve(huoyan::app::nodelay(listener), app).await });
    Ok((addr, server))
}

/// One HTTP/1.1 connection to `addr`, kept alive across requests.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends `req` on `sender` and reads the whole answer.
pub async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    req: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Signs in with the demo password over the same kind of connection the load uses.
pub async fn login(addr: SocketAddr, username: &str) -> anyhow::Result<String> {
    let mut sender = connect(addr).await?;
    let body = serde_json::json!({"username": username, "password": huoyan::auth::password::DEMO_PASSWORD});
    let req = hyper::Request::post("/api/v1/auth/token")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let (status, body) = send(&mut sender, req).await?;
    anyhow::ensure!(status.is_success(), "login {username}: {status}");
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no token in {body}"))
}

/// What one client of [`http_load`] saw.
pub struct ClientRun {
    /// 2xx answers.
    pub ok: u64,
    /// Other answers.
    pub failed: u64,
    /// Microseconds per request, in the order sent.
    pub latencies: Vec<u32>,
    /// The first three failures, as status and body.
    pub failures: Vec<String>,
}

/// `clients` HTTP/1.1 connections to `addr`, each sending the requests `request(client, n)` makes
/// (n counting from 1) back to back until `deadline`. A request's latency runs from waiting for
/// the connection to be ready to the last byte of the answer; making the request is not counted.
pub async fn http_load<F>(
    addr: SocketAddr,
    clients: usize,
    deadline: Instant,
    request: F,
) -> anyhow::Result<Vec<ClientRun>>
where
    F: Fn(usize, u64) -> anyhow::Result<hyper::Request<Full<Bytes>>> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut run = ClientRun {
                ok: 0,
                failed: 0,
                latencies: Vec::with_capacity(1 << 12),
                failures: Vec::new(),
            };
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let req = request(c, n)?;
                let t = Instant::now();
                let (status, body) = send(&mut sender, req).await?;
                run.latencies.push(micros(t.elapsed()));
                if status.is_success() {
                    run.ok += 1;
                } else {
                    run.failed += 1;
                    if run.failures.len() < 3 {
                        run.failures
                            .push(format!("{status}: {}", String::from_utf8_lossy(&body)));
                    }
                }
            }
            anyhow::Ok(run)
        }));
    }
    let mut runs = Vec::new();
    for t in tasks {
        runs.push(t.await??);
    }
    Ok(runs)
}
