//! The field web app: the daily check-in of every role that reports, the report form's
//! idempotent replay, and the pages that open and queue without a network.

use crate::browser::{choose, click, type_into};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// The account's check-ins as the database holds them: (compound, team, nothing to report).
async fn check_ins_of(app: &TestApp, username: &str) -> Vec<(Option<i64>, Option<i64>, bool)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT c.compound_id, c.team_id, c.nothing_to_report FROM check_ins c \
         JOIN accounts a ON a.id = c.account_id WHERE a.username = $1 ORDER BY c.id",
    )
    .bind(username)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("compound_id").unwrap(),
            r.try_get("team_id").unwrap(),
            r.try_get::<i64, _>("nothing_to_report").unwrap() == 1,
        )
    })
    .collect()
}

/// Before: the daily check-in answered 422 "name the compound" to inspectors and pilots, who
/// have no compound. An inspector checks in for the supervision team they rove with, a pilot
/// for themselves; checking in again the same day replaces the answer, and the same answer
/// again changes nothing (a queued check-in sent twice).
#[tokio::test]
async fn inspectors_check_in_for_their_team_and_pilots_for_themselves() {
    let app = spawn_app(true).await;
    let team_of = |login: &'static str| {
        let app = &app;
        async move {
            app.id_of(&format!(
                "SELECT scope_team_id FROM accounts WHERE username = '{login}'"
            ))
            .await
        }
    };
    let (inspector, pilot) = (app.token("inspector").await, app.token("pilot").await);
    let team = team_of("inspector").await;
    let events = app.count("audit_events").await;
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            &body["team_id"],
            &body["compound_id"],
            &body["nothing_to_report"]
        ),
        (&json!(team), &Value::Null, &json!(true)),
        "{body}"
    );
    assert_eq!(
        check_ins_of(&app, "inspector").await,
        [(None, Some(team), true)]
    );
    assert_eq!(app.count("audit_events").await, events + 1);
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        app.count("audit_events").await,
        events + 1,
        "the same answer again is no new step"
    );
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": false}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        check_ins_of(&app, "inspector").await,
        [(None, Some(team), false)],
        "a changed answer replaces the day's"
    );
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["team_id"], &body["compound_id"]),
        (&Value::Null, &Value::Null),
        "{body}"
    );
    assert_eq!(check_ins_of(&app, "pilot").await, [(None, None, true)]);
    // A check-in is seen in the trail of what it speaks for.
    let admin = app.token("admin").await;
    let (status, trail) = app
        .get(
            &admin,
            &format!("/api/v1/audit?entity=team&entity_id={team}"),
        )
        .await;
    assert_eq!(status, 200, "{trail}");
    assert!(trail.to_string().contains("check_in"), "{trail}");
    // A compound is still named explicitly, and a supervisor still checks in for theirs.
    let (status, body) = app
        .send(
            "POST",
            &app.token("supervisor").await,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["compound_id"].is_i64(), "{body}");
    assert_eq!(body["team_id"], Value::Null, "{body}");
    // The office, confined to the whole city, has nothing of its own to check in for.
    let (status, body) = app
        .send(
            "POST",
            &app.token("office").await,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["compound_id".into()]));
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "the trail still verifies: {out}");
}

