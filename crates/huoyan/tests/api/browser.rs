//! The browser test: headless Chromium from Debian's packages, driven through ChromeDriver.
//! A missing browser is a failure, never a skip (the test command installs it).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::spawn_app;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(width: u32, height: u32) -> (fantoccini::Client, Driver, tempdir::Dir) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver; the test command does it)");
    let driver = Driver(driver);
    let profile = tempdir::Dir::new();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            // Headless windows cannot be narrower than 500 px; phone metrics are emulated instead.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     format!("--window-size={},{height}", width.max(500)), format!("--user-data-dir={}", profile.0.display())]
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

mod tempdir {
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
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("commander")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("huoyan-demo")
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css(".cards")).await.unwrap();
    c.find(Locator::Css("a[href='/regions']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
