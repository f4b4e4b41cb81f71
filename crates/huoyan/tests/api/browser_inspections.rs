//! An inspector's round on a phone at 360 px: planned over two sites of the team's area, shown
//! in the proposed order; one site passes, the other fails and is fixed on the spot with a photo;
//! the finding is a closed case with source inspection, and the figures count it.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{browser, click, fits, sign_in, step, type_into};
use crate::spawn_app;

/// Waits for a page whose `css` element shows, after a submit.
async fn arrive(c: &fantoccini::Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

#[tokio::test]
async fn an_inspector_runs_a_round_of_two_sites_and_fixes_a_failure_on_the_spot() {
    let app = spawn_app(true).await;
    let id_of = |name: &str| {
        format!(
            "SELECT s.id FROM sites s JOIN regions r ON r.id = s.region_id \
             WHERE r.name = '景程小区' AND s.name = '{name}'"
        )
    };
    let (gate, sampling) = (
        app.id_of(&id_of("景程小区南门卡口")).await,
        app.id_of(&id_of("景程小区核酸采样点")).await,
    );
    // The inspector's figures are their team's.
    let fixed_before = app
        .id_of(
            "SELECT COUNT(*) FROM inspection_answers a JOIN cases c ON c.id = a.case_id \
             JOIN inspection_stops s ON s.id = a.stop_id JOIN inspection_rounds r ON r.id = s.round_id \
             WHERE c.state = 'fixed_on_site' AND r.team_id = 1",
        )
        .await;
    let photo = std::env::temp_dir().join(format!("huoyan-fixed-{}.png", std::process::id()));
    std::fs::write(&photo, crate::uploads::png_image(64, 48)).unwrap();

    let (c, _driver, _profile) = browser(360, 780).await;
    sign_in(&c, &app.base, "inspector", "huoyan-demo").await;
    c.goto(&format!("{}/inspections", app.base)).await.unwrap();
    arrive(&c, "#plan").await;
    fits(&c, "inspection-rounds", 360).await;
    c.execute(
        "document.querySelector('#plan input[name=day]').value = '2022-09-06'",
        vec![],
    )
    .await
    .unwrap();
    // Ticked in the order the team would take them: the sampling point, then the gate.
    click(&c, &format!("#plan input[value='{sampling}']")).await;
    click(&c, &format!("#plan input[value='{gate}']")).await;
    click(&c, "#plan button[type=submit]").await;
    arrive(&c, "#stops").await;
    fits(&c, "inspection-round", 360).await;
    let round = app.id_of("SELECT MAX(id) FROM inspection_rounds").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/inspections/rounds/{round}"))
    );
    // The page lists the stops in the proposed order, and that is the order stored.
    let shown: Vec<i64> = {
        let mut v = Vec::new();
        for li in c.find_all(Locator::Css("#stops > li.stop")).await.unwrap() {
            let id = li.attr("id").await.unwrap().unwrap();
            v.push(id.trim_start_matches("stop-").parse().unwrap());
        }
        v
    };
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM inspection_stops WHERE round_id = $1 ORDER BY seq")
            .bind(round)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(shown, stored);
    // The team's members go on the round unless unticked.
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM inspection_round_members WHERE round_id = {round}"
        ))
        .await,
        app.id_of("SELECT COUNT(*) FROM team_members WHERE team_id = 1")
            .await
    );
    assert!(
        c.find(Locator::Css("#lengths"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("km")
    );

    // The first stop passes, recorded where its site is.
    let place = async |stop: i64| -> (f64, f64) {
        let r: (f64, f64) = sqlx::query_as("SELECT s.lon, s.lat FROM inspection_stops t JOIN sites s ON s.id = t.site_id WHERE t.id = $1")
            .bind(stop)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        r
    };
    let visit = async |stop: i64, fail: bool| {
        let form = format!("#stop-{stop} form.visit");
        let (lon, lat) = place(stop).await;
        if fail {
            click(
                &c,
                &format!("{form} fieldset.item:first-of-type input[value=fail]"),
            )
            .await;
            type_into(
                &c,
                &format!("{form} fieldset.item:first-of-type input[type=text]"),
                "现场无人值守，登记台账缺失",
            )
            .await;
        }
        type_into(&c, &format!("{form} input[name=lon]"), &lon.to_string()).await;
        type_into(&c, &format!("{form} input[name=lat]"), &lat.to_string()).await;
        click(&c, &format!("{form} button[type=submit]")).await;
        arrive(&c, &format!("#stop-{stop} ul.answers")).await;
    };
    visit(stored[0], false).await;
    visit(stored[1], true).await;
    let failed = c
        .find(Locator::Css(&format!("#stop-{} a.finding", stored[1])))
        .await
        .expect("the failure links to its case");
    let href = failed.attr("href").await.unwrap().unwrap();
    let case: i64 = href.trim_start_matches("/cases/").parse().unwrap();
    assert!(
        c.find_all(Locator::Css(&format!("#stop-{} a.finding", stored[0])))
            .await
            .unwrap()
            .is_empty()
    );

    // On the case, the inspector fixes it on the spot with the after photo.
    failed.click().await.unwrap();
    arrive(&c, "h1 .badge").await;
    let state = step(
        &c,
        "fix_on_site",
        "现场督促整改，已安排专人值守",
        &[],
        Some(&photo),
    )
    .await;
    assert_eq!(state, "现场整改");
    let (source, state): (String, String) =
        sqlx::query_as("SELECT source, state FROM cases WHERE id = $1")
            .bind(case)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (source.as_str(), state.as_str()),
        ("inspection", "fixed_on_site")
    );
    assert!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM case_files WHERE case_id = {case}"
        ))
        .await
            >= 1
    );

    // The figures count it apart.
    c.goto(&format!("{}/inspections/figures", app.base))
        .await
        .unwrap();
    arrive(&c, "#fixed-on-site").await;
    fits(&c, "inspection-figures", 360).await;
    let shown: i64 = c
        .find(Locator::Css("#fixed-on-site"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(shown, fixed_before + 1);
    // The blind spots page (the team's own area) fits too, with its map drawn.
    c.goto(&format!(
        "{}/inspections/coverage?window_hours=48&at_local=2022-09-05T20:00",
        app.base
    ))
    .await
    .unwrap();
    arrive(&c, "#map[data-ready=true]").await;
    let error = c
        .find(Locator::Css("#map"))
        .await
        .unwrap()
        .attr("data-error")
        .await
        .unwrap();
    assert_eq!(error, None);
    assert!(
        !c.find_all(Locator::Css("#coverage tbody tr"))
            .await
            .unwrap()
            .is_empty()
    );
    fits(&c, "inspection-coverage", 360).await;
    c.close().await.unwrap();
    let _ = std::fs::remove_file(photo);
}
