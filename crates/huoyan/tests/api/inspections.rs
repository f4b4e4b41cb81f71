//! Inspections through the API: a round planned in the proposed order, visited, a failure filed
//! as a case and fixed on the spot, counted in the figures; checklist versions kept by rounds;
//! the blind spots against a query of their own; and the discipline track, which no role outside
//! the commission can learn exists.

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// The two gates and the sampling point of 景程小区 (team 1's area), by name.
async fn jingcheng_sites(app: &TestApp) -> (i64, i64, i64) {
    let site = |name: &str| {
        format!(
            "SELECT s.id FROM sites s JOIN regions r ON r.id = s.region_id \
             WHERE r.name = '景程小区' AND s.name = '{name}'"
        )
    };
    (
        app.id_of(&site("景程小区南门卡口")).await,
        app.id_of(&site("景程小区北门卡口")).await,
        app.id_of(&site("景程小区核酸采样点")).await,
    )
}

/// Every item of `stop`'s checklist passed, bar `fail` (item code, note).
fn answers(stop: &Value, fail: Option<(&str, &str)>) -> Value {
    let items = stop["checklist"]["items"].as_array().unwrap();
    Value::Array(
        items
            .iter()
            .map(|i| {
                let code = i["code"].as_str().unwrap();
                match fail {
                    Some((c, note)) if c == code => {
                        json!({"code": code, "answer": "fail", "note": note})
                    }
                    _ => json!({"code": code, "answer": "pass"}),
                }
            })
            .collect(),
    )
}

