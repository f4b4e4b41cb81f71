//! Cases as the five parties tell it: the supervisor reports, the office triages, the group
//! dispatches, the department fixes, the supervisor verifies and the group closes.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::{fields, spawn_app};

#[tokio::test]
async fn a_problem_goes_from_report_to_closed_through_five_accounts() {
    let app = spawn_app(true).await;
    let (supervisor, office, group, department) = (
        app.token("supervisor").await,
        app.token("office").await,
        app.token("group").await,
        app.token("department").await,
    );
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let report = json!({"category": "static_control", "compound_id": compound, "description": "3号楼东门岗无人值守，居民随意进出"});
    let (status, case) = app
        .send("POST", &supervisor, "/api/v1/cases", &report)
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["state"], "reported");
    assert_eq!(case["source"], "supervisor");
    // The department sees nothing until the case is dispatched to it.
    assert_eq!(
        app.get(&department, &format!("/api/v1/cases/{id}")).await.0,
        404
    );
    let path = format!("/api/v1/cases/{id}/transitions");
    // Out of order and by the wrong role are refused, naming the rule.
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "dispatch", "department_id": dept}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["action".to_string()]));
    assert_eq!(
        app.send(
            "POST",
            &supervisor,
            &path,
            &json!({"action": "triage", "note": "x"})
        )
        .await
        .0,
        403
    );
    let (status, body) = app
        .send(
            "POST",
            &office,
            &path,
            &json!({"action": "triage", "note": "x", "category": "gates"}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["category".to_string()]));
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "close", "priority": "low"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let steps = [
        (
            &office,
            json!({"action": "triage", "note": "门岗脱岗，转督导组", "priority": "urgent"}),
            "triaged",
        ),
        (
            &group,
            json!({"action": "dispatch", "department_id": dept}),
            "dispatched",
        ),
        (&department, json!({"action": "accept"}), "rectifying"),
        (
            &department,
            json!({"action": "report_fix", "note": "已安排两名志愿者24小时值守"}),
            "rectified",
        ),
        (
            &supervisor,
            json!({"action": "rework", "note": "夜间仍无人"}),
            "rectifying",
        ),
        (
            &department,
            json!({"action": "report_fix", "note": "夜班已补齐"}),
            "rectified",
        ),
        (
            &supervisor,
            json!({"action": "verify", "note": "已核实，门岗有人"}),
            "verified",
        ),
        (&group, json!({"action": "close"}), "closed"),
    ];
    for (token, body, expected) in steps {
        // Static control asks a photo of each fix, which comes with it.
        let (status, case) = if body["action"] == "report_fix" {
            let photo = vec![("门岗.png", png(10))];
            app.send_form(token, &path, &body, photo).await
        } else {
            app.send("POST", token, &path, &body).await
        };
        assert_eq!(status, 200, "{body}: {case}");
        assert_eq!(case["state"], expected);
    }
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    let actions: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "triage",
            "dispatch",
            "accept",
            "report_fix",
            "rework",
            "report_fix",
            "verify",
            "close"
        ]
    );
    assert_eq!(case["priority"], "urgent", "the office reclassified it");
    assert!(
        case["tasks"][0]["due_at"].is_string(),
        "dispatch sets the unit's deadline"
    );
    assert!(
        case["due_at"].is_null(),
        "a closed case has no running clock"
    );
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn one_idempotency_key_never_makes_two_cases() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let before = app.count("cases").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let body = json!({"category": "supplies", "compound_id": compound, "description": "5号楼蔬菜包未送达"});
    let send = || {
        app.client
            .post(format!("{}/api/v1/cases", app.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "phone-42")
            .json(&body)
            .send()
    };
    let (a, b) = (send().await.unwrap(), send().await.unwrap());
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (201, 200));
    let (a, b): (serde_json::Value, serde_json::Value) =
        (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["id"], b["id"]);
    assert_eq!(app.count("cases").await, before + 1);
}

#[tokio::test]
async fn bad_reports_name_their_fields_and_scope_holds() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let before = app.count("cases").await;
    let other = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await;
    let community = app
        .id_of("SELECT id FROM regions WHERE code = '230602022001'")
        .await;
    // What parses is checked whole: every bad field named at once.
    let (status, body) = app.send("POST", &token, "/api/v1/cases", &json!({"category": "supplies", "compound_id": community, "description": " ", "lon": 0.0, "lat": 0.0})).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["description", "lon", "lat", "compound_id"]);
    // A value that is not of its type is named on its own, as it is read.
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/cases",
            &json!({"category": "weather", "compound_id": community, "description": "x"}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["category".to_string()]));
    for (body, field) in [
        (
            json!({"category": "supplies", "compound_id": community, "description": "x".repeat(4001)}),
            "description",
        ),
        (
            json!({"category": "supplies", "compound_id": community, "description": "x", "address": "楼".repeat(201)}),
            "address",
        ),
        (
            json!({"category": "supplies", "compound_id": community, "description": "a\u{202E}b"}),
            "description",
        ),
    ] {
        let (status, answer) = app.send("POST", &token, "/api/v1/cases", &body).await;
        assert_eq!(
            (status, fields(&answer)),
            (422, vec![field.to_string()]),
            "{answer}"
        );
    }
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/cases",
            &json!({"category": "testing", "compound_id": other, "description": "排队过密"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (403, vec!["compound_id".to_string()]),
        "a supervisor reports on their own compound (refused as org refuses a write outside the scope)"
    );
    assert_eq!(app.count("cases").await, before);
}

