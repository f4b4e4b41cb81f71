//! The browser test: headless Chromium from Debian's packages, driven through ChromeDriver.
//! A missing browser is a failure, never a skip (the test command installs it).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::spawn_app;

/// ChromeDriver in a process group of its own, which the Chromium it starts and Chromium's
/// renderers join: the test's end kills the whole group. Killing ChromeDriver alone left Chromium
/// running, a few hundred processes by the end of a run, still drawing their pages.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub(crate) async fn browser(width: u32, height: u32) -> (fantoccini::Client, Driver, tempdir::Dir) {
    browser_with(width, height, &[]).await
}

/// The same with Chromium's own switches added (a fake camera, say).
pub(crate) async fn browser_with(
    width: u32,
    height: u32,
    extra: &[String],
) -> (fantoccini::Client, Driver, tempdir::Dir) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver; the test command does it)");
    let driver = Driver(driver);
    let profile = tempdir::Dir::new();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    .map(String::from)
    .into();
    args.push(format!("--window-size={},{height}", width.max(500)));
    args.push(format!("--user-data-dir={}", profile.0.display()));
    args.extend_from_slice(extra);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            // Headless windows cannot be narrower than 500 px; phone metrics are emulated instead.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
            "args": args
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for attempt in 0..50 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (c, driver, profile),
            Err(e) if attempt == 49 => panic!("cannot start Chromium through ChromeDriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    unreachable!()
}

