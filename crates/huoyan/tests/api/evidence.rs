//! Evidence by step: each photo belongs to the step it came with (the report before, a fix
//! after, a verification), a category's policy can ask a photo of every fix, a refused photo
//! never files half a report, and a reporter adds photos to their own report later.

use serde_json::{Value, json};

use crate::cases::triaged_case;
use crate::uploads::png_image;
use crate::{fields, spawn_app, spawn_app_with};

/// A small photo; each `n` a different content.
fn photo(n: u32) -> Vec<u8> {
    png_image(8 + n, 6)
}

/// The id of the last timeline entry of `action` in a case as the API answers it.
fn entry_of(case: &Value, action: &str) -> i64 {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {case}"))["id"]
        .as_i64()
        .unwrap()
}

/// The files of a case as the API answers it: (entry id, kind, name).
fn files_of(case: &Value) -> Vec<(i64, String, String)> {
    case["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["entry_id"].as_i64().unwrap(),
                f["kind"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A case at 景程小区 in `category`, dispatched to 景程社区居委会 and accepted by it; its
/// transitions' path.
async fn in_rectification(app: &crate::TestApp, category: &str, text: &str) -> String {
    let id = triaged_case(app, category, text).await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let path = format!("/api/v1/cases/{id}/transitions");
    for (who, body) in [
        (
            "group",
            json!({"action": "dispatch", "department_id": dept}),
        ),
        ("department", json!({"action": "accept"})),
    ] {
        let token = app.token(who).await;
        let (status, case) = app.send("POST", &token, &path, &body).await;
        assert_eq!(status, 200, "{body}: {case}");
    }
    path
}

#[tokio::test]
async fn a_fix_needs_a_photo_where_the_category_asks_for_one_and_nowhere_else() {
    let app = spawn_app(true).await;
    let department = app.token("department").await;
    let gate = in_rectification(&app, "static_control", "3号楼东门岗无人值守").await;
    let fix = json!({"action": "report_fix", "note": "已安排两人24小时值守"});
    // As JSON, with no photo at all: refused, naming the field the photos go in.
    let (status, body) = app.send("POST", &department, &gate, &fix).await;
    assert_eq!((status, fields(&body)), (422, vec!["file".to_string()]));
    assert_eq!(
        body["fields"][0]["message"],
        "a photo of the fix is required for this category"
    );
    // A PDF is no photo.
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let (status, body) = app
        .send_form(&department, &gate, &fix, vec![("整改说明.pdf", pdf)])
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["file".to_string()]));
    // Sent as a form, the step's fields are read as from JSON, naming the one at fault.
    let (status, body) = app
        .send_form(
            &department,
            &gate,
            &json!({"action": "report_fix", "note": " "}),
            vec![("门岗.png", photo(1))],
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["note".to_string()]));
    // With a photo the fix is reported, and the photo belongs to it.
    let (status, case) = app
        .send_form(&department, &gate, &fix, vec![("门岗.png", photo(1))])
        .await;
    assert_eq!(
        (status, case["state"].as_str()),
        (200, Some("rectified")),
        "{case}"
    );
    assert_eq!(
        files_of(&case),
        [(
            entry_of(&case, "report_fix"),
            "fix".into(),
            "门岗.png".into()
        )]
    );
    // Supplies delivered are not a thing to photograph: no photo needed.
    let supplies = in_rectification(&app, "supplies", "蔬菜包两天未送达").await;
    let (status, case) = app.send("POST", &department, &supplies, &fix).await;
    assert_eq!(
        (status, case["state"].as_str()),
        (200, Some("rectified")),
        "{case}"
    );
    assert!(files_of(&case).is_empty());
}

