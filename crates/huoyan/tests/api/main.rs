//! Integration tests: the real server on a random port over a fresh database. The backend is
//! chosen by HUOYAN_TEST_BACKEND (`sqlite`, the default, or `postgres`); the test command runs
//! the suite once for each.

mod addresses;
mod admin;
mod audit;
mod audit_scans;
mod authz;
mod browser;
mod browser_chasing;
mod browser_drones;
mod browser_inspections;
mod browser_supply;
mod browser_testing;
mod browser_workforce;
mod cases;
mod chasing;
mod cli;
mod copy;
mod demo_cases;
mod demo_testing;
mod drones;
mod duplicates;
mod evidence;
mod field;
mod figure_tallies;
mod figures;
mod generator;
mod headers;
mod imports;
mod inspections;
mod intake;
mod keep_user;
mod map;
mod open311;
mod openapi;
mod org;
mod plans;
mod scoped_writes;
mod search;
mod sessions;
mod supply;
mod testing;
mod tokens;
mod updates;
mod uploads;
mod workforce;

use std::sync::atomic::{AtomicU64, Ordering};

use huoyan::db::Db;
use serde_json::Value;

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    /// The database as the server reaches it: on PostgreSQL through the application's
    /// restricted role, as in production.
    pub db: Db,
    /// The same database through its owner (the superuser on PostgreSQL), who can change
    /// anything; the tests tamper through it.
    pub owner: Db,
    /// What `--db` takes for this database, for running the binary against it (as the
    /// application's role).
    pub db_arg: String,
    /// The audit key file this database is sealed with, for `--audit-key`.
    pub key_file: std::path::PathBuf,
    /// Where the MAVLink link listens, when the settings asked for one.
    pub mavlink: Option<std::net::SocketAddr>,
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

/// The login role the tests' server connects as on PostgreSQL: a member of `huoyan_app`, the
/// role the migrations grant only what the application needs.
const PG_APP_ROLE: &str = "huoyan_test_app";

/// A fresh, empty, migrated database of the backend under test, with a fresh audit key.
pub struct FreshDb {
    /// As the application reaches it.
    pub db: Db,
    /// As its owner does.
    pub owner: Db,
    pub db_arg: String,
    pub key_file: std::path::PathBuf,
}

/// A new, empty PostgreSQL database `name` on the tests' server (whatever the backend under
/// test); its URL as the superuser.
pub async fn new_pg(name: &str) -> String {
    create_pg(name, None).await
}

