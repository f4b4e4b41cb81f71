//! Integration tests: the real server on a random port over a fresh database. The backend is
//! chosen by HUOYAN_TEST_BACKEND (`sqlite`, the default, or `postgres`); the test command runs
//! the suite once for each.

mod audit;
mod authz;
mod browser;
mod cases;
mod cli;
mod demo_cases;
mod figures;
mod imports;
mod open311;
mod org;
mod scoped_writes;
mod sessions;
mod updates;

use std::sync::atomic::{AtomicU64, Ordering};

use huoyan::db::Db;
use serde_json::Value;

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// What `--db` takes for this database, for running the binary against it.
    pub db_arg: String,
    pub client: reqwest::Client,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "huoyan_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    )
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

pub fn backend() -> String {
    std::env::var("HUOYAN_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

/// A fresh, empty, migrated database of the backend under test.
pub async fn fresh_db() -> (Db, String) {
    let name = unique_name();
    let arg = if backend() == "postgres" {
        let admin = std::env::var("HUOYAN_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&admin)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (the test command starts it)");
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
    (Db::connect_and_migrate(&arg).await.expect("migrate"), arg)
}

/// Starts the server on a random port. With `demo`, the Daqing scenario is loaded first.
pub async fn spawn_app(demo: bool) -> TestApp {
    spawn_app_with(demo, Default::default()).await
}

/// The same with the city's own deadline policy.
pub async fn spawn_app_with(demo: bool, deadlines: huoyan_core::cases::DeadlinePolicy) -> TestApp {
    let (db, db_arg) = fresh_db().await;
    if demo {
        huoyan::demo::load(&db, &mut |_| {})
            .await
            .expect("demo loads");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = huoyan::app::router(&huoyan::app::App::new(
        db.clone(),
        huoyan::app::Settings { deadlines },
    ));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        db,
        db_arg,
        client: reqwest::Client::new(),
    }
}

impl TestApp {
    pub async fn token(&self, username: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&serde_json::json!({"username": username, "password": huoyan::auth::password::DEMO_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {username}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(&self, method: &str, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    pub async fn id_of(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }
}

/// The field names of a 4xx error body.
pub fn fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