#[tokio::test]
async fn the_citys_policy_names_the_categories_whose_fixes_need_a_photo() {
    let config: huoyan_core::cases::EvidenceConfig =
        toml::from_str(r#"fix_photo = ["supplies"]"#).unwrap();
    let app = spawn_app_with(
        true,
        huoyan::app::Settings {
            evidence: config.policy().unwrap(),
            ..Default::default()
        },
    )
    .await;
    let department = app.token("department").await;
    let fix = json!({"action": "report_fix", "note": "已处理"});
    let supplies = in_rectification(&app, "supplies", "蔬菜包两天未送达").await;
    let (status, body) = app.send("POST", &department, &supplies, &fix).await;
    assert_eq!((status, fields(&body)), (422, vec!["file".to_string()]));
    let gate = in_rectification(&app, "static_control", "东门岗无人值守").await;
    let (status, body) = app.send("POST", &department, &gate, &fix).await;
    assert_eq!(status, 200, "{body}");
}

/// Sends a report as multipart/form-data with `files`, under `key`.
async fn report_with(
    app: &crate::TestApp,
    token: &str,
    key: &str,
    files: Vec<(&str, Vec<u8>)>,
) -> (u16, Value) {
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let mut form = reqwest::multipart::Form::new()
        .text("category", "static_control")
        .text("compound_id", compound.to_string())
        .text("description", "3号楼东门岗无人值守，居民随意进出");
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = app
        .client
        .post(format!("{}/api/v1/cases", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_report_is_filed_with_its_photos_or_not_at_all() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let (cases, files) = (app.count("cases").await, app.count("case_files").await);
    // One photo refused (a GIF): nothing is filed, the good one neither; the part is named.
    let (status, body) = report_with(
        &app,
        &supervisor,
        "phone-1",
        vec![
            ("门岗.png", photo(1)),
            ("门岗.gif", b"GIF89a\x01\x00\x01\x00".to_vec()),
        ],
    )
    .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["file[1]".to_string()]),
        "{body}"
    );
    assert_eq!(app.count("cases").await, cases, "no case without its photo");
    assert_eq!(app.count("case_files").await, files);
    // Sent again with the good photo: the case and its photo, which belongs to the report.
    let (status, case) =
        report_with(&app, &supervisor, "phone-1", vec![("门岗.png", photo(1))]).await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(
        files_of(&case),
        [(
            entry_of(&case, "report"),
            "report".into(),
            "门岗.png".into()
        )]
    );
    // The phone resends after a lost answer: the same case, its photo not doubled.
    let (status, again) =
        report_with(&app, &supervisor, "phone-1", vec![("门岗.png", photo(1))]).await;
    assert_eq!((status, &again["id"]), (200, &case["id"]));
    assert_eq!(files_of(&again).len(), 1);
    assert_eq!(app.count("cases").await, cases + 1);
    // A part the report does not take is refused by name.
    let form = json!({"category": "supplies", "description": "x", "colour": "red"});
    let (status, body) = app
        .send_form(&supervisor, "/api/v1/cases", &form, vec![])
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["colour".to_string()]),
        "{body}"
    );
}

