//! Case work that moves by itself: each step tells whoever acts next, the group chases (urges,
//! re-routes, moves a deadline) and the boards put each case under its next step.

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// The unread notices of a login, newest first, as (kind, case).
async fn unread(app: &TestApp, token: &str) -> Vec<(String, i64)> {
    let (status, page) = app
        .get(token, "/api/v1/notifications?unread=true&limit=200")
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_string(),
                n["case_id"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Marks every notice of a login read through the API.
async fn read_all(app: &TestApp, token: &str) {
    let (_, page) = app
        .get(token, "/api/v1/notifications?unread=true&limit=200")
        .await;
    for n in page["items"].as_array().unwrap() {
        let path = format!("/api/v1/notifications/{}/read", n["id"]);
        assert_eq!(app.send("POST", token, &path, &json!({})).await.0, 204);
    }
}

fn has(notices: &[(String, i64)], kind: &str, case: i64) -> bool {
    notices.iter().any(|(k, c)| k == kind && *c == case)
}

async fn step(app: &TestApp, token: &str, case: i64, body: Value) {
    let path = format!("/api/v1/cases/{case}/transitions");
    let (status, out) = app.send("POST", token, &path, &body).await;
    assert!(status == 200 || status == 201, "{body} → {status} {out}");
}

#[tokio::test]
async fn every_step_tells_whoever_must_act_next() {
    let app = spawn_app(true).await;
    let names = ["supervisor", "office", "group", "department"];
    let mut t = Vec::new();
    for n in names {
        let token = app.token(n).await;
        read_all(&app, &token).await;
        t.push(token);
    }
    let [supervisor, office, group, department] = [&t[0], &t[1], &t[2], &t[3]];
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            supervisor,
            "/api/v1/cases",
            &json!({"category": "assistance", "compound_id": compound, "description": "5号楼独居老人无人照看"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    assert!(has(&unread(&app, office).await, "reported", id));
    assert!(
        unread(&app, supervisor).await.is_empty(),
        "nobody is told of their own step"
    );
    step(
        &app,
        office,
        id,
        json!({"action": "triage", "note": "转督导组"}),
    )
    .await;
    assert!(has(&unread(&app, group).await, "triaged", id));
    assert!(!has(&unread(&app, department).await, "triaged", id));
    step(
        &app,
        group,
        id,
        json!({"action": "dispatch", "department_id": dept}),
    )
    .await;
    assert!(has(&unread(&app, department).await, "dispatched", id));
    step(&app, department, id, json!({"action": "accept"})).await;
    let later = "2099-01-01T08:00:00+08:00";
    step(
        &app,
        department,
        id,
        json!({"action": "request_extension", "until": later}),
    )
    .await;
    assert!(has(&unread(&app, group).await, "extension_asked", id));
    step(&app, group, id, json!({"action": "grant_extension"})).await;
    assert!(has(
        &unread(&app, department).await,
        "extension_granted",
        id
    ));
    step(
        &app,
        department,
        id,
        json!({"action": "report_fix", "note": "已安排专人值守"}),
    )
    .await;
    assert!(
        has(&unread(&app, supervisor).await, "fixed", id),
        "the reporter verifies"
    );
    step(
        &app,
        supervisor,
        id,
        json!({"action": "rework", "note": "夜间仍无人"}),
    )
    .await;
    assert!(has(&unread(&app, department).await, "reworked", id));
    step(
        &app,
        department,
        id,
        json!({"action": "report_fix", "note": "增派夜班"}),
    )
    .await;
    step(
        &app,
        supervisor,
        id,
        json!({"action": "verify", "note": "属实"}),
    )
    .await;
    assert!(has(&unread(&app, group).await, "verified", id));
    step(&app, group, id, json!({"action": "close"})).await;
    let told = unread(&app, supervisor).await;
    assert!(has(&told, "finished", id), "{told:?}");
    // Worded in the reader's language.
    let (_, zh) = app
        .get(supervisor, "/api/v1/notifications?unread=true&lang=zh")
        .await;
    let message = zh["items"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("#{id}")) && message.contains("已办结"),
        "{message}"
    );
}

#[tokio::test]
async fn the_group_urges_re_routes_and_moves_deadlines_and_the_figures_count_it() {
    let app = spawn_app(true).await;
    let (group, department) = (app.token("group").await, app.token("department").await);
    read_all(&app, &department).await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let other = app
        .id_of("SELECT id FROM departments WHERE name <> '景程社区居委会' ORDER BY id LIMIT 1")
        .await;
    let id = crate::cases::triaged_case(&app, "supplies", "蔬菜包三天未送达").await;
    step(
        &app,
        &group,
        id,
        json!({"action": "dispatch", "department_id": dept}),
    )
    .await;
    let path = format!("/api/v1/cases/{id}/transitions");
    // Only the group chases, and a reason is required.
    let (status, _) = app
        .send(
            "POST",
            &department,
            &path,
            &json!({"action": "urge", "note": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "urge", "note": " "}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["note".to_string()]));
    step(
        &app,
        &group,
        id,
        json!({"action": "urge", "note": "今日18时前送达"}),
    )
    .await;
    step(
        &app,
        &group,
        id,
        json!({"action": "urge", "note": "再次催办"}),
    )
    .await;
    let told = unread(&app, &department).await;
    assert_eq!(
        told.iter()
            .filter(|(k, c)| k == "urged" && *c == id)
            .count(),
        2
    );
    let (_, detail) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(detail["tasks"][0]["urges"], 2);
    // The figures count the urging against the unit.
    let (_, figures) = app.get(&group, "/api/v1/cases/figures").await;
    let row = figures["by_department"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["department_id"] == dept)
        .unwrap()
        .clone();
    assert!(row["measures"]["urges"].as_i64().unwrap() >= 2, "{row}");
    // A deadline in the past is refused, naming the field; one in the future holds.
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "change_deadline", "note": "x", "due_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["due_at".to_string()]));
    let due = "2099-03-01T12:00:00+08:00";
    step(
        &app,
        &group,
        id,
        json!({"action": "change_deadline", "note": "道路封闭顺延", "due_at": due}),
    )
    .await;
    let (_, detail) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(detail["tasks"][0]["due_at"], "2099-03-01T04:00:00Z");
    assert!(has(&unread(&app, &department).await, "deadline_moved", id));
    // Re-routed to another unit: the first unit's task is withdrawn and it is told.
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "reroute", "note": "改由他单位主办", "department_id": 999_999}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["department_id".to_string()])
    );
    step(
        &app,
        &group,
        id,
        json!({"action": "reroute", "note": "改由他单位主办", "department_id": other}),
    )
    .await;
    let (_, detail) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(detail["state"], "dispatched");
    assert_eq!(detail["department_id"], other);
    let states: Vec<&str> = detail["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["withdrawn", "dispatched"]);
    assert!(has(&unread(&app, &department).await, "withdrawn", id));
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["urge", "change_deadline", "reroute"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    // Each is an audited step.
    let audited = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE entity = 'case' AND entity_id = '{id}' AND action IN ('urge', 'change_deadline', 'reroute')"
        ))
        .await;
    assert_eq!(audited, 4);
}

