//! The field web app: the daily check-in of every role that reports, and the report form's
//! idempotent replay.

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// The account's check-ins as the database holds them: (compound, team, nothing to report).
async fn check_ins_of(app: &TestApp, username: &str) -> Vec<(Option<i64>, Option<i64>, bool)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT c.compound_id, c.team_id, c.nothing_to_report FROM check_ins c \
         JOIN accounts a ON a.id = c.account_id WHERE a.username = $1 ORDER BY c.id",
    )
    .bind(username)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("compound_id").unwrap(),
            r.try_get("team_id").unwrap(),
            r.try_get::<i64, _>("nothing_to_report").unwrap() == 1,
        )
    })
    .collect()
}

/// Before: the daily check-in answered 422 "name the compound" to inspectors and pilots, who
/// have no compound. An inspector checks in for the supervision team they rove with, a pilot
/// for themselves; checking in again the same day replaces the answer, and the same answer
/// again changes nothing (a queued check-in sent twice).
#[tokio::test]
async fn inspectors_check_in_for_their_team_and_pilots_for_themselves() {
    let app = spawn_app(true).await;
    let team_of = |login: &'static str| {
        let app = &app;
        async move {
            app.id_of(&format!(
                "SELECT scope_team_id FROM accounts WHERE username = '{login}'"
            ))
            .await
        }
    };
    let (inspector, pilot) = (app.token("inspector").await, app.token("pilot").await);
    let team = team_of("inspector").await;
    let events = app.count("audit_events").await;
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            &body["team_id"],
            &body["compound_id"],
            &body["nothing_to_report"]
        ),
        (&json!(team), &Value::Null, &json!(true)),
        "{body}"
    );
    assert_eq!(
        check_ins_of(&app, "inspector").await,
        [(None, Some(team), true)]
    );
    assert_eq!(app.count("audit_events").await, events + 1);
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        app.count("audit_events").await,
        events + 1,
        "the same answer again is no new step"
    );
    let (status, body) = app
        .send(
            "POST",
            &inspector,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": false}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        check_ins_of(&app, "inspector").await,
        [(None, Some(team), false)],
        "a changed answer replaces the day's"
    );
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["team_id"], &body["compound_id"]),
        (&Value::Null, &Value::Null),
        "{body}"
    );
    assert_eq!(check_ins_of(&app, "pilot").await, [(None, None, true)]);
    // A check-in is seen in the trail of what it speaks for.
    let admin = app.token("admin").await;
    let (status, trail) = app
        .get(
            &admin,
            &format!("/api/v1/audit?entity=team&entity_id={team}"),
        )
        .await;
    assert_eq!(status, 200, "{trail}");
    assert!(trail.to_string().contains("check_in"), "{trail}");
    // A compound is still named explicitly, and a supervisor still checks in for theirs.
    let (status, body) = app
        .send(
            "POST",
            &app.token("supervisor").await,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["compound_id"].is_i64(), "{body}");
    assert_eq!(body["team_id"], Value::Null, "{body}");
    // The office, confined to the whole city, has nothing of its own to check in for.
    let (status, body) = app
        .send(
            "POST",
            &app.token("office").await,
            "/api/v1/check-ins",
            &json!({"nothing_to_report": true}),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["compound_id".into()]));
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "the trail still verifies: {out}");
}

/// Page `path` as the bearer of `token` gets it (pages take a bearer token as the API does).
async fn page(app: &TestApp, token: &str, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// The check-in page offers its buttons only to those whose check-in can be recorded, and the
/// buttons work for each of them: the supervisor, the inspector and the pilot. The office,
/// which has none of its own, sees the silent compounds and no button.
#[tokio::test]
async fn the_check_in_page_offers_a_button_only_where_it_works() {
    let app = spawn_app(true).await;
    for login in ["supervisor", "inspector", "pilot"] {
        let token = app.token(login).await;
        let html = page(&app, &token, "/check-ins").await;
        assert!(
            html.contains("name=\"nothing_to_report\""),
            "{login}: {html}"
        );
        let r = app
            .client
            .post(format!("{}/check-ins", app.base))
            .bearer_auth(&token)
            .form(&[("_csrf", ""), ("nothing_to_report", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{login}");
        let body = r.text().await.unwrap();
        assert!(body.contains("id=\"checked-in\""), "{login}: {body}");
        assert_eq!(check_ins_of(&app, login).await.len(), 1, "{login}");
    }
    let html = page(&app, &app.token("office").await, "/check-ins").await;
    assert!(!html.contains("nothing_to_report"), "{html}");
    assert!(html.contains("id=\"silent\""), "{html}");
}

/// The report form posted without script carries its idempotency key in a hidden field: the
/// same form sent again (a double tap, the phone's retry after a lost answer) shows the same
/// case and files neither a second case nor a second copy of its photo.
#[tokio::test]
async fn the_report_form_sent_twice_files_one_case_with_one_photo() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let description = "重放测试：5号楼物资未送达";
    let key = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let photo = crate::uploads::png_image(32, 24);
    let send = || {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("idempotency_key", key)
            .text("category", "supplies")
            .text("compound_id", compound.to_string())
            .text("priority", "normal")
            .text("description", description)
            .part(
                "file",
                reqwest::multipart::Part::bytes(photo.clone())
                    .file_name("gate.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        let client = crate::page_client();
        let app = &app;
        let supervisor = &supervisor;
        async move {
            client
                .post(format!("{}/cases/new", app.base))
                .bearer_auth(supervisor)
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let mut shown = Vec::new();
    for _ in 0..2 {
        let r = send().await;
        assert_eq!(r.status(), 303);
        shown.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(shown[0], shown[1], "the resend shows the same case");
    let filed = format!("SELECT COUNT(*) FROM cases WHERE description = '{description}'");
    assert_eq!(app.id_of(&filed).await, 1, "one case");
    let case: i64 = shown[0].trim_start_matches("/cases/").parse().unwrap();
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM case_files WHERE case_id = {case}"
        ))
        .await,
        1,
        "one photo"
    );
}