#[tokio::test]
async fn the_office_sees_which_compounds_have_not_reported_today() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let silent = |body: &serde_json::Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["compound_id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let (status, before) = app
        .get(&office, "/api/v1/check-ins/missing?limit=500")
        .await;
    assert_eq!(status, 200);
    assert_eq!(before["total"], 140, "no compound has reported yet");
    assert!(silent(&before).contains(&jingcheng));
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, after) = app
        .get(&office, "/api/v1/check-ins/missing?limit=500")
        .await;
    assert_eq!(after["total"], 139);
    assert!(!silent(&after).contains(&jingcheng));
    // Another compound is heard from by reporting a problem instead.
    let inspector = app.token("inspector").await;
    let other = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await;
    let (status, _) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/cases",
            &json!({"category": "testing", "compound_id": other, "description": "采样点排队过密"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, after) = app
        .get(&office, "/api/v1/check-ins/missing?limit=500")
        .await;
    assert_eq!(after["total"], 138);
    let (status, body) = app
        .get(&office, "/api/v1/check-ins/missing?day=yesterday")
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["day".to_string()]));
}

#[tokio::test]
async fn a_department_asks_for_more_time_and_the_group_answers() {
    let app = spawn_app(true).await;
    let (supervisor, office, group, department) = (
        app.token("supervisor").await,
        app.token("office").await,
        app.token("group").await,
        app.token("department").await,
    );
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let (_, case) = app.send("POST", &supervisor, "/api/v1/cases", &json!({"category": "disinfection", "compound_id": compound, "description": "垃圾站三天未消杀"})).await;
    let path = format!("/api/v1/cases/{}/transitions", case["id"]);
    for (token, body) in [
        (&office, json!({"action": "triage", "note": "转督导组"})),
        (&group, json!({"action": "dispatch", "department_id": dept})),
        (&department, json!({"action": "accept"})),
    ] {
        assert_eq!(app.send("POST", token, &path, &body).await.0, 200);
    }
    let (status, body) = app
        .send("POST", &group, &path, &json!({"action": "grant_extension"}))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["action".to_string()]),
        "nothing to grant yet"
    );
    let (status, body) = app
        .send(
            "POST",
            &department,
            &path,
            &json!({"action": "request_extension", "note": "消杀药品明日到货"}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["until".to_string()]));
    let (status, body) = app.send("POST", &department, &path, &json!({"action": "request_extension", "until": "2099-01-01T00:00:00Z", "note": "消杀药品明日到货"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tasks"][0]["extension_until"], "2099-01-01T00:00:00Z");
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "refuse_extension"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["note".to_string()]),
        "a refusal gives its reason"
    );
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "grant_extension", "note": "同意"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["due_at"], "2099-01-01T00:00:00Z");
    assert_eq!(body["tasks"][0]["due_at"], "2099-01-01T00:00:00Z");
    assert_eq!(body["tasks"][0]["extensions"], 1);
    assert!(body["tasks"][0]["extension_until"].is_null());
    assert_eq!(
        body["state"], "rectifying",
        "an extension changes the deadline, not the state"
    );
}