#[tokio::test]
async fn boards_put_each_case_under_its_next_step_most_urgent_first() {
    let app = spawn_app(true).await;
    let (office, group) = (app.token("office").await, app.token("group").await);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (_, case) = app
        .send(
            "POST",
            &office,
            "/api/v1/cases",
            &json!({"category": "assistance", "compound_id": compound, "description": "孕妇需紧急就医"}),
        )
        .await;
    let id = case["id"].as_i64().unwrap();
    step(
        &app,
        &office,
        id,
        json!({"action": "triage", "note": "急", "priority": "urgent"}),
    )
    .await;
    let page = |path: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&group)
            .send()
    };
    let html = page("/cases?view=board")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The lane to dispatch comes first, and only urgent cases come before the new urgent one.
    let lane = html
        .find("id=\"lane-to_dispatch\"")
        .expect("the lane to dispatch");
    let end = html[lane..].find("</section>").unwrap() + lane;
    let items: Vec<&str> = html[lane..end].split("<li class=\"case").skip(1).collect();
    let mine = items
        .iter()
        .position(|i| i.contains(&format!("href=\"/cases/{id}\"")))
        .expect("the new case is in the lane to dispatch");
    assert!(
        items[..mine].iter().all(|i| i.contains("pr-urgent")),
        "only urgent cases come before it"
    );
    assert!(
        items[mine + 1..].iter().any(|i| !i.contains("pr-urgent")),
        "less urgent cases follow it"
    );
    for other in ["lane-overdue", "lane-to_verify"] {
        if let Some(at) = html.find(other) {
            assert!(at > lane, "{other} comes after the lane to dispatch");
        }
    }
    assert!(html.contains("pr-urgent"), "the priority is shown");
    // Jump to a case by its number.
    let jumped = page(&format!("/cases/go?n=%23{id}")).await.unwrap();
    assert_eq!(jumped.url().path(), format!("/cases/{id}"));
    let missing = page("/cases/go?n=abc").await.unwrap();
    assert_eq!(missing.status(), 422);
    // The home page counts what waits.
    let home = page("/").await.unwrap().text().await.unwrap();
    assert!(
        home.contains("lane-to_dispatch"),
        "the home page links the lanes"
    );
}
