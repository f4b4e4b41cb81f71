//! Case work in the browser as each actor meets it: they learn of their step from the badge beside
//! "消息", never from a case number, and the group's chasing shows in the timeline and the figures.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{browser, fits, sign_in, step};
use crate::spawn_app;

/// The unread count beside the notifications entry of the menu, 0 without a badge.
async fn badge(c: &fantoccini::Client) -> i64 {
    c.execute(
        "const b = document.querySelector(\"a[href='/notifications'] .count\"); return b ? Number(b.textContent) : 0",
        vec![],
    )
    .await
    .unwrap()
    .as_i64()
    .unwrap()
}

/// From the page in front of the user: the badge says something waits; its page opens the newest
/// unread notice of `kind`, which leads to the case. Returns the case's id as the page shows it.
async fn follow_badge(c: &fantoccini::Client, base: &str, kind: &str) -> i64 {
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(
        badge(c).await > 0,
        "the badge shows unread notices before {kind}"
    );
    // Through the menu entry (on a phone it may sit inside the folded menu).
    c.execute(
        "document.querySelector(\"a[href='/notifications']\").click()",
        vec![],
    )
    .await
    .unwrap();
    let open = format!("li.unread[data-kind={kind}] button.open-notice");
    let Ok(button) = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&open))
        .await
    else {
        panic!("no unread {kind} notice: {}", c.source().await.unwrap());
    };
    button.click().await.unwrap();
    c.wait()
        .for_element(Locator::Css("h1 .badge"))
        .await
        .unwrap();
    c.current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/cases/")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_actor_learns_of_their_step_from_the_badge_at_360_px() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let photo = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("badge-fix.png");
    std::fs::write(&photo, crate::uploads::png_image(64, 48)).unwrap();
    let (status, case) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &serde_json::json!({"category": "static_control", "compound_id": compound, "description": "7号楼门岗凌晨无人值守"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    let (c, _driver, _profile) = browser(360, 780).await;
    let base = app.base.clone();
    let walk = [
        (
            "office",
            "reported",
            "triage",
            "门岗脱岗，转督导组",
            vec![],
            false,
            "已梳理",
        ),
        (
            "group",
            "triaged",
            "dispatch",
            "今日6时前恢复值守",
            vec![("department_id", dept.to_string())],
            false,
            "已转办",
        ),
        (
            "department",
            "dispatched",
            "accept",
            "",
            vec![],
            false,
            "整改中",
        ),
        (
            "department",
            "",
            "report_fix",
            "已安排专人值守",
            vec![],
            true,
            "已整改",
        ),
        (
            "supervisor",
            "fixed",
            "verify",
            "复查属实",
            vec![],
            true,
            "已核实",
        ),
        ("group", "verified", "close", "", vec![], false, "已办结"),
        ("supervisor", "finished", "", "", vec![], false, ""),
    ];
    for (who, kind, action, note, select, with_photo, shown) in walk {
        let landed = if kind.is_empty() {
            id
        } else {
            sign_in(&c, &base, who, "huoyan-demo").await;
            follow_badge(&c, &base, kind).await
        };
        assert_eq!(landed, id, "{who} was led to the case by the {kind} notice");
        if action.is_empty() {
            continue;
        }
        let photo = with_photo.then_some(photo.as_path());
        assert_eq!(
            step(&c, action, note, &select, photo).await,
            shown,
            "{who}: {action}"
        );
        let done = c
            .find(Locator::Id("done"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(done.contains("已完成"), "the step is confirmed: {done}");
        fits(&c, &format!("badge-{action}"), 360).await;
    }
    // The reporter's last notice was read by opening it: the badge is gone.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(badge(&c).await, 0);
    c.close().await.unwrap();
}

#[tokio::test]
async fn the_group_urges_re_routes_and_extends_and_each_shows_in_the_timeline_and_figures() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let other = app
        .id_of("SELECT id FROM departments WHERE name <> '景程社区居委会' ORDER BY id LIMIT 1")
        .await;
    let id = crate::cases::triaged_case(&app, "supplies", "独居老人药品未送达").await;
    let path = format!("/api/v1/cases/{id}/transitions");
    let dispatch = serde_json::json!({"action": "dispatch", "department_id": dept});
    assert_eq!(app.send("POST", &group, &path, &dispatch).await.0, 200);
    let (c, _driver, _profile) = browser(360, 780).await;
    let base = app.base.clone();
    sign_in(&c, &base, "group", "huoyan-demo").await;
    c.goto(&format!("{base}/cases/{id}")).await.unwrap();
    assert_eq!(
        step(&c, "urge", "今日12时前送达", &[], None).await,
        "已转办"
    );
    // The deadline moves: a time in the datetime-local field, Beijing time.
    let form = "form[data-action=change_deadline]";
    c.execute(
        &format!("document.querySelector('{form}').closest('details').open = true; document.querySelector('{form} input[name=due_at]').value = '2099-06-01T18:00';"),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(
        step(&c, "change_deadline", "道路封闭，顺延", &[], None).await,
        "已转办"
    );
    assert_eq!(
        step(
            &c,
            "reroute",
            "应由他单位主办",
            &[("department_id", other.to_string())],
            None
        )
        .await,
        "已转办"
    );
    let timeline = c
        .find(Locator::Css("ol.timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [
        "催办",
        "调整时限",
        "改派",
        "今日12时前送达",
        "道路封闭，顺延",
        "应由他单位主办",
    ] {
        assert!(
            timeline.contains(shown),
            "{shown} in the timeline: {timeline}"
        );
    }
    fits(&c, "case-chased", 360).await;
    // The unit's figures count the urging.
    c.goto(&format!("{base}/cases/figures")).await.unwrap();
    let header: Vec<String> = {
        let mut out = Vec::new();
        for th in c
            .find_all(Locator::Css(
                "#by-department + .table-wrap thead tr:first-child th",
            ))
            .await
            .unwrap()
        {
            out.push(th.text().await.unwrap());
        }
        out
    };
    let column = header
        .iter()
        .position(|h| h == "催办次数")
        .expect("the figures have a column of urging");
    let urged: i64 = c
        .execute(
            &format!(
                "const rows = [...document.querySelectorAll('#by-department + .table-wrap tbody tr')]; \
                 const row = rows.find(r => r.querySelector('th').textContent === '景程社区居委会'); \
                 return Number(row.children[{column}].textContent)"
            ),
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(urged >= 1, "the unit's urging is counted");
    c.close().await.unwrap();
}
