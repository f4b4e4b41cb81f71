//! Updates decide on the row as it is inside their own transaction: concurrent updates of one row
//! each record the value they replaced, and none puts back a value another one changed.

use serde_json::{Value, json};

use crate::{TestApp, spawn_app};

/// The trail of `entity` `id`, oldest first.
async fn trail(app: &crate::TestApp, admin: &str, entity: &str, id: i64) -> Vec<Value> {
    let (status, body) = app
        .get(
            admin,
            &format!("/api/v1/audit?entity={entity}&entity_id={id}&limit=500"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut events = body.as_array().unwrap().clone();
    events.reverse();
    events
}

/// Every update event's `before` of `field` equals the value the event before it left, starting
/// from `first`; an event that does not touch `field` leaves it as it was.
fn befores_chain(events: &[Value], field: &str, first: &Value) -> Result<(), String> {
    let mut current = first.clone();
    for e in events.iter().filter(|e| e["action"] == "update") {
        let s = &e["summary"];
        if s["before"].get(field).is_none() && s["after"].get(field).is_none() {
            continue;
        }
        if s["before"][field] != current {
            return Err(format!(
                "event {} says {field} was {} but it was {current}",
                e["seq"], s["before"][field]
            ));
        }
        current = s["after"][field].clone();
    }
    Ok(())
}

/// Sends every body in `bodies` to `path` at once as PATCH; each must be answered 200.
async fn all_at_once(
    app: &TestApp,
    token: &str,
    path: &str,
    bodies: Vec<Value>,
) -> Result<(), String> {
    let mut updates = tokio::task::JoinSet::new();
    for body in bodies {
        let (app, token, path) = (app.clone(), token.to_string(), path.to_string());
        updates.spawn(async move { app.send("PATCH", &token, &path, &body).await });
    }
    for (status, body) in updates.join_all().await {
        if status != 200 {
            return Err(format!("PATCH {path}: {status} {body}"));
        }
    }
    Ok(())
}

/// Sends `bodies` at once to `path`, which updates `entity` `id`, each setting `field` to a
/// different value; then every update must be in the trail, each recording as its `before`
/// what the one before it left, and the row must hold what the last one wrote.
async fn concurrent_updates_chain(
    app: &TestApp,
    admin: &str,
    (entity, id, path): (&str, i64, &str),
    field: &str,
    bodies: Vec<Value>,
) -> Result<(), String> {
    let n = bodies.len();
    let (_, was) = app.get(admin, path).await;
    all_at_once(app, admin, path, bodies).await?;
    let events = trail(app, admin, entity, id).await;
    let updates = events.iter().filter(|e| e["action"] == "update").count();
    if updates != n {
        return Err(format!("{entity}: {updates} update events for {n} updates"));
    }
    befores_chain(&events, field, &was[field]).map_err(|e| format!("{entity}: {e}"))?;
    let (_, now) = app.get(admin, path).await;
    let last = events
        .iter()
        .rev()
        .find(|e| e["action"] == "update")
        .unwrap();
    if now[field] != last["summary"]["after"][field] {
        return Err(format!(
            "{entity}: {field} is {} but the last event says {}",
            now[field], last["summary"]["after"][field]
        ));
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_renames_of_a_department_each_record_what_they_replaced() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let id = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let mut renames = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (app, admin) = (app.clone(), admin.clone());
        renames.spawn(async move {
            app.send(
                "PATCH",
                &admin,
                &format!("/api/v1/departments/{id}"),
                &json!({"name": format!("景程社区居委会（{i}）")}),
            )
            .await
        });
    }
    for (status, body) in renames.join_all().await {
        assert_eq!(status, 200, "{body}");
    }
    let events = trail(&app, &admin, "department", id).await;
    assert_eq!(events.iter().filter(|e| e["action"] == "update").count(), 8);
    befores_chain(&events, "name", &json!("景程社区居委会")).unwrap();
    let (_, now) = app.get(&admin, &format!("/api/v1/departments/{id}")).await;
    let last = events
        .iter()
        .rev()
        .find(|e| e["action"] == "update")
        .unwrap();
    assert_eq!(now["name"], last["summary"]["after"]["name"]);
}

#[tokio::test]
async fn concurrent_updates_of_every_entity_each_record_what_they_replaced() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let named = |i: usize| format!("（第{i}次改名）");
    let office = app
        .id_of("SELECT id FROM accounts WHERE username = 'office'")
        .await;
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    let region = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let order = app
        .id_of("SELECT id FROM control_orders WHERE number = '2022年第10号'")
        .await;
    let person = app.id_of("SELECT MIN(id) FROM people").await;
    let team = app
        .id_of("SELECT id FROM teams WHERE name = '景程小区临时党支部'")
        .await;
    let renames = |base: &str| -> Vec<Value> {
        (0..8)
            .map(|i| json!({"name": format!("{base}{}", named(i))}))
            .collect()
    };
    // Each a role confined to a region, as the office account is, and none the one it has.
    let roles: Vec<Value> = [
        "commander",
        "group",
        "dispatcher",
        "discipline",
        "lab",
        "supervisor",
        "sampler",
    ]
    .iter()
    .map(|r| json!({"role": r}))
    .collect();
    let ends: Vec<Value> = (0..8)
        .map(|i| json!({"effective_until": format!("2022-09-{:02}T02:00:00Z", 10 + i)}))
        .collect();
    let cases = [
        (
            ("account", office, format!("/api/v1/accounts/{office}")),
            "role",
            roles,
        ),
        (
            ("site", site, format!("/api/v1/sites/{site}")),
            "name",
            renames("采样点"),
        ),
        (
            ("region", region, format!("/api/v1/regions/{region}")),
            "name",
            renames("景程小区"),
        ),
        (
            (
                "control_order",
                order,
                format!("/api/v1/control-orders/{order}"),
            ),
            "effective_until",
            ends,
        ),
        (
            ("person", person, format!("/api/v1/people/{person}")),
            "name",
            renames("王"),
        ),
        (
            ("team", team, format!("/api/v1/teams/{team}")),
            "name",
            renames("临时党支部"),
        ),
    ];
    let mut failures = Vec::new();
    for ((entity, id, path), field, bodies) in cases {
        if let Err(e) =
            concurrent_updates_chain(&app, &admin, (entity, id, &path), field, bodies).await
        {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The demo server's race: a password change hashes its password (argon2, slow on purpose)
/// while a disable of the same account, sent 3 ms later, commits. Whatever the order, both must
/// hold: the account is disabled and has the new password.
#[tokio::test]
async fn a_password_change_never_undoes_a_disable_sent_just_after_it() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let id = app
        .id_of("SELECT id FROM accounts WHERE username = 'sampler'")
        .await;
    let path = format!("/api/v1/accounts/{id}");
    let mut enabled_after = Vec::new();
    for trial in 0..20 {
        let (status, body) = app
            .send("PATCH", &admin, &path, &json!({"disabled": false}))
            .await;
        assert_eq!(status, 200, "{body}");
        let password = format!("new-password-{trial}");
        let change = {
            let (app, admin, path, password) =
                (app.clone(), admin.clone(), path.clone(), password.clone());
            tokio::spawn(async move {
                app.send("PATCH", &admin, &path, &json!({"password": password}))
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let (status, body) = app
            .send("PATCH", &admin, &path, &json!({"disabled": true}))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = change.await.unwrap();
        assert_eq!(status, 200, "{body}");
        let (_, account) = app.get(&admin, &path).await;
        if account["disabled"] != true {
            enabled_after.push(trial);
        }
        let stored: String = {
            use sqlx::Row;
            sqlx::query("SELECT password_hash FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap()
        };
        assert!(
            huoyan::auth::password::verify(&password, &stored),
            "trial {trial}: the new password was lost"
        );
    }
    assert!(
        enabled_after.is_empty(),
        "the account ended enabled after trials {enabled_after:?}"
    );
    // The trail says a password changed, never what it is.
    let events = trail(&app, &admin, "account", id).await;
    assert!(
        events
            .iter()
            .all(|e| !e["summary"].to_string().contains("$argon2")),
        "a password hash is in the trail"
    );
}

/// Text longer than its field allows is refused at parsing, naming the field, before anything is
/// read or written; the limit is in the OpenAPI document. (The 5 MB employer, order body
/// and site address were all accepted and stored.)
#[tokio::test]
async fn over_long_text_in_an_update_is_refused_naming_the_field() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let person = app.id_of("SELECT MIN(id) FROM people").await;
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    let order = app
        .id_of("SELECT id FROM control_orders WHERE number = '2022年第10号'")
        .await;
    let events = app.count("audit_events").await;
    for (path, field, limit) in [
        (format!("/api/v1/people/{person}"), "employer", 100),
        (format!("/api/v1/sites/{site}"), "address", 200),
        (format!("/api/v1/control-orders/{order}"), "body", 20000),
        (format!("/api/v1/sites/{site}"), "name", 100),
    ] {
        let (_, was) = app.get(&admin, &path).await;
        for long in ["字".repeat(limit + 1), "x".repeat(10 << 20)] {
            let (status, body) = app
                .send("PATCH", &admin, &path, &json!({ field: long }))
                .await;
            assert!(
                status == 422 || status == 413,
                "{path} {field}: {status} {body}"
            );
            if status == 422 {
                assert_eq!(crate::fields(&body), [field], "{path}: {body}");
            }
        }
        // Exactly at the limit is fine.
        let (status, body) = app
            .send(
                "PATCH",
                &admin,
                &path,
                &json!({ field: "字".repeat(limit) }),
            )
            .await;
        assert_eq!(status, 200, "{path} {field}: {body}");
        assert_ne!(was[field], body[field]);
        let (status, body) = app
            .send("PATCH", &admin, &path, &json!({ field: was[field] }))
            .await;
        assert_eq!(status, 200, "{path} {field}: {body}");
    }
    // The just-over-limit values were refused before anything was written: only the eight
    // accepted updates (four at the limit, four back) are in the trail.
    assert_eq!(app.count("audit_events").await, events + 8);
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Text100"]["maxLength"], 100,
        "{}",
        schemas["Text100"]
    );
    assert!(
        schemas["PersonUpdate"]["properties"]["employer"]
            .to_string()
            .contains("Text100"),
        "{}",
        schemas["PersonUpdate"]["properties"]["employer"]
    );
    assert_eq!(schemas["Text20000"]["maxLength"], 20000);
}

/// The same limits when a row is made: one over-long field refused 422 naming it, nothing written,
/// the limit in the document. (Before, a new person's employer, a new site's address, a new
/// order's body, a department's phone and a region's code took any length.)
#[tokio::test]
async fn over_long_text_in_a_new_row_is_refused_naming_the_field() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let community = app
        .id_of(&format!(
            "SELECT parent_id FROM regions WHERE id = {compound}"
        ))
        .await;
    let district = app
        .id_of("SELECT MIN(id) FROM regions WHERE level = 'district'")
        .await;
    let events = app.count("audit_events").await;
    let cases: [(&str, &str, usize, Value); 6] = [
        (
            "/api/v1/people",
            "employer",
            100,
            json!({"name": "测试", "phone": "13800000000", "gender": "female", "birth_year": 1990, "home_region_id": compound}),
        ),
        (
            "/api/v1/people",
            "skills",
            30,
            json!({"name": "测试", "phone": "13800000001", "gender": "male", "birth_year": 1990, "home_region_id": compound}),
        ),
        (
            "/api/v1/sites",
            "address",
            200,
            json!({"region_id": compound, "kind": "sampling_point", "name": "测试采样点"}),
        ),
        (
            "/api/v1/control-orders",
            "body",
            20000,
            json!({"number": "2022年第99号", "issued_at": "2022-08-20T12:00:00+08:00", "effective_from": "2022-08-20T20:00:00+08:00", "level": "static_management", "region_ids": [district]}),
        ),
        (
            "/api/v1/departments",
            "phone",
            30,
            json!({"name": "测试部门", "kind": "community"}),
        ),
        (
            "/api/v1/regions",
            "code",
            20,
            json!({"parent_id": community, "level": "compound", "name": "测试小区"}),
        ),
    ];
    for (path, field, limit, base) in &cases {
        let with = |value: Value| {
            let mut body = base.clone();
            body[*field] = value;
            body
        };
        let long = "字".repeat(limit + 1);
        let value = if *field == "skills" {
            json!([long])
        } else {
            json!(long)
        };
        let (status, body) = app.send("POST", &admin, path, &with(value)).await;
        assert_eq!(status, 422, "{path} {field}: {body}");
        assert_eq!(crate::fields(&body), [*field], "{path}: {body}");
    }
    assert_eq!(app.count("audit_events").await, events, "nothing written");
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field, limit) in [
        ("NewPerson", "employer", 100),
        ("NewSite", "address", 200),
        ("NewOrder", "body", 20000),
        ("NewDepartment", "phone", 30),
        ("NewRegion", "code", 20),
        ("NewAccount", "username", 64),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["maxLength"], limit,
            "{schema}.{field}: {}",
            schemas[schema]["properties"][field]
        );
    }
}

/// A request body is a JSON object: an array of a struct's fields in order (`[null, null]`,
/// which serde would read as an empty update) is refused, naming the body.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let department = app.id_of("SELECT MIN(id) FROM departments").await;
    let events = app.count("audit_events").await;
    for body in [
        json!([null, null]),
        json!(["改名", null]),
        json!("x"),
        json!(7),
    ] {
        let (status, answer) = app
            .send(
                "PATCH",
                &admin,
                &format!("/api/v1/departments/{department}"),
                &body,
            )
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(crate::fields(&answer), ["body"], "{body}: {answer}");
    }
    assert_eq!(app.count("audit_events").await, events);
}
