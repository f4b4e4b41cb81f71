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

#[tokio::test]
async fn many_reports_at_once_land_exactly_once_with_an_intact_chain() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let events_before = app.count("audit_events").await;
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
    assert_eq!(app.count("cases").await, 80);
    assert_eq!(app.count("case_events").await, 80);
    assert_eq!(app.count("audit_events").await - events_before, 80);
    assert_eq!(
        app.id_of("SELECT COUNT(DISTINCT entity_id) FROM audit_events WHERE entity = 'case' AND action = 'report' AND actor = 'supervisor'")
            .await,
        80,
        "each case has its own event, by its reporter"
    );
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { events } if events == app.count("audit_events").await
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
    use huoyan_core::cases::{Kind, Priority, Source};

    let app = spawn_app(true).await;
    let account = app
        .id_of("SELECT id FROM accounts WHERE username = 'supervisor'")
        .await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let filing = |key: Option<&str>, compound_id: i64| Filing {
        actor: huoyan::audit::Actor {
            id: Some(account),
            name: "supervisor".into(),
        },
        account_id: account,
        key: key.map(str::to_string),
        kind: Kind::Problem,
        source: Source::Supervisor,
        category: "supplies".into(),
        priority: Priority::Normal,
        compound_id,
        lon: None,
        lat: None,
        address: String::new(),
        description: "5号楼蔬菜包未送达".into(),
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
    assert_eq!(app.count("cases").await, 4);
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}
