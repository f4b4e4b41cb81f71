//! A sampler's morning on a phone at 360 px: the tube and ten people typed in as a keyboard-wedge
//! scanner types them (each code then Enter), each answered in its colour; the eleventh refused
//! as the tube is full; the tube sealed, packed into a box and handed to the courier; and the lab
//! account receiving the box on its own page.

use std::time::Duration;

use fantoccini::{Locator, key::Key};
use serde_json::json;

use crate::browser::{browser, click, fits, sign_in};
use crate::spawn_app;

async fn arrive(c: &fantoccini::Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Types `text` into the scanner's field and presses Enter, as a wedge scanner does.
async fn wedge(c: &fantoccini::Client, text: &str) {
    let input = c.find(Locator::Css("#scan-input")).await.unwrap();
    input
        .send_keys(&format!("{text}{}", char::from(Key::Enter)))
        .await
        .unwrap();
}

/// Waits until the page has shown `n` answers, and returns the newest one's outcome.
async fn answered(c: &fantoccini::Client, n: usize) -> String {
    for _ in 0..300 {
        let items = c.find_all(Locator::Css("#scanned li")).await.unwrap();
        if items.len() >= n {
            return items[0]
                .attr("data-outcome")
                .await
                .unwrap()
                .unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = c
        .find(Locator::Css("#outcome"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    panic!("{n} answers not shown; the page says {status:?}");
}

#[tokio::test]
async fn a_sampler_fills_seals_and_boxes_a_tube_and_the_lab_receives_it() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    // The day's round at the compound's point, after the demo's nine: the scanner offers the
    // newest first.
    let point = app
        .id_of("SELECT tp.id FROM testing_points tp JOIN sites s ON s.id = tp.site_id WHERE s.name = '景程小区核酸采样点'")
        .await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, round) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/testing/rounds",
            &json!({"name": "第10轮全员核酸", "day": "2022-08-30", "region_ids": [compound], "points": [{"point_id": point, "mode": "pooled_10"}]}),
        )
        .await;
    assert_eq!(status, 201, "{round}");
    for i in 1..=11 {
        let (status, r) = app
            .send(
                "POST",
                &dispatcher,
                "/api/v1/testing/residents",
                &json!({"compound_id": compound, "building": "7号楼", "name": format!("住户{i}"), "code": format!("HYWEDGE{i:03}")}),
            )
            .await;
        assert_eq!(status, 201, "{r}");
    }

    let (c, _driver, _profile) = browser(360, 780).await;
    sign_in(&c, &app.base, "sampler", "huoyan-demo").await;
    c.goto(&format!("{}/testing/scan", app.base)).await.unwrap();
    arrive(&c, "#scanner[data-ready='1']").await;
    fits(&c, "testing-scanner", 360).await;
    wedge(&c, "T-WEDGE-0001").await;
    for i in 1..=10 {
        wedge(&c, &format!("HYWEDGE{i:03}")).await;
        assert_eq!(answered(&c, i).await, "added", "resident {i}");
    }
    let count = c
        .find(Locator::Css("#tube-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, "10");
    // The page itself refuses an eleventh: the tube is full.
    wedge(&c, "HYWEDGE011").await;
    let outcome = c.find(Locator::Css("#outcome")).await.unwrap();
    assert!(
        outcome
            .attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("warn")
    );
    assert!(outcome.text().await.unwrap().contains("试管已满"));
    click(&c, "#seal").await;
    for _ in 0..100 {
        let (_, tube) = app
            .get(&dispatcher, "/api/v1/testing/tubes/T-WEDGE-0001")
            .await;
        if tube["state"] == "sealed" {
            assert_eq!(tube["count"], 10);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Pack and hand over on the same page (reloaded to list the sealed tube).
    c.goto(&format!("{}/testing/scan", app.base)).await.unwrap();
    arrive(&c, "#pack input[value='T-WEDGE-0001']").await;
    click(&c, "#pack input[value='T-WEDGE-0001']").await;
    c.find(Locator::Css("#pack input[name=code]"))
        .await
        .unwrap()
        .send_keys("BOX-WEDGE-1")
        .await
        .unwrap();
    c.find(Locator::Css("#pack input[name=courier]"))
        .await
        .unwrap()
        .send_keys("王师傅 13900000000")
        .await
        .unwrap();
    click(&c, "#pack button[type=submit]").await;
    arrive(&c, "#box-state[data-state='sent']").await;
    fits(&c, "testing-box-sent", 360).await;

    // The lab signs in on its own phone and receives the box.
    let (lab, _lab_driver, _lab_profile) = browser(360, 780).await;
    sign_in(&lab, &app.base, "lab", "huoyan-demo").await;
    lab.goto(&format!("{}/testing/boxes?code=BOX-WEDGE-1", app.base))
        .await
        .unwrap();
    arrive(&lab, "#receive button").await;
    click(&lab, "#receive button").await;
    arrive(&lab, "#box-state[data-state='received']").await;
    arrive(&lab, "#received-at").await;
    let state = lab
        .find(Locator::Css("#box-tubes tbody td:nth-child(3)"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(state, "实验室已接收");
    let (_, tube) = app
        .get(&dispatcher, "/api/v1/testing/tubes/T-WEDGE-0001")
        .await;
    assert_eq!(tube["state"], "received");
}