#[tokio::test]
async fn a_reporter_adds_photos_to_their_own_report_later_and_no_one_else_can() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let id = triaged_case(&app, "static_control", "3号楼东门岗无人值守").await;
    let upload = |token: String, n: u32| {
        let app = &app;
        async move {
            let name = format!("补拍{n}.png");
            let files = vec![(name.as_str(), photo(n))];
            app.send_form(
                &token,
                &format!("/api/v1/cases/{id}/files"),
                &json!({}),
                files,
            )
            .await
        }
    };
    // The reporter's photo found later joins the report; the timeline says when it came.
    let (status, body) = upload(supervisor.clone(), 1).await;
    assert_eq!(status, 201, "{body}");
    let (_, case) = app.get(&supervisor, &format!("/api/v1/cases/{id}")).await;
    let report = entry_of(&case, "report");
    assert_eq!(body[0]["entry_id"], report);
    assert_eq!(body[0]["kind"], "report");
    assert_eq!(
        case["timeline"].as_array().unwrap().last().unwrap()["action"],
        "attach"
    );
    // Another supervisor of the same compound sees the case but may not add to it; a unit with
    // no task on it does not see it.
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let neighbour = app
        .new_login("neighbour", "supervisor", json!({"region_id": compound}))
        .await;
    assert_eq!(
        app.get(&neighbour, &format!("/api/v1/cases/{id}")).await.0,
        200
    );
    assert_eq!(upload(neighbour, 2).await.0, 403);
    assert_eq!(upload(app.token("department").await, 3).await.0, 404);
    // The office took no report, fix or verification on it: its files are a step of their own.
    let (status, body) = upload(office.clone(), 4).await;
    assert_eq!(status, 201, "{body}");
    let (_, case) = app.get(&office, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(body[0]["kind"], "other");
    assert_eq!(body[0]["entry_id"], entry_of(&case, "attach"));
    assert_eq!(files_of(&case).len(), 2);
    // A finished case takes no more files.
    let (status, _) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{id}/transitions"),
            &json!({"action": "reject", "note": "重复上报"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = upload(supervisor, 5).await;
    assert_eq!((status, fields(&body)), (422, vec!["file".to_string()]));
}

/// A page request with the caller's bearer token (which needs no CSRF value).
async fn page(app: &crate::TestApp, token: &str, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_refused_photo_shows_the_report_again_as_typed_and_names_the_file() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (cases, files) = (app.count("cases").await, app.count("case_files").await);
    let send = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("idempotency_key", "draft-7")
            .text("category", "static_control")
            .text("compound_id", compound.to_string())
            .text("priority", "high")
            .text("description", "3号楼东门岗无人值守，居民随意进出")
            .text("address", "3号楼东门")
            .text("lon", "")
            .text("lat", "");
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        }
        crate::page_client()
            .post(format!("{}/cases/new", app.base))
            .bearer_auth(&supervisor)
            .multipart(form)
            .send()
    };
    let r = send(vec![
        ("东门.png", photo(1)),
        ("东门.gif", b"GIF89a\x01\x00\x01\x00".to_vec()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    // Every field as typed, the same key (a second send files one case), each chosen file named.
    for typed in [
        ">3号楼东门岗无人值守，居民随意进出</textarea>",
        "value=\"3号楼东门\"",
        "<option value=\"static_control\" selected>",
        "<option value=\"high\" selected>",
        "value=\"draft-7\"",
        "东门.gif：<span class=\"error\">只接受照片（JPEG、PNG、WebP、HEIC）、PDF 和 MP4 视频</span>",
        "东门.png：<span class=\"muted\">未上报，请重新选择</span>",
    ] {
        assert!(html.contains(typed), "{typed} missing from {html}");
    }
    assert_eq!(app.count("cases").await, cases, "nothing filed");
    assert_eq!(app.count("case_files").await, files);
    // The good photo chosen again: filed with it, and shown.
    let r = send(vec![("东门.png", photo(1))]).await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = to.trim_start_matches("/cases/").parse().unwrap();
    let (_, case) = app.get(&supervisor, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        files_of(&case),
        [(
            entry_of(&case, "report"),
            "report".into(),
            "东门.png".into()
        )]
    );
    assert_eq!(app.count("cases").await, cases + 1);
}

/// The timeline item of the case page that shows the step labelled `label`.
fn step_item<'a>(html: &'a str, label: &str) -> &'a str {
    let timeline = &html[html.find("<ol class=\"timeline\">").expect("a timeline")..];
    timeline
        .split("<li>")
        .find(|item| item.contains(&format!("<b>{label}</b>")))
        .unwrap_or_else(|| panic!("no step {label} in {timeline}"))
}

#[tokio::test]
async fn the_case_page_shows_each_photo_under_its_step_before_and_after() {
    let app = spawn_app(true).await;
    let (supervisor, group, department) = (
        app.token("supervisor").await,
        app.token("group").await,
        app.token("department").await,
    );
    let (status, case) =
        report_with(&app, &supervisor, "k-1", vec![("门岗无人.png", photo(1))]).await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    let path = format!("/api/v1/cases/{id}/transitions");
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    for (token, body) in [
        (
            app.token("office").await,
            json!({"action": "triage", "note": "转督导组"}),
        ),
        (
            group.clone(),
            json!({"action": "dispatch", "department_id": dept}),
        ),
        (department.clone(), json!({"action": "accept"})),
    ] {
        assert_eq!(
            app.send("POST", &token, &path, &body).await.0,
            200,
            "{body}"
        );
    }
    // The department's page asks for the photo; its form refuses a fix without one, saying why
    // beside the input.
    let html = page(&app, &department, &format!("/cases/{id}")).await;
    assert!(html.contains("（此类问题须附整改后照片）"), "{html}");
    assert!(
        html.contains("capture=\"environment\" multiple required>"),
        "{html}"
    );
    let r = app
        .client
        .post(format!("{}/cases/{id}/act", app.base))
        .bearer_auth(&department)
        .multipart(
            reqwest::multipart::Form::new()
                .text("_csrf", "")
                .text("action", "report_fix")
                .text("note", "已恢复值守"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("此类问题报告整改须附整改后照片"), "{html}");
    let (status, case) = app
        .send_form(
            &department,
            &path,
            &json!({"action": "report_fix", "note": "已恢复值守"}),
            vec![("门岗有人.png", photo(2))],
        )
        .await;
    assert_eq!(status, 200, "{case}");
    let file = |name: &str| {
        case["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (before, after) = (file("门岗无人.png"), file("门岗有人.png"));
    let html = page(&app, &group, &format!("/cases/{id}")).await;
    let report = step_item(&html, "上报");
    assert!(report.contains("现场照片（整改前）"), "{report}");
    assert!(report.contains(&format!("/files/{before}\"")), "{report}");
    assert!(!report.contains(&format!("/files/{after}\"")), "{report}");
    let fix = step_item(&html, "报告整改");
    assert!(fix.contains("整改后"), "{fix}");
    assert!(fix.contains(&format!("/files/{after}\"")), "{fix}");
    assert!(!fix.contains(&format!("/files/{before}\"")), "{fix}");
    assert!(
        !step_item(&html, "接收整改").contains("class=\"evidence\""),
        "a step without files shows none"
    );
    // In English too.
    let html = page(&app, &group, &format!("/cases/{id}?lang=en")).await;
    assert!(step_item(&html, "Reported").contains("On report (before)"));
    assert!(step_item(&html, "Report the fix").contains("After the fix"));
}

#[tokio::test]
async fn the_reporter_adds_a_photo_to_their_report_from_the_case_page() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let id = triaged_case(&app, "static_control", "3号楼东门岗无人值守").await;
    // The reporter is offered the form, and told the photos join the report.
    let html = page(&app, &supervisor, &format!("/cases/{id}")).await;
    assert!(
        html.contains(&format!("action=\"/cases/{id}/files\"")),
        "{html}"
    );
    assert!(
        html.contains("将归入：<span class=\"ev-label ev-report\">现场照片（整改前）</span>"),
        "{html}"
    );
    let post = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new().text("_csrf", "");
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        }
        crate::page_client()
            .post(format!("{}/cases/{id}/files", app.base))
            .bearer_auth(&supervisor)
            .multipart(form)
            .send()
    };
    // A refused file shows the page again, naming it beside the input; nothing is added.
    let r = post(vec![("东门.gif", b"GIF89a\x01\x00\x01\x00".to_vec())])
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<details class=\"act\" id=\"add-files\" open>"),
        "{html}"
    );
    assert!(html.contains("只接受照片"), "{html}");
    let r = post(vec![("东门.png", photo(3))]).await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, case) = app.get(&supervisor, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        files_of(&case),
        [(
            entry_of(&case, "report"),
            "report".into(),
            "东门.png".into()
        )]
    );
    // Someone who may not add files is not offered the form.
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let neighbour = app
        .new_login("neighbour", "supervisor", json!({"region_id": compound}))
        .await;
    let html = page(&app, &neighbour, &format!("/cases/{id}")).await;
    assert!(!html.contains(&format!("action=\"/cases/{id}/files\"")));
}