/// Files a case at 景程小区 as the supervisor and has the office triage it; returns its id.
pub(crate) async fn triaged_case(app: &crate::TestApp, category: &str, text: &str) -> i64 {
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": category, "compound_id": compound, "description": text}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    let (status, body) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{id}/transitions"),
            &json!({"action": "triage", "note": "转督导组"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

#[tokio::test]
async fn a_lead_and_a_co_responsible_unit_each_fix_their_part() {
    let app = spawn_app(true).await;
    let (group, lead) = (app.token("group").await, app.token("department").await);
    let lead_id = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let market = app
        .id_of("SELECT id FROM departments WHERE name = '大庆市市场监督管理局'")
        .await;
    let police = app
        .id_of("SELECT id FROM departments WHERE name = '大庆市公安局萨尔图分局'")
        .await;
    let co = app
        .new_login("market", "department", json!({"department_id": market}))
        .await;
    let cops = app
        .new_login("police", "department", json!({"department_id": police}))
        .await;
    let id = triaged_case(
        &app,
        "supply_vendors",
        "小区门口超市店员三天未做核酸仍在营业",
    )
    .await;
    let path = format!("/api/v1/cases/{id}/transitions");
    // The lead named among the co-responsible is refused, naming the field.
    let (status, body) = app
        .send("POST", &group, &path, &json!({"action": "dispatch", "department_id": lead_id, "co": [{"department_id": lead_id}]}))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["department_id".to_string()])
    );
    let (status, body) = app
        .send("POST", &group, &path, &json!({"action": "dispatch", "department_id": lead_id, "note": "督促超市停业整改", "due_at": "2099-01-01T00:00:00Z",
            "co": [{"department_id": market, "instruction": "查处超市", "due_at": "2099-01-02T00:00:00Z"}, {"department_id": police}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    assert_eq!(
        (tasks[0]["share"].as_str(), tasks[1]["share"].as_str()),
        (Some("lead"), Some("co"))
    );
    assert_eq!(
        tasks[1]["due_at"], "2099-01-02T00:00:00Z",
        "each unit its own deadline"
    );
    assert_eq!(
        tasks[2]["due_at"], "2099-01-01T00:00:00Z",
        "the lead's when none is given"
    );
    // A co-responsible unit sees the case; another department does not.
    assert_eq!(app.get(&co, &format!("/api/v1/cases/{id}")).await.0, 200);
    let commerce = app
        .id_of("SELECT id FROM departments WHERE name = '大庆市商务局'")
        .await;
    let other = app
        .new_login("commerce", "department", json!({"department_id": commerce}))
        .await;
    assert_eq!(app.get(&other, &format!("/api/v1/cases/{id}")).await.0, 404);
    for (token, body, state) in [
        (&lead, json!({"action": "accept"}), "rectifying"),
        (&co, json!({"action": "accept"}), "rectifying"),
        (
            &lead,
            json!({"action": "report_fix", "note": "超市已停业"}),
            "rectifying",
        ),
        (
            &co,
            json!({"action": "report_fix", "note": "已立案查处"}),
            "rectifying",
        ),
    ] {
        // A vendor's premises put in order are shown by a photo of the fix.
        let (status, case) = if body["action"] == "report_fix" {
            let photo = vec![("超市.png", png(10))];
            app.send_form(token, &path, &body, photo).await
        } else {
            app.send("POST", token, &path, &body).await
        };
        assert_eq!(status, 200, "{body}: {case}");
        assert_eq!(case["state"], state, "{body}");
    }
    // A unit whose task is done has nothing left to accept.
    let (status, body) = app
        .send("POST", &lead, &path, &json!({"action": "accept"}))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["department_id".to_string()])
    );
    // Not responsible: the police unit drops out with a reason, and the case is complete.
    let (status, case) = app
        .send(
            "POST",
            &cops,
            &path,
            &json!({"action": "send_back", "note": "不属公安职责"}),
        )
        .await;
    assert_eq!((status, case["state"].as_str()), (200, Some("rectified")));
    // Verification fails for the market regulator only: only its task reopens.
    let (status, case) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "rework", "note": "未见处罚决定书", "department_ids": [market]}),
        )
        .await;
    assert_eq!(
        (status, case["state"].as_str()),
        (200, Some("rectifying")),
        "{case}"
    );
    let states: Vec<&str> = case["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "rectifying", "sent_back"]);
    assert_eq!(case["tasks"][1]["reworks"], 1);
    let (status, case) = app
        .send_form(
            &co,
            &path,
            &json!({"action": "report_fix", "note": "已出具处罚决定书"}),
            vec![("决定书.png", png(20))],
        )
        .await;
    assert_eq!((status, case["state"].as_str()), (200, Some("rectified")));
    // The timeline names the unit of each department step.
    let units: Vec<Option<i64>> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "report_fix")
        .map(|e| e["department_id"].as_i64())
        .collect();
    assert_eq!(units, [Some(lead_id), Some(market), Some(market)]);
}

#[tokio::test]
async fn a_lead_that_is_not_responsible_sends_the_case_back_for_re_routing() {
    let app = spawn_app(true).await;
    let (group, lead) = (app.token("group").await, app.token("department").await);
    let lead_id = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let health = app
        .id_of("SELECT id FROM departments WHERE name = '萨尔图区疾病预防控制中心'")
        .await;
    let id = triaged_case(&app, "testing", "核酸采样点排队两小时无人维持秩序").await;
    let path = format!("/api/v1/cases/{id}/transitions");
    let (status, _) = app
        .send("POST", &group, &path, &json!({"action": "dispatch", "department_id": lead_id, "co": [{"department_id": health}]}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .send("POST", &lead, &path, &json!({"action": "send_back"}))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["note".to_string()]),
        "a reason is required"
    );
    let (status, case) = app
        .send(
            "POST",
            &lead,
            &path,
            &json!({"action": "send_back", "note": "采样点归疾控管理"}),
        )
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["state"], "triaged", "back with the group");
    let states: Vec<&str> = case["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sent_back", "withdrawn"]);
    assert!(case["due_at"].is_null(), "no open task, no clock");
    // The group re-routes it to the right unit.
    let (status, case) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "dispatch", "department_id": health}),
        )
        .await;
    assert_eq!((status, case["state"].as_str()), (200, Some("dispatched")));
    assert_eq!(case["department_id"], health);
}