fn point(stop: &Value) -> (f64, f64) {
    (
        stop["site_lon"].as_f64().unwrap(),
        stop["site_lat"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn a_round_runs_in_the_proposed_order_and_a_failure_fixed_on_the_spot_is_a_closed_case() {
    let app = spawn_app(true).await;
    let inspector = app.token("inspector").await;
    let (south, north, sampling) = jingcheng_sites(&app).await;
    let (status, round) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/inspections/rounds",
            &json!({"day": "2022-09-06", "site_ids": [south, sampling, north]}),
        )
        .await;
    assert_eq!(status, 201, "{round}");
    let stops = round["stops"].as_array().unwrap().clone();
    assert_eq!(stops.len(), 3);
    let seqs: Vec<i64> = stops.iter().map(|s| s["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3], "stops come in the proposed order");
    let mut given: Vec<i64> = stops
        .iter()
        .map(|s| s["given_seq"].as_i64().unwrap())
        .collect();
    given.sort();
    assert_eq!(given, [1, 2, 3]);
    assert!(
        round["length_m"].as_f64().unwrap() <= round["given_length_m"].as_f64().unwrap() + 1e-6
    );

    // The first stop passes, near its site.
    let (lon, lat) = point(&stops[0]);
    let path = |s: &Value| format!("/api/v1/inspections/stops/{}/visit", s["id"]);
    let (status, after) = app
        .send(
            "POST",
            &inspector,
            &path(&stops[0]),
            &json!({"lon": lon + 0.0001, "lat": lat, "answers": answers(&stops[0], None)}),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["stops"][0]["far"], false);
    assert!(after["stops"][0]["visited_at"].is_string());
    assert!(
        after["stops"][0]["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["case_id"].is_null())
    );
    // Once.
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            &path(&stops[0]),
            &json!({"lon": lon, "lat": lat, "answers": answers(&stops[0], None)}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // The second fails one item, recorded 2 km away: flagged, not refused.
    let figures_before = app
        .get(&app.token("group").await, "/api/v1/inspections/figures")
        .await
        .1;
    let item = stops[1]["checklist"]["items"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let (lon, lat) = point(&stops[1]);
    let no_note = app
        .send(
            "POST",
            &inspector,
            &path(&stops[1]),
            &json!({"lon": lon, "lat": lat, "answers": answers(&stops[1], Some((&item, "")))}),
        )
        .await;
    assert_eq!(no_note.0, 422, "{}", no_note.1);
    assert_eq!(fields(&no_note.1), ["answers[0].note"]);
    let (status, after) = app
        .send("POST", &inspector, &path(&stops[1]), &json!({"lon": lon + 0.02, "lat": lat, "answers": answers(&stops[1], Some((&item, "夜间无人值守")))}))
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["stops"][1]["far"], true);
    let failed = &after["stops"][1]["answers"][0];
    assert_eq!(failed["answer"], "fail");
    let case = failed["case_id"]
        .as_i64()
        .expect("the failure became a case");
    let (_, c) = app.get(&inspector, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["source"], "inspection");
    assert_eq!(c["state"], "reported");
    assert!(c["description"].as_str().unwrap().contains("夜间无人值守"));

    // Its before photo, then the fix on the spot with the after photo.
    let png = crate::uploads::png_image(64, 48);
    let (status, body) = app
        .send_form(
            &inspector,
            &format!("/api/v1/cases/{case}/files"),
            &json!({}),
            vec![("before.png", png.clone())],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send_form(
            &inspector,
            &format!("/api/v1/cases/{case}/transitions"),
            &json!({"action": "fix_on_site", "note": "现场督促整改，已恢复值守"}),
            vec![("after.png", png)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "fixed_on_site");
    let (_, round) = app
        .get(
            &inspector,
            &format!("/api/v1/inspections/rounds/{}", round["id"]),
        )
        .await;
    assert_eq!(
        round["stops"][1]["answers"][0]["case_state"],
        "fixed_on_site"
    );
    let figures = app
        .get(&app.token("group").await, "/api/v1/inspections/figures")
        .await
        .1;
    assert_eq!(
        figures["findings"].as_i64().unwrap(),
        figures_before["findings"].as_i64().unwrap() + 1
    );
    assert_eq!(
        figures["fixed_on_site"].as_i64().unwrap(),
        figures_before["fixed_on_site"].as_i64().unwrap() + 1
    );
    let today = figures["by_team_day"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["day"] == "2022-09-06")
        .expect("the round's day");
    assert_eq!(
        (
            today["rounds"].as_i64(),
            today["sites_visited"].as_i64(),
            today["far_visits"].as_i64(),
            today["findings"].as_i64()
        ),
        (Some(1), Some(2), Some(1), Some(1))
    );
    let (status, _) = app
        .get(&inspector, "/api/v1/inspections/figures.xlsx")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_round_is_refused_naming_each_bad_value_and_only_for_the_inspectors_own_team() {
    let app = spawn_app(true).await;
    let inspector = app.token("inspector").await;
    let (south, _, _) = jingcheng_sites(&app).await;
    let outsider = app
        .id_of("SELECT MIN(person_id) FROM team_members WHERE team_id = 2")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/inspections/rounds",
            &json!({"day": "9/6", "site_ids": [south, south, 999999], "member_ids": [outsider]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut named = fields(&body);
    named.sort();
    assert_eq!(
        named,
        ["day", "member_ids[0]", "site_ids[1]", "site_ids[2]"]
    );
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/inspections/rounds",
            &json!({"team_id": 2, "day": "2022-09-06", "site_ids": [south]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["team_id"]);
    // Another team's stop is not there to visit.
    let other = app
        .id_of("SELECT MIN(s.id) FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id WHERE r.team_id = 2")
        .await;
    let (status, _) = app
        .send(
            "POST",
            &inspector,
            &format!("/api/v1/inspections/stops/{other}/visit"),
            &json!({"lon": 125.1, "lat": 46.6, "answers": []}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, rounds) = app
        .get(&inspector, "/api/v1/inspections/rounds?limit=500")
        .await;
    assert!(
        rounds["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["team_id"] == 1)
    );
}

#[tokio::test]
async fn a_round_keeps_the_checklist_version_it_was_planned_with() {
    let app = spawn_app(true).await;
    let (inspector, group) = (app.token("inspector").await, app.token("group").await);
    let (south, _, _) = jingcheng_sites(&app).await;
    let plan = async || {
        let (status, r) = app
            .send(
                "POST",
                &inspector,
                "/api/v1/inspections/rounds",
                &json!({"day": "2022-09-06", "site_ids": [south]}),
            )
            .await;
        assert_eq!(status, 201, "{r}");
        r
    };
    let before = plan().await;
    let old = before["stops"][0]["checklist"].clone();
    let items = json!([{"code": "staffed_24h", "zh": "卡口24小时双人值守", "en": "Gate staffed by two, 24 hours", "category": "static_control"}]);
    let (status, saved) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/checklists/zone_gate",
            &json!({"items": items}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(
        saved["version"].as_i64(),
        Some(old["version"].as_i64().unwrap() + 1)
    );
    let (status, same) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/checklists/zone_gate",
            &json!({"items": items}),
        )
        .await;
    assert_eq!((status, &same["version"]), (200, &saved["version"]));
    let (_, kept) = app
        .get(
            &inspector,
            &format!("/api/v1/inspections/rounds/{}", before["id"]),
        )
        .await;
    assert_eq!(
        kept["stops"][0]["checklist"], old,
        "the round keeps its items"
    );
    let after = plan().await;
    assert_eq!(
        after["stops"][0]["checklist"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, body) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/checklists/zone_gate",
            &json!({"items": [{"code": "Bad Code", "zh": "x", "en": "x", "category": "other"}]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["items[0].code"]);
}

#[tokio::test]
async fn the_blind_spots_are_the_key_sites_of_the_teams_areas_nobody_visited() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    let (status, rows) = app
        .get(
            &group,
            "/api/v1/inspections/coverage?window_hours=48&at=2022-09-05T20:00:00%2B08:00",
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    let rows = rows.as_array().unwrap();
    let mut never: Vec<(i64, i64)> = rows
        .iter()
        .filter(|r| r["standing"] == "never")
        .map(|r| {
            (
                r["team_id"].as_i64().unwrap(),
                r["site_id"].as_i64().unwrap(),
            )
        })
        .collect();
    never.sort();
    // The same, asked of the tables directly.
    let mut expected: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT a.team_id, s.id FROM inspection_areas a JOIN regions area ON area.id = a.region_id \
         JOIN regions g ON g.path LIKE area.path || '%' JOIN sites s ON s.region_id = g.id \
         WHERE NOT EXISTS (SELECT 1 FROM inspection_stops v WHERE v.site_id = s.id AND v.visited_at IS NOT NULL) \
         ORDER BY a.team_id, s.id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    expected.sort();
    assert!(!expected.is_empty(), "the demo leaves key sites unvisited");
    assert_eq!(never, expected);
    let names: Vec<&str> = rows
        .iter()
        .filter(|r| r["standing"] == "never")
        .map(|r| r["site_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"物资保供站") && names.contains(&"社区办公室"),
        "{names:?}"
    );
    // Never visited first, then the longest unvisited; every blind row before every covered one.
    let first_covered = rows
        .iter()
        .position(|r| r["blind"] == false)
        .unwrap_or(rows.len());
    assert!(rows[first_covered..].iter().all(|r| r["blind"] == false));
    assert!(rows[..never.len()].iter().all(|r| r["standing"] == "never"));
    // An inspector sees their own team's area only.
    let (_, own) = app
        .get(
            &app.token("inspector").await,
            "/api/v1/inspections/coverage",
        )
        .await;
    assert!(own.as_array().unwrap().iter().all(|r| r["team_id"] == 1));
    let (status, _) = app
        .get(&group, "/api/v1/inspections/coverage?window_hours=0")
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_discipline_record_does_not_exist_for_any_role_outside_the_commission() {
    let app = spawn_app(true).await;
    let inspector = app.token("inspector").await;
    let stop = app
        .id_of("SELECT MIN(s.id) FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id WHERE r.team_id = 1 AND s.visited_at IS NOT NULL")
        .await;
    let subject = "卡口值守人员王某某";
    let notices_before = app.count("notifications").await;
    let (status, flag) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/discipline/flags",
            &json!({"stop_id": stop, "subject": subject, "seen": "值守期间离岗打牌"}),
        )
        .await;
    assert_eq!(status, 201, "{flag}");
    let id = flag["id"].as_i64().unwrap();
    assert_eq!(
        app.count("notifications").await,
        notices_before,
        "no notice betrays it"
    );
    // Another team's stop is not there to flag.
    let other = app
        .id_of("SELECT MIN(s.id) FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id WHERE r.team_id = 2")
        .await;
    let (status, _) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/discipline/flags",
            &json!({"stop_id": other, "subject": "x", "seen": "y"}),
        )
        .await;
    assert_eq!(status, 404);

    let routes = [
        ("GET", "/api/v1/discipline/flags".to_string()),
        ("GET", format!("/api/v1/discipline/flags/{id}")),
        ("GET", "/api/v1/discipline/figures".to_string()),
        ("POST", format!("/api/v1/discipline/flags/{id}/steps")),
        (
            "GET",
            format!("/api/v1/audit?entity=discipline_flag&entity_id={id}"),
        ),
    ];
    let outsiders = crate::authz::ROLES
        .iter()
        .filter(|r| !matches!(**r, "commander" | "discipline"));
    for role in outsiders {
        let token = app.token(role).await;
        for (method, path) in &routes {
            let (status, body) = app
                .send(
                    method,
                    &token,
                    path,
                    &json!({"action": "verify", "note": "x"}),
                )
                .await;
            // The audit route refuses the roles without audit reading first (403, as for any
            // entity); every other answer is the unknown route's.
            let hidden = status == 404 || (path.starts_with("/api/v1/audit") && status == 403);
            assert!(hidden, "{method} {path} as {role}: {status} {body}");
            assert!(
                !body.to_string().contains(subject),
                "{role} read it at {path}"
            );
        }
        // No list, figure or search of theirs mentions it.
        for path in [
            "/api/v1/inspections/figures",
            "/api/v1/inspections/rounds?limit=500",
            &format!("/api/v1/cases?q={subject}"),
            "/api/v1/notifications",
        ] {
            let (_, body) = app.get(&token, path).await;
            let text = body.to_string();
            assert!(
                !text.contains(subject) && !text.contains("discipline"),
                "{role} at {path}: {text}"
            );
        }
    }
    let round = app
        .id_of(&format!(
            "SELECT round_id FROM inspection_stops WHERE id = {stop}"
        ))
        .await;
    let (_, detail) = app
        .get(&inspector, &format!("/api/v1/inspections/rounds/{round}"))
        .await;
    assert!(!detail.to_string().contains(subject));

    // The commission reads it and moves it; each step is in its trail.
    let officer = app.token("discipline").await;
    let (_, list) = app
        .get(&officer, "/api/v1/discipline/flags?state=flagged")
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == id)
    );
    let step = |action: &str, note: &str| json!({"action": action, "note": note});
    let path = format!("/api/v1/discipline/flags/{id}/steps");
    let (status, body) = app
        .send("POST", &officer, &path, &step("transfer", "x"))
        .await;
    assert_eq!(
        status, 422,
        "a flagged record is verified before it is transferred: {body}"
    );
    assert_eq!(fields(&body), ["action"]);
    let (status, body) = app.send("POST", &officer, &path, &step("verify", "")).await;
    assert_eq!((status, fields(&body)), (422, vec!["note".to_string()]));
    let (status, body) = app
        .send("POST", &officer, &path, &step("verify", "现场核实属实"))
        .await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("verified")),
        "{body}"
    );
    let commander = app.token("commander").await;
    let (status, body) = app
        .send("POST", &commander, &path, &step("transfer", "移交审查"))
        .await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("transferred")),
        "{body}"
    );
    assert_eq!(body["steps"].as_array().unwrap().len(), 2);
    let (status, trail) = app
        .get(
            &officer,
            &format!("/api/v1/audit?entity=discipline_flag&entity_id={id}"),
        )
        .await;
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail.as_array().unwrap().len(), 3);
    // The workbook tells the commission the records by outcome, and nobody else that they exist.
    let sheets = |bytes: Vec<u8>| crate::figures::read_back(&bytes);
    let theirs =
        sheets(crate::figures::download(&app, &officer, "/api/v1/inspections/figures.xlsx").await);
    let last = theirs.last().unwrap();
    assert_eq!(last["name"], "纪检线索");
    let transferred = last["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "已移交审查")
        .unwrap()[1]
        .as_i64()
        .unwrap();
    assert!(transferred >= 2, "the demo's and this one: {last}");
    let group = app.token("group").await;
    let others =
        sheets(crate::figures::download(&app, &group, "/api/v1/inspections/figures.xlsx").await);
    assert_eq!(others.len(), theirs.len() - 1);
    assert!(!serde_json::to_string(&others).unwrap().contains("纪检"));
    let (_, figures) = app.get(&commander, "/api/v1/discipline/figures").await;
    assert!(figures["transferred"].as_i64().unwrap() >= 1);
    let verdict = huoyan::audit::verify(&app.db).await.unwrap();
    assert!(
        matches!(verdict, huoyan::audit::Verdict::Intact { .. }),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_teams_area_is_set_within_the_callers_scope_naming_each_bad_region() {
    let app = spawn_app(true).await;
    let district = app
        .id_of("SELECT id FROM regions WHERE level = 'district' ORDER BY id LIMIT 1")
        .await;
    let other = app
        .id_of(&format!(
            "SELECT id FROM regions WHERE level = 'district' AND id <> {district} ORDER BY id LIMIT 1"
        ))
        .await;
    let group = app
        .new_login("group-district", "group", json!({"region_id": district}))
        .await;
    let (status, body) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/areas/1",
            &json!({"region_ids": [district, other]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_ids[1]"]);
    let (status, body) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/areas/1",
            &json!({"region_ids": [district, district, 999999]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["region_ids[1]", "region_ids[2]"]);
    let (status, areas) = app
        .send(
            "PUT",
            &group,
            "/api/v1/inspections/areas/1",
            &json!({"region_ids": [district]}),
        )
        .await;
    assert_eq!(status, 200, "{areas}");
    let one = areas
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["team_id"] == 1)
        .unwrap();
    assert_eq!(one["region_ids"], json!([district]));
}

#[tokio::test]
async fn the_group_saves_a_checklist_from_its_page_as_a_new_version() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    let version = || async {
        app.id_of("SELECT MAX(version) FROM checklists WHERE kind = 'vendor'")
            .await
    };
    let before = version().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |items: &str| {
        client
            .post(format!("{}/inspections/checklists/vendor", app.base))
            .bearer_auth(&group)
            .form(&[("_csrf", ""), ("items", items)])
            .send()
    };
    let r = post("staff_tested | 从业人员48小时内核酸阴性 | Staff tested within 48 h | supply_vendors\nmasks_worn | 规范佩戴口罩 | Masks worn | supply_vendors")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(version().await, before + 1);
    let r = post("staff_tested | x | y | not_a_category").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(version().await, before + 1, "nothing saved");
    let (_, lists) = app.get(&group, "/api/v1/inspections/checklists").await;
    let vendor = lists
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "vendor")
        .unwrap();
    assert_eq!(vendor["items"].as_array().unwrap().len(), 2);
    let page = client
        .get(format!("{}/inspections/checklists", app.base))
        .bearer_auth(&app.token("inspector").await)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("从业人员48小时内核酸阴性") && !html.contains("<textarea"),
        "an inspector reads, not edits"
    );
}