/// Page `path` as the bearer of `token` gets it (pages take a bearer token as the API does).
async fn page(app: &TestApp, token: &str, path: &str) -> String {
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

/// The check-in page offers its buttons only to those whose check-in can be recorded, and the
/// buttons work for each of them: the supervisor, the inspector and the pilot. The office,
/// which has none of its own, sees the silent compounds and no button.
#[tokio::test]
async fn the_check_in_page_offers_a_button_only_where_it_works() {
    let app = spawn_app(true).await;
    for login in ["supervisor", "inspector", "pilot"] {
        let token = app.token(login).await;
        let html = page(&app, &token, "/check-ins").await;
        assert!(
            html.contains("name=\"nothing_to_report\""),
            "{login}: {html}"
        );
        let r = app
            .client
            .post(format!("{}/check-ins", app.base))
            .bearer_auth(&token)
            .form(&[("_csrf", ""), ("nothing_to_report", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{login}");
        let body = r.text().await.unwrap();
        assert!(body.contains("id=\"checked-in\""), "{login}: {body}");
        assert_eq!(check_ins_of(&app, login).await.len(), 1, "{login}");
    }
    let html = page(&app, &app.token("office").await, "/check-ins").await;
    assert!(!html.contains("nothing_to_report"), "{html}");
    assert!(html.contains("id=\"silent\""), "{html}");
}

/// The report form posted without script carries its idempotency key in a hidden field: the
/// same form sent again (a double tap, the phone's retry after a lost answer) shows the same
/// case and files neither a second case nor a second copy of its photo.
#[tokio::test]
async fn the_report_form_sent_twice_files_one_case_with_one_photo() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let description = "重放测试：5号楼物资未送达";
    let key = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let photo = crate::uploads::png_image(32, 24);
    let send = || {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("idempotency_key", key)
            .text("category", "supplies")
            .text("compound_id", compound.to_string())
            .text("priority", "normal")
            .text("description", description)
            .part(
                "file",
                reqwest::multipart::Part::bytes(photo.clone())
                    .file_name("gate.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        let client = crate::page_client();
        let app = &app;
        let supervisor = &supervisor;
        async move {
            client
                .post(format!("{}/cases/new", app.base))
                .bearer_auth(supervisor)
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let mut shown = Vec::new();
    for _ in 0..2 {
        let r = send().await;
        assert_eq!(r.status(), 303);
        shown.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(shown[0], shown[1], "the resend shows the same case");
    let filed = format!("SELECT COUNT(*) FROM cases WHERE description = '{description}'");
    assert_eq!(app.id_of(&filed).await, 1, "one case");
    let case: i64 = shown[0].trim_start_matches("/cases/").parse().unwrap();
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM case_files WHERE case_id = {case}"
        ))
        .await,
        1,
        "one photo"
    );
}

/// ChromeDriver's network emulation for the whole browser session (`offline` cuts the page's
/// requests and its service worker's alike).
#[derive(Debug)]
struct Network {
    offline: bool,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Network {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/chromium/network_conditions",
            session.expect("a session is open")
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let conditions = json!({"network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1
        }});
        (axum::http::Method::POST, Some(conditions.to_string()))
    }
}

/// Serves `app`'s database again, writing down every request it hears (method and path), so a
/// test can tell what reached the server while the browser was offline. Its address.
async fn serve_listening(app: &TestApp) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    let router = huoyan::app::router(&huoyan::app::App::new(app.db.clone(), Default::default()))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let log = log.clone();
                async move {
                    let line = format!("{} {}", req.method(), req.uri().path());
                    log.lock().unwrap().push(line);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, heard)
}

/// The network between the browser and the server, which the test can cut: while cut, the
/// connections through it are dropped and new ones refused. The browser's offline mode, as
/// ChromeDriver sets it, cuts the page's requests but not its service worker's (the worker
/// still reached the server), so the test cuts both: the page learns it is offline from the
/// browser, the worker from the wire.
struct Wire {
    base: String,
    cut: tokio::sync::watch::Sender<bool>,
}

async fn wire(to: std::net::SocketAddr) -> Wire {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (cut, watching) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut cut = watching.clone();
            if *cut.borrow() {
                continue;
            }
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = cut.wait_for(|cut| *cut) => {}
                }
            });
        }
    });
    Wire { base, cut }
}

/// Cuts or restores the network: the browser's offline mode and the wire.
async fn network(c: &fantoccini::Client, wire: &Wire, up: bool) {
    if up {
        wire.cut.send_replace(false);
    }
    c.issue_cmd(Network { offline: !up }).await.unwrap();
    if !up {
        wire.cut.send_replace(true);
    }
}