#[tokio::test]
async fn a_backlog_of_overdue_cases_is_escalated_a_batch_a_change_in_the_order_of_their_ids() {
    use huoyan::audit::{Actor, Change};
    use huoyan::cases::overdue::{sweep, sweep_in};
    let app = spawn_app(true).await;
    let now = huoyan::time::now_ms();
    let waiting = async || -> Vec<i64> {
        sqlx::query_scalar(
            "SELECT DISTINCT case_id FROM case_tasks WHERE state IN ('dispatched', 'rectifying') \
             AND due_at < $1 AND escalated_at IS NULL ORDER BY case_id",
        )
        .bind(now)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
    };
    // The demo's cases still open in 2022 wait to be escalated today.
    let due = waiting().await;
    assert!(due.len() >= 3, "{due:?}");
    // One batch: the first two cases by id, committed alone; the next starts after them.
    let mut change = Change::begin(&app.db, &Actor::system("overdue"))
        .await
        .unwrap();
    assert_eq!(sweep_in(&mut change, now, 0, 2).await.unwrap(), due[..2]);
    change.commit().await.unwrap();
    assert_eq!(waiting().await, due[2..]);
    let mut change = Change::begin(&app.db, &Actor::system("overdue"))
        .await
        .unwrap();
    assert_eq!(
        sweep_in(&mut change, now, due[2], 1).await.unwrap(),
        due[3..].iter().take(1).copied().collect::<Vec<_>>(),
        "after the last case of the batch before"
    );
    drop(change);
    // The job goes through every batch until none is left.
    assert_eq!(sweep(&app.db, now).await.unwrap(), due.len() - 2);
    assert!(waiting().await.is_empty());
    assert_eq!(sweep(&app.db, now).await.unwrap(), 0);
}

#[tokio::test]
async fn overdue_tasks_are_escalated_once_to_the_group_and_the_commander() {
    let app = spawn_app(true).await;
    let (group, commander, department) = (
        app.token("group").await,
        app.token("commander").await,
        app.token("department").await,
    );
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    // The demo's cases still open in 2022 are overdue today; the job first escalates those of
    // them the scenario's snapshot had not, and the group reads the notices.
    let now = huoyan::time::now_ms();
    huoyan::cases::overdue::sweep(&app.db, now).await.unwrap();
    let (_, overdue) = app.get(&group, "/api/v1/cases?overdue=true").await;
    let unread = async |token: &str| {
        app.get(token, "/api/v1/notifications?unread=true").await.1["total"]
            .as_i64()
            .unwrap()
    };
    let id = triaged_case(&app, "disinfection", "垃圾站三天未消杀").await;
    let (group_unread, commander_unread) = (unread(&group).await, unread(&commander).await);
    let path = format!("/api/v1/cases/{id}/transitions");
    // A deadline already past is refused by name: it would make the unit overdue at once.
    let (status, body) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "dispatch", "department_id": dept, "due_at": "2022-08-21T00:00:00Z"}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["due_at".to_string()]));
    let due = huoyan::time::now_ms() + 2_000;
    let (status, case) = app
        .send(
            "POST",
            &group,
            &path,
            &json!({"action": "dispatch", "department_id": dept, "due_at": huoyan::time::rfc3339(due)}),
        )
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["overdue"], false);
    // The deadline passes.
    let wait = (due / 1000 * 1000 + 1_100 - huoyan::time::now_ms()).max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["overdue"], true);
    let (_, listed) = app
        .get(&group, "/api/v1/cases?overdue=true&limit=500")
        .await;
    assert_eq!(listed["total"], overdue["total"].as_i64().unwrap() + 1);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );
    let now = huoyan::time::now_ms();
    assert_eq!(
        huoyan::cases::overdue::sweep(&app.db, now).await.unwrap(),
        1
    );
    assert_eq!(
        huoyan::cases::overdue::sweep(&app.db, now).await.unwrap(),
        0,
        "once per task"
    );
    for token in [&group, &commander] {
        let (_, notes) = app.get(token, "/api/v1/notifications?unread=true").await;
        assert_eq!(notes["items"][0]["kind"], "escalated", "{notes}");
        assert_eq!(notes["items"][0]["case_id"], id);
    }
    assert_eq!(
        (unread(&group).await, unread(&commander).await),
        (group_unread + 1, commander_unread + 1)
    );
    // The unit was told of its task when it was dispatched, and now that it is overdue.
    let (_, told) = app
        .get(&department, "/api/v1/notifications?limit=200")
        .await;
    let kinds: Vec<&str> = told["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["case_id"] == id)
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["overdue", "dispatched"]);
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    let last = case["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["department_id"].as_i64()),
        (Some("escalate"), Some(dept))
    );
    assert!(case["tasks"][0]["escalated_at"].is_string());
    // Read once, it is no longer unread.
    let (_, notes) = app.get(&group, "/api/v1/notifications").await;
    let nid = notes["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.send(
            "POST",
            &group,
            &format!("/api/v1/notifications/{nid}/read"),
            &json!({})
        )
        .await
        .0,
        204
    );
    assert_eq!(unread(&group).await, group_unread);
    assert_eq!(
        app.send(
            "POST",
            &commander,
            &format!("/api/v1/notifications/{nid}/read"),
            &json!({})
        )
        .await
        .0,
        404,
        "not theirs"
    );
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn the_office_merges_many_reports_into_one_and_every_reporter_is_told() {
    let app = spawn_app(true).await;
    let (supervisor, office, inspector) = (
        app.token("supervisor").await,
        app.token("office").await,
        app.token("inspector").await,
    );
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let mut ids = Vec::new();
    for (token, text) in [
        (&supervisor, "3号楼东门岗无人值守，居民随意进出"),
        (&inspector, "三号楼东门岗无人值守，居民随意出入"),
        (&supervisor, "5号楼西门岗没人看守"),
    ] {
        let (status, case) = app
            .send("POST", token, "/api/v1/cases", &json!({"category": "static_control", "compound_id": compound, "description": text}))
            .await;
        assert_eq!(status, 201, "{case}");
        ids.push(case["id"].as_i64().unwrap());
    }
    let target = ids[0];
    // The office is offered the first report as a duplicate of the second, not the third.
    let (status, proposed) = app
        .get(&office, &format!("/api/v1/cases/{}/duplicates", ids[1]))
        .await;
    assert_eq!(status, 200, "{proposed}");
    let proposed: Vec<i64> = proposed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["case"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(proposed, [target]);
    let (status, body) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{}/transitions", ids[1]),
            &json!({"action": "merge"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["into_case_id".to_string()])
    );
    for &id in &ids[1..] {
        let (status, case) = app
            .send(
                "POST",
                &office,
                &format!("/api/v1/cases/{id}/transitions"),
                &json!({"action": "merge", "into_case_id": target}),
            )
            .await;
        assert_eq!(status, 200, "{case}");
        assert_eq!(
            (case["state"].as_str(), case["merged_into"].as_i64()),
            (Some("merged"), Some(target))
        );
    }
    let (status, body) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{target}/transitions"),
            &json!({"action": "merge", "into_case_id": ids[1]}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["into_case_id".to_string()]),
        "not into a merged report"
    );
    for token in [&supervisor, &inspector] {
        // (The demo's own merges were told in 2022 and read since.)
        let (_, notes) = app.get(token, "/api/v1/notifications?unread=true").await;
        assert!(
            notes["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["kind"] == "merged" && n["case_id"] == target),
            "{notes}"
        );
        assert!(notes["total"].as_i64().unwrap() >= 1);
    }
    // The notice shows on the inspector's notifications page, among the unread until opened.
    let page = app
        .client
        .get(format!("{}/notifications", app.base))
        .bearer_auth(&inspector)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("已并入案件 #{target}")), "{page}");
    assert!(
        page.contains("class=\"case unread\" data-kind=\"merged\""),
        "{page}"
    );
    assert_eq!(
        app.get(&inspector, "/api/v1/notifications?unread=true")
            .await
            .1["total"],
        1
    );
    let (_, case) = app.get(&office, &format!("/api/v1/cases/{target}")).await;
    let absorbed = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "absorb")
        .count();
    assert_eq!(absorbed, 2, "the surviving case records each merge");
}