/// Files stored before files had their step: those written with a step (by its actor, at its
/// instant) join it; those added later, or a report's photos sent after it was filed, join the
/// report.
#[tokio::test]
async fn files_stored_before_steps_had_files_join_the_step_they_came_with() {
    let (_, owner_arg, _) = crate::empty_db().await;
    let db = huoyan::db::Db::connect(&owner_arg).await.unwrap();
    let backend = if crate::backend() == "postgres" {
        "postgres"
    } else {
        "sqlite"
    };
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let all = sqlx::migrate::Migrator::new(folder).await.unwrap();
    let earlier: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < 13)
        .cloned()
        .collect();
    sqlx::migrate::Migrator {
        migrations: earlier.into(),
        ..sqlx::migrate::Migrator::DEFAULT
    }
    .run(&db.pool)
    .await
    .unwrap();
    for sql in [
        "INSERT INTO regions (id, level, code, name, path, created_at) VALUES (1, 'compound', 'C1', '景程小区', '/1/', 0)",
        "INSERT INTO accounts (id, username, role, password_hash, created_at) VALUES (1, 'sup', 'supervisor', 'x', 0), (2, 'dept', 'department', 'x', 0)",
        "INSERT INTO cases (id, kind, source, category, priority, state, compound_id, description, reporter_account_id, reported_at, updated_at) \
         VALUES (1, 'problem', 'supervisor', 'static_control', 'normal', 'rectified', 1, '东门岗无人', 1, 100, 300), \
                (2, 'problem', 'supervisor', 'static_control', 'normal', 'reported', 1, '西门岗无人', 2, 300, 300)",
        // Case 1: its report, a fix with its photo (then the `attach` line), a photo added
        // later; case 2 reported by the fixer at the fix's very instant.
        "INSERT INTO case_events (id, case_id, at, actor_account_id, action, from_state, to_state) VALUES \
         (1, 1, 100, 1, 'report', NULL, 'reported'), (2, 1, 300, 2, 'report_fix', 'rectifying', 'rectified'), \
         (3, 1, 300, 2, 'attach', 'rectified', 'rectified'), (4, 1, 500, 1, 'attach', 'rectified', 'rectified'), \
         (5, 2, 300, 2, 'report', NULL, 'reported')",
        "INSERT INTO file_blobs (sha256, content) VALUES ('h', 'x')",
        "INSERT INTO case_files (id, case_id, name, media_type, size, sha256, uploaded_by, uploaded_at) VALUES \
         (1, 1, 'fix.png', 'image/png', 1, 'h', 2, 300), (2, 1, 'later.png', 'image/png', 1, 'h', 1, 500), \
         (3, 1, 'report.png', 'image/png', 1, 'h', 1, 150)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    db.migrate().await.unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, entry_id FROM case_files ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, [(1, 2), (2, 1), (3, 1)]);
    // From now on a file cannot lose its step.
    let orphan = sqlx::query(
        "INSERT INTO case_files (case_id, name, media_type, size, sha256, uploaded_at) VALUES (2, 'x.png', 'image/png', 1, 'h', 600)",
    )
    .execute(&db.pool)
    .await;
    assert!(orphan.is_err(), "a file without its step is refused");
}