/// Waits up to `seconds` for `script` to answer true; it answers by calling `arguments[0]`
/// (at once, or when a promise settles).
async fn until(c: &fantoccini::Client, script: &str, seconds: u64) -> bool {
    for _ in 0..seconds * 5 {
        if c.execute_async(script, vec![]).await.unwrap() == json!(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Waits up to `seconds` for the SQL count `query` to reach `n`; the count last seen.
async fn count_until(app: &TestApp, query: &str, n: i64, seconds: u64) -> i64 {
    for _ in 0..seconds * 5 {
        if app.id_of(query).await == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.id_of(query).await
}

/// The field web app with the network cut (the browser's offline mode, and the wire for its
/// service worker, see `Wire`): the supervisor opens
/// the report page once online (the service worker installs and keeps the field pages), then
/// offline opens the report page and the check-in page from the worker, files a report with a
/// photo and checks in; both wait in the outbox, shown on the page, and nothing reaches the
/// server. When the network returns the page sends each once: one case with its photo, one
/// check-in, and the outbox is empty.
#[tokio::test]
async fn the_report_page_opens_offline_and_its_queued_report_is_filed_once() {
    let app = spawn_app(true).await;
    let (server, heard) = serve_listening(&app).await;
    let wire = wire(server).await;
    let base = wire.base.clone();
    let (c, _driver, _profile) = crate::browser::browser(360, 780).await;
    let photo = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("offline-gate.png");
    std::fs::write(&photo, crate::uploads::png_image(40, 30)).unwrap();
    crate::browser::sign_in(&c, &base, "supervisor", "huoyan-demo").await;
    c.goto(&format!("{base}/cases/new")).await.unwrap();
    assert!(
        until(&c, "arguments[0](!!navigator.serviceWorker.controller)", 30).await,
        "the service worker takes the report page over"
    );
    let kept = "var done = arguments[0]; caches.open('huoyan-pages').then(function (c) { \
                return Promise.all([c.match('/cases/new'), c.match('/check-ins')]); }) \
                .then(function (r) { done(!!r[0] && !!r[1]); }, function () { done(false); });";
    assert!(
        until(&c, kept, 10).await,
        "the worker keeps the report and check-in pages"
    );

    network(&c, &wire, false).await;
    let heard_before = heard.lock().unwrap().len();
    let description = "离线上报：7号楼东门岗夜间无人";
    c.goto(&format!("{base}/cases/new")).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#report select[name=category]"))
        .await
        .expect("the report page opens without a network");
    let offline: bool = c
        .execute_async(
            "var done = arguments[0]; fetch('/healthz').then(function () { done(false); }, function () { done(true); });",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(offline, "the page has no network");
    crate::browser::fits(&c, "report-offline", 360).await;
    choose(&c, "select[name=category]", "static_control").await;
    type_into(&c, "textarea[name=description]", description).await;
    type_into(&c, "#report input[type=file]", &photo.display().to_string()).await;
    click(&c, "#report button[type=submit]").await;
    assert!(
        until(
            &c,
            "arguments[0](document.getElementById('outbox').textContent.indexOf('草稿已保存') >= 0 \
             && document.querySelectorAll('#queue:not([hidden]) li.queued').length === 1)",
            20
        )
        .await,
        "the page says the report is queued and shows it: {}",
        c.execute(
            "return document.getElementById('outbox').outerHTML + document.getElementById('queue').outerHTML",
            vec![]
        )
        .await
        .unwrap()
    );
    let queued = c
        .find(Locator::Css("#queue li.queued"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queued.contains("离线上报"), "{queued}");
    crate::browser::fits(&c, "report-queued", 360).await;
    // The check-in page opens from the worker too, and its answer joins the queue.
    c.goto(&format!("{base}/check-ins")).await.unwrap();
    c.find(Locator::Css("#check-in button[name=nothing_to_report]"))
        .await
        .expect("the check-in page opens without a network")
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "arguments[0](document.getElementById('outbox').textContent.indexOf('零报告已存入') >= 0 \
             && document.querySelectorAll('#queue:not([hidden]) li.queued').length === 2)",
            20
        )
        .await,
        "the check-in is queued behind the report"
    );
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-in-offline-360.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let filed = format!("SELECT COUNT(*) FROM cases WHERE description = '{description}'");
    let checked_in = "SELECT COUNT(*) FROM check_ins c JOIN accounts a ON a.id = c.account_id \
                      WHERE a.username = 'supervisor'";
    assert_eq!(app.id_of(&filed).await, 0, "nothing filed offline");
    assert_eq!(app.id_of(checked_in).await, 0);
    let while_offline = heard.lock().unwrap()[heard_before..].to_vec();
    assert!(
        while_offline.is_empty(),
        "the server heard nothing while the browser was offline: {while_offline:?}"
    );

    // The network returns: the open page sends what waited, each once.
    network(&c, &wire, true).await;
    assert_eq!(count_until(&app, &filed, 1, 60).await, 1, "one case");
    assert_eq!(
        count_until(&app, checked_in, 1, 30).await,
        1,
        "one check-in"
    );
    assert!(
        until(
            &c,
            "arguments[0](!!document.getElementById('checked-in') \
             && document.getElementById('queue').hidden)",
            30
        )
        .await,
        "the page shows the check-in recorded and an empty queue"
    );
    let case = app
        .id_of(&format!(
            "SELECT id FROM cases WHERE description = '{description}'"
        ))
        .await;
    assert_eq!(
        count_until(
            &app,
            &format!("SELECT COUNT(*) FROM case_files WHERE case_id = {case}"),
            1,
            30
        )
        .await,
        1,
        "its photo, once"
    );
    // Opened again online, the report page has nothing left to send, and nothing was sent twice.
    c.goto(&format!("{base}/cases/new")).await.unwrap();
    c.wait().for_element(Locator::Css("#report")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        until(
            &c,
            "arguments[0](document.getElementById('queue').hidden)",
            10
        )
        .await,
        "the queue is empty"
    );
    assert_eq!(app.id_of(&filed).await, 1, "filed exactly once");
    assert_eq!(app.id_of(checked_in).await, 1);
    // Signing out drops the kept pages: none shows its user to the next one offline.
    click(&c, "form[action='/logout'] button").await;
    c.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "var done = arguments[0]; caches.has('huoyan-pages').then(function (kept) { done(!kept); })",
            5
        )
        .await,
        "the kept pages are dropped at sign-out"
    );
    c.close().await.unwrap();
}

/// The width and height a PNG's header gives.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// What a phone needs to install the field pages: every page links the manifest; the manifest
/// names the app in Chinese first, starts at the report form and has real icons of the sizes it
/// says; the worker is served from the root (so its scope is every page) and keeps the report
/// and check-in pages with the stylesheet and their scripts, each of which is served.
#[tokio::test]
async fn the_field_pages_install_from_a_manifest_and_a_worker_at_the_root() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    for path in ["/cases/new", "/check-ins", "/"] {
        let html = page(&app, &supervisor, path).await;
        assert!(
            html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#),
            "{path}"
        );
    }
    let get = |path: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let kind = r.headers()["content-type"].to_str().unwrap().to_string();
            (kind, r.bytes().await.unwrap().to_vec())
        }
    };
    let (kind, manifest) = get("/manifest.webmanifest".into()).await;
    assert_eq!(kind, "application/manifest+json");
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    assert!(manifest["name"].as_str().unwrap().starts_with("火眼"));
    assert_eq!(manifest["start_url"], "/cases/new");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    for size in [192, 512] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == format!("{size}x{size}"))
            .unwrap_or_else(|| panic!("an icon of {size} px"));
        let (kind, png) = get(icon["src"].as_str().unwrap().to_string()).await;
        assert_eq!(kind, "image/png");
        assert_eq!(png_size(&png), (size, size));
    }
    let (kind, worker) = get("/sw.js".into()).await;
    assert!(kind.starts_with("text/javascript"), "{kind}");
    let worker = String::from_utf8(worker).unwrap();
    let list = worker
        .split("var OFFLINE = ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the worker names what it keeps");
    let kept: Vec<String> = serde_json::from_str(list).unwrap();
    for path in [
        "/cases/new",
        "/check-ins",
        "/static/app.css",
        "/static/outbox.js",
        "/static/report.js",
        "/static/check_ins.js",
    ] {
        assert!(kept.iter().any(|k| k == path), "{path} in {kept:?}");
    }
    for asset in kept.iter().filter(|k| k.starts_with("/static/")) {
        get(asset.clone()).await;
    }
}