/// Sends `files` (name, bytes) as one multipart upload; returns the status and body.
async fn upload(
    app: &crate::TestApp,
    token: &str,
    case: i64,
    files: Vec<(&str, Vec<u8>)>,
) -> (u16, serde_json::Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = app
        .client
        .post(format!("{}/api/v1/cases/{case}/files", app.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A one-pixel PNG followed by `n` bytes of padding.
fn png(n: usize) -> Vec<u8> {
    let mut v = crate::uploads::png_image(1, 1);
    v.resize(v.len() + n, 7);
    v
}

#[tokio::test]
async fn photos_are_checked_by_content_stored_once_and_served_back() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let id = triaged_case(&app, "static_control", "东门岗无人").await;
    let (files_before, blobs_before) =
        (app.count("case_files").await, app.count("file_blobs").await);
    let photo = png(1000);
    let (status, body) = upload(
        &app,
        &supervisor,
        id,
        vec![("东门.png", photo.clone()), ("西门.png", png(2000))],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let files = body.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["media_type"], "image/png");
    assert_eq!(files[0]["size"], photo.len());
    assert_ne!(files[0]["sha256"], files[1]["sha256"]);
    // A phone that resends after a lost answer adds nothing: the same photo is the same file.
    let (status, again) = upload(&app, &supervisor, id, vec![("again.png", photo.clone())]).await;
    assert_eq!(status, 201);
    assert_eq!(again[0]["id"], files[0]["id"]);
    assert_eq!(app.count("case_files").await - files_before, 2);
    assert_eq!(
        app.count("file_blobs").await - blobs_before,
        2,
        "each content stored once"
    );
    let r = app
        .client
        .get(format!(
            "{}/api/v1/cases/{id}/files/{}",
            app.base, files[0]["id"]
        ))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
    // A department with no task on the case cannot see it.
    let department = app.token("department").await;
    assert_eq!(
        app.get(
            &department,
            &format!("/api/v1/cases/{id}/files/{}", files[0]["id"])
        )
        .await
        .0,
        404
    );
    // Text posing as a photo, an empty file and a 12 MB photo are refused, naming each part; a
    // good photo in the same upload is not kept.
    let before = app.count("case_files").await;
    let (status, body) = upload(
        &app,
        &supervisor,
        id,
        vec![
            ("ok.png", png(10)),
            ("fake.jpg", b"not a photo at all".to_vec()),
            ("empty.png", Vec::new()),
            ("big.png", png(12 * 1024 * 1024)),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["file[1]", "file[2]", "file[3]"]);
    // A 50 MB photo is cut off while it streams in.
    let (status, body) = upload(
        &app,
        &supervisor,
        id,
        vec![("huge.png", png(50 * 1024 * 1024))],
    )
    .await;
    assert_eq!((status, fields(&body)), (413, vec!["file".to_string()]));
    assert_eq!(
        app.count("case_files").await,
        before,
        "nothing half-written"
    );
    let (_, case) = app.get(&supervisor, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_reported_point_is_matched_to_its_compound_and_must_lie_in_the_city() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let (status, jingcheng) = app
        .get(
            &supervisor,
            &format!(
                "/api/v1/regions/{}",
                app.id_of("SELECT id FROM regions WHERE name = '景程小区'")
                    .await
            ),
        )
        .await;
    assert_eq!(status, 200);
    let ring = jingcheng["geometry"]["coordinates"][0].as_array().unwrap();
    let mean = |k: usize| {
        ring[..4]
            .iter()
            .map(|p| p[k].as_f64().unwrap())
            .sum::<f64>()
            / 4.0
    };
    let (lon, lat) = (mean(0), mean(1));
    let report = |body: serde_json::Value| {
        let (app, token) = (&app, &supervisor);
        async move { app.send("POST", token, "/api/v1/cases", &body).await }
    };
    let (status, case) = report(json!({"category": "supplies", "lon": lon, "lat": lat, "description": "团购蔬菜两天未送达"})).await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["compound_id"], jingcheng["id"]);
    // Harbin is in China but not in Daqing.
    let (status, body) = report(json!({"category": "supplies", "compound_id": jingcheng["id"], "lon": 126.63, "lat": 45.75, "description": "x"})).await;
    assert_eq!((status, fields(&body)), (422, vec!["lon".to_string()]));
    // In the city but in no compound, and no compound named.
    let (status, body) = report(
        json!({"category": "supplies", "lon": lon + 0.05, "lat": lat + 0.05, "description": "x"}),
    )
    .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["compound_id".to_string()]),
        "{body}"
    );
}

#[tokio::test]
async fn dispatch_sets_the_deadline_the_city_configured() {
    let config: huoyan_core::cases::DeadlineConfig =
        toml::from_str("[hours]\nnormal = 5\n[overrides.disinfection]\nnormal = 3\n").unwrap();
    let app = crate::spawn_app_with(
        true,
        huoyan::app::Settings {
            deadlines: config.policy().unwrap(),
            ..Default::default()
        },
    )
    .await;
    let group = app.token("group").await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    for (category, hours) in [("static_control", 5), ("disinfection", 3)] {
        let id = triaged_case(&app, category, "门岗无人值守，垃圾站未消杀").await;
        let (status, case) = app
            .send(
                "POST",
                &group,
                &format!("/api/v1/cases/{id}/transitions"),
                &json!({"action": "dispatch", "department_id": dept}),
            )
            .await;
        assert_eq!(status, 200, "{case}");
        let t = |v: &serde_json::Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        };
        let task = &case["tasks"][0];
        assert_eq!(
            t(&task["due_at"]) - t(&task["dispatched_at"]),
            hours * 3_600_000,
            "{category}"
        );
    }
}

