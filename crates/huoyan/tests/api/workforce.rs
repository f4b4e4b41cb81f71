//! The dispatcher's work through the API, on the demo: posts with their shifts, blockers decided
//! by whom their reason names, tomorrow's roster planned by the engine around a blocker and
//! published with both people told, a draft refused when a blocker came in after it, pins, and a
//! long plan that shows its progress and stops leaving nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

fn tomorrow() -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string()
}

/// Plans `days` from `first` with `pins`, waits for the engine, and returns the plan.
async fn plan(app: &TestApp, token: &str, first: &str, days: i64, pins: Value) -> Value {
    let (status, started) = app
        .send(
            "POST",
            token,
            "/api/v1/workforce/plans",
            &json!({"first_day": first, "days": days, "pins": pins, "seconds": 0.3}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    wait(app, token, started["id"].as_i64().unwrap()).await
}

/// Plan `id` once it has stopped planning.
async fn wait(app: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..200 {
        let (status, plan) = app
            .get(token, &format!("/api/v1/workforce/plans/{id}"))
            .await;
        assert_eq!(status, 200, "{plan}");
        if plan["state"] != "planning" {
            return plan;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("plan {id} still planning after 20 s");
}

async fn publish(app: &TestApp, token: &str, id: i64) -> (u16, Value) {
    app.send(
        "POST",
        token,
        &format!("/api/v1/workforce/plans/{id}/publish"),
        &json!({}),
    )
    .await
}

/// The notices of `kind` the account of `token` holds.
async fn notices(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let (_, page) = app.get(token, "/api/v1/notifications?limit=200").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn posts_keep_their_shifts_and_every_bad_field_is_named() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let site = app
        .id_of("SELECT id FROM sites WHERE name = '景程小区蔬菜包发放点'")
        .await;
    let (status, post) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/posts",
            &json!({"site_id": site, "job": "publicity", "skills": ["政策宣传"],
                "shifts": [{"hours": "08:00-12:00", "headcount": 2}, {"hours": "22:00-06:00", "headcount": 1}]}),
        )
        .await;
    assert_eq!(status, 201, "{post}");
    assert_eq!(post["job"], "publicity");
    let night = &post["shifts"][1];
    assert_eq!(night["hours"], "22:00-06:00");
    assert_eq!(night["crosses_midnight"], true);
    assert_eq!(night["minutes"], 480);
    let (status, again) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/posts",
            &json!({"site_id": site, "job": "publicity", "shifts": [{"hours": "08:00-12:00", "headcount": 1}]}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    let (status, bad) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/posts",
            &json!({"site_id": site, "job": "patrol",
                "shifts": [{"hours": "25:00-08:00", "headcount": 1}, {"hours": "08:00-16:00", "headcount": 0}]}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(
        fields(&bad),
        ["shifts[0].hours", "shifts[1].headcount"],
        "{bad}"
    );
    let (status, _) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/workforce/posts/{}", post["id"]),
            &json!({"headcounts": [{"shift_id": night["id"], "headcount": 3}], "active": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, listed) = app
        .get(
            &dispatcher,
            &format!("/api/v1/workforce/posts?site_id={site}&all=true"),
        )
        .await;
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == post["id"])
        .cloned()
        .unwrap();
    assert_eq!(listed["active"], false);
    assert_eq!(listed["shifts"][1]["headcount"], 3);
    // Shifts added and taken off; a clash and a shift a roster names are refused by field.
    let patch = |body: Value| {
        let (app, dispatcher, id) = (&app, &dispatcher, post["id"].clone());
        async move {
            app.send(
                "PATCH",
                dispatcher,
                &format!("/api/v1/workforce/posts/{id}"),
                &body,
            )
            .await
        }
    };
    let (status, body) =
        patch(json!({"add_shifts": [{"hours": "08:00-10:00", "headcount": 1}]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["add_shifts[0].hours"]);
    let (status, body) = patch(
        json!({"add_shifts": [{"hours": "14:00-18:00", "headcount": 1}],
        "remove_shift_ids": [post["shifts"][0]["id"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let hours: Vec<&str> = body["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hours"].as_str().unwrap())
        .collect();
    assert_eq!(hours, ["14:00-18:00", "22:00-06:00"]);
    let used = app.id_of("SELECT MIN(shift_id) FROM roster").await;
    let owner = app
        .id_of(&format!(
            "SELECT post_id FROM post_shifts WHERE id = {used}"
        ))
        .await;
    let (status, body) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/workforce/posts/{owner}"),
            &json!({"remove_shift_ids": [used]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["remove_shift_ids[0]"]);
}

#[tokio::test]
async fn blockers_are_lifted_by_whom_their_reason_names() {
    let app = spawn_app(true).await;
    let volunteer = app.token("volunteer").await;
    let office = app.token("department").await;
    let day = tomorrow();
    let open = |reason: &str| json!({"reason": reason, "first_day": day, "note": "单元封闭第3天"});
    let (status, pass) = app
        .send(
            "POST",
            &volunteer,
            "/api/v1/workforce/blockers",
            &open("no_pass"),
        )
        .await;
    assert_eq!(status, 201, "{pass}");
    // The community office is told of the request it decides.
    let told = notices(&app, &office, "blocker_opened").await;
    assert!(
        told.iter().any(|n| n["args"]["blocker"] == pass["id"]),
        "{told:?}"
    );
    // Not the volunteer's to lift; the office refuses it and the volunteer is told.
    let lift = |id: &Value| format!("/api/v1/workforce/blockers/{id}/lift");
    let (status, body) = app
        .send("POST", &volunteer, &lift(&pass["id"]), &json!({}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["id"]);
    let (status, _) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/workforce/blockers/{}/refuse", pass["id"]),
            &json!({"note": "小区仍为高风险"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(notices(&app, &volunteer, "blocker_refused").await.len(), 1);
    let (status, _) = app
        .send("POST", &office, &lift(&pass["id"]), &json!({}))
        .await;
    assert_eq!(status, 409, "a decided request is not decided again");
    // A second request is granted.
    let (_, second) = app
        .send(
            "POST",
            &volunteer,
            "/api/v1/workforce/blockers",
            &open("no_pass"),
        )
        .await;
    let (status, _) = app
        .send(
            "POST",
            &office,
            &lift(&second["id"]),
            &json!({"note": "已开具"}),
        )
        .await;
    assert_eq!(status, 204);
    // Illness is the person's own to clear; the office does not even see it.
    let (_, sick) = app
        .send(
            "POST",
            &volunteer,
            "/api/v1/workforce/blockers",
            &open("sick"),
        )
        .await;
    let (status, _) = app
        .send("POST", &office, &lift(&sick["id"]), &json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .send("POST", &volunteer, &lift(&sick["id"]), &json!({}))
        .await;
    assert_eq!(status, 204);
    let (_, mine) = app.get(&volunteer, "/api/v1/workforce/me").await;
    let states: Vec<&str> = mine["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["refused"], "{mine}");
    // Nobody records another's blocker but the dispatcher and the branch leader.
    let other = app
        .id_of("SELECT person_id FROM duty_people WHERE kind = 'cadre' ORDER BY person_id LIMIT 1")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            "/api/v1/workforce/blockers",
            &json!({"person_id": other, "reason": "sick", "first_day": day}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["person_id"]);
    let (status, body) = app
        .send(
            "POST",
            &volunteer,
            "/api/v1/workforce/blockers",
            &json!({"reason": "sick", "first_day": day, "last_day": "2000-01-01"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["last_day"]);
}

/// A cadre with a login and a published shift on `day`: (login, person, shift).
async fn rostered_cadre(app: &TestApp, day: &str) -> (String, i64, i64) {
    sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT a.username, r.person_id, r.shift_id FROM roster r JOIN accounts a ON a.person_id = r.person_id \
         WHERE a.username LIKE 'cadre-%' AND r.day = $1 ORDER BY a.username LIMIT 1",
    )
    .bind(day)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_blocked_cadre_is_replanned_away_and_both_phones_are_told() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = tomorrow();
    let first = plan(&app, &dispatcher, &day, 1, json!([])).await;
    assert_eq!(first["state"], "draft", "{first}");
    assert_eq!(
        first["breakdown"]["changes"], 0,
        "a fresh plan changes nothing"
    );
    let (status, _) = publish(&app, &dispatcher, first["id"].as_i64().unwrap()).await;
    assert_eq!(status, 200);
    let (login, person, shift) = rostered_cadre(&app, &day).await;
    let cadre = app.token(&login).await;
    let (_, mine) = app.get(&cadre, "/api/v1/workforce/me").await;
    assert!(
        mine["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["day"] == day),
        "{mine}"
    );
    let (status, blocker) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/blockers",
            &json!({"person_id": person, "reason": "building_sealed", "first_day": day}),
        )
        .await;
    assert_eq!(status, 201, "{blocker}");
    // The board names the place the blocker leaves short.
    let (_, board) = app
        .get(
            &dispatcher,
            &format!("/api/v1/workforce/blockers?day={day}"),
        )
        .await;
    let listed = board["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == blocker["id"])
        .cloned()
        .unwrap();
    assert_eq!(listed["short"][0]["shift_id"], shift, "{listed}");
    assert_eq!(listed["lifter"], "community");

    let second = plan(&app, &dispatcher, &day, 1, json!([])).await;
    assert_eq!(second["state"], "draft", "{second}");
    let rows = second["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| r["person_id"] != person),
        "the blocked cadre keeps no place"
    );
    assert!(
        second["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["person_id"] == person && r["shift_id"] == shift),
        "{second}"
    );
    let headcount = app
        .id_of(&format!(
            "SELECT headcount FROM post_shifts WHERE id = {shift}"
        ))
        .await;
    let on_shift: Vec<&Value> = rows.iter().filter(|r| r["shift_id"] == shift).collect();
    assert_eq!(
        on_shift.len() as i64,
        headcount,
        "the place is filled again"
    );
    let newcomer = on_shift
        .iter()
        .find(|r| r["new"] == true)
        .expect("someone new takes the place");
    // The newcomer gets a phone login before the roster is published.
    let admin = app.token("admin").await;
    let team = app
        .id_of(&format!(
            "SELECT MIN(team_id) FROM team_members WHERE person_id = {}",
            newcomer["person_id"]
        ))
        .await;
    let (status, body) = app
        .send(
            "POST",
            &admin,
            "/api/v1/accounts",
            &json!({"username": "newcomer", "password": "a-long-secret", "role": "volunteer",
                "person_id": newcomer["person_id"], "scope": {"team_id": team}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, published) = publish(&app, &dispatcher, second["id"].as_i64().unwrap()).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["state"], "published");

    let (_, mine) = app.get(&cadre, "/api/v1/workforce/me").await;
    assert!(
        mine["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["day"] != day),
        "{mine}"
    );
    let cleared = notices(&app, &cadre, "roster_cleared").await;
    assert!(
        cleared
            .iter()
            .any(|n| n["args"]["days"].as_str().unwrap().contains(&day)),
        "{cleared:?}"
    );
    let newcomer_token = app.token_with("newcomer", "a-long-secret").await;
    let (_, theirs) = app.get(&newcomer_token, "/api/v1/workforce/me").await;
    assert!(
        theirs["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["day"] == day && s["shift_id"] == shift),
        "{theirs}"
    );
    let changed = notices(&app, &newcomer_token, "roster_changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
}

#[tokio::test]
async fn a_draft_a_later_blocker_breaks_is_not_published() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = tomorrow();
    let draft = plan(&app, &dispatcher, &day, 1, json!([])).await;
    let person = draft["rows"][0]["person_id"].clone();
    let (status, _) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/blockers",
            &json!({"person_id": person, "reason": "unreachable", "first_day": day}),
        )
        .await;
    assert_eq!(status, 201);
    let id = draft["id"].as_i64().unwrap();
    let (status, body) = publish(&app, &dispatcher, id).await;
    assert_eq!(status, 409, "{body}");
    let row = &draft["rows"][0];
    assert_eq!(
        body["fields"][0]["message"],
        format!(
            "the roster no longer holds ({} on {} {day} {}: blocked that day): re-plan before publishing",
            row["person_name"].as_str().unwrap(),
            row["site_name"].as_str().unwrap(),
            row["hours"].as_str().unwrap()
        ),
        "{body}"
    );
    let (_, again) = app
        .get(&dispatcher, &format!("/api/v1/workforce/plans/{id}"))
        .await;
    assert_eq!(again["state"], "draft", "nothing half-written");
    assert_eq!(
        app.id_of(&format!("SELECT COUNT(*) FROM roster WHERE day = '{day}'"))
            .await,
        0
    );
}

#[tokio::test]
async fn pins_stay_and_a_pin_that_breaks_a_rule_fails_the_plan_saying_why() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = tomorrow();
    let draft = plan(&app, &dispatcher, &day, 1, json!([])).await;
    // Pin someone of the draft on another shift they may work: a gate needs no skill.
    let gate = app
        .id_of(
            "SELECT MIN(sh.id) FROM post_shifts sh JOIN posts p ON p.id = sh.post_id \
             JOIN sites s ON s.id = p.site_id JOIN regions g ON g.id = s.region_id \
             JOIN regions c ON c.id = g.parent_id WHERE p.job = 'gate_duty' AND c.name = '格林街道'",
        )
        .await;
    let person = draft["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["shift_id"] != gate)
        .unwrap()["person_id"]
        .clone();
    let moved = plan(
        &app,
        &dispatcher,
        &day,
        1,
        json!([{"person_id": person, "shift_id": gate, "day": day}]),
    )
    .await;
    assert_eq!(moved["state"], "draft", "{moved}");
    let row = moved["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["person_id"] == person)
        .cloned()
        .unwrap();
    assert_eq!(row["shift_id"], gate);
    assert_eq!(row["pinned"], true);
    // The page moves someone the same way: the move is a pin, their ticked row that day is not.
    let client = crate::page_client();
    crate::page_login(
        &client,
        &app,
        "dispatcher",
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    let draft_page = format!("/workforce/plans/{}", draft["id"]);
    let csrf = crate::page_csrf(&client, &app, &draft_page).await;
    let other = draft["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["shift_id"] != gate && r["person_id"] != person)
        .unwrap();
    let form = |fields: &[(&str, String)]| {
        let mut all = vec![
            ("_csrf", csrf.clone()),
            ("first_day", day.clone()),
            ("days", "1".to_string()),
            (
                "pins",
                format!("{}|{}|{day}", other["person_id"], other["shift_id"]),
            ),
        ];
        all.extend(fields.iter().cloned());
        client
            .post(format!("{}/workforce/plans", app.base))
            .form(&all)
    };
    let sent = form(&[
        ("move_person", other["person_id"].to_string()),
        ("move_to", gate.to_string()),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(sent.status(), 303);
    let id: i64 = sent.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let by_page = wait(&app, &dispatcher, id).await;
    assert_eq!(by_page["state"], "draft", "{by_page}");
    let theirs: Vec<&Value> = by_page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["person_id"] == other["person_id"])
        .collect();
    assert_eq!(theirs.len(), 1, "{by_page}");
    assert_eq!(
        (
            theirs[0]["shift_id"].as_i64(),
            theirs[0]["pinned"].as_bool()
        ),
        (Some(gate), Some(true))
    );
    // Half a move names what is missing, in Chinese.
    let half = form(&[("move_person", other["person_id"].to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(half.status(), 422);
    let page = half.text().await.unwrap();
    assert!(
        page.contains("调至") && page.contains("请选择调往的班次"),
        "{page}"
    );
    // A pin on a blocked day breaks a hard rule: the plan fails and says so.
    app.send(
        "POST",
        &dispatcher,
        "/api/v1/workforce/blockers",
        &json!({"person_id": person, "reason": "sick", "first_day": day}),
    )
    .await;
    let failed = plan(
        &app,
        &dispatcher,
        &day,
        1,
        json!([{"person_id": person, "shift_id": gate, "day": day}]),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    // It names the person and the place, not the engine's ids; the page says it in Chinese.
    let name = row["person_name"].as_str().unwrap();
    let place = format!(
        "{} {day} {}",
        row["site_name"].as_str().unwrap(),
        row["hours"].as_str().unwrap()
    );
    assert_eq!(
        failed["message"],
        format!("{name} on {place}: blocked that day"),
        "{failed}"
    );
    let client = crate::page_client();
    crate::page_login(
        &client,
        &app,
        "dispatcher",
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    let page = client
        .get(format!("{}/workforce/plans/{}", app.base, failed["id"]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("{name}（{place}）：当天受阻")),
        "{page}"
    );
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/workforce/plans",
            &json!({"first_day": day, "days": 15}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["days"]);
}

#[tokio::test]
async fn a_long_plan_shows_its_progress_and_stops_leaving_nothing() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = tomorrow();
    let long = json!({"first_day": day, "days": 14, "seconds": 30});
    let start = || app.send("POST", &dispatcher, "/api/v1/workforce/plans", &long);
    let (status, a) = start().await;
    assert_eq!(status, 202, "{a}");
    assert_eq!(a["state"], "planning");
    let (status, b) = start().await;
    assert_eq!(status, 202, "{b}");
    let (status, third) = start().await;
    assert_eq!(status, 409, "two plans at once at most: {third}");
    let id = a["id"].as_i64().unwrap();
    let mut progress = 0;
    for _ in 0..100 {
        let (_, p) = app
            .get(&dispatcher, &format!("/api/v1/workforce/plans/{id}"))
            .await;
        progress = p["progress_permille"].as_i64().unwrap();
        if progress > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(progress > 0, "the progress moves");
    for plan in [&a, &b] {
        let (status, body) = app
            .send(
                "POST",
                &dispatcher,
                &format!("/api/v1/workforce/plans/{}/cancel", plan["id"]),
                &json!({}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let stopped = wait(&app, &dispatcher, id).await;
    assert_eq!(stopped["state"], "cancelled");
    assert!(stopped["rows"].as_array().unwrap().is_empty());
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM roster_plan_rows WHERE plan_id = {id}"
        ))
        .await,
        0
    );
    let (status, _) = app
        .send(
            "POST",
            &dispatcher,
            &format!("/api/v1/workforce/plans/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "a stopped plan is not running");
}

/// A new post at Gelin's first sampling point whose one shift began half an hour ago (Beijing
/// time), with cadre-01 and cadre-02 on it in the published roster: the post, the shift's id and
/// its day.
pub(crate) async fn shift_now(app: &TestApp, dispatcher: &str) -> (Value, i64, String) {
    let bj = chrono_tz::Asia::Shanghai;
    let start = chrono::Utc::now().with_timezone(&bj) - chrono::Duration::minutes(30);
    let day = start.format("%Y-%m-%d").to_string();
    let end = start + chrono::Duration::hours(4);
    let hours = format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"));
    let site = app
        .id_of("SELECT id FROM sites WHERE name = '格林街道第1核酸采样点'")
        .await;
    let (status, post) = app
        .send(
            "POST",
            dispatcher,
            "/api/v1/workforce/posts",
            &json!({"site_id": site, "job": "guiding", "shifts": [{"hours": hours, "headcount": 2}]}),
        )
        .await;
    assert_eq!(status, 201, "{post}");
    let shift = post["shifts"][0]["id"].as_i64().unwrap();
    let person = |login: &str| format!("SELECT person_id FROM accounts WHERE username = '{login}'");
    let (one, two) = (
        app.id_of(&person("cadre-01")).await,
        app.id_of(&person("cadre-02")).await,
    );
    let planned = plan(
        app,
        dispatcher,
        &day,
        1,
        json!([{"person_id": one, "shift_id": shift, "day": day},
               {"person_id": two, "shift_id": shift, "day": day}]),
    )
    .await;
    assert_eq!(planned["state"], "draft", "{planned}");
    let (status, _) = publish(app, dispatcher, planned["id"].as_i64().unwrap()).await;
    assert_eq!(status, 200);
    (post, shift, day)
}

#[tokio::test]
async fn a_post_code_signs_in_on_its_day_only_and_a_made_up_one_is_refused() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let (post, shift, day) = shift_now(&app, &dispatcher).await;
    let site = post["site_id"].as_i64().unwrap();
    let person = |login: &str| format!("SELECT person_id FROM accounts WHERE username = '{login}'");
    let (one, two) = (
        app.id_of(&person("cadre-01")).await,
        app.id_of(&person("cadre-02")).await,
    );

    let code_of = |d: String| {
        let (app, dispatcher, id) = (&app, &dispatcher, post["id"].clone());
        async move {
            let (status, body) = app
                .get(
                    dispatcher,
                    &format!("/api/v1/workforce/posts/{id}/code?day={d}"),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["code"].as_str().unwrap().to_string()
        }
    };
    let cadre = app.token("cadre-01").await;
    let sign = |body: Value| {
        let (app, cadre) = (&app, &cadre);
        async move {
            app.send("POST", cadre, "/api/v1/workforce/sign-ins", &body)
                .await
        }
    };
    // The day before's code, and a made-up one: refused, saying why.
    let before =
        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap() - chrono::Duration::days(1);
    let stale = code_of(before.format("%Y-%m-%d").to_string()).await;
    let (status, body) = sign(json!({"code": stale})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["code"]);
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("scan the code posted at the post today"),
        "{body}"
    );
    let today = code_of(day.clone()).await;
    let forged = format!(
        "{}{}",
        &today[..today.len() - 4],
        if today.ends_with("0000") {
            "1111"
        } else {
            "0000"
        }
    );
    for made_up in [
        forged.as_str(),
        "HYQD.1.2026-01-01.0123456789abcdef0123",
        "我在家",
    ] {
        let (status, body) = sign(json!({"code": made_up})).await;
        assert_eq!(status, 422, "{made_up}: {body}");
        assert!(
            body["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not a sign-in code"),
            "{body}"
        );
    }
    // The phone's page says so in Chinese.
    let page = app
        .client
        .post(format!("{}/duty/sign-ins", app.base))
        .bearer_auth(&cadre)
        .form(&[("code", stale.as_str()), ("_csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 422);
    let text = page.text().await.unwrap();
    assert!(text.contains("请扫描岗位上今天张贴的签到码"), "{text}");
    // Today's code, at the post: signed in once, late (half an hour after the start).
    let (lon, lat) = (
        app.id_of(&format!(
            "SELECT CAST(lon * 1000000 AS BIGINT) FROM sites WHERE id = {site}"
        ))
        .await as f64
            / 1e6,
        app.id_of(&format!(
            "SELECT CAST(lat * 1000000 AS BIGINT) FROM sites WHERE id = {site}"
        ))
        .await as f64
            / 1e6,
    );
    let (status, body) = sign(json!({"code": today, "lon": lon, "lat": lat})).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = sign(json!({"code": today})).await;
    assert_eq!(status, 409, "one sign-in per shift");
    let (_, board) = app.get(&dispatcher, "/api/v1/workforce/on-duty").await;
    let mine: Vec<&Value> = board
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["shift_id"] == shift)
        .collect();
    let status_of = |p: i64| mine.iter().find(|r| r["person_id"] == p).unwrap()["status"].clone();
    assert_eq!(status_of(one), "signed_in");
    assert_eq!(
        status_of(two),
        "missing",
        "half an hour late and not signed in"
    );
    assert_eq!(
        mine.iter().find(|r| r["person_id"] == one).unwrap()["late"],
        true
    );
    assert_eq!(
        mine.iter().find(|r| r["person_id"] == one).unwrap()["far"],
        false
    );
    let (status, _) = app
        .send(
            "POST",
            &cadre,
            "/api/v1/workforce/sign-outs",
            &json!({"shift_id": shift, "day": day}),
        )
        .await;
    assert_eq!(status, 204);
    // The other taps in far from the post; the shift's end signs them out.
    let other = app.token("cadre-02").await;
    let (status, body) = app
        .send(
            "POST",
            &other,
            "/api/v1/workforce/sign-ins",
            &json!({"shift_id": shift, "day": day, "lon": lon + 0.02, "lat": lat}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let later = chrono::Utc::now().timestamp_millis() + 5 * 3_600_000;
    let open = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM sign_ins WHERE out_at IS NULL AND ends_at <= {later}"
        ))
        .await;
    assert!(open >= 1);
    assert_eq!(
        huoyan::workforce::close_ended(&app.db, later)
            .await
            .unwrap() as i64,
        open
    );
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM sign_ins WHERE out_at IS NULL AND out_auto = 1")
            .await,
        0
    );
    let (_, theirs) = app.get(&other, "/api/v1/workforce/me").await;
    let s = theirs["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shift_id"] == shift)
        .cloned()
        .unwrap();
    assert_eq!(s["signed_out_auto"], true, "{s}");
    assert_eq!(s["signed_out_at"], s["ends_at"]);
    let (_, hours) = app
        .get(&dispatcher, &format!("/api/v1/workforce/hours?day={day}"))
        .await;
    let row = hours
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["person_id"] == two)
        .cloned()
        .unwrap();
    assert_eq!(row["shifts"], 1);
    assert!(row["minutes"].as_i64().unwrap() >= 200, "{row}");
    // The day's statistics count the post's places, both sign-ins and the hours.
    let (status, stats) = app
        .get(
            &dispatcher,
            &format!("/api/v1/workforce/statistics?from={day}&to={day}"),
        )
        .await;
    assert_eq!(status, 200, "{stats}");
    let guiding = stats["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["job"] == "guiding" && p["site_name"] == "格林街道第1核酸采样点")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            &guiding["needed"],
            &guiding["filled"],
            &guiding["signed_in"],
            &guiding["late"],
            &guiding["short"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(2), &json!(0)),
        "{guiding}"
    );
    assert!(guiding["hours"].as_f64().unwrap() >= 3.4, "{guiding}");
    let community = stats["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["community"] == guiding["community"])
        .cloned()
        .unwrap();
    assert!(community["signed_in"].as_i64().unwrap() >= 2);
    assert_eq!(
        community["short"],
        json!(community["needed"].as_i64().unwrap() - community["filled"].as_i64().unwrap()),
        "{community}"
    );
    let bytes = crate::figures::download(
        &app,
        &dispatcher,
        &format!("/api/v1/workforce/statistics.xlsx?from={day}&to={day}"),
    )
    .await;
    let sheets = crate::figures::read_back(&bytes);
    assert_eq!(sheets[0]["name"], "按社区");
    assert_eq!(
        sheets[1]["rows"].as_array().unwrap().len(),
        stats["posts"].as_array().unwrap().len() + 1
    );
    // A span past 31 days is cut to its last 31, and the answer says so.
    let (status, body) = app
        .get(
            &dispatcher,
            &format!("/api/v1/workforce/statistics?from=2099-03-01&to={day}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["to"], "2099-03-01");
    assert_eq!(body["from"], "2099-01-30");
}

#[tokio::test]
async fn the_grouping_workbook_holds_the_roster_rows_exactly() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let day = tomorrow();
    let draft = plan(&app, &dispatcher, &day, 1, json!([])).await;
    let (status, _) = publish(&app, &dispatcher, draft["id"].as_i64().unwrap()).await;
    assert_eq!(status, 200);
    // The roster as stored: (member, post, time, phone) per person.
    let stored: Vec<(String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT pe.name, s.name, p.job, sh.start_minute, sh.end_minute, pe.phone FROM roster r \
         JOIN people pe ON pe.id = r.person_id JOIN post_shifts sh ON sh.id = r.shift_id \
         JOIN posts p ON p.id = sh.post_id JOIN sites s ON s.id = p.site_id WHERE r.day = $1",
    )
    .bind(&day)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let job_zh = |code: &str| {
        huoyan_core::workforce::posts::Job::parse(code)
            .unwrap()
            .zh()
            .to_string()
    };
    let clock = |m: i64| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    let mut expected: Vec<Vec<String>> = stored
        .iter()
        .map(|(name, site, job, start, end, phone)| {
            vec![
                name.clone(),
                phone.clone(),
                format!("{site} · {}", job_zh(job)),
                format!("{}-{}", clock(*start), clock(*end)),
            ]
        })
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    for by in ["branch", "post"] {
        let bytes = crate::figures::download(
            &app,
            &dispatcher,
            &format!("/api/v1/workforce/grouping.xlsx?day={day}&by={by}"),
        )
        .await;
        let sheets = crate::figures::read_back(&bytes);
        let rows = sheets[0]["rows"].as_array().unwrap();
        assert_eq!(
            rows[0],
            json!(["组别", "组长", "组员", "联系电话", "岗位", "时间"])
        );
        let mut got: Vec<Vec<String>> = rows[1..]
            .iter()
            .map(|r| {
                let cell = |i: usize| r[i].as_str().unwrap_or_default().to_string();
                vec![cell(2), cell(3), cell(4), cell(5)]
            })
            .collect();
        got.sort();
        assert_eq!(
            got, expected,
            "by {by}: the workbook's rows are the roster's"
        );
        // Every line names its group and the group's leader.
        assert!(
            rows[1..]
                .iter()
                .all(|r| r[0].as_str().is_some_and(|g| !g.is_empty())
                    && r[1].as_str().is_some_and(|l| !l.is_empty()))
        );
    }
    // The commander reads the same table with phones masked.
    let commander = app.token("commander").await;
    let (status, table) = app
        .get(&commander, &format!("/api/v1/workforce/grouping?day={day}"))
        .await;
    assert_eq!(status, 200);
    let table = table.as_array().unwrap();
    assert_eq!(table.len(), expected.len());
    assert!(
        table
            .iter()
            .all(|r| r["phone"].as_str().unwrap().contains("****"))
    );
    assert_eq!(
        app.id_of(
            "SELECT COUNT(*) FROM audit_events WHERE entity = 'export' AND entity_id = 'grouping'"
        )
        .await,
        2,
        "each workbook is an audited export"
    );
}

#[tokio::test]
async fn a_branch_leader_sees_every_member_and_marks_a_blocker_without_a_chat_group() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("branch").await;
    let day = tomorrow();
    let draft = plan(&app, &dispatcher, &day, 1, json!([])).await;
    publish(&app, &dispatcher, draft["id"].as_i64().unwrap()).await;
    let (status, branch) = app.get(&leader, "/api/v1/workforce/branch").await;
    assert_eq!(status, 200, "{branch}");
    assert_eq!(branch["working_group"].as_array().unwrap().len(), 3);
    let groups = branch["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    for g in groups {
        assert_eq!(g["members"][0]["role"], "group_leader", "{g}");
    }
    let members: Vec<&Value> = branch["working_group"]
        .as_array()
        .unwrap()
        .iter()
        .chain(groups.iter().flat_map(|g| g["members"].as_array().unwrap()))
        .collect();
    assert!(
        members
            .iter()
            .all(|m| !m["phone"].as_str().unwrap().contains('*')),
        "the leader calls them"
    );
    // Tomorrow's shifts are the published roster's.
    let rostered: Vec<i64> = sqlx::query_scalar("SELECT person_id FROM roster WHERE day = $1")
        .bind(&day)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    for m in &members {
        let on = rostered.contains(&m["person_id"].as_i64().unwrap());
        assert_eq!(!m["tomorrow"].is_null(), on, "{m}");
    }
    let member = &groups[1]["members"][2];
    let (status, body) = app
        .send(
            "POST",
            &leader,
            "/api/v1/workforce/blockers",
            &json!({"person_id": member["person_id"], "reason": "unreachable", "first_day": day}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, again) = app.get(&leader, "/api/v1/workforce/branch").await;
    let marked = again["groups"][1]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person_id"] == member["person_id"])
        .cloned()
        .unwrap();
    assert_eq!(marked["blocked"], json!(["unreachable"]));
    // Another branch is not theirs; the dispatcher names one; the commander sees phones masked.
    let other = app
        .id_of("SELECT MAX(id) FROM teams WHERE kind = 'party_branch'")
        .await;
    let (status, _) = app
        .get(
            &leader,
            &format!("/api/v1/workforce/branch?team_id={other}"),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app.get(&dispatcher, "/api/v1/workforce/branch").await;
    assert_eq!(
        status, 200,
        "the dispatcher is shown the first branch: {body}"
    );
    let (status, seen) = app
        .get(
            &app.token("commander").await,
            &format!("/api/v1/workforce/branch?team_id={}", branch["team_id"]),
        )
        .await;
    assert_eq!(status, 200, "{seen}");
    assert!(
        seen["working_group"][0]["phone"]
            .as_str()
            .unwrap()
            .contains("****")
    );
}

#[tokio::test]
async fn posts_import_from_a_sheet_all_or_nothing_naming_every_bad_row() {
    let app = spawn_app(true).await;
    let dispatcher = app.token("dispatcher").await;
    let before = app.count("posts").await;
    let send = |csv: &'static str| {
        let (app, dispatcher) = (&app, &dispatcher);
        async move {
            let r = app
                .client
                .post(format!(
                    "{}/api/v1/workforce/posts/import?format=csv",
                    app.base
                ))
                .bearer_auth(dispatcher)
                .header("content-type", "application/octet-stream")
                .body(csv)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    // The second row's site repeats across communities, the third's job and shifts are wrong.
    let (status, body) = send(
        "点位,社区,岗位,技能,班次,备注\n\
         格林街道第2核酸采样点,,引导,,04:30-12:30×2,\n\
         东卡口,,巡逻,,08:00-16:00,\n\
         格林街道第3核酸采样点,,做饭,扫码,25:00-08:00×1,\n",
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        ["row 3: site", "row 4: job", "row 4: shifts"]
    );
    assert_eq!(app.count("posts").await, before, "nothing written");
    let (status, body) = send(
        "点位,社区,岗位,技能,班次,备注\n\
         格林街道第2核酸采样点,,引导,,04:30-12:30×2；12:30-20:30 x1,\n\
         东卡口,格林社区居委会,巡逻,\"秩序维护、扫码\",22:00-06:00,夜间\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 2);
    assert_eq!(app.count("posts").await, before + 2);
    let (_, posts) = app.get(&dispatcher, "/api/v1/workforce/posts").await;
    let patrol = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["job"] == "patrol")
        .cloned()
        .unwrap();
    assert_eq!(patrol["skills"], json!(["秩序维护", "扫码"]));
    assert_eq!(patrol["shifts"][0]["crosses_midnight"], true);
    // The same sheet again: the posts exist, every row says so.
    let (status, body) =
        send("点位,社区,岗位,班次\n格林街道第2核酸采样点,,引导,04:30-12:30×2\n").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["row 2: job"]);
}