/// A new PostgreSQL database `name`, empty or a copy of `template`; its URL as the superuser.
async fn create_pg(name: &str, template: Option<&str>) -> String {
    let admin = std::env::var("HUOYAN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (the test command starts it)");
    let from = template.map_or(String::new(), |t| format!(" TEMPLATE {t}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}{from}")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("URL has a database");
    format!("{base}/{name}")
}

/// What `--db` takes for the PostgreSQL database `name` at `owner` (its URL as the superuser):
/// the owner's URL and the application role's.
fn pg_urls(owner: &str, name: &str) -> (String, String) {
    let (base, _) = owner.rsplit_once('/').expect("URL has a database");
    let (scheme, rest) = base.split_once("://").expect("URL has a scheme");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let app = format!("{scheme}://{PG_APP_ROLE}@{host}/{name}");
    (owner.to_string(), app)
}

/// A new, empty database of the backend under test (not migrated): its name, and what `--db`
/// takes for it as its owner and as the application's role.
pub async fn empty_db() -> (String, String, String) {
    let name = unique_name();
    let (owner_arg, db_arg) = if backend() == "postgres" {
        pg_urls(&new_pg(&name).await, &name)
    } else {
        let path = std::env::temp_dir()
            .join(format!("{name}.db"))
            .display()
            .to_string();
        (path.clone(), path)
    };
    (name, owner_arg, db_arg)
}

/// Production's split on PostgreSQL: the owner (here the superuser) creates the database and
/// runs the migrations; the application connects as a role with only the grants they give.
pub async fn fresh_db() -> FreshDb {
    let (name, owner_arg, db_arg) = empty_db().await;
    let key = huoyan_core::audit::seal::AuditKey::from_bytes(rand::random());
    open(&name, &owner_arg, &db_arg, key).await
}

/// Opens a database of the backend under test sealed with `key`: migrates it as its owner,
/// then connects as the application's role; the key goes to a file of the test's own.
async fn open(
    name: &str,
    owner_arg: &str,
    db_arg: &str,
    key: huoyan_core::audit::seal::AuditKey,
) -> FreshDb {
    let key_file = std::env::temp_dir().join(format!("{name}.key"));
    std::fs::write(&key_file, key.to_text()).expect("write the audit key");
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("the audit key readable by its owner only");
    let owner = Db::connect_and_migrate(owner_arg)
        .await
        .expect("migrate")
        .with_audit_key(key.clone());
    if backend() == "postgres" {
        // Tests run at once; whichever creates the role first wins.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PG_APP_ROLE}') THEN \
                 CREATE ROLE {PG_APP_ROLE} LOGIN IN ROLE huoyan_app; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )))
        .execute(&owner.pool)
        .await
        .expect("the application's login role");
    }
    // As `serve` does: with nothing pending, migrating touches nothing the role may not.
    let db = Db::connect_and_migrate(db_arg)
        .await
        .expect("the application's role connects and finds nothing to migrate")
        .with_audit_key(key);
    FreshDb {
        db,
        owner,
        db_arg: db_arg.to_string(),
        key_file,
    }
}

/// The Daqing demo, loaded once per test process into a template database and copied for every
/// test that asks for it: a load takes seconds and most tests ask, a copy takes milliseconds
/// (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL).
pub async fn demo_db() -> FreshDb {
    struct Template {
        /// The template's file (SQLite) or database name (PostgreSQL).
        source: String,
        key: String,
    }
    static TEMPLATE: tokio::sync::OnceCell<Template> = tokio::sync::OnceCell::const_new();
    let template = TEMPLATE
        .get_or_init(|| async {
            let (name, owner_arg, db_arg) = empty_db().await;
            let key = huoyan_core::audit::seal::AuditKey::from_bytes(rand::random());
            let fresh = open(&name, &owner_arg, &db_arg, key.clone()).await;
            huoyan::demo::load(&fresh.db, None, &mut |_| {})
                .await
                .expect("demo loads");
            // Not analysed on PostgreSQL (the demo's own ANALYZE skips the owner's tables): the
            // plans test reads how PostgreSQL plans tables of unknown size, as a city's would
            // plan, not the demo's few hundred cases.
            if backend() != "postgres" {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&fresh.owner.pool)
                    .await
                    .expect("the template's log folded into its file");
            }
            // A template is copied only with nobody connected to it.
            fresh.db.pool.close().await;
            fresh.owner.pool.close().await;
            Template {
                source: if backend() == "postgres" {
                    name
                } else {
                    db_arg
                },
                key: key.to_text(),
            }
        })
        .await;
    let name = unique_name();
    let (owner_arg, db_arg) = if backend() == "postgres" {
        pg_urls(&create_pg(&name, Some(&template.source)).await, &name)
    } else {
        let path = std::env::temp_dir()
            .join(format!("{name}.db"))
            .display()
            .to_string();
        std::fs::copy(&template.source, &path).expect("copy the demo's template");
        (path.clone(), path)
    };
    let key = huoyan_core::audit::seal::AuditKey::parse(&template.key).expect("the template's key");
    open(&name, &owner_arg, &db_arg, key).await
}

/// Starts the server on a random port. With `demo`, the Daqing scenario is loaded first.
pub async fn spawn_app(demo: bool) -> TestApp {
    spawn_app_with(demo, Default::default()).await
}