/// A page kept offline carries the CSRF token of the session it was kept in. The outbox asks
/// `GET /api/v1/me` for the current session's token instead: it is given to a page session (and
/// works for a write), never to a bearer token, and a new sign-in gets a new one.
#[tokio::test]
async fn a_page_session_learns_its_current_csrf_token() {
    let app = spawn_app(true).await;
    let (status, me) = app.get(&app.token("pilot").await, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert!(me.get("csrf_token").is_none(), "{me}");
    let sign_in = || async {
        let client = crate::page_client();
        let csrf = crate::page_csrf(&client, &app, "/login").await;
        let r = client
            .post(format!("{}/login", app.base))
            .form(&[
                ("username", "pilot"),
                ("password", huoyan::auth::password::DEMO_PASSWORD),
                ("_csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let me: Value = client
            .get(format!("{}/api/v1/me", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = me["csrf_token"]
            .as_str()
            .expect("a page session's token")
            .to_string();
        (client, token)
    };
    let (client, token) = sign_in().await;
    let page = client
        .get(format!("{}/check-ins", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(crate::csrf_of(&page), token, "the token the pages carry");
    let check_in = |token: String| {
        client
            .post(format!("{}/api/v1/check-ins", app.base))
            .header("x-csrf-token", token)
            .json(&json!({"nothing_to_report": true}))
            .send()
    };
    assert_eq!(check_in("stale".into()).await.unwrap().status(), 422);
    assert_eq!(check_in(token.clone()).await.unwrap().status(), 201);
    let (_, other) = sign_in().await;
    assert_ne!(other, token, "each session its own");
}