#[tokio::test]
async fn the_zero_report_page_checks_in_and_the_office_page_lists_the_silent() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    // The list of the silent, apart from the form (whose compound picker names them all).
    let page = |token: String| {
        let app = &app;
        async move {
            let page = app
                .client
                .get(format!("{}/check-ins", app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            page.split("id=\"silent\"").nth(1).unwrap().to_string()
        }
    };
    assert!(
        page(office.clone()).await.contains(">景程小区<"),
        "silent before"
    );
    let r = app
        .client
        .post(format!("{}/check-ins", app.base))
        .bearer_auth(&supervisor)
        .form(&[("_csrf", ""), ("nothing_to_report", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("id=\"checked-in\"") && body.contains("今日无问题"),
        "{body}"
    );
    assert!(
        !page(office).await.contains(">景程小区<"),
        "heard from after"
    );
}

#[tokio::test]
async fn many_reports_at_once_land_exactly_once_with_an_intact_chain() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let events_before = app.count("audit_events").await;
    // The demo's own cases and their timelines are there before.
    let (cases_before, steps_before) = (app.count("cases").await, app.count("case_events").await);
    let last_before = app.id_of("SELECT COALESCE(MAX(id), 0) FROM cases").await;
    // 200 reports sent all at once: 180 under 60 keys (each key sent three times, as a phone
    // resends), 20 without a key.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..200 {
        let key = (i < 180).then(|| format!("phone-{}", i % 60));
        let body = json!({"category": "supplies", "compound_id": compound, "description": format!("{}号楼蔬菜包未送达", i % 60)});
        let request = app
            .client
            .post(format!("{}/api/v1/cases", app.base))
            .bearer_auth(&token)
            .json(&body);
        let request = match &key {
            Some(k) => request.header("Idempotency-Key", k),
            None => request,
        };
        sends.spawn(async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let case: serde_json::Value = r.json().await.unwrap();
            (key, status, case)
        });
    }
    let mut by_key: HashMap<String, Vec<(u16, i64)>> = HashMap::new();
    let mut unkeyed = Vec::new();
    let mut made = Vec::new();
    for (key, status, case) in sends.join_all().await {
        let id = case["id"].as_i64().expect("a case");
        if status == 201 {
            made.push(case);
        }
        match (key, status, id) {
            (Some(k), status, id) => by_key.entry(k).or_default().push((status, id)),
            (None, status, id) => unkeyed.push((status, id)),
        }
    }
    assert_eq!(by_key.len(), 60);
    for (key, answers) in &by_key {
        let made: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
        assert_eq!(made.len(), 1, "{key}: one send makes the case, {answers:?}");
        assert!(
            answers
                .iter()
                .all(|&(s, id)| (s == 201 || s == 200) && id == made[0].1),
            "{key}: every resend answers with that case, {answers:?}"
        );
    }
    assert!(unkeyed.iter().all(|(s, _)| *s == 201));
    let mut ids: Vec<i64> = by_key
        .values()
        .map(|a| a[0].1)
        .chain(unkeyed.iter().map(|a| a.1))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 80);
    assert_eq!(app.count("cases").await - cases_before, 80);
    assert_eq!(app.count("case_events").await - steps_before, 80);
    assert_eq!(app.count("audit_events").await - events_before, 80);
    assert_eq!(
        app.id_of(&format!("SELECT COUNT(DISTINCT entity_id) FROM audit_events WHERE entity = 'case' AND action = 'report' AND actor = 'supervisor' AND CAST(entity_id AS BIGINT) > {last_before}"))
            .await,
        80,
        "each case has its own event, by its reporter"
    );
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { events, .. } if events == app.count("audit_events").await
    ));
    // A new case is answered as written, without reading it back: the same as reading it.
    assert_eq!(made.len(), 80);
    for case in made {
        let (status, read) = app
            .get(&token, &format!("/api/v1/cases/{}", case["id"]))
            .await;
        assert_eq!((status, read), (200, case));
    }
}

