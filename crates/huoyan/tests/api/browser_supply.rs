//! Vegetable packages on a phone at 360 px: the dispatcher plans 40 packages for 景程小区's
//! 3号楼, carried by its first volunteer group; the volunteer marks the building three packages
//! short; the office opens its triage queue and finds the case naming the building and the
//! shortfall; the community office's request, register and figure pages fit the phone.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{browser, click, fits, sign_in};
use crate::spawn_app;
use crate::supply::{buildings, group, jingcheng};

#[tokio::test]
async fn a_volunteer_marks_a_building_three_short_and_the_office_finds_the_case_in_triage() {
    let app = spawn_app(true).await;
    let compound = jingcheng(&app).await;
    let third = buildings(&app, 3).await[2];
    let first_group = group(&app, 1).await;
    let password = huoyan::auth::password::DEMO_PASSWORD;
    let (c, _driver, _dir) = browser(360, 740).await;

    // The dispatcher picks the compound, leaves every building but 3号楼 out and only the
    // first group ticked.
    sign_in(&c, &app.base, "dispatcher", password).await;
    c.goto(&format!("{}/supply", app.base)).await.unwrap();
    click(&c, "a[href='/supply/plan']").await;
    crate::browser::choose(&c, "#pick-compound select", &compound.to_string()).await;
    click(&c, "#pick-compound button").await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#plan"))
        .await
        .unwrap();
    crate::browser::type_into(&c, "#plan input[name=title]", "9月6日蔬菜包").await;
    c.execute(
        "document.querySelector('#plan input[name=deadline]').value = arguments[0];
         for (const row of document.querySelectorAll('#shares tbody tr')) {
           const mine = row.querySelector('input[name=building]').value === String(arguments[1]);
           if (!mine) row.querySelector('input[name=planned]').value = '0';
         }
         for (const t of document.querySelectorAll('#plan input[name=team]')) {
           if (t.value !== String(arguments[2])) t.click();
         }",
        vec![
            json!(
                (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai)
                    + chrono::Duration::hours(3))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
            ),
            json!(third),
            json!(first_group),
        ],
    )
    .await
    .unwrap();
    let row = format!("#shares tr:has(input[name=building][value='{third}'])");
    for (name, value) in [("doors", "40"), ("planned", "40")] {
        let input = c
            .find(Locator::Css(&format!("{row} input[name={name}]")))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    fits(&c, "supply-plan", 360).await;
    click(&c, "#plan button[type=submit]").await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("table#deliveries tr.delivery"))
        .await
        .unwrap_or_else(|e| panic!("the batch page after planning: {e}"));
    let rows = c
        .find_all(Locator::Css("table#deliveries tr.delivery"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{}", c.source().await.unwrap());
    let id: i64 = rows[0]
        .attr("id")
        .await
        .unwrap()
        .unwrap()
        .trim_start_matches('d')
        .parse()
        .unwrap();
    let text = rows[0].text().await.unwrap();
    assert!(
        text.contains("景程小区3号楼") && text.contains("志愿者第1小组"),
        "{text}"
    );

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

    // The community office's pages fit the phone too: the requests with their forms, the
    // register, the figures.
    sign_in(&c, &app.base, "department", password).await;
    for (path, shown) in [
        ("/supply/requests", "#file-request"),
        ("/supply/households", "#households"),
        ("/supply/figures?from=2022-08-29&to=2022-09-04", "#figures"),
    ] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        c.find(Locator::Css(shown))
            .await
            .unwrap_or_else(|e| panic!("{path} shows {shown}: {e}"));
        let name = path
            .trim_start_matches('/')
            .replace(['/', '?', '&', '='], "-");
        fits(&c, &name, 360).await;
    }
    c.close().await.unwrap();
}
