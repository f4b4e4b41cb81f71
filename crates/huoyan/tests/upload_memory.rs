//! The memory an upload costs the server, measured alone in its own test binary (the server runs
//! inside this process, so any other test running beside it would move the figure): 24 phones
//! sending a 31 MB file at once must not make the server hold 24 × 31 MB.
//!
//! Linux only: the peak resident set is read from /proc/self/status (VmHWM) after resetting it
//! through /proc/self/clear_refs.

use huoyan::db::Db;

const UPLOADS: usize = 24;
const FILE_BYTES: usize = 31 * 1024 * 1024;

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Starts the peak resident set over from what is resident now (Linux 4.0 and later).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("write /proc/self/clear_refs");
}

/// A fresh database of the backend under test (HUOYAN_TEST_BACKEND, as in tests/api) with the
/// demo scenario.
async fn demo_db() -> Db {
    let name = format!("huoyan_test_upload_memory_{}", std::process::id());
    let arg = if std::env::var("HUOYAN_TEST_BACKEND").as_deref() == Ok("postgres") {
        let admin = std::env::var("HUOYAN_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&admin).await.expect("PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let (base, _) = admin.rsplit_once('/').expect("URL has a database");
        format!("{base}/{name}")
    } else {
        std::env::temp_dir()
            .join(format!("{name}.db"))
            .display()
            .to_string()
    };
    let db = Db::connect_and_migrate(&arg)
        .await
        .expect("migrate")
        .with_audit_key(huoyan_core::audit::seal::AuditKey::from_bytes(
            rand::random(),
        ));
    huoyan::demo::load(&db, None, &mut |_| {})
        .await
        .expect("demo loads");
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_oversized_uploads_are_refused_without_being_held_in_memory() {
    let db = demo_db().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = huoyan::app::router(&huoyan::app::App::new(db.clone(), Default::default()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::new();
    let login = serde_json::json!({"username": "supervisor", "password": huoyan::auth::password::DEMO_PASSWORD});
    let r = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&login)
        .send()
        .await
        .unwrap();
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let case = serde_json::json!({"category": "static_control", "compound_id": compound(&db).await, "description": "东门岗无人"});
    let r = client
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(&token)
        .json(&case)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].clone();
    // One file for all the senders, so the client side of this process adds 31 MB once.
    let mut content = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    content.resize(FILE_BYTES, 7);
    let content: &'static [u8] = content.leak();

    reset_peak();
    let before = peak_resident_kib();
    let mut sent = tokio::task::JoinSet::new();
    for _ in 0..UPLOADS {
        let (client, url, token) = (
            client.clone(),
            format!("{base}/api/v1/cases/{id}/files"),
            token.clone(),
        );
        sent.spawn(async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(content).file_name("big.png"),
            );
            let r = client
                .post(url)
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        });
    }
    while let Some(answer) = sent.join_next().await {
        let (status, body) = answer.unwrap();
        assert!(
            (400..500).contains(&status),
            "an oversized file is refused: {status} {body}"
        );
    }
    let grown_mib = (peak_resident_kib().saturating_sub(before)) / 1024;
    let all_mib = (UPLOADS * FILE_BYTES / 1024 / 1024) as u64;
    eprintln!(
        "peak resident set grew by {grown_mib} MiB for {UPLOADS} uploads of {all_mib} MiB in all"
    );
    assert!(
        grown_mib < all_mib / 8,
        "the server held the uploads in memory: the peak resident set grew by {grown_mib} MiB for {UPLOADS} uploads of {} MiB",
        FILE_BYTES / 1024 / 1024
    );
}

async fn compound(db: &Db) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT id FROM regions WHERE name = '景程小区'")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}
