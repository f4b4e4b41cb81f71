//! The dispatcher's evening on a phone at 360 px: a cadre's building is sealed for tomorrow; the
//! dispatcher records it, re-plans tomorrow, sees the place filled by someone else and publishes;
//! the cadre's phone shows no shift and the notice, the newcomer's phone shows the shift.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{browser, browser_with, choose, click, fits, sign_in};
use crate::spawn_app;

async fn arrive(c: &fantoccini::Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

#[tokio::test]
async fn a_dispatcher_replans_around_a_sealed_building_and_both_phones_show_it() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    // Tomorrow's roster as it stood before the blocker came in.
    let (status, plan) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/plans",
            &json!({"first_day": day, "days": 1, "seconds": 0.3}),
        )
        .await;
    assert_eq!(status, 202, "{plan}");
    let first = plan["id"].as_i64().unwrap();
    for _ in 0..100 {
        let (_, p) = app
            .get(&dispatcher, &format!("/api/v1/workforce/plans/{first}"))
            .await;
        if p["state"] == "draft" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = app
        .send(
            "POST",
            &dispatcher,
            &format!("/api/v1/workforce/plans/{first}/publish"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (login, person, shift): (String, i64, i64) = sqlx::query_as(
        "SELECT a.username, r.person_id, r.shift_id FROM roster r JOIN accounts a ON a.person_id = r.person_id \
         WHERE a.username LIKE 'cadre-%' AND r.day = $1 ORDER BY a.username LIMIT 1",
    )
    .bind(&day)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();

    let (c, _driver, _profile) = browser(360, 780).await;
    sign_in(&c, &app.base, "dispatcher", "huoyan-demo").await;
    c.goto(&format!("{}/workforce", app.base)).await.unwrap();
    arrive(&c, "#record-blocker").await;
    fits(&c, "workforce-board", 360).await;
    choose(
        &c,
        "#record-blocker select[name=person_id]",
        &person.to_string(),
    )
    .await;
    choose(&c, "#record-blocker select[name=reason]", "building_sealed").await;
    click(&c, "#record-blocker button[type=submit]").await;
    arrive(&c, &format!("#blockers li[data-person='{person}']")).await;
    fits(&c, "workforce-blockers", 360).await;
    let shown = c
        .find(Locator::Css(&format!(
            "#blockers li[data-person='{person}']"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("单元封闭"), "{shown}");
    assert!(
        shown.contains("造成缺岗"),
        "the place it leaves short: {shown}"
    );

    c.goto(&format!("{}/workforce", app.base)).await.unwrap();
    arrive(&c, "#plan").await;
    click(&c, "#plan button[type=submit]").await;
    arrive(&c, "#plan-state[data-state=draft]").await;
    fits(&c, "workforce-plan", 360).await;
    let replan = app.id_of("SELECT MAX(id) FROM roster_plans").await;
    let rows = c
        .find_all(Locator::Css(&format!("#rows tr[data-person='{person}']")))
        .await
        .unwrap();
    assert!(rows.is_empty(), "the sealed-in cadre has no place");
    let dropped = c
        .find(Locator::Css(&format!(
            "#dropped li[data-person='{person}']"
        )))
        .await;
    assert!(
        dropped.is_ok(),
        "the page says the cadre's shift is dropped"
    );
    let newcomer: i64 = sqlx::query_scalar(
        "SELECT p.person_id FROM roster_plan_rows p WHERE p.plan_id = $1 AND p.shift_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM roster r WHERE r.person_id = p.person_id AND r.day = p.day AND r.shift_id = p.shift_id) \
         ORDER BY p.person_id LIMIT 1",
    )
    .bind(replan)
    .bind(shift)
    .fetch_one(&app.db.pool)
    .await
    .expect("someone else takes the cadre's place");
    c.find(Locator::Css(&format!(
        "#rows tr.new[data-person='{newcomer}'][data-shift='{shift}']"
    )))
    .await
    .expect("the newcomer's row is marked new");
    // The newcomer's phone login, before the roster goes out.
    let team: i64 =
        sqlx::query_scalar("SELECT MIN(team_id) FROM team_members WHERE person_id = $1")
            .bind(newcomer)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let admin = app.token("admin").await;
    let (status, body) = app
        .send(
            "POST",
            &admin,
            "/api/v1/accounts",
            &json!({"username": "newcomer", "password": "a-long-secret", "role": "volunteer",
                "person_id": newcomer, "scope": {"team_id": team}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    click(&c, "#publish button").await;
    arrive(&c, "#plan-state[data-state=published]").await;
    // The dispatcher's other pages fit the phone too.
    for (path, css, name) in [
        (
            "/workforce/statistics".to_string(),
            "#communities",
            "workforce-statistics",
        ),
        (
            "/workforce/posts".to_string(),
            "#new-post",
            "workforce-posts",
        ),
        (
            format!("/workforce/grouping?day={day}"),
            "#grouping",
            "workforce-grouping",
        ),
    ] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        arrive(&c, css).await;
        fits(&c, name, 360).await;
    }
    // The board links every branch; the dispatcher opens one.
    c.goto(&format!("{}/workforce", app.base)).await.unwrap();
    arrive(&c, "#branches a").await;
    click(&c, "#branches a").await;
    arrive(&c, "li.member").await;
    c.goto(&format!("{}/workforce/grouping?day={day}", app.base))
        .await
        .unwrap();
    arrive(&c, "#grouping").await;
    let grouped = c
        .find_all(Locator::Css("#grouping tbody tr"))
        .await
        .unwrap()
        .len() as i64;
    assert_eq!(
        grouped,
        app.id_of(&format!("SELECT COUNT(*) FROM roster WHERE day = '{day}'"))
            .await,
        "the grouping table has a line per person on duty"
    );

    sign_in(&c, &app.base, &login, "huoyan-demo").await;
    c.goto(&format!("{}/duty", app.base)).await.unwrap();
    arrive(&c, "#shifts").await;
    fits(&c, "duty-blocked", 360).await;
    let tomorrow = c
        .find_all(Locator::Css(&format!("#shifts li[data-day='{day}']")))
        .await
        .unwrap();
    assert!(
        tomorrow.is_empty(),
        "the cadre's phone shows no shift tomorrow"
    );
    c.goto(&format!("{}/notifications", app.base))
        .await
        .unwrap();
    arrive(&c, "li[data-kind=roster_cleared]").await;
    fits(&c, "duty-notice", 360).await;

    sign_in(&c, &app.base, "branch", "huoyan-demo").await;
    c.goto(&format!("{}/workforce/branch", app.base))
        .await
        .unwrap();
    arrive(&c, "#working-group li.member").await;
    fits(&c, "workforce-branch", 360).await;

    sign_in(&c, &app.base, "newcomer", "a-long-secret").await;
    c.goto(&format!("{}/duty", app.base)).await.unwrap();
    arrive(
        &c,
        &format!("#shifts li[data-day='{day}'][data-shift='{shift}']"),
    )
    .await;
    fits(&c, "duty-newcomer", 360).await;
    c.close().await.unwrap();
}

/// A video Chromium's fake camera plays in a loop: the QR code of `text`, dark on light, still.
fn qr_video(text: &str, path: &std::path::Path) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width();
    let (w, h) = (640, 480);
    // Four modules of quiet zone each side, as printed.
    let scale = (h - 40) / (n + 8);
    let (x0, y0) = ((w - scale * n) / 2, (h - scale * n) / 2);
    let mut luma = vec![235u8; w * h];
    for (i, _) in code
        .to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == qrcode::Color::Dark)
    {
        let (x, y) = (x0 + i % n * scale, y0 + i / n * scale);
        for row in y..y + scale {
            luma[row * w + x..row * w + x + scale].fill(16);
        }
    }
    let chroma = vec![128u8; w * h / 4];
    let mut y4m = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..5 {
        y4m.extend_from_slice(b"FRAME\n");
        y4m.extend_from_slice(&luma);
        y4m.extend_from_slice(&chroma);
        y4m.extend_from_slice(&chroma);
    }
    std::fs::write(path, y4m).unwrap();
}

/// A cadre at the post opens their duty page, taps scan and holds the phone to the code posted
/// there (Chromium's fake camera plays the printed code): signed in by the code, at 360 px. The
/// scan runs through the vendored ZXing, as on a phone whose browser reads no codes itself.
#[tokio::test]
async fn a_cadre_signs_in_by_scanning_the_posts_code_with_the_phones_camera() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let (post, shift, day) = crate::workforce::shift_now(&app, &dispatcher).await;
    let (_, code) = app
        .get(
            &dispatcher,
            &format!("/api/v1/workforce/posts/{}/code?day={day}", post["id"]),
        )
        .await;
    let printed = format!(
        "{}/duty/sign-in?code={}",
        app.base,
        code["code"].as_str().unwrap()
    );
    let dir = crate::browser::tempdir::Dir::new();
    let video = dir.0.join("posted-code.y4m");
    qr_video(&printed, &video);
    let (c, _driver, _profile) = browser_with(
        360,
        780,
        &[
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", video.display()),
        ],
    )
    .await;
    sign_in(&c, &app.base, "cadre-01", "huoyan-demo").await;
    c.goto(&format!("{}/duty", app.base)).await.unwrap();
    // The button is enabled once the page's script can answer it.
    arrive(&c, "#scan-button:not([disabled])").await;
    fits(&c, "duty with the scanner", 360).await;
    let detector: bool = c
        .execute("return 'BarcodeDetector' in window", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!detector, "this test is meant to read through ZXing");
    click(&c, "#scan-button").await;
    let signed = format!("li.shift[data-shift='{shift}'] .signed-in");
    if c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&signed))
        .await
        .is_err()
    {
        let seen = c
            .execute(
                "var s = document.getElementById('scan-status'); var v = document.getElementById('scan-video'); \
                 return [location.href, s && s.textContent, v && v.readyState, typeof window.ZXing];",
                vec![],
            )
            .await;
        panic!("not signed in by the camera: {seen:?}");
    }
    let method: String = sqlx::query_scalar(
        "SELECT si.method FROM sign_ins si JOIN accounts a ON a.person_id = si.person_id \
         WHERE a.username = 'cadre-01' AND si.shift_id = $1",
    )
    .bind(shift)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(method, "code");
}
