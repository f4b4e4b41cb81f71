//! Supplies and assistance through the API: a dispatcher plans vegetable packages for 景程小区's
//! buildings, split among its three volunteer groups; a volunteer marks a building short by 3 and
//! a case lands in the office's triage queue; the buildings left unmarked at the deadline become
//! cases once; an urgent medical request tells the community office and the group at once, its
//! phone in clear only to the office and the volunteer assigned; a late one is escalated once.

use serde_json::{Value, json};

use crate::{TestApp, fields, page_client, page_login, spawn_app};

pub(crate) async fn jingcheng(app: &TestApp) -> i64 {
    app.id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await
}

/// 景程小区's first `n` buildings.
pub(crate) async fn buildings(app: &TestApp, n: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT b.id FROM regions b JOIN regions c ON c.id = b.parent_id \
         WHERE c.name = '景程小区' AND b.level = 'building' ORDER BY b.id LIMIT $1",
    )
    .bind(n)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

/// 景程小区's volunteer group `g` (1 to 3).
pub(crate) async fn group(app: &TestApp, g: i64) -> i64 {
    app.id_of(&format!(
        "SELECT id FROM teams WHERE name = '景程小区志愿者第{g}小组'"
    ))
    .await
}

/// The tests' batch, told apart from the demo's of 31 August.
const TITLE: &str = "9月6日蔬菜包";

fn in_hours(h: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339()
}

