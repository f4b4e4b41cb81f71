//! The duplicate proposer in the office's hands: the formal twin of a phone report proposed first
//! with its reasons, a refusal that sticks, a merge, the precision in use, and neighbours across
//! community lines through a shared sampling point.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{browser, fits, sign_in, step};
use crate::{TestApp, fields, spawn_app};

async fn report(app: &TestApp, token: &str, compound: i64, category: &str, text: &str) -> i64 {
    let (status, case) = app
        .send(
            "POST",
            token,
            "/api/v1/cases",
            &json!({"category": category, "compound_id": compound, "description": text}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    case["id"].as_i64().unwrap()
}

fn ids(proposals: &Value) -> Vec<i64> {
    proposals
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["case"]["id"].as_i64().unwrap())
        .collect()
}

/// A formal report of an unstaffed gate, another phone report of it in nearly the new one's
/// words, a report of another building, and the new phone report: (new, formal twin, resend,
/// other building). Without `resend`, the resend is left out and its id is 0.
async fn queue(app: &TestApp, resend: bool) -> (i64, i64, i64, i64) {
    let (supervisor, inspector) = (app.token("supervisor").await, app.token("inspector").await);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let formal = report(
        app,
        &inspector,
        compound,
        "static_control",
        "经督查，景程小区3号楼东侧出入口值守人员脱岗，进出人员未查验健康码、未登记",
    )
    .await;
    let other = if resend {
        report(
            app,
            &supervisor,
            compound,
            "static_control",
            "3号楼东门没人守着 随意进出",
        )
        .await
    } else {
        0
    };
    let elsewhere = report(
        app,
        &supervisor,
        compound,
        "static_control",
        "5号楼西门岗没人看守",
    )
    .await;
    let new = report(
        app,
        &supervisor,
        compound,
        "static_control",
        "三号楼东门没人守 随便进出",
    )
    .await;
    (new, formal, other, elsewhere)
}

#[tokio::test]
async fn the_office_is_shown_both_twins_first_refuses_one_and_the_precision_in_use_counts_both() {
    let app = spawn_app(true).await;
    let (office, supervisor) = (app.token("office").await, app.token("supervisor").await);
    let (new, formal, other, elsewhere) = queue(&app, true).await;
    let path = format!("/api/v1/cases/{new}/duplicates");
    let (status, proposed) = app.get(&office, &path).await;
    assert_eq!(status, 200, "{proposed}");
    // Both are the same problem: the resend in nearly the same words and the formal report.
    let mut first_two = ids(&proposed)[..2].to_vec();
    first_two.sort_unstable();
    assert_eq!(first_two, [formal, other], "{proposed:#}");
    assert!(!ids(&proposed).contains(&elsewhere), "another building");
    let at = |id: i64| ids(&proposed).iter().position(|&i| i == id).unwrap();
    let reasons = &proposed[at(formal)]["reasons"];
    let kinds: Vec<&str> = reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "same_compound", "{reasons}");
    assert!(
        kinds.contains(&"same_category") && kinds.contains(&"shared_words"),
        "{reasons}"
    );
    assert!(
        reasons
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "same_place" && r["places"][0] == "3号楼"),
        "{reasons}"
    );

    // "Not a duplicate": only of a proposed case, only by one who may merge, and it sticks.
    let refuse = |other: i64| format!("/api/v1/cases/{new}/duplicates/{other}/refusal");
    let (status, body) = app
        .send("POST", &office, &refuse(elsewhere), &json!({}))
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["other_id".to_string()]));
    assert_eq!(
        app.send("POST", &supervisor, &refuse(other), &json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        app.send(
            "POST",
            &office,
            "/api/v1/cases/999999/duplicates/1/refusal",
            &json!({})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.send("POST", &office, &refuse(other), &json!({}))
            .await
            .0,
        204
    );
    let (_, proposed) = app.get(&office, &path).await;
    assert!(
        !ids(&proposed).contains(&other),
        "a refused proposal is not shown again"
    );

    let (status, body) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{new}/transitions"),
            &json!({"action": "merge", "into_case_id": formal, "note": "同一问题"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.send("POST", &office, &refuse(other), &json!({})).await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["id".to_string()]),
        "a merged case is judged no more"
    );
    let (status, in_use) = app.get(&office, "/api/v1/cases/duplicates/in-use").await;
    assert_eq!(status, 200, "{in_use}");
    assert_eq!(
        in_use,
        json!({"merged": 1, "refused": 1, "missed": 0, "precision": 0.5})
    );
    let (_, audit) = app
        .get(
            &app.token("admin").await,
            &format!("/api/v1/audit?entity=case&entity_id={new}"),
        )
        .await;
    assert!(
        audit.to_string().contains("duplicate_refused"),
        "the refusal is in the audit trail"
    );
}

#[tokio::test]
async fn compounds_sharing_a_sampling_point_are_neighbours_across_community_lines() {
    let app = spawn_app(true).await;
    let (admin, office) = (app.token("admin").await, app.token("office").await);
    let communities: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM regions WHERE level = 'community' ORDER BY id LIMIT 2")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    // Two compounds about 77 m apart (a thousandth of a degree of longitude at 46.6°N), each in
    // its own community, with a sampling point on the road between them.
    let mut compounds = Vec::new();
    for (i, (community, x0)) in [(communities[0], 125.3), (communities[1], 125.302)]
        .into_iter()
        .enumerate()
    {
        let ring = json!([
            [x0, 46.6],
            [x0 + 0.001, 46.6],
            [x0 + 0.001, 46.601],
            [x0, 46.601],
            [x0, 46.6]
        ]);
        let (status, region) = app
            .send(
                "POST",
                &admin,
                "/api/v1/regions",
                &json!({"parent_id": community, "level": "compound", "name": format!("福瑞{i}号院"),
                        "geometry": {"type": "Polygon", "coordinates": [ring]}}),
            )
            .await;
        assert_eq!(status, 201, "{region}");
        compounds.push(region["id"].as_i64().unwrap());
    }
    let (status, site) = app
        .send(
            "POST",
            &admin,
            "/api/v1/sites",
            &json!({"region_id": communities[0], "kind": "sampling_point", "name": "福瑞采样点", "lon": 125.3015, "lat": 46.6005}),
        )
        .await;
    assert_eq!(status, 201, "{site}");
    let first = report(
        &app,
        &office,
        compounds[0],
        "testing",
        "福瑞采样点排队太挤 没有间隔",
    )
    .await;
    let second = report(
        &app,
        &office,
        compounds[1],
        "testing",
        "市民来电反映福瑞采样点人员密集，排队未保持间距",
    )
    .await;
    let (status, proposed) = app
        .get(&office, &format!("/api/v1/cases/{second}/duplicates"))
        .await;
    assert_eq!(status, 200, "{proposed}");
    assert_eq!(ids(&proposed), [first], "{proposed:#}");
    assert_eq!(
        proposed[0]["reasons"][0],
        json!({"kind": "shared_site", "site": "福瑞采样点"})
    );
}

/// The office opens a new phone report at 360 px, sees its formal twin proposed first with the
/// reasons, and merges it.
#[tokio::test]
async fn the_office_merges_a_phone_report_into_its_formal_twin_at_360_px() {
    let app = spawn_app(true).await;
    let (new, formal, _, _) = queue(&app, false).await;
    let (c, _driver, _profile) = browser(360, 780).await;
    let base = app.base.clone();
    sign_in(&c, &base, "office", "huoyan-demo").await;
    c.goto(&format!("{base}/cases/{new}")).await.unwrap();
    c.execute(
        "document.querySelector('form[data-action=merge]').closest('details').open = true",
        vec![],
    )
    .await
    .unwrap();
    let first = c
        .find(Locator::Css("form[data-action=merge] ol.proposals > li"))
        .await
        .expect("proposals are listed");
    let text = first.text().await.unwrap();
    assert!(
        text.contains(&format!("#{formal}")),
        "the twin first: {text}"
    );
    for reason in [
        "同一小区",
        "同一位置: 3号楼",
        "共同字词",
        "同类问题",
        "不是重复",
    ] {
        assert!(text.contains(reason), "{reason} in {text}");
    }
    fits(&c, "duplicates-proposed", 360).await;
    first
        .find(Locator::Css("input[type=radio]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(step(&c, "merge", "同一问题", &[], None).await, "已合并");
    let (_, case) = app
        .get(&app.token("office").await, &format!("/api/v1/cases/{new}"))
        .await;
    assert_eq!(case["merged_into"], formal);
    c.close().await.unwrap();
}