#[tokio::test]
async fn a_batch_keeps_one_case_per_key_and_one_bad_filing_costs_the_others_nothing() {
    use huoyan::cases::intake::{Filed, Filing, write_all, write_many};

    let app = spawn_app(true).await;
    let (account, compound) = crate::intake::supervisor_and_compound(&app).await;
    let cases_before = app.count("cases").await;
    let filing = |key: Option<&str>, compound_id: i64| Filing {
        key: key.map(str::to_string),
        category: huoyan_core::cases::Category::Supplies,
        compound_id,
        ..crate::intake::supervisors(account, compound, "5号楼蔬菜包未送达".into())
    };
    // One transaction: two sends of key a, a filing on a region that does not exist (the batch
    // fails and its filings are written one by one), key b, and one without a key.
    let out = write_all(
        &app.db,
        &[
            filing(Some("a"), compound),
            filing(Some("a"), compound),
            filing(None, 999_999_999),
            filing(Some("b"), compound),
            filing(None, compound),
        ],
    )
    .await;
    let ok: Vec<Option<Filed>> = out.iter().map(|r| r.as_ref().ok().copied()).collect();
    let (a, b, c) = (
        ok[0].unwrap().id(),
        ok[3].unwrap().id(),
        ok[4].unwrap().id(),
    );
    assert!(matches!(ok[0], Some(Filed::New { .. })));
    assert_eq!(ok[1], Some(Filed::Existing(a)));
    assert!(ok[2].is_none());
    assert!(matches!(&out[2], Err(huoyan::error::AppError::Invalid(_))));
    assert!(matches!(ok[3], Some(Filed::New { .. })));
    assert!(matches!(ok[4], Some(Filed::New { .. })));
    assert_eq!([a, b, c].iter().collect::<HashSet<_>>().len(), 3);
    // In one transaction, with no retry one by one to fall back on: key b answers with its case,
    // key c is made once.
    let out = write_many(
        &app.db,
        &[
            filing(Some("b"), compound),
            filing(Some("c"), compound),
            filing(Some("c"), compound),
        ],
    )
    .await
    .unwrap();
    let d = out[1].id();
    assert!(matches!(out[1], Filed::New { .. }));
    assert_eq!([out[0], out[2]], [Filed::Existing(b), Filed::Existing(d)]);
    assert_eq!(app.count("cases").await - cases_before, 4);
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn the_list_filters_by_each_field_and_searches_every_word_in_text_address_and_notes() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    // Only reports from today (Beijing time) on, taken before they are made: the demo's are
    // from 2022.
    let day = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let mut ids = HashMap::new();
    for (name, category, description, address) in [
        ("gate", "static_control", "东门岗夜间无人值守", ""),
        ("veg", "supplies", "3号楼蔬菜包未送达", ""),
        ("drug", "assistance", "独居老人缺药", "3号楼2单元"),
        ("mask", "supplies", "KN95口罩不足", ""),
    ] {
        let body = json!({"category": category, "compound_id": compound, "description": description, "address": address});
        let (status, case) = app.send("POST", &supervisor, "/api/v1/cases", &body).await;
        assert_eq!(status, 201, "{case}");
        ids.insert(name, case["id"].as_i64().unwrap());
    }
    let (status, _) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{}/transitions", ids["gate"]),
            &json!({"action": "triage", "note": "已请街道核实夜班排班"}),
        )
        .await;
    assert_eq!(status, 200);
    let found = |query: String| {
        let (app, office, day) = (&app, office.clone(), day.clone());
        async move {
            let (status, list) = app
                .get(&office, &format!("/api/v1/cases?from={day}&{query}"))
                .await;
            assert_eq!(status, 200, "{query}: {list}");
            let mut got: Vec<i64> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            got.sort_unstable();
            got
        }
    };
    let want = |names: &[&str]| {
        let mut w: Vec<i64> = names.iter().map(|n| ids[n]).collect();
        w.sort_unstable();
        w
    };
    let q = |words: &str| serde_urlencoded::to_string([("q", words)]).unwrap();
    assert_eq!(
        found(String::new()).await,
        want(&["gate", "veg", "drug", "mask"])
    );
    assert_eq!(found(q("蔬菜")).await, want(&["veg"]));
    // Both words, anywhere: one in the text, one in the address.
    assert_eq!(found(q("3号楼")).await, want(&["veg", "drug"]));
    assert_eq!(found(q("3号楼 缺药")).await, want(&["drug"]));
    assert_eq!(found(q("3号楼\u{3000}蔬菜")).await, want(&["veg"]));
    assert_eq!(found(q("3号楼 东门")).await, want(&[]));
    // A note of the timeline, and Latin letters in either case.
    assert_eq!(found(q("街道核实")).await, want(&["gate"]));
    assert_eq!(found(q("kn95")).await, want(&["mask"]));
    assert_eq!(found(q("Kn95")).await, want(&["mask"]));
    // Wildcards are text, not patterns: none of these texts holds them.
    assert_eq!(found(q("%")).await, want(&[]));
    assert_eq!(found(q("_号楼")).await, want(&[]));
    assert_eq!(
        found("category=supplies".into()).await,
        want(&["veg", "mask"])
    );
    assert_eq!(found("state=triaged".into()).await, want(&["gate"]));
    assert_eq!(
        found("state=reported,triaged".into()).await,
        want(&["gate", "veg", "drug", "mask"])
    );
    assert_eq!(
        found(format!("compound_id={compound}&source=supervisor&q=3号楼")).await,
        want(&["veg", "drug"])
    );
    assert_eq!(found("source=hotline".into()).await, want(&[]));
    // Reported before today: none of them.
    let (_, earlier) = app
        .get(&office, "/api/v1/cases?to=2022-08-25&limit=200")
        .await;
    let earlier = earlier["items"].as_array().unwrap();
    assert!(!earlier.is_empty());
    assert!(
        earlier
            .iter()
            .all(|c| c["reported_at"].as_str().unwrap() < "2022-08-25T16:00:00Z"),
        "to= is the last Beijing day"
    );
}