pub(crate) mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!(
                "huoyan-chrome-{}-{}",
                std::process::id(),
                crate::rand_suffix()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The commander signs in on a phone-sized window, opens the regions tree and sees the four
/// districts under static management.
#[tokio::test]
async fn the_commander_sees_four_districts_under_static_management_on_a_phone() {
    let app = spawn_app(true).await;
    let (c, _driver, _profile) = browser(360, 780).await;
    c.goto(&format!("{}/regions", app.base)).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().starts_with("/login"),
        "signed-out visitors land on the login page"
    );
    type_into(&c, "input[name=username]", "commander").await;
    type_into(&c, "input[name=password]", "huoyan-demo").await;
    click(&c, "button[type=submit]").await;
    c.wait().for_element(Locator::Css(".cards")).await.unwrap();
    // On a phone the menu is folded behind its button.
    click(&c, "details.menu > summary").await;
    click(&c, "a[href='/regions']").await;
    c.wait()
        .for_element(Locator::Id("regions-tree"))
        .await
        .unwrap();
    let districts = c.find_all(Locator::Css("li.district")).await.unwrap();
    assert_eq!(districts.len(), 4);
    for d in &districts {
        assert_eq!(
            d.attr("data-level").await.unwrap().as_deref(),
            Some("static_management")
        );
        assert!(d.text().await.unwrap().contains("静态管理"));
    }
    // Nothing is wider than the phone: no sideways scrolling of the page.
    let wide: bool = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!wide, "the regions page scrolls sideways at 360 px");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join("regions-360.png"), c.screenshot().await.unwrap()).unwrap();
    // Every page of the foundation fits the phone; tables scroll inside their own box.
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let person = app.id_of("SELECT MIN(id) FROM people").await;
    let team = app
        .id_of("SELECT id FROM teams WHERE name = '景程小区临时党支部'")
        .await;
    for (name, path) in [
        ("home", "/".to_string()),
        ("region", format!("/regions/{jingcheng}")),
        ("people", "/people".into()),
        ("person", format!("/people/{person}")),
        ("teams", "/teams".into()),
        ("team", format!("/teams/{team}")),
        ("orders", "/orders".into()),
        ("order", "/orders/1".into()),
        ("order-new", "/orders/new".into()),
    ] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        c.wait().for_element(Locator::Css("main h1")).await.unwrap();
        let wide: bool = c
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(!wide, "{path} scrolls sideways at 360 px");
        std::fs::write(
            dir.join(format!("{name}-360.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    c.close().await.unwrap();
}

/// Types `text` into the element `css` picks.
pub(crate) async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element `css` picks.
pub(crate) async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Picks the option of value `value` in the select `css` picks.
pub(crate) async fn choose(c: &fantoccini::Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// Signs `username` in through the login page (after dropping any earlier session).
pub(crate) async fn sign_in(c: &fantoccini::Client, base: &str, username: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(c, "input[name=username]", username).await;
    type_into(c, "input[name=password]", password).await;
    click(c, "button[type=submit]").await;
    c.wait().for_element(Locator::Css(".cards")).await.unwrap();
}

/// On the case page, opens the form of `action`, writes `note`, picks `select` options
/// (name → value), attaches `photo` and submits; returns the state shown afterwards.
pub(crate) async fn step(
    c: &fantoccini::Client,
    action: &str,
    note: &str,
    select: &[(&str, String)],
    photo: Option<&std::path::Path>,
) -> String {
    let form = format!("form[data-action={action}]");
    let details = c
        .find(Locator::Css(&format!("details:has(> {form}) > summary")))
        .await
        .unwrap_or_else(|_| panic!("the case page offers {action}"));
    let open = c
        .execute(
            &format!("return document.querySelector('{form}').closest('details').open"),
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    if !open {
        details.click().await.unwrap();
    }
    for (name, value) in select {
        choose(c, &format!("{form} select[name={name}]"), value).await;
    }
    if !note.is_empty() {
        type_into(c, &format!("{form} textarea[name=note]"), note).await;
    }
    if let Some(p) = photo {
        type_into(
            c,
            &format!("{form} input[type=file]"),
            &p.display().to_string(),
        )
        .await;
    }
    // Marks this document, so the answer's page is told apart from it.
    c.execute("document.body.dataset.stale = '1'", vec![])
        .await
        .unwrap();
    // The step's own button, not one that posts the form elsewhere ("not a duplicate").
    click(c, &format!("{form} button[type=submit]:not([formaction])")).await;
    for _ in 0..100 {
        let fresh = c
            .execute(
                "return !!document.body && !document.body.dataset.stale && !!document.querySelector('h1 .badge')",
                vec![],
            )
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false);
        if fresh {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let errors = c.find_all(Locator::Css("[role=alert]")).await.unwrap();
    assert!(
        errors.is_empty(),
        "{action} was refused: {}",
        c.source().await.unwrap()
    );
    c.find(Locator::Css("h1 .badge"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub(crate) async fn fits(c: &fantoccini::Client, what: &str, width: u32) {
    let wide: bool = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!wide, "{what} scrolls sideways at {width} px");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(
        dir.join(format!("{what}-{width}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// One problem from the supervisor's phone to closed, through five accounts on phone- and
/// desk-sized windows: the supervisor reports with a photo while the network drops its answer
/// (the draft is kept and sent again; one case results), the office triages, the group
/// dispatches, the department accepts and reports its fix with evidence, the verifier sends it
/// back once, the department fixes again, the verifier confirms and the group closes.
#[tokio::test]
async fn one_case_walks_through_every_state_with_five_accounts() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let city = app
        .id_of("SELECT id FROM regions WHERE level = 'city'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &admin,
            "/api/v1/accounts",
            &serde_json::json!({"username": "verifier", "password": "verify-it-well", "role": "group", "scope": {"region_id": city}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let photo = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gate.png");
    std::fs::write(&photo, crate::uploads::png_image(64, 48)).unwrap();
    let (phone, _d1, _p1) = browser(360, 780).await;
    let (desk, _d2, _p2) = browser(1280, 900).await;
    let base = app.base.clone();
    let cases_before = app.count("cases").await;

    // The supervisor, on the phone: the first send's answer is lost, the draft stays.
    sign_in(&phone, &base, "supervisor", "huoyan-demo").await;
    phone.goto(&format!("{base}/cases/new")).await.unwrap();
    fits(&phone, "case-new", 360).await;
    phone
        .find(Locator::Css("select[name=category]"))
        .await
        .unwrap()
        .select_by_value("static_control")
        .await
        .unwrap();
    phone
        .find(Locator::Css("textarea[name=description]"))
        .await
        .unwrap()
        .send_keys("3号楼东门岗无人值守，居民随意进出")
        .await
        .unwrap();
    phone
        .find(Locator::Css("#report input[type=file]"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    // The page's answers to its posts are lost (the case is filed nonetheless); the service
    // worker, which would resend in the background, is left out here: the page resends alone.
    phone
        .execute(
            "HuoyanOutbox.later = function () { return Promise.resolve(); }; window.realFetch = window.fetch; window.fetch = function (url, init) { var sent = window.realFetch.apply(this, arguments); return init && init.method === 'POST' ? sent.then(function () { throw new TypeError('answer lost'); }) : sent; };",
            vec![],
        )
        .await
        .unwrap();
    phone
        .find(Locator::Css("#report button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let saved = phone.find(Locator::Id("outbox")).await.unwrap();
    for _ in 0..50 {
        if saved.text().await.unwrap().contains("草稿") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saved.text().await.unwrap().contains("草稿已保存"));
    // The network returns: the draft is sent again with its key, and only one case exists.
    phone
        .execute(
            "window.fetch = window.realFetch; window.dispatchEvent(new Event('online'));",
            vec![],
        )
        .await
        .unwrap();
    let sent = phone
        .wait()
        .for_element(Locator::Id("sent-case"))
        .await
        .unwrap();
    assert_eq!(
        app.count("cases").await,
        cases_before + 1,
        "one report, one case"
    );
    sent.click().await.unwrap();
    phone
        .wait()
        .for_element(Locator::Css("h1 .badge"))
        .await
        .unwrap();
    let id: i64 = phone
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/cases/")
        .parse()
        .unwrap();
    assert_eq!(
        phone
            .find(Locator::Css("h1 .badge"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "已上报"
    );
    assert_eq!(
        phone
            .find_all(Locator::Css(".photos img"))
            .await
            .unwrap()
            .len(),
        1
    );
    fits(&phone, "case-reported", 360).await;
    phone
        .goto(&format!("{base}/cases?view=mine"))
        .await
        .unwrap();
    assert!(
        phone
            .find(Locator::Css(&format!("a[href='/cases/{id}']")))
            .await
            .is_ok(),
        "my reports list it"
    );

    // The office, at a desk: the triage queue, then the summary.
    sign_in(&desk, &base, "office", "huoyan-demo").await;
    desk.goto(&format!("{base}/cases?view=triage"))
        .await
        .unwrap();
    desk.find(Locator::Css(&format!("a[href='/cases/{id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        step(&desk, "triage", "东门岗脱岗，请督导组转社区整改", &[], None).await,
        "已梳理"
    );

    // The group dispatches to the community office.
    sign_in(&desk, &base, "group", "huoyan-demo").await;
    desk.goto(&format!("{base}/cases?view=board"))
        .await
        .unwrap();
    fits(&desk, "case-board", 1280).await;
    desk.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(
        step(
            &desk,
            "dispatch",
            "今日18时前恢复值守",
            &[("department_id", dept.to_string())],
            None
        )
        .await,
        "已转办"
    );

    // The department, on a phone: its inbox, accept, report the fix with a photo.
    sign_in(&phone, &base, "department", "huoyan-demo").await;
    phone
        .goto(&format!("{base}/cases?view=inbox"))
        .await
        .unwrap();
    fits(&phone, "case-inbox", 360).await;
    phone
        .find(Locator::Css(&format!("a[href='/cases/{id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(step(&phone, "accept", "", &[], None).await, "整改中");
    assert_eq!(
        step(
            &phone,
            "report_fix",
            "已安排两名志愿者24小时值守",
            &[],
            Some(&photo)
        )
        .await,
        "已整改"
    );

    // The verifier finds the night shift empty: rework; the department fixes again.
    sign_in(&phone, &base, "verifier", "verify-it-well").await;
    phone
        .goto(&format!("{base}/cases?view=verify"))
        .await
        .unwrap();
    phone.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(
        step(&phone, "rework", "夜间22时后仍无人值守", &[], None).await,
        "整改中"
    );
    sign_in(&phone, &base, "department", "huoyan-demo").await;
    phone.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(
        step(&phone, "report_fix", "夜班已补齐两人", &[], Some(&photo)).await,
        "已整改"
    );
    sign_in(&phone, &base, "verifier", "verify-it-well").await;
    phone.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(
        step(
            &phone,
            "verify",
            "现场核实：门岗两人值守",
            &[],
            Some(&photo)
        )
        .await,
        "已核实"
    );
    fits(&phone, "case-verified", 360).await;

    // The group closes it; the timeline holds every step.
    sign_in(&desk, &base, "group", "huoyan-demo").await;
    desk.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(step(&desk, "close", "", &[], None).await, "已办结");
    let steps = desk.find_all(Locator::Css("ol.timeline li")).await.unwrap();
    assert_eq!(
        steps.len(),
        9,
        "report, triage, dispatch, accept, fix, rework, fix, verify, close (each photo under \
         the step it came with)"
    );
    // Each photo under its step, labelled: before on the report, after on each fix.
    let mut kinds = Vec::new();
    for e in desk
        .find_all(Locator::Css("ol.timeline .evidence"))
        .await
        .unwrap()
    {
        kinds.push(e.attr("data-kind").await.unwrap().unwrap_or_default());
    }
    assert_eq!(kinds, ["report", "fix", "fix", "verification"]);
    let labels = desk
        .find(Locator::Css("ol.timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(labels.contains("现场照片（整改前）") && labels.contains("整改后"));
    fits(&desk, "case-closed", 1280).await;
    let (_, case) = app.get(&admin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "closed");
    // The same photo at each step is a file of each step, its content stored once.
    assert_eq!(case["files"].as_array().unwrap().len(), 4);
    phone.close().await.unwrap();
    desk.close().await.unwrap();
}

/// On the phone, a report whose photo the server refuses (a GIF) is not filed: the form comes
/// back as typed, the refused photo named with why, the good photo still chosen; sent again
/// without the bad one, the case is filed with its photo.
#[tokio::test]
async fn a_refused_photo_on_the_phone_keeps_the_report_and_the_good_photo() {
    let app = spawn_app(true).await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (good, bad) = (dir.join("east-gate.png"), dir.join("east-gate.gif"));
    std::fs::write(&good, crate::uploads::png_image(64, 48)).unwrap();
    std::fs::write(&bad, b"GIF89a\x01\x00\x01\x00\x80\x00\x00").unwrap();
    let (phone, _driver, _profile) = browser(360, 780).await;
    let base = app.base.clone();
    let cases_before = app.count("cases").await;
    sign_in(&phone, &base, "supervisor", "huoyan-demo").await;
    phone.goto(&format!("{base}/cases/new")).await.unwrap();
    phone
        .find(Locator::Css("select[name=category]"))
        .await
        .unwrap()
        .select_by_value("static_control")
        .await
        .unwrap();
    let text = "3号楼东门岗无人值守";
    phone
        .find(Locator::Css("textarea[name=description]"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    let input = phone
        .find(Locator::Css("#report input[type=file]"))
        .await
        .unwrap();
    input
        .send_keys(&format!("{}\n{}", good.display(), bad.display()))
        .await
        .unwrap();
    phone
        .find(Locator::Css("#report button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = phone
        .find(Locator::Css(".error[data-for=file]"))
        .await
        .unwrap();
    for _ in 0..100 {
        if !error.text().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let said = error.text().await.unwrap();
    assert!(
        said.contains("east-gate.gif") && said.contains("只接受照片"),
        "{said}"
    );
    let kept = phone
        .execute(
            "var f = document.querySelector('#report input[type=file]').files; \
             return [document.querySelector('textarea[name=description]').value, f.length, f.length ? f[0].name : ''];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, serde_json::json!([text, 1, "east-gate.png"]));
    assert_eq!(app.count("cases").await, cases_before, "nothing filed");
    fits(&phone, "case-new-refused", 360).await;
    phone
        .find(Locator::Css("#report button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    phone
        .wait()
        .for_element(Locator::Id("sent-case"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    phone
        .wait()
        .for_element(Locator::Css(".evidence[data-kind=report] img"))
        .await
        .unwrap();
    assert_eq!(app.count("cases").await, cases_before + 1);
    phone.close().await.unwrap();
}