/// The same with the city's own settings.
pub async fn spawn_app_with(demo: bool, settings: huoyan::app::Settings) -> TestApp {
    let fresh = if demo {
        demo_db().await
    } else {
        fresh_db().await
    };
    serve(fresh, settings).await
}

/// Starts the server on a random port over `fresh` as it is.
pub async fn serve(fresh: FreshDb, settings: huoyan::app::Settings) -> TestApp {
    let FreshDb {
        db,
        owner,
        db_arg,
        key_file,
    } = fresh;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = huoyan::app::App::new(db.clone(), settings);
    let mavlink = match state.mavlink {
        Some(addr) => Some(
            huoyan::drones::start_link(&state.drones, addr)
                .await
                .unwrap()
                .0,
        ),
        None => None,
    };
    let app = huoyan::app::router(&state);
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
        owner,
        db_arg,
        key_file,
        mavlink,
        client: reqwest::Client::new(),
    }
}

impl TestApp {
    pub async fn token(&self, username: &str) -> String {
        self.token_with(username, huoyan::auth::password::DEMO_PASSWORD)
            .await
    }

    /// A bearer token for `username` signing in with `password`.
    pub async fn token_with(&self, username: &str, password: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {username}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A new account made by the admin (`scope` as `POST /api/v1/accounts` takes it), signed in;
    /// its bearer token.
    pub async fn new_login(&self, username: &str, role: &str, scope: Value) -> String {
        let admin = self.token("admin").await;
        let (status, body) = self
            .send(
                "POST",
                &admin,
                "/api/v1/accounts",
                &serde_json::json!({"username": username, "password": "a-long-secret", "role": role, "scope": scope}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let answer: Value = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&serde_json::json!({"username": username, "password": "a-long-secret"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_string()
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

    /// Sends `fields` (a JSON object: each string or number a text part, each array's items
    /// repeated parts) with `files` (name, bytes) as one multipart/form-data request, as a report
    /// or a step is sent with its photos.
    pub async fn send_form(
        &self,
        token: &str,
        path: &str,
        fields: &Value,
        files: Vec<(&str, Vec<u8>)>,
    ) -> (u16, Value) {
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields.as_object().expect("an object of fields") {
            match value {
                Value::Array(items) => {
                    for item in items {
                        form = form.text(name.clone(), text(item));
                    }
                }
                v => form = form.text(name.clone(), text(v)),
            }
        }
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .multipart(form)
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

    /// The centre of region `name`'s outline (the mean of its outer ring's corners, which for
    /// the demo's rectangular compounds lies inside): (lon, lat).
    pub async fn centre_of(&self, name: &str) -> (f64, f64) {
        use sqlx::Row;
        let text: String = sqlx::query("SELECT geometry FROM regions WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        let g: Value = serde_json::from_str(&text).unwrap();
        let ring = g["coordinates"][0].as_array().unwrap();
        let corners = &ring[..ring.len() - 1];
        let mean = |i: usize| {
            corners.iter().map(|c| c[i].as_f64().unwrap()).sum::<f64>() / corners.len() as f64
        };
        (mean(0), mean(1))
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

/// A client for the pages: keeps cookies, does not follow redirects (so a test sees each 303).
pub fn page_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the login form with `client` (a `page_client`); the answer's status: 303
/// when signed in, 401 when refused.
/// The principal of account `username` as the server resolves it, for calling the library's
/// read functions directly.
pub async fn principal(db: &Db, username: &str) -> huoyan::auth::Principal {
    use sqlx::Row;
    let id: i64 = sqlx::query("SELECT id FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    huoyan::auth::principal_of(db, id).await.unwrap()
}

pub async fn page_login(
    client: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> u16 {
    let csrf = page_csrf(client, app, "/login").await;
    client
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", username),
            ("password", password),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The value of a page's first hidden `_csrf` field.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .expect("the page has a _csrf field")
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// The `_csrf` of page `path` as `client` gets it (the login form also sets its cookie).
pub async fn page_csrf(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let page = client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    csrf_of(&page)
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
