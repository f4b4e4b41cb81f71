//! Scoped writes: a caller confined to a region (or a team) writes only inside it. The ids a
//! request names, and the row it changes, are checked against the caller's scope inside the
//! change; an id outside it is refused 403 naming the field, a row the caller cannot see is not
//! found, and nothing is written either way.

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// The district holding 景程小区, as (id, path).
async fn sartu(app: &TestApp) -> (i64, String) {
    use sqlx::Row;
    let path: String = sqlx::query("SELECT path FROM regions WHERE name = '景程小区'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    // /city/district/subdistrict/community/compound/
    let district: i64 = path.split('/').nth(2).unwrap().parse().unwrap();
    let district_path = path.split('/').take(3).collect::<Vec<_>>().join("/") + "/";
    (district, district_path)
}

/// An account of `role` confined to `region`, signed in.
async fn confined(app: &TestApp, admin: &str, role: &str, region: i64) -> String {
    let username = format!("{role}-{region}");
    let password = "district-only-1";
    let (status, body) = app
        .send(
            "POST",
            admin,
            "/api/v1/accounts",
            &json!({"username": username, "password": password, "role": role, "scope": {"region_id": region}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let r = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn home_of(app: &TestApp, person: i64) -> Option<i64> {
    use sqlx::Row;
    sqlx::query("SELECT home_region_id FROM people WHERE id = $1")
        .bind(person)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn a_district_dispatcher_cannot_move_a_person_out_of_their_district() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (district, inside) = sartu(&app).await;
    let dispatcher = confined(&app, &admin, "dispatcher", district).await;
    let person = app
        .id_of(&format!(
            "SELECT MIN(p.id) FROM people p JOIN regions r ON r.id = p.home_region_id WHERE r.path LIKE '{inside}%'"
        ))
        .await;
    let home = home_of(&app, person).await;
    let elsewhere = app
        .id_of(&format!(
            "SELECT MIN(id) FROM regions WHERE level = 'compound' AND path NOT LIKE '{inside}%'"
        ))
        .await;
    let events = app.count("audit_events").await;
    let (status, body) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/people/{person}"),
            &json!({"home_region_id": elsewhere}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["home_region_id"]);
    assert_eq!(app.count("audit_events").await, events, "nothing recorded");
    assert_eq!(home_of(&app, person).await, home, "nothing written");
    // Inside the district the move is theirs to make.
    let nearby = app
        .id_of(&format!(
            "SELECT MAX(id) FROM regions WHERE level = 'compound' AND path LIKE '{inside}%'"
        ))
        .await;
    let (status, body) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/people/{person}"),
            &json!({"home_region_id": nearby}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["home_region_id"], nearby);
    // Someone living elsewhere is not theirs to see, let alone change.
    let stranger = app
        .id_of(&format!(
            "SELECT MIN(p.id) FROM people p JOIN regions r ON r.id = p.home_region_id WHERE r.path NOT LIKE '{inside}%'"
        ))
        .await;
    let events = app.count("audit_events").await;
    let (status, _) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/people/{stranger}"),
            &json!({"name": "改名"}),
        )
        .await;
    assert_eq!(status, 404);
    // Nor can they register someone new in another district.
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/people",
            &json!({"name": "外区人员", "phone": "14700001111", "gender": "male", "birth_year": 1980, "home_region_id": elsewhere}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["home_region_id"]);
    assert_eq!(app.count("audit_events").await, events);
}

#[tokio::test]
async fn a_district_dispatcher_forms_teams_adds_members_registers_and_places_sites_only_inside_their_district()
 {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (district, inside) = sartu(&app).await;
    let dispatcher = confined(&app, &admin, "dispatcher", district).await;
    let compound = |inside_district: bool| {
        let op = if inside_district { "" } else { "NOT " };
        format!(
            "SELECT MIN(id) FROM regions WHERE level = 'compound' AND path {op}LIKE '{inside}%'"
        )
    };
    let (near, far) = (
        app.id_of(&compound(true)).await,
        app.id_of(&compound(false)).await,
    );
    let resident = |inside_district: bool| {
        let op = if inside_district { "" } else { "NOT " };
        format!(
            "SELECT MIN(p.id) FROM people p JOIN regions r ON r.id = p.home_region_id \
             WHERE r.path {op}LIKE '{inside}%' AND p.id NOT IN (SELECT person_id FROM registrations)"
        )
    };
    let (neighbour, stranger) = (
        app.id_of(&resident(true)).await,
        app.id_of(&resident(false)).await,
    );
    let events = app.count("audit_events").await;

    // A team working in another district.
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/teams",
            &json!({"kind": "supervision_team", "name": "外区督战队", "region_id": far}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_id"]);
    let (status, team) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/teams",
            &json!({"kind": "supervision_team", "name": "本区督战队", "region_id": near}),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    let team = team["id"].as_i64().unwrap();
    let events = events + 1;

    // A member living in another district.
    let members = format!("/api/v1/teams/{team}/members");
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            &members,
            &json!({"person_id": stranger, "role": "member"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["person_id"]);
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            &members,
            &json!({"person_id": neighbour, "role": "member"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let events = events + 1;
    assert_eq!(app.count("audit_events").await, events);

    // A double registration in another district (its branch formed there by the administrator).
    let community = app
        .id_of(&format!("SELECT parent_id FROM regions WHERE id = {far}"))
        .await;
    let (status, branch) = app
        .send(
            "POST",
            &admin,
            "/api/v1/teams",
            &json!({"kind": "party_branch", "name": "外区临时党支部", "region_id": far}),
        )
        .await;
    assert_eq!(status, 201, "{branch}");
    let events = events + 1;
    let registrations = app.count("registrations").await;
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/registrations",
            &json!({"person_id": stranger, "community_id": community, "branch_id": branch["id"]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["person_id", "community_id", "branch_id"]);
    assert_eq!(app.count("registrations").await, registrations);

    // A site in another district, new or moved there by a rename.
    let (status, body) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/sites",
            &json!({"region_id": far, "kind": "zone_gate", "name": "外区卡口"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_id"]);
    let (status, site) = app
        .send(
            "POST",
            &admin,
            "/api/v1/sites",
            &json!({"region_id": far, "kind": "zone_gate", "name": "外区卡口"}),
        )
        .await;
    assert_eq!(status, 201, "{site}");
    let events = events + 1;
    let (status, body) = app
        .send(
            "PATCH",
            &dispatcher,
            &format!("/api/v1/sites/{}", site["id"]),
            &json!({"name": "改名的卡口"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_id"]);
    assert_eq!(app.count("audit_events").await, events, "nothing recorded");
}

#[tokio::test]
async fn a_district_commander_issues_and_ends_orders_only_inside_their_district() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (district, inside) = sartu(&app).await;
    let commander = confined(&app, &admin, "commander", district).await;
    let far = app
        .id_of(&format!(
            "SELECT MIN(id) FROM regions WHERE level = 'compound' AND path NOT LIKE '{inside}%'"
        ))
        .await;
    let events = app.count("audit_events").await;
    let (status, body) = app
        .send(
            "POST",
            &commander,
            "/api/v1/control-orders",
            &json!({"number": "2022年第11号", "issued_at": "2022-08-25T09:00:00+08:00", "effective_from": "2022-08-25T10:00:00+08:00",
                    "level": "high_risk", "region_ids": [district, far]}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_ids[1]"]);
    // Order No. 9 seals four districts: one district's commander cannot end it for all four.
    let order_9 = app
        .id_of("SELECT id FROM control_orders WHERE number = '2022年第9号'")
        .await;
    let (status, body) = app
        .send(
            "PATCH",
            &commander,
            &format!("/api/v1/control-orders/{order_9}"),
            &json!({"effective_until": "2022-09-10T00:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["region_ids"]);
    assert_eq!(app.count("audit_events").await, events, "nothing recorded");
    // Order No. 10 covers 景程小区 only, inside the district.
    let order_10 = app
        .id_of("SELECT id FROM control_orders WHERE number = '2022年第10号'")
        .await;
    let (status, body) = app
        .send(
            "PATCH",
            &commander,
            &format!("/api/v1/control-orders/{order_10}"),
            &json!({"effective_until": "2022-09-10T00:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_branch_leader_adds_and_registers_only_people_of_their_compound() {
    let app = spawn_app(true).await;
    let branch = app.token("branch").await;
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let group = app
        .id_of("SELECT MIN(t.id) FROM teams t JOIN teams b ON b.id = t.parent_id WHERE b.name = '景程小区临时党支部'")
        .await;
    let outsider = app
        .id_of(&format!(
            "SELECT MIN(p.id) FROM people p JOIN regions r ON r.id = p.home_region_id \
             WHERE r.path NOT LIKE (SELECT path FROM regions WHERE id = {jingcheng}) || '%' \
             AND p.id NOT IN (SELECT person_id FROM team_members)"
        ))
        .await;
    let elsewhere = app
        .id_of(&format!(
            "SELECT MIN(id) FROM regions WHERE level = 'compound' AND id <> {jingcheng}"
        ))
        .await;
    let events = app.count("audit_events").await;
    let members = format!("/api/v1/teams/{group}/members");
    let (status, body) = app
        .send(
            "POST",
            &branch,
            &members,
            &json!({"person_id": outsider, "role": "member"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["person_id"]);
    // A person registered elsewhere is not the branch's to enrol either.
    let (status, body) = app
        .send(
            "POST",
            &branch,
            "/api/v1/people",
            &json!({"name": "外小区居民", "phone": "14700002222", "gender": "female", "birth_year": 1990, "home_region_id": elsewhere}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(fields(&body), ["home_region_id"]);
    assert_eq!(app.count("audit_events").await, events, "nothing recorded");
    // A resident of the branch's own compound: registered, answered, then enrolled in a group.
    let (status, person) = app
        .send(
            "POST",
            &branch,
            "/api/v1/people",
            &json!({"name": "景程新志愿者", "phone": "14700003333", "gender": "female", "birth_year": 1990, "home_region_id": jingcheng}),
        )
        .await;
    assert_eq!(status, 201, "{person}");
    assert_eq!(person["name"], "景程新志愿者");
    let (status, body) = app
        .send(
            "POST",
            &branch,
            &members,
            &json!({"person_id": person["id"], "role": "member"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}
