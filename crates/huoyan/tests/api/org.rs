//! The organisation as a commander, an administrator and a compound supervisor use it.

use serde_json::json;

use crate::{fields, spawn_app};

#[tokio::test]
async fn the_four_districts_are_under_static_management_since_order_9() {
    let app = spawn_app(true).await;
    let token = app.token("commander").await;
    let (status, body) = app.get(&token, "/api/v1/regions?level=district").await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let mut names: Vec<&str> = items.iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        ["大庆高新技术产业开发区", "萨尔图区", "让胡路区", "龙凤区"]
    );
    for r in items {
        assert_eq!(r["control"]["level"], "static_management", "{r}");
        assert_eq!(r["control"]["since"], "2022-08-20T12:00:00Z");
        assert_eq!(r["control"]["order_number"], "2022年第9号");
    }
    // Before the order took effect, the same districts were in normal life.
    let (_, before) = app
        .get(
            &token,
            "/api/v1/regions?level=district&at=2022-08-20T19:59:00%2B08:00",
        )
        .await;
    assert!(
        before["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["control"].is_null())
    );
}

#[tokio::test]
async fn jingcheng_became_high_risk_inside_the_sealed_district() {
    let app = spawn_app(true).await;
    let token = app.token("commander").await;
    let id = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (_, levels) = app
        .get(&token, &format!("/api/v1/regions/{id}/levels"))
        .await;
    let steps: Vec<&str> = levels
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["level"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["static_management", "high_risk"]);
}