/// Plans `shares` (building, planned, doors) for 景程小区, split among `teams`; the batch.
pub(crate) async fn plan(
    app: &TestApp,
    token: &str,
    shares: &[(i64, i64, i64)],
    teams: &[i64],
) -> Value {
    let compound = jingcheng(app).await;
    let (status, body) = app
        .send(
            "POST",
            token,
            "/api/v1/supply/batches",
            &json!({"goods": "vegetable_package", "title": TITLE, "region_id": compound,
                "deadline": in_hours(2),
                "shares": shares.iter().map(|(b, p, d)| json!({"building_id": b, "planned": p, "doors": d})).collect::<Vec<_>>(),
                "team_ids": teams}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn notices(app: &TestApp, username: &str, kind: &str) -> Vec<Value> {
    let token = app.token(username).await;
    let (status, body) = app.get(&token, "/api/v1/notifications?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_batch_is_split_among_the_groups_and_a_shortfall_or_a_miss_becomes_one_case() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let volunteer = app.token("volunteer").await;
    let compound = jingcheng(&app).await;
    let b = buildings(&app, 6).await;
    let teams = [
        group(&app, 1).await,
        group(&app, 2).await,
        group(&app, 3).await,
    ];
    let squad = app
        .id_of("SELECT id FROM teams WHERE kind = 'drone_squad'")
        .await;
    let batches_before = app.count("supply_batches").await;
    // A building and a group of another compound: the demo gave the Gelin compounds buildings.
    let (elsewhere_building, elsewhere_group): (i64, i64) = sqlx::query_as(
        "SELECT b.id, t.id FROM regions b JOIN teams t ON t.region_id = b.parent_id \
         WHERE b.level = 'building' AND t.kind = 'volunteer_group' AND b.parent_id <> $1 ORDER BY b.id LIMIT 1",
    )
    .bind(compound)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    // The demo's two requests left open in 2022 are escalated by the first sweep.
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(huoyan::supply::sweep(&app.db, now).await.unwrap(), (0, 2));

    // Every bad field is named at once, nothing written.
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/supply/batches",
            &json!({"goods": "vegetable_package", "title": "x", "region_id": compound,
                "deadline": "2022-08-31T18:00:00+08:00",
                "shares": [{"building_id": b[0], "planned": 0, "doors": 3},
                    {"building_id": compound, "planned": 5, "doors": 5},
                    {"building_id": b[0], "planned": 5, "doors": -1},
                    {"building_id": elsewhere_building, "planned": 5, "doors": 5}],
                "team_ids": [teams[0], squad, elsewhere_group]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut named = fields(&body);
    named.sort();
    assert_eq!(
        named,
        [
            "deadline",
            "shares[0].planned",
            "shares[1].building_id",
            "shares[2].building_id",
            "shares[2].doors",
            "shares[3].building_id",
            "team_ids[1]",
            "team_ids[2]"
        ]
    );
    assert_eq!(app.count("supply_batches").await, batches_before);

    // A dispatcher of another district plans nothing here.
    let ranghulu = app
        .id_of("SELECT id FROM regions WHERE code = '230604'")
        .await;
    let elsewhere = app
        .new_login(
            "dispatcher-ranghulu",
            "dispatcher",
            json!({"region_id": ranghulu}),
        )
        .await;
    let (status, body) = app
        .send(
            "POST",
            &elsewhere,
            "/api/v1/supply/batches",
            &json!({"goods": "rice_oil", "title": "米面油", "region_id": compound,
                "deadline": in_hours(2), "shares": [{"building_id": b[0], "planned": 5, "doors": 5}],
                "team_ids": [teams[0]]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(fields(&body).contains(&"region_id".to_string()), "{body}");

    let doors = [48, 36, 36, 24, 12, 12];
    let shares: Vec<(i64, i64, i64)> = b.iter().zip(doors).map(|(&b, d)| (b, d, d)).collect();
    let batch = plan(&app, &dispatcher, &shares, &teams).await;
    let all = batch["deliveries"].as_array().unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(batch["planned"], 168);
    // Each group gets buildings, the doors as even as whole buildings allow (largest first,
    // each to the lightest group): 60, 60 and 48.
    let mut loads: Vec<i64> = teams
        .iter()
        .map(|t| {
            all.iter()
                .filter(|d| d["team_id"] == *t)
                .map(|d| d["doors"].as_i64().unwrap())
                .sum()
        })
        .collect();
    loads.sort();
    assert_eq!(loads, [48, 60, 60], "{batch}");

    // The volunteer's group was told of its buildings.
    let told: Vec<Value> = notices(&app, "volunteer", "supply_planned")
        .await
        .into_iter()
        .filter(|n| n["args"]["title"] == TITLE)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let theirs = all.iter().filter(|d| d["team_id"] == teams[0]).count();
    assert_eq!(told[0]["args"]["buildings"], theirs);

    // The volunteer sees only their group's buildings.
    let (status, mine) = app
        .get(
            &volunteer,
            &format!("/api/v1/supply/deliveries?batch_id={}", batch["id"]),
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let mine = mine.as_array().unwrap().clone();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|d| d["team_id"] == teams[0]), "{mine:?}");
    let first = &mine[0];
    let id = first["id"].as_i64().unwrap();
    let planned = first["planned"].as_i64().unwrap();
    let other = all.iter().find(|d| d["team_id"] != teams[0]).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/deliveries/{other}/mark"),
            &json!({"delivered": 1}),
        )
        .await;
    assert_eq!(status, 404, "another group's building");
    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/deliveries/{id}/mark"),
            &json!({"delivered": planned + 1}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["delivered"]);
    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/deliveries/{id}/mark"),
            &json!({"delivered": planned - 3, "note": "两户无人应答"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["delivery"]["state"], "short");
    let case = body["case_id"].as_i64().expect("a shortfall files a case");
    let (status, again) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/deliveries/{id}/mark"),
            &json!({"delivered": planned}),
        )
        .await;
    assert_eq!(status, 409, "{again}");

    // The case is the office's, in its triage queue, naming the building and the shortfall.
    let office = app.token("office").await;
    let (status, c) = app.get(&office, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["category"], "supplies");
    assert_eq!(c["source"], "supply");
    assert_eq!(c["state"], "reported");
    assert_eq!(c["compound_id"], compound);
    let text = c["description"].as_str().unwrap();
    let building = first["building"].as_str().unwrap();
    assert!(text.contains(building), "{text}");
    assert!(
        text.contains("短缺3份") && text.contains("两户无人应答"),
        "{text}"
    );
    let reported = notices(&app, "office", "reported").await;
    assert!(
        reported.iter().any(|n| n["case_id"] == case),
        "{reported:?}"
    );

    // At the deadline the five unmarked buildings are missed, each a case, once.
    let later = chrono::Utc::now().timestamp_millis() + 3 * 3_600_000;
    let cases_before = app.count("cases").await;
    assert_eq!(huoyan::supply::sweep(&app.db, later).await.unwrap(), (5, 0));
    assert_eq!(huoyan::supply::sweep(&app.db, later).await.unwrap(), (0, 0));
    assert_eq!(app.count("cases").await, cases_before + 5);
    let (_, detail) = app
        .get(
            &dispatcher,
            &format!("/api/v1/supply/batches/{}", batch["id"]),
        )
        .await;
    assert_eq!(detail["missed"], 5, "{detail}");
    let missed: Vec<&Value> = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "missed")
        .collect();
    assert_eq!(missed.len(), 5);
    assert!(missed.iter().all(|d| d["case_id"].is_i64()));
    // A late mark is kept, and files no second case.
    let late = missed
        .iter()
        .find(|d| d["team_id"] == teams[0])
        .map(|d| d["id"].as_i64().unwrap())
        .expect("the first group has a second building");
    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/deliveries/{late}/mark"),
            &json!({"delivered": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["case_id"], Value::Null);
    assert_eq!(app.count("cases").await, cases_before + 5);

    // The figures of the community's day: 168 planned, what the two marks delivered, two
    // buildings short (one marked late), four still missed; the same in the workbook.
    let day = chrono::DateTime::parse_from_rfc3339(batch["deadline"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let query = format!("from={day}&to={day}");
    let (status, rows) = app
        .get(&dispatcher, &format!("/api/v1/supply/figures?{query}"))
        .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let row = &rows[0];
    assert_eq!(row["community"], "景程社区居委会", "{row}");
    assert_eq!(row["day"], day);
    assert_eq!(
        [
            &row["planned"],
            &row["delivered"],
            &row["buildings"],
            &row["short"],
            &row["missed"]
        ],
        [168, planned - 3 + 1, 6, 2, 4],
        "{row}"
    );
    let sheets = crate::figures::read_back(
        &crate::figures::download(
            &app,
            &dispatcher,
            &format!("/api/v1/supply/figures.xlsx?{query}"),
        )
        .await,
    );
    let rows = sheets[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "景程社区居委会");
    assert_eq!(rows[1][2].as_f64(), Some(168.0));
    // The volunteer's figures are their group's buildings only.
    let (_, theirs) = app
        .get(&volunteer, &format!("/api/v1/supply/figures?{query}"))
        .await;
    assert_eq!(theirs[0]["buildings"], 2, "{theirs}");
    // A bad day is named; a span with no day in it is empty, not refused.
    let (status, body) = app
        .get(&dispatcher, "/api/v1/supply/figures?from=2022-13-01")
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["from".to_string()]));
    let (status, body) = app
        .get(
            &dispatcher,
            &format!("/api/v1/supply/figures?from={day}&to=2022-08-31"),
        )
        .await;
    assert_eq!((status, body), (200, json!([])));
}

async fn file(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, r) = app
        .send("POST", token, "/api/v1/supply/requests", &body)
        .await;
    assert_eq!(status, 201, "{r}");
    r
}

#[tokio::test]
async fn an_urgent_request_tells_the_community_and_the_group_and_stays_red_until_closed() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let department = app.token("department").await;
    let volunteer = app.token("volunteer").await;
    let compound = jingcheng(&app).await;
    let other = app
        .id_of("SELECT id FROM regions WHERE name = '毅腾商都'")
        .await;
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(huoyan::supply::sweep(&app.db, now).await.unwrap(), (0, 2));
    let requests_before = app.count("assistance_requests").await;

    // Bad input names its fields; another compound is outside the supervisor's scope.
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/supply/requests",
            &json!({"compound_id": compound, "address": "3号楼".repeat(20), "resident": "李",
                "kind": "medical_visit", "description": "透析"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["address"], "{body}");
    let building = buildings(&app, 1).await[0];
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/supply/requests",
            &json!({"compound_id": building, "address": "3号楼", "resident": "李",
                "kind": "medical_visit", "description": "透析", "deadline": "yesterday"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut named = fields(&body);
    named.sort();
    assert_eq!(named, ["compound_id", "deadline"], "{body}");
    assert_eq!(app.count("assistance_requests").await, requests_before);
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/supply/requests",
            &json!({"compound_id": other, "address": "1号楼", "resident": "王", "kind": "elderly_help",
                "description": "买菜"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["compound_id"]);

    let urgent = file(
        &app,
        &supervisor,
        json!({"compound_id": compound, "address": "3号楼2单元502", "resident": "李淑芬",
            "phone": "13904591234", "kind": "medical_visit", "conditions": ["elderly_alone", "dialysis"],
            "description": "每周三上午透析，需送医"}),
    )
    .await;
    let id = urgent["id"].as_i64().unwrap();
    assert_eq!(urgent["urgent"], "dialysis");
    assert_eq!(urgent["source"], "supervisor");
    assert_eq!(urgent["phone"], "139****1234", "masked for the supervisor");
    let due = chrono::DateTime::parse_from_rfc3339(urgent["deadline"].as_str().unwrap()).unwrap();
    assert!(due.timestamp_millis() - chrono::Utc::now().timestamp_millis() <= 3_600_000);
    let quiet = file(
        &app,
        &supervisor,
        json!({"compound_id": compound, "address": "5号楼1单元301", "resident": "张建国",
            "kind": "door_sampling", "description": "卧床老人需上门采样"}),
    )
    .await;
    assert_eq!(quiet["urgent"], Value::Null);

    // The community office and the group are told of the urgent one only; the office is not.
    let about = |told: Vec<Value>, request: &Value| -> Vec<Value> {
        told.into_iter()
            .filter(|n| n["args"]["request"] == *request)
            .collect()
    };
    for who in ["department", "group"] {
        let all = notices(&app, who, "assistance_urgent").await;
        assert!(about(all.clone(), &quiet["id"]).is_empty(), "{all:?}");
        let told = about(all, &urgent["id"]);
        assert_eq!(told.len(), 1, "{who}: {told:?}");
        assert!(
            told[0]["message"]
                .as_str()
                .unwrap()
                .contains("3号楼2单元502"),
            "{told:?}"
        );
    }
    assert!(
        notices(&app, "office", "assistance_urgent")
            .await
            .is_empty()
    );

    // The office of the community sees the phone; the red one comes first.
    let (_, list) = app.get(&department, "/api/v1/supply/requests").await;
    assert_eq!(list["items"][0]["id"], id, "{list}");
    assert_eq!(list["items"][0]["phone"], "13904591234");

    // Everyone else sees the phone masked: the group, the dispatcher, the compound's volunteer.
    let (group_token, dispatcher) = (app.token("group").await, app.token("dispatcher").await);
    for token in [&group_token, &dispatcher, &volunteer] {
        let (status, seen) = app
            .get(token, &format!("/api/v1/supply/requests/{id}"))
            .await;
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["phone"], "139****1234", "{seen}");
    }
    // A group of another compound does not see it; a bad number or a late urgent deadline is
    // refused, named.
    let gelin_leader = app.token("group-04").await;
    let (status, _) = app
        .get(&gelin_leader, &format!("/api/v1/supply/requests/{id}"))
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/supply/requests",
            &json!({"compound_id": compound, "address": "1号楼", "resident": "王", "phone": "6123456",
                "kind": "medical_visit", "description": "胸痛", "deadline": in_hours(5)}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut named = fields(&body);
    named.sort();
    assert_eq!(named, ["deadline", "phone"], "{body}");
    // Only people who carry for a group working here are given requests.
    let supervisor_person = app
        .id_of("SELECT person_id FROM accounts WHERE username = 'supervisor'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &department,
            &format!("/api/v1/supply/requests/{id}/assign"),
            &json!({"person_id": supervisor_person}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (403, vec!["person_id".to_string()])
    );

    // Assigned to the volunteer, who is told, sees the phone and closes it.
    let person = app
        .id_of("SELECT person_id FROM accounts WHERE username = 'volunteer'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &department,
            &format!("/api/v1/supply/requests/{id}/assign"),
            &json!({"person_id": person}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "assigned");
    assert_eq!(
        notices(&app, "volunteer", "assistance_assigned")
            .await
            .len(),
        1
    );
    let (_, seen) = app
        .get(&volunteer, &format!("/api/v1/supply/requests/{id}"))
        .await;
    assert_eq!(seen["phone"], "13904591234", "{seen}");
    // Another group's leader of the compound sees it but may not close it.
    let other_leader = app.token("group-02").await;
    let (status, _) = app
        .send(
            "POST",
            &other_leader,
            &format!("/api/v1/supply/requests/{id}/close"),
            &json!({"note": "不是我的"}),
        )
        .await;
    assert_eq!(status, 403);

    // The page shows it red until it is closed.
    let client = page_client();
    page_login(
        &client,
        &app,
        "department",
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    let html = |client: reqwest::Client| {
        let url = format!("{}/supply/requests", app.base);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let red = format!("class=\"case request urgent\" id=\"r{id}\"");
    assert!(html(client.clone()).await.contains(&red));

    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/requests/{id}/close"),
            &json!({"note": "已送市人民医院透析，下午接回"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "closed");
    let (status, _) = app
        .send(
            "POST",
            &volunteer,
            &format!("/api/v1/supply/requests/{id}/close"),
            &json!({"note": "again"}),
        )
        .await;
    assert_eq!(status, 409);
    let page = html(client).await;
    assert!(!page.contains(&red) && page.contains(&format!("id=\"r{id}\"")));
    let (_, seen) = app
        .get(&volunteer, &format!("/api/v1/supply/requests/{id}"))
        .await;
    assert_eq!(seen["phone"], "139****1234", "masked again once closed");

    // The day's figures: two requests, one urgent, one closed.
    let (_, rows) = app.get(&department, "/api/v1/supply/figures").await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requests"].as_i64() > Some(0))
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(
        [
            &row["requests"],
            &row["urgent"],
            &row["closed"],
            &row["open"]
        ],
        [2, 1, 1, 1],
        "{row}"
    );
    assert!(row["mean_close_hours"].as_f64().unwrap() < 1.0, "{row}");

    // The quiet one, unassigned past its deadline, is escalated once to the office and group.
    let later = chrono::Utc::now().timestamp_millis() + 13 * 3_600_000;
    assert_eq!(huoyan::supply::sweep(&app.db, later).await.unwrap(), (0, 1));
    assert_eq!(huoyan::supply::sweep(&app.db, later).await.unwrap(), (0, 0));
    for who in ["department", "group"] {
        let told = about(notices(&app, who, "assistance_overdue").await, &quiet["id"]);
        assert_eq!(told.len(), 1, "{who}: {told:?}");
    }
}

#[tokio::test]
async fn the_household_register_keeps_id_numbers_hashed_phones_masked_and_imports_all_or_nothing() {
    let app = spawn_app(true).await;
    let department = app.token("department").await;
    let dispatcher = app.token("dispatcher").await;
    let volunteer = app.token("volunteer").await;
    let b = buildings(&app, 2).await;
    let other_building = app
        .id_of(
            "SELECT b.id FROM regions b JOIN regions c ON c.id = b.parent_id \
             WHERE c.name <> '景程小区' AND b.level = 'building' ORDER BY b.id LIMIT 1",
        )
        .await;

    let household = json!({"building_id": b[0], "unit": "2单元", "room": "502", "name": "李淑芬",
        "phone": "13904591234", "id_number": "230602194503040028",
        "conditions": ["elderly_alone", "dialysis"], "needs": ["medicine", "door_sampling"],
        "medicines": "硝苯地平"});
    let (status, h) = app
        .send("POST", &department, "/api/v1/supply/households", &household)
        .await;
    assert_eq!(status, 201, "{h}");
    assert_eq!(h["phone"], "13904591234", "the community office sees it");
    assert_eq!(h["id_number"], "230602********0028");
    let stored: String =
        sqlx::query_scalar("SELECT COALESCE(id_hash, '') || id_masked FROM supply_households")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(
        !stored.contains("19450304"),
        "no ID number in clear: {stored}"
    );
    let (status, again) = app
        .send("POST", &department, "/api/v1/supply/households", &household)
        .await;
    assert_eq!(
        (status, fields(&again)),
        (409, vec!["id_number".to_string()])
    );
    // Outside the community office's community, or with no condition: refused, named.
    let (status, body) = app
        .send(
            "POST",
            &department,
            "/api/v1/supply/households",
            &json!({"building_id": other_building, "name": "王", "conditions": ["disabled"]}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (403, vec!["building_id".to_string()])
    );
    let (status, body) = app
        .send(
            "POST",
            &department,
            "/api/v1/supply/households",
            &json!({"building_id": b[1], "name": "王", "conditions": [], "id_number": "123"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut named = fields(&body);
    named.sort();
    assert_eq!(named, ["conditions", "id_number"]);

    // The dispatcher and the compound's volunteer see the household, the phone masked.
    for token in [&dispatcher, &volunteer] {
        let (status, list) = app
            .get(token, "/api/v1/supply/households?condition=dialysis")
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"][0]["name"], "李淑芬", "{list}");
        assert_eq!(list["items"][0]["phone"], "139****1234");
    }
    let (_, none) = app
        .get(&dispatcher, "/api/v1/supply/households?condition=pregnant")
        .await;
    assert_eq!(none["items"], json!([]));

    // A sheet with one bad row writes nothing and names the row; the good sheet writes both.
    let good = [
        "景程小区",
        "3号楼",
        "1单元",
        "101",
        "张建国",
        "0459-6123456",
        "",
        "卧床、无智能手机",
        "上门采样",
        "",
        "",
    ];
    let bad = [
        "景程小区",
        "3号楼",
        "1单元",
        "102",
        "刘玉珍",
        "",
        "",
        "会飞",
        "",
        "",
        "",
    ];
    let head = [
        "小区",
        "楼栋",
        "单元",
        "房号",
        "姓名",
        "电话",
        "身份证号",
        "情况",
        "需求",
        "药品",
        "备注",
    ];
    let before = app.count("supply_households").await;
    let send = |rows: Vec<&[&str]>| {
        let body = crate::imports::xlsx(&rows);
        let (app, token) = (&app, &department);
        async move {
            let r = app
                .client
                .post(format!(
                    "{}/api/v1/supply/households/import?format=xlsx",
                    app.base
                ))
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(vec![&head, &good, &bad]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["row 3: conditions"], "{body}");
    assert_eq!(app.count("supply_households").await, before);
    let fixed = [
        "景程小区",
        "3号楼",
        "1单元",
        "102",
        "刘玉珍",
        "",
        "",
        "孕妇",
        "",
        "",
        "",
    ];
    let (status, body) = send(vec![&head, &good, &fixed]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 2);
    let (_, list) = app
        .get(&dispatcher, "/api/v1/supply/households?condition=bedridden")
        .await;
    assert_eq!(
        list["items"][0]["phone"], "0459*****56",
        "a landline keeps its ends"
    );
}
