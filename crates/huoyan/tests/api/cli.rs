//! The command line as an operator uses it: user management and audit verification.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{TestApp, spawn_app};

/// Runs the binary on `db`: exit code and what it wrote (standard output, then error).
pub fn huoyan(db: &str, args: &[&str], stdin: &str) -> (i32, String) {
    let (code, out, err) = huoyan_with(db, args, stdin, &[]);
    (code, format!("{out}{err}"))
}

/// The binary with `env` set, away from the environment's audit key: its default key file
/// would be under a config directory of its own. Returns the exit code, standard output and
/// standard error.
pub fn huoyan_with(
    db: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let config = std::env::temp_dir().join(format!("huoyan-config-{}", crate::rand_suffix()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_huoyan"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("HUOYAN_AUDIT_KEY")
        .env_remove("HUOYAN_AUDIT_KEY_FILE")
        .env("XDG_CONFIG_HOME", &config)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&config);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary on the app's database with its audit key.
pub fn huoyan_on(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String) {
    let key = app.key_file.display().to_string();
    let args: Vec<&str> = args.iter().copied().chain(["--audit-key", &key]).collect();
    huoyan(&app.db_arg, &args, stdin)
}

#[tokio::test]
async fn users_are_added_renamed_and_disabled_from_the_command_line() {
    let app = spawn_app(true).await;
    let (code, out) = huoyan_on(
        &app,
        &["user", "add", "clerk2", "--role", "office"],
        "office-secret\n",
    );
    assert_ne!(code, 0, "an office account needs a region: {out}");
    assert!(out.contains("scope"), "{out}");
    let city = app
        .id_of("SELECT id FROM regions WHERE code = '2306'")
        .await;
    let (code, out) = huoyan_on(
        &app,
        &[
            "user",
            "add",
            "clerk2",
            "--role",
            "office",
            "--region-id",
            &city.to_string(),
        ],
        "huoyan-demo\n",
    );
    assert_ne!(code, 0, "the demo password is refused: {out}");
    let (code, out) = huoyan_on(
        &app,
        &[
            "user",
            "add",
            "clerk2",
            "--role",
            "office",
            "--region-id",
            &city.to_string(),
        ],
        "office-secret\n",
    );
    assert_eq!(code, 0, "{out}");
    let login = |pw: &'static str| {
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            client
                .post(format!("{base}/api/v1/auth/token"))
                .json(&serde_json::json!({"username": "clerk2", "password": pw}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login("office-secret").await, 200);
    assert_eq!(
        huoyan_on(&app, &["user", "passwd", "clerk2"], "new-office-secret\n").0,
        0
    );
    assert_eq!(login("office-secret").await, 401);
    assert_eq!(login("new-office-secret").await, 200);
    assert_eq!(huoyan_on(&app, &["user", "disable", "clerk2"], "").0, 0);
    assert_eq!(login("new-office-secret").await, 401);
}

#[tokio::test]
async fn audit_verify_exits_non_zero_and_names_an_edited_event() {
    let app = spawn_app(true).await;
    let (code, out) = huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK"), "{out}");
    sqlx::query("UPDATE audit_events SET actor = 'someone else' WHERE seq = 321")
        .execute(crate::audit::attacker(&app).await)
        .await
        .unwrap();
    let (code, out) = huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("event 321"), "{out}");
}

#[tokio::test]
async fn a_bad_deadline_configuration_is_refused_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("huoyan-config-{}", crate::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("huoyan.toml");
    std::fs::write(&config, "[deadlines.hours]\nsoon = 3\n").unwrap();
    let db = dir.join("x.db").display().to_string();
    let (code, out) = huoyan(
        &db,
        &["--config", &config.display().to_string(), "migrate"],
        "",
    );
    assert_ne!(code, 0);
    assert!(out.contains("deadlines.hours.soon"), "{out}");
    std::fs::write(
        &config,
        "[deadlines.hours]\nurgent = 1\n[deadlines.overrides.supplies]\nnormal = 6\n",
    )
    .unwrap();
    let (code, out) = huoyan(
        &db,
        &["--config", &config.display().to_string(), "migrate"],
        "",
    );
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM (what systemd and container runtimes send) stops the server only after it has
/// answered the requests in flight: a report whose body is still arriving when the signal comes
/// is filed and answered 201, and the process exits cleanly.
#[tokio::test]
async fn sigterm_answers_the_requests_in_flight_before_stopping() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let before = app.count("cases").await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_huoyan"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&app.db_arg)
        .arg("--audit-key")
        .arg(&app.key_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut conn = None;
    for _ in 0..200 {
        if let Ok(c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut conn = conn.expect("the server listens");
    // One whole request first, so this connection is certainly accepted and being served.
    conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "healthz answered");
    let body = serde_json::json!({"category": "testing", "compound_id": compound, "description": "SIGTERM 时仍在上传的报告"}).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let head = format!(
        "POST /api/v1/cases HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    conn.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        conn.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the report in flight is answered: {answer:?}"
    );
    assert_eq!(app.count("cases").await, before + 1);
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the server exits cleanly: {status:?}");
}

fn scratch(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("huoyan-{what}-{}", crate::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_audit_key_is_made_once_kept_private_and_needed_to_verify() {
    let fresh = crate::fresh_db().await;
    let dir = scratch("keys");
    let key = dir.join("etc").join("audit.key");
    let key_arg = key.display().to_string();
    // The first command that writes makes the key, readable by its owner only.
    let (code, out) = huoyan(
        &fresh.db_arg,
        &[
            "user",
            "add",
            "root2",
            "--role",
            "admin",
            "--audit-key",
            &key_arg,
        ],
        "root2-secret\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created a new audit key"), "{out}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let text = std::fs::read_to_string(&key).unwrap();
    let (code, out) = huoyan(
        &fresh.db_arg,
        &["audit", "verify", "--audit-key", &key_arg],
        "",
    );
    assert_eq!(code, 0, "{out}");
    // Once made, it is used, not replaced.
    let (code, out) = huoyan(
        &fresh.db_arg,
        &["user", "disable", "root2", "--audit-key", &key_arg],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("created"), "{out}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
    // The key itself in HUOYAN_AUDIT_KEY does the same.
    let (code, out, _) = huoyan_with(
        &fresh.db_arg,
        &["audit", "verify"],
        "",
        &[("HUOYAN_AUDIT_KEY", text.trim())],
    );
    assert_eq!(code, 0, "{out}");

    // Another key: verification fails naming it, and a writer refuses before writing.
    let other = dir.join("other.key");
    std::fs::write(&other, "ab".repeat(32)).unwrap();
    let other_arg = other.display().to_string();
    let (code, out) = huoyan(
        &fresh.db_arg,
        &["audit", "verify", "--audit-key", &other_arg],
        "",
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("does not match the key given"), "{out}");
    let events = |db: &huoyan::db::Db| {
        let pool = db.pool.clone();
        async move {
            use sqlx::Row;
            sqlx::query("SELECT COUNT(*) FROM audit_events")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let before = events(&fresh.owner).await;
    let (code, out) = huoyan(
        &fresh.db_arg,
        &[
            "user",
            "add",
            "root3",
            "--role",
            "admin",
            "--audit-key",
            &other_arg,
        ],
        "root3-secret\n",
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(events(&fresh.owner).await, before);
    // No key at all: verification says where it looked and makes none.
    let (code, out) = huoyan(&fresh.db_arg, &["audit", "verify"], "");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("no audit key at"), "{out}");
    // A file that is not a key.
    std::fs::write(&other, "secret\n").unwrap();
    let (code, out) = huoyan(
        &fresh.db_arg,
        &["audit", "verify", "--audit-key", &other_arg],
        "",
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("64 hex digits"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_checkpoint_kept_elsewhere_finds_a_truncated_or_reset_trail() {
    use sqlx::Row;
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    // The head as it is now, seal and all, as someone watching the database could keep it.
    let old = sqlx::query("SELECT seq, hash, mac, key_id FROM audit_head WHERE id = 1")
        .fetch_one(&app.owner.pool)
        .await
        .unwrap();
    let (seq, hash, mac, key_id): (i64, String, String, String) =
        (old.get(0), old.get(1), old.get(2), old.get(3));
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    for n in 0..3 {
        let body = serde_json::json!({"name": format!("格林街道第1核酸采样点（{n}）")});
        let (status, _) = app
            .send("PATCH", &admin, &format!("/api/v1/sites/{site}"), &body)
            .await;
        assert_eq!(status, 200);
    }
    let key = app.key_file.display().to_string();
    let (code, statement, err) = huoyan_with(
        &app.db_arg,
        &["audit", "checkpoint", "--audit-key", &key],
        "",
        &[],
    );
    assert_eq!(code, 0, "{statement}{err}");
    assert!(
        statement.contains(&format!("events: {}", seq + 3)),
        "{statement}"
    );
    let dir = scratch("checkpoint");
    let file = dir.join("checkpoint.txt");
    std::fs::write(&file, &statement).unwrap();
    let file_arg = file.display().to_string();
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify"];
        args.extend_from_slice(extra);
        huoyan_on(&app, &args, "")
    };
    let (code, out) = verify(&["--checkpoint", &file_arg]);
    assert_eq!(code, 0, "the untouched trail holds its checkpoint: {out}");

    // An altered or foreign statement is refused.
    let altered = dir.join("altered.txt");
    std::fs::write(
        &altered,
        statement.replace(
            &format!("events: {}", seq + 3),
            &format!("events: {}", seq + 2),
        ),
    )
    .unwrap();
    let (code, out) = verify(&["--checkpoint", &altered.display().to_string()]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("altered or forged"), "{out}");

    // Truncation to the old head, restored with its own seal. The seal cannot tell (that head
    // was real once); the checkpoint can.
    let attacker = crate::audit::attacker(&app).await;
    sqlx::query("DELETE FROM audit_events WHERE seq > $1")
        .bind(seq)
        .execute(attacker)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, mac = $3, key_id = $4 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .bind(&mac)
        .bind(&key_id)
        .execute(attacker)
        .await
        .unwrap();
    assert_eq!(
        verify(&[]).0,
        0,
        "only a checkpoint finds a rollback to a real head"
    );
    let (code, out) = verify(&["--checkpoint", &file_arg]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "saw {} events but the trail now holds {seq}",
            seq + 3
        )),
        "{out}"
    );

    // A reset to an empty trail, head and all.
    sqlx::query("DELETE FROM audit_events")
        .execute(attacker)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE audit_head SET seq = 0, hash = '{}', mac = NULL, key_id = NULL WHERE id = 1",
        huoyan_core::audit::GENESIS
    )))
    .execute(attacker)
    .await
    .unwrap();
    let (code, out) = verify(&["--checkpoint", &file_arg]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("the trail now holds 0"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_starts_as_the_applications_restricted_role() {
    use std::io::BufRead;
    let app = spawn_app(false).await;
    let key = app.key_file.display().to_string();
    let config = scratch("serve");
    let mut child = Command::new(env!("CARGO_BIN_EXE_huoyan"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &app.db_arg,
            "--audit-key",
            &key,
        ])
        .env_remove("HUOYAN_AUDIT_KEY")
        .env("XDG_CONFIG_HOME", &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        line.starts_with("Huoyan serving on http://127.0.0.1:"),
        "{line}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&config);
}
