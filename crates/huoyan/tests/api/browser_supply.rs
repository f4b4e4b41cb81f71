//! Vegetable packages on a phone at 360 px: the volunteer marks 3号楼 three packages short; the
//! office opens its triage queue and finds the case naming the building and the shortfall.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{browser, click, fits, sign_in};
use crate::spawn_app;
use crate::supply::{buildings, group, plan};

#[tokio::test]
async fn a_volunteer_marks_a_building_three_short_and_the_office_finds_the_case_in_triage() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let third = buildings(&app, 3).await[2];
    let batch = plan(
        &app,
        &dispatcher,
        &[(third, 40, 40)],
        &[group(&app, 1).await],
    )
    .await;
    let id = batch["deliveries"][0]["id"].as_i64().unwrap();
    let password = huoyan::auth::password::DEMO_PASSWORD;

    let (c, _driver, _dir) = browser(360, 740).await;
    sign_in(&c, &app.base, "volunteer", password).await;
    c.goto(&format!("{}/supply", app.base)).await.unwrap();
    let item = format!("#d{id}");
    let head = c
        .find(Locator::Css(&format!("{item} .case-head")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        head.contains("景程小区3号楼") && head.contains("待配送"),
        "{head}"
    );
    fits(&c, "supply-deliveries", 360).await;
    let count = c
        .find(Locator::Css(&format!("{item} input[name=delivered]")))
        .await
        .unwrap();
    count.clear().await.unwrap();
    count.send_keys("37").await.unwrap();
    c.find(Locator::Css(&format!("{item} input[name=note]")))
        .await
        .unwrap()
        .send_keys("两户无人应答，明早补送")
        .await
        .unwrap();
    click(&c, &format!("{item} button[type=submit]")).await;
    let case_link = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{item} a[href^='/cases/']")))
        .await
        .unwrap();
    let href = case_link.attr("href").await.unwrap().unwrap();
    let state = c
        .find(Locator::Css(&format!("{item} .badge")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(state, "短缺");

    sign_in(&c, &app.base, "office", password).await;
    c.goto(&format!("{}/cases?view=triage", app.base))
        .await
        .unwrap();
    let row = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("a[href='{href}']")))
        .await
        .unwrap_or_else(|e| panic!("the triage queue lists {href}: {e}"));
    let text = row.text().await.unwrap();
    assert!(
        text.contains("景程小区3号楼") && text.contains("短缺3份"),
        "{text}"
    );
    fits(&c, "supply-triage", 360).await;
    c.close().await.unwrap();
}