#[tokio::test]
async fn the_demo_holds_the_scenario_figures() {
    let app = spawn_app(true).await;
    let token = app.token("admin").await;
    let (_, teams) = app
        .get(&token, "/api/v1/teams?kind=supervision_team&limit=100")
        .await;
    assert_eq!(teams["total"], 10);
    assert!(
        teams["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["member_count"] == 4)
    );
    let (_, regs) = app.get(&token, "/api/v1/registrations?limit=1").await;
    assert_eq!(regs["total"], 215);
    let (_, sampling) = app
        .get(&token, "/api/v1/sites?kind=sampling_point&within=")
        .await;
    assert_eq!(
        sampling["error"], "invalid",
        "an empty id is a bad id, named: {sampling}"
    );
    let gelin = app
        .id_of("SELECT id FROM regions WHERE code = '230602022'")
        .await;
    let (_, sampling) = app
        .get(
            &token,
            &format!("/api/v1/sites?kind=sampling_point&within={gelin}"),
        )
        .await;
    assert_eq!(sampling["total"], 13);
    let supervisors = app
        .id_of("SELECT COUNT(*) FROM people WHERE skills = '监督'")
        .await;
    assert_eq!(supervisors, 280);
    let ages = app
        .id_of("SELECT COUNT(*) FROM people WHERE birth_year < 1963 OR birth_year > 1999")
        .await;
    assert_eq!(ages, 0, "everyone is 23 to 59 in 2022");
    // A branch has three levels: working group, volunteer groups with leaders, members.
    let branch = app
        .id_of("SELECT id FROM teams WHERE name = '景程小区临时党支部'")
        .await;
    let (_, detail) = app.get(&token, &format!("/api/v1/teams/{branch}")).await;
    assert_eq!(detail["groups"].as_array().unwrap().len(), 3);
    assert!(
        detail["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "working_group")
    );
}

#[tokio::test]
async fn a_compound_hangs_under_a_community_only() {
    let app = spawn_app(true).await;
    let token = app.token("admin").await;
    let district = app
        .id_of("SELECT id FROM regions WHERE code = '230602'")
        .await;
    let regions = app.count("regions").await;
    let events = app.count("audit_events").await;
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/regions",
            &json!({"parent_id": district, "level": "compound", "name": "错位小区"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["parent_id"]);
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/regions",
            &json!({"parent_id": 999999, "level": "compound", "name": ""}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["name", "parent_id"]);
    assert_eq!(
        (app.count("regions").await, app.count("audit_events").await),
        (regions, events),
        "nothing written"
    );
    let community = app
        .id_of("SELECT id FROM regions WHERE code = '230602022001'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/regions",
            &json!({"parent_id": community, "level": "compound", "name": "新建小区"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["control"]["level"], "static_management",
        "inherits the district's order"
    );
}

#[tokio::test]
async fn bad_bodies_name_their_fields_and_write_nothing() {
    let app = spawn_app(true).await;
    let token = app.token("admin").await;
    let people = app.count("people").await;
    let url = format!("{}/api/v1/people", app.base);
    let send = |body: String| {
        app.client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = send("{not json".into()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(fields(&r.json().await.unwrap()), ["body"]);
    let r = send(json!({"name": "张三", "phone": "13800001234", "gender": "male", "birth_year": 1980, "colour": "red"}).to_string()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(fields(&r.json().await.unwrap()), ["colour"]);
    let r = send(
        json!({"name": "张三", "phone": "13800001234", "gender": "male", "birth_year": "old"})
            .to_string(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(fields(&r.json().await.unwrap()), ["birth_year"]);
    let r = send(json!({"name": "", "phone": "12345", "gender": "x", "birth_year": 1800, "home_region_id": 999999}).to_string()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        fields(&r.json().await.unwrap()),
        ["name", "phone", "gender", "birth_year", "home_region_id"]
    );
    let huge = format!(
        "{{\"name\": \"{}\"}}",
        "x".repeat(huoyan::app::BODY_LIMIT + 10)
    );
    let r = send(huge).await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(app.count("people").await, people);
}

#[tokio::test]
async fn a_duplicate_phone_is_a_conflict_on_the_phone() {
    let app = spawn_app(true).await;
    let token = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let new = json!({"name": "王小明", "phone": "+86 131-0000-0001", "gender": "male", "birth_year": 1985, "home_region_id": compound, "skills": ["扫码"]});
    let (status, body) = app.send("POST", &token, "/api/v1/people", &new).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["phone"], "13100000001",
        "an editor sees the whole number"
    );
    let events = app.count("audit_events").await;
    let (status, body) = app.send("POST", &token, "/api/v1/people", &new).await;
    assert_eq!(status, 409);
    assert_eq!(fields(&body), ["phone"]);
    assert_eq!(app.count("audit_events").await, events);
    // Lists mask phones.
    let (_, list) = app.get(&token, "/api/v1/people?q=王小明").await;
    assert_eq!(list["items"][0]["phone"], "131****0001");
}

#[tokio::test]
async fn a_supervisor_sees_only_their_own_compound() {
    let app = spawn_app(true).await;
    let token = app.token("supervisor").await;
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, list) = app.get(&token, "/api/v1/people?limit=500").await;
    assert_eq!(status, 200);
    let own = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM people WHERE home_region_id = {jingcheng}"
        ))
        .await;
    assert_eq!(list["total"], own);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["home_region_id"] == jingcheng)
    );
    let stranger = app
        .id_of(&format!(
            "SELECT MIN(id) FROM people WHERE home_region_id <> {jingcheng}"
        ))
        .await;
    let (status, _) = app.get(&token, &format!("/api/v1/people/{stranger}")).await;
    assert_eq!(status, 404, "another compound's person is invisible");
    let (status, _) = app
        .get(
            &token,
            &format!(
                "/api/v1/people?within={}",
                app.id_of("SELECT id FROM regions WHERE code = '230602'")
                    .await
            ),
        )
        .await;
    assert_eq!(status, 200);
    // The department account cannot read people at all.
    let dept = app.token("department").await;
    assert_eq!(app.get(&dept, "/api/v1/people").await.0, 403);
}

#[tokio::test]
async fn a_branch_leader_forms_groups_only_in_their_branch() {
    let app = spawn_app(true).await;
    let token = app.token("branch").await;
    let own = app
        .id_of("SELECT id FROM teams WHERE name = '景程小区临时党支部'")
        .await;
    let other = app
        .id_of("SELECT MAX(id) FROM teams WHERE kind = 'party_branch'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/teams",
            &json!({"kind": "volunteer_group", "name": "景程小区志愿者第4小组", "parent_id": own}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send(
            "POST",
            &token,
            "/api/v1/teams",
            &json!({"kind": "volunteer_group", "name": "越权小组", "parent_id": other}),
        )
        .await;
    assert_eq!(status, 403, "outside the branch: {body}");
    assert_eq!(fields(&body), ["parent_id"]);
    let (_, teams) = app.get(&token, "/api/v1/teams?limit=100").await;
    assert!(
        teams["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] == own || t["parent_id"] == own)
    );
}

#[tokio::test]
async fn orders_are_validated_and_set_levels() {
    let app = spawn_app(true).await;
    let token = app.token("commander").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await;
    let (status, body) = app
        .send("POST", &token, "/api/v1/control-orders", &json!({"number": "", "issued_at": "yesterday", "effective_from": "2022-09-05T00:00:00+08:00", "effective_until": "2022-09-01T00:00:00+08:00", "level": "purple", "region_ids": [compound, 999999]}))
        .await;
    assert_eq!(status, 422);
    let f = fields(&body);
    for expected in ["issued_at", "level", "region_ids[1]"] {
        assert!(f.contains(&expected.to_string()), "{f:?}");
    }
    let (status, body) = app
        .send("POST", &token, "/api/v1/control-orders", &json!({"number": "2022年第15号", "issued_at": "2022-09-04T18:00:00+08:00", "effective_from": "2022-09-05T00:00:00+08:00", "level": "lifted", "region_ids": [compound]}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, region) = app
        .get(&token, &format!("/api/v1/regions/{compound}"))
        .await;
    assert_eq!(region["control"]["level"], "lifted");
    let (status, body) = app.send("POST", &token, "/api/v1/control-orders", &json!({"number": "2022年第15号", "issued_at": "2022-09-04T18:00:00+08:00", "effective_from": "2022-09-05T00:00:00+08:00", "level": "lifted", "region_ids": [compound]})).await;
    assert_eq!(status, 409);
    assert_eq!(fields(&body), ["number"]);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app(false).await;
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/regions",
        "/api/v1/people/{id}",
        "/api/v1/auth/token",
        "/api/v1/audit",
        "/api/v1/import/{kind}",
        "/api/v1/export/{kind}",
        "/api/v1/teams/{id}/members",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
}
