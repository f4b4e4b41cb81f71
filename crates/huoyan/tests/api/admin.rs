//! The administrator's pages (#11 item 8): accounts made and managed through the pages sign in
//! (or are refused) exactly as the API's would; imports through the page write every row or
//! none and show each bad row's error; the verification page runs `huoyan audit verify`'s walk
//! and names what it finds. Every other role is refused them.

use crate::browser::{choose, click, type_into};
use serde_json::Value;

use crate::{TestApp, page_client, page_login, spawn_app};

const SECRET: &str = "a-long-secret";

/// A page client signed in as the demo's `username`.
async fn pages_as(app: &TestApp, username: &str) -> reqwest::Client {
    let client = page_client();
    let status = page_login(
        &client,
        app,
        username,
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(status, 303, "{username} signs in");
    client
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form with the `_csrf` of page `from`; the status, the page and where it redirects.
async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    from: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let csrf = crate::page_csrf(client, app, from).await;
    let mut fields = vec![("_csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    let r = client
        .post(format!("{}{path}", app.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), r.text().await.unwrap(), location)
}

async fn row(app: &TestApp, sql: &str) -> Vec<Option<i64>> {
    use sqlx::Row;
    let r = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    (0..r.len()).map(|i| r.try_get(i).unwrap()).collect()
}

async fn account_id(app: &TestApp, username: &str) -> i64 {
    app.id_of(&format!(
        "SELECT id FROM accounts WHERE username = '{username}'"
    ))
    .await
}

/// Whether signing in as `username` with `password` through the login page succeeds.
async fn signs_in(app: &TestApp, username: &str, password: &str) -> bool {
    page_login(&page_client(), app, username, password).await == 303
}

#[tokio::test]
async fn an_account_made_through_the_page_signs_in() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let compound = row(
        &app,
        "SELECT scope_region_id FROM accounts WHERE username = 'supervisor'",
    )
    .await[0]
        .unwrap();
    let department = app.id_of("SELECT MIN(id) FROM departments").await;
    let (status, page) = get(&admin, &app, "/accounts/new").await;
    assert_eq!(status, 200);
    // Scopes are picked from lists that search as you type, never typed as ids.
    assert!(
        page.contains(r#"<select name="region_id" data-picker="#),
        "{page}"
    );
    assert!(page.contains(r#"<script src="/static/picker.js""#));
    let (status, page, location) = post(
        &admin,
        &app,
        "/accounts/new",
        "/accounts",
        &[
            ("username", "jc-supervisor-2"),
            ("password", SECRET),
            ("password2", SECRET),
            ("role", "supervisor"),
            ("region_id", &compound.to_string()),
            // A picker left set for another role is not read.
            ("department_id", &department.to_string()),
            ("team_id", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let id = account_id(&app, "jc-supervisor-2").await;
    assert_eq!(location, format!("/accounts/{id}?done=created"));
    assert_eq!(
        row(
            &app,
            &format!(
                "SELECT scope_region_id, scope_department_id, scope_team_id, disabled FROM accounts WHERE id = {id}"
            )
        )
        .await,
        [Some(compound), None, None, Some(0)]
    );
    let (_, page) = get(&admin, &app, &location).await;
    assert!(page.contains("账号已创建"), "{page}");
    assert!(page.contains("景程小区"), "the scope is shown by name");
    // Audited as the administrator's act, as the API's create is.
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity = 'account' AND entity_id = '{id}' AND action = 'create' AND actor = 'admin'"
        ))
        .await,
        1
    );
    assert!(signs_in(&app, "jc-supervisor-2", SECRET).await);
    // The new account is in the list and found by its name.
    let (_, list) = get(&admin, &app, "/accounts?q=jc-super").await;
    assert!(list.contains(&format!("/accounts/{id}\"")), "{list}");
    assert!(!list.contains("/accounts/1\""), "only the matches");
}

#[tokio::test]
async fn a_refused_account_form_keeps_what_was_typed_and_names_each_bad_field() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let before = app.count("accounts").await;
    let (status, page, _) = post(
        &admin,
        &app,
        "/accounts/new",
        "/accounts",
        &[
            ("username", "two words"),
            ("password", "short"),
            ("password2", "shorter"),
            ("role", "commander"),
            ("region_id", ""),
            ("department_id", ""),
            ("team_id", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(app.count("accounts").await, before, "nothing written");
    // Each bad field named beside its input, in Chinese; what was typed is there again, but
    // never a password.
    for message in [
        "1–64 个字符，不含空格",
        "至少 8 个字符",
        "两次输入的密码不一致",
        "请从列表中选择",
    ] {
        assert!(page.contains(message), "{message}: {page}");
    }
    assert!(page.contains(r#"name="username" value="two words""#));
    assert!(page.contains(r#"<option value="commander" data-kind="region" selected>"#));
    assert!(!page.contains("short"), "passwords are not shown back");
    // The layout and menu stay.
    assert!(page.contains(r#"href="/accounts""#));
    // A name taken is refused naming the name.
    let (status, page, _) = post(
        &admin,
        &app,
        "/accounts/new",
        "/accounts",
        &[
            ("username", "office"),
            ("password", SECRET),
            ("password2", SECRET),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("已存在"), "{page}");
    assert!(page.contains(r#"name="username" value="office""#));
    // An expired form is refused, and what was typed kept.
    let r = admin
        .post(format!("{}/accounts", app.base))
        .form(&[
            ("_csrf", "stale"),
            ("username", "late"),
            ("password", SECRET),
            ("password2", SECRET),
            ("role", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("表单已过期"), "{page}");
    assert!(page.contains(r#"name="username" value="late""#));
    assert_eq!(app.count("accounts").await, before);
}

#[tokio::test]
async fn disabling_through_the_page_refuses_sign_in_until_enabled() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let team = app.id_of("SELECT MIN(id) FROM teams").await;
    let token = app
        .new_login("vol-a", "volunteer", serde_json::json!({"team_id": team}))
        .await;
    let id = account_id(&app, "vol-a").await;
    let page = format!("/accounts/{id}");
    let (status, _, location) = post(
        &admin,
        &app,
        &page,
        &format!("{page}/disabled"),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("{page}?done=disabled"));
    assert!(!signs_in(&app, "vol-a", SECRET).await, "disabled");
    assert_eq!(
        app.get(&token, "/api/v1/me").await.0,
        401,
        "its tokens end with it"
    );
    let (_, shown) = get(&admin, &app, &location).await;
    assert!(shown.contains("账号已停用") && shown.contains("重新启用"));
    let (status, _, _) = post(
        &admin,
        &app,
        &page,
        &format!("{page}/disabled"),
        &[("disabled", "false")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(signs_in(&app, "vol-a", SECRET).await, "enabled again");
    // The administrator cannot lock themselves out.
    let me = account_id(&app, "admin").await;
    let mine = format!("/accounts/{me}");
    let (status, shown, _) = post(
        &admin,
        &app,
        &mine,
        &format!("{mine}/disabled"),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(shown.contains("不能停用自己的账号"), "{shown}");
    assert_eq!(
        row(
            &app,
            &format!("SELECT disabled FROM accounts WHERE id = {me}")
        )
        .await,
        [Some(0)]
    );
    // Both changes are in the account's trail.
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity = 'account' AND entity_id = '{id}' AND action = 'update'"
        ))
        .await,
        2
    );
}

#[tokio::test]
async fn a_password_reset_through_the_page_replaces_the_old_one() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let region = app.id_of("SELECT MIN(id) FROM regions").await;
    let token = app
        .new_login(
            "office-b",
            "office",
            serde_json::json!({"region_id": region}),
        )
        .await;
    let id = account_id(&app, "office-b").await;
    let page = format!("/accounts/{id}");
    let path = format!("{page}/password");
    let (status, shown, _) = post(
        &admin,
        &app,
        &page,
        &path,
        &[("password", "new-secret-1"), ("password2", "new-secret-2")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(shown.contains("两次输入的密码不一致"));
    let (status, shown, _) = post(
        &admin,
        &app,
        &page,
        &path,
        &[("password", "short"), ("password2", "short")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(shown.contains("至少 8 个字符"));
    assert!(signs_in(&app, "office-b", SECRET).await, "unchanged so far");
    let (status, _, location) = post(
        &admin,
        &app,
        &page,
        &path,
        &[("password", "new-secret-1"), ("password2", "new-secret-1")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("{page}?done=password"));
    assert!(!signs_in(&app, "office-b", SECRET).await, "the old one");
    assert!(
        signs_in(&app, "office-b", "new-secret-1").await,
        "the new one"
    );
    assert_eq!(app.get(&token, "/api/v1/me").await.0, 401, "tokens end");
    // The trail says the password changed, never what it is.
    let summary: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT summary FROM audit_events WHERE entity = 'account' AND entity_id = '{id}' ORDER BY seq DESC LIMIT 1"
    )))
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["password_changed"], true);
    assert!(!summary.to_string().contains("argon2"));
}

#[tokio::test]
async fn role_and_scope_change_through_the_page() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let compound = row(
        &app,
        "SELECT scope_region_id FROM accounts WHERE username = 'supervisor'",
    )
    .await[0]
        .unwrap();
    app.new_login(
        "sup-c",
        "supervisor",
        serde_json::json!({"region_id": compound}),
    )
    .await;
    let id = account_id(&app, "sup-c").await;
    let district = app
        .id_of("SELECT MIN(id) FROM regions WHERE level = 'district'")
        .await;
    let page = format!("/accounts/{id}");
    let path = format!("{page}/role");
    let (status, shown, location) = post(
        &admin,
        &app,
        &page,
        &path,
        &[("role", "commander"), ("region_id", &district.to_string())],
    )
    .await;
    assert_eq!(status, 303, "{shown}");
    assert_eq!(location, format!("{page}?done=role"));
    assert_eq!(
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT role FROM accounts WHERE id = {id}"
        )))
        .fetch_one(&app.db.pool)
        .await
        .unwrap(),
        "commander"
    );
    assert_eq!(
        row(
            &app,
            &format!("SELECT scope_region_id FROM accounts WHERE id = {id}")
        )
        .await,
        [Some(district)]
    );
    let token = app.token_with("sup-c", SECRET).await;
    let (_, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!(
        (me["role"].as_str(), me["scope"]["region_id"].as_i64()),
        (Some("commander"), Some(district))
    );
    // A department account needs its department: refused naming that picker, the chosen role
    // kept on the form, nothing written.
    let (status, shown, _) = post(
        &admin,
        &app,
        &page,
        &path,
        &[("role", "department"), ("department_id", "")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(shown.contains("请从列表中选择"), "{shown}");
    assert!(shown.contains(r#"<option value="department" data-kind="department" selected>"#));
    assert_eq!(
        row(
            &app,
            &format!("SELECT scope_region_id FROM accounts WHERE id = {id}")
        )
        .await,
        [Some(district)]
    );
    // The administrator's own role cannot be changed from the page either.
    let me = account_id(&app, "admin").await;
    let mine = format!("/accounts/{me}");
    let (status, shown, _) = post(
        &admin,
        &app,
        &mine,
        &format!("{mine}/role"),
        &[("role", "commander"), ("region_id", &district.to_string())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(shown.contains("不能更改自己的角色"), "{shown}");
}

#[tokio::test]
async fn only_the_administrator_opens_the_admin_pages() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let (_, home) = get(&admin, &app, "/").await;
    for href in ["/accounts", "/imports", "/audit/verify"] {
        assert!(
            home.contains(&format!("href=\"{href}\"")),
            "the admin's menu and home offer {href}"
        );
    }
    for role in ["commander", "discipline", "office", "volunteer"] {
        let client = pages_as(&app, role).await;
        let (_, home) = get(&client, &app, "/").await;
        for path in [
            "/accounts",
            "/accounts/new",
            "/accounts/1",
            "/imports",
            "/audit/verify",
        ] {
            assert!(
                !home.contains(&format!("href=\"{path}\"")),
                "{role}: {path}"
            );
            assert_eq!(get(&client, &app, path).await.0, 403, "{role}: GET {path}");
        }
        let csrf = crate::page_csrf(&client, &app, "/").await;
        for path in [
            "/accounts",
            "/accounts/1/disabled",
            "/accounts/1/password",
            "/audit/verify",
        ] {
            let r = client
                .post(format!("{}{path}", app.base))
                .form(&[("_csrf", csrf.as_str()), ("disabled", "true")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{role}: POST {path}");
        }
        let form = reqwest::multipart::Form::new()
            .text("_csrf", csrf.clone())
            .text("kind", "people");
        let r = client
            .post(format!("{}/imports", app.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{role}: POST /imports");
    }
    assert_eq!(
        row(&app, "SELECT disabled FROM accounts WHERE id = 1").await,
        [Some(0)]
    );
}

/// Uploads `file` (named `name`) as a `kind` import through the page's form.
async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    kind: &str,
    name: &str,
    file: Vec<u8>,
) -> (u16, String, String) {
    let csrf = crate::page_csrf(client, app, "/imports").await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf)
        .text("kind", kind.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name(name.to_string()),
        );
    let r = client
        .post(format!("{}/imports", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), r.text().await.unwrap(), location)
}

/// The error table's rows as (row, column, reason).
fn error_rows(page: &str) -> Vec<(String, String, String)> {
    let table = page
        .split("<table class=\"import-errors\">")
        .nth(1)
        .expect("an error table")
        .split("</table>")
        .next()
        .unwrap();
    let cell = |s: &str| s.split("</td>").next().unwrap().to_string();
    table
        .split("<tr><td>")
        .skip(1)
        .map(|tr| {
            let cells: Vec<&str> = tr.splitn(3, "<td").collect();
            let reason = cells[2].split_once('>').unwrap().1;
            (
                cell(cells[0]),
                cell(cells[1].trim_start_matches('>')),
                cell(reason),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_import_with_bad_rows_shows_each_rows_error_and_writes_nothing() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let (people, events) = (app.count("people").await, app.count("audit_events").await);
    let file = crate::imports::xlsx(&[
        &["姓名", "手机", "性别", "出生年份", "小区编码", "技能"],
        &["赵一", "13911110001", "男", "1980", "DQ-C001", "扫码、消杀"],
        &["", "13911110002", "女", "1985", "DQ-C001", ""],
        &["钱三", "12345", "男", "1990", "DQ-C001", ""],
        &["孙四", "13911110001", "女", "1990", "", ""],
        &["李五", "13911110005", "女", "一九九零", "NOPE", ""],
    ]);
    let (status, page, _) = upload(&admin, &app, "people", "people.xlsx", file).await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(
        (app.count("people").await, app.count("audit_events").await),
        (people, events),
        "nothing written"
    );
    let rows = error_rows(&page);
    let placed: Vec<(&str, &str)> = rows
        .iter()
        .map(|(r, c, _)| (r.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        placed,
        [
            ("3", "name（姓名 / 名称）"),
            ("4", "phone（手机）"),
            ("5", "phone（手机）"),
            ("6", "birth_year（出生年份）"),
            ("6", "home_region_code（小区编码）"),
        ],
        "{page}"
    );
    // Each reason in the page's language.
    assert_eq!(rows[0].2, "不能为空");
    assert_eq!(rows[2].2, "与第 2 行的手机号相同");
    assert_eq!(rows[3].2, "不是年份：&#34;一九九零&#34;");
    assert_eq!(rows[4].2, "没有区划代码为 NOPE 的区域");
    assert!(
        page.contains(r#"<option value="people" selected>"#),
        "the kind kept"
    );
    // And in English for an English reader.
    let (_, page, _) = {
        let _ = get(&admin, &app, "/lang/en").await;
        upload(
            &admin,
            &app,
            "people",
            "people.csv",
            "name,phone,gender,birth_year\n,13911110009,male,1980\n".into(),
        )
        .await
    };
    assert_eq!(
        error_rows(&page),
        [(
            "2".into(),
            "name（姓名 / 名称）".into(),
            "must not be empty".into()
        )]
    );
    // A form without a file, or with a file of another kind, names the file.
    let (status, page, _) = upload(&admin, &app, "people", "", vec![]).await;
    assert_eq!(status, 422);
    assert_eq!(
        error_rows(&page),
        [("".into(), "File".into(), "choose a file".into())]
    );
    let (status, page, _) = upload(&admin, &app, "people", "people.txt", b"x".to_vec()).await;
    assert_eq!(status, 422);
    assert_eq!(error_rows(&page)[0].1, "File");
    // A zone names its feature.
    let bad = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"230602"},"geometry":{"type":"Point","coordinates":[125.1,46.6]}}]}"#;
    let (status, page, _) = upload(&admin, &app, "zones", "zones.geojson", bad.into()).await;
    assert_eq!(status, 422);
    let rows = error_rows(&page);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("feature 1", "geometry")
    );
    assert_eq!(app.count("people").await, people);
}

#[tokio::test]
async fn a_good_import_through_the_page_writes_every_row() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let people = app.count("people").await;
    let good = "name,phone,gender,birth_year,home_region_code,skills\n赵一,13911110001,male,1980,DQ-C001,扫码\n钱二,13911110002,female,1985,DQ-C002,\n";
    let (status, page, location) = upload(&admin, &app, "people", "people.csv", good.into()).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/imports?kind=people&rows=2");
    assert_eq!(app.count("people").await, people + 2);
    let (_, page) = get(&admin, &app, &location).await;
    assert!(
        page.contains("导入完成：人员（xlsx / csv），共 2 行。"),
        "{page}"
    );
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM audit_events WHERE entity = 'import' AND actor = 'admin'")
            .await,
        1,
        "audited"
    );
    // Regions, then teams naming them, each file written whole.
    let regions = "code,name,level,parent_code\nX-1,新兴小区,compound,230602022006\nX-1-1,1号楼,building,X-1\n";
    let (status, _, _) = upload(&admin, &app, "regions", "regions.csv", regions.into()).await;
    assert_eq!(status, 303);
    let teams = crate::imports::xlsx(&[
        &["kind", "name", "parent", "region_code"],
        &["party_branch", "新兴小区临时党支部", "", "X-1"],
        &[
            "volunteer_group",
            "新兴小区第1小组",
            "新兴小区临时党支部",
            "X-1",
        ],
    ]);
    let (status, page, location) = upload(&admin, &app, "teams", "teams.xlsx", teams).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/imports?kind=teams&rows=2");
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM teams WHERE name LIKE '新兴小区%'")
            .await,
        2
    );
}

/// Starts a verification from the page and waits for its outcome; the page then.
async fn verify_through_the_page(client: &reqwest::Client, app: &TestApp) -> String {
    let (status, _, location) = post(client, app, "/audit/verify", "/audit/verify", &[]).await;
    assert_eq!((status, location.as_str()), (303, "/audit/verify"));
    for _ in 0..600 {
        let (status, page) = get(client, app, "/audit/verify").await;
        assert_eq!(status, 200);
        if !page.contains(r#"http-equiv="refresh""#) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the verification did not end in a minute");
}

#[tokio::test]
async fn the_verification_page_says_intact_then_names_a_tampered_event() {
    let app = spawn_app(true).await;
    let admin = pages_as(&app, "admin").await;
    let (_, page) = get(&admin, &app, "/audit/verify").await;
    assert!(page.contains("本服务启动以来尚未核验"), "{page}");
    let page = verify_through_the_page(&admin, &app).await;
    let events = app.count("audit_events").await;
    assert!(page.contains("完整。"), "{page}");
    assert!(
        page.contains(&format!("{events} 条留痕事件链接完整")),
        "{page}"
    );
    assert!(
        page.contains(&format!(">{events} / {events}</dd>")),
        "events checked / head"
    );
    let head: String = sqlx::query_scalar("SELECT hash FROM audit_head WHERE id = 1")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(
        page.contains(&format!("#{events} {head}")),
        "the head named"
    );
    sqlx::query("UPDATE audit_events SET summary = '{}' WHERE seq = 42")
        .execute(crate::audit::attacker(&app).await)
        .await
        .unwrap();
    let page = verify_through_the_page(&admin, &app).await;
    assert!(page.contains("发现被改动之处"), "{page}");
    assert!(
        page.contains("第 42 条事件：内容与其存储的哈希不符（被修改）（此前 41 条事件无误）"),
        "{page}"
    );
    // In English, as `huoyan audit verify` says it.
    let _ = get(&admin, &app, "/lang/en").await;
    let (_, page) = get(&admin, &app, "/audit/verify").await;
    assert!(
        page.contains("event 42: its content does not match its stored hash (edited) (41 events before it match)"),
        "{page}"
    );
}

#[tokio::test]
async fn one_verification_runs_at_a_time() {
    let app = spawn_app(true).await;
    let runs = huoyan::audit::Verifications::default();
    assert!(runs.start(app.db.clone(), "admin"));
    // The test's runtime has one thread: the first run cannot have ended before this.
    assert!(!runs.start(app.db.clone(), "admin"), "a second waits");
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if runs.start(app.db.clone(), "admin") {
            return;
        }
    }
    panic!("the first run did not end");
}

/// At a phone's width, the new account form shows only the picker the chosen role needs, and
/// the region picker narrows its hundreds of choices to what is typed; the account is made with
/// the compound found that way. Each admin page fits the phone.
#[tokio::test]
async fn the_pickers_search_as_you_type_on_a_phone() {
    use fantoccini::Locator;
    let app = spawn_app(true).await;
    let (c, _driver, _profile) = crate::browser::browser(360, 740).await;
    crate::browser::sign_in(
        &c,
        &app.base,
        "admin",
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    c.goto(&format!("{}/accounts/new", app.base)).await.unwrap();
    let shown = |kind: &'static str| {
        let c = c.clone();
        async move {
            c.execute(
                &format!("return !document.querySelector('[data-scope-kind={kind}]').hidden"),
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap()
        }
    };
    choose(&c, "select[name=role]", "supervisor").await;
    assert!(shown("region").await);
    assert!(!shown("department").await && !shown("team").await && !shown("global").await);
    let options = || {
        let c = c.clone();
        async move {
            c.execute(
                "return Array.from(document.querySelector('select[name=region_id]').options).map(o => o.text)",
                vec![],
            )
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
        }
    };
    assert!(
        options().await.len() > 100,
        "every region down to compounds"
    );
    type_into(
        &c,
        "[data-scope-kind=region] input.picker-filter",
        "景程小区",
    )
    .await;
    let found = options().await;
    assert!(
        !found.is_empty() && found.iter().all(|o| o.contains("景程小区")),
        "{found:?}"
    );
    for (name, value) in [
        ("username", "jc-phone"),
        ("password", SECRET),
        ("password2", SECRET),
    ] {
        type_into(&c, &format!("input[name={name}]"), value).await;
    }
    crate::browser::fits(&c, "account-new", 360).await;
    click(&c, "form.stack button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("p.notice[role=status]"))
        .await
        .unwrap();
    let region: String = sqlx::query_scalar(
        "SELECT r.name FROM accounts a JOIN regions r ON r.id = a.scope_region_id WHERE a.username = 'jc-phone'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(region, "景程小区");
    crate::browser::fits(&c, "account", 360).await;
    for (path, name) in [
        ("/accounts", "accounts"),
        ("/imports", "imports"),
        ("/audit/verify", "verify"),
    ] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        crate::browser::fits(&c, name, 360).await;
    }
    c.close().await.unwrap();
}
