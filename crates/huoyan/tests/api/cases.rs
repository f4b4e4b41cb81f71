//! Cases as the five parties tell it: the supervisor reports, the office triages, the group
//! dispatches, the department fixes, the supervisor verifies and the group closes.

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
    let steps = [
        (
            &office,
            json!({"action": "triage", "note": "门岗脱岗，转督导组"}),
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
        let (status, case) = app.send("POST", token, &path, &body).await;
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
    assert!(case["due_at"].is_string(), "dispatch sets the deadline");
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn one_idempotency_key_never_makes_two_cases() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
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
    assert_eq!(app.count("cases").await, 1);
}

#[tokio::test]
async fn bad_reports_name_their_fields_and_scope_holds() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let other = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await;
    let community = app
        .id_of("SELECT id FROM regions WHERE code = '230602022001'")
        .await;
    let (status, body) = app.send("POST", &token, "/api/v1/cases", &json!({"category": "weather", "compound_id": community, "description": " ", "lon": 0.0, "lat": 0.0})).await;
    assert_eq!(status, 422);
    assert_eq!(
        fields(&body),
        ["description", "category", "lon", "lat", "compound_id"]
    );
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
        (422, vec!["compound_id".to_string()]),
        "a supervisor reports on their own compound"
    );
    assert_eq!(app.count("cases").await, 0);
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
    assert_eq!(body["extension_until"], "2099-01-01T00:00:00Z");
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
    assert!(body["extension_until"].is_null());
    assert_eq!(
        body["state"], "rectifying",
        "an extension changes the deadline, not the state"
    );
}
