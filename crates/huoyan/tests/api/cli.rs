//! The command line as an operator uses it: user management and audit verification.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::spawn_app;

pub fn huoyan(db: &str, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_huoyan"))
        .args(args)
        .arg("--db")
        .arg(db)
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
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn users_are_added_renamed_and_disabled_from_the_command_line() {
    let app = spawn_app(true).await;
    let (code, out) = huoyan(
        &app.db_arg,
        &["user", "add", "clerk2", "--role", "office"],
        "office-secret\n",
    );
    assert_ne!(code, 0, "an office account needs a region: {out}");
    assert!(out.contains("scope"), "{out}");
    let city = app
        .id_of("SELECT id FROM regions WHERE code = '2306'")
        .await;
    let (code, out) = huoyan(
        &app.db_arg,
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
    let (code, out) = huoyan(
        &app.db_arg,
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
        huoyan(
            &app.db_arg,
            &["user", "passwd", "clerk2"],
            "new-office-secret\n"
        )
        .0,
        0
    );
    assert_eq!(login("office-secret").await, 401);
    assert_eq!(login("new-office-secret").await, 200);
    assert_eq!(huoyan(&app.db_arg, &["user", "disable", "clerk2"], "").0, 0);
    assert_eq!(login("new-office-secret").await, 401);
}

#[tokio::test]
async fn audit_verify_exits_non_zero_and_names_an_edited_event() {
    let app = spawn_app(true).await;
    let (code, out) = huoyan(&app.db_arg, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK"), "{out}");
    sqlx::query("UPDATE audit_events SET actor = 'someone else' WHERE seq = 321")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (code, out) = huoyan(&app.db_arg, &["audit", "verify"], "");
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