#[tokio::test]
async fn the_phone_form_names_what_is_wrong_in_the_readers_language() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let send = |path: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("category", "supplies")
            .text("compound_id", compound.to_string())
            .text("priority", "normal")
            .text("description", " ")
            .text("lon", "200")
            .text("lat", "46.6");
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&supervisor)
            .multipart(form)
            .send()
    };
    let before = app.count("cases").await;
    let r = send("/cases/new").await.unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("不能为空"), "{page}");
    assert!(page.contains("经度须在中国境内"), "{page}");
    assert!(!page.contains("must not be empty"), "{page}");
    let page = send("/cases/new?lang=en")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("must not be empty"), "{page}");
    assert_eq!(app.count("cases").await, before, "nothing written");
}

#[tokio::test]
async fn api_errors_come_in_the_language_a_page_asks_for() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let bad = json!({"category": "supplies", "compound_id": compound, "description": ""});
    let (status, body) = app
        .send("POST", &supervisor, "/api/v1/cases?lang=zh-CN", &bad)
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["message"], "输入有误");
    assert_eq!(body["fields"][0]["field"], "description");
    assert_eq!(body["fields"][0]["message"], "不能为空");
    // Without it, and with lang=en, English, as every API client gets.
    for path in ["/api/v1/cases", "/api/v1/cases?lang=en"] {
        let (status, body) = app.send("POST", &supervisor, path, &bad).await;
        assert_eq!(status, 422);
        assert_eq!(body["fields"][0]["message"], "must not be empty");
    }
    let (status, body) = app.get(&supervisor, "/api/v1/cases/999999?lang=zh").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(body["message"], "未找到：case");
    // Success is left alone.
    let good =
        json!({"category": "supplies", "compound_id": compound, "description": "蔬菜包未送达"});
    let (status, body) = app
        .send("POST", &supervisor, "/api/v1/cases?lang=zh", &good)
        .await;
    assert_eq!((status, body["state"].as_str()), (201, Some("reported")));
}

#[tokio::test]
async fn a_resend_that_no_longer_passes_still_answers_with_its_case() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let send = |body: serde_json::Value| {
        let (app, supervisor) = (&app, supervisor.clone());
        async move {
            let r = app
                .client
                .post(format!("{}/api/v1/cases", app.base))
                .bearer_auth(supervisor)
                .header("Idempotency-Key", "phone-7")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, first) = send(
        json!({"category": "supplies", "compound_id": compound, "description": "蔬菜包未送达"}),
    )
    .await;
    assert_eq!(status, 201);
    // The phone's outbox resends hours later; meanwhile what it sent no longer passes (here:
    // the compound is gone from the body). It is answered with its case, not refused.
    let (status, again) =
        send(json!({"category": "supplies", "description": "蔬菜包未送达"})).await;
    assert_eq!((status, again["id"].clone()), (200, first["id"].clone()));
    // A new key with the same body is refused, naming the field.
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "supplies", "description": "蔬菜包未送达"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["compound_id".to_string()])
    );
}
