//! The audit trail: every change leaves a chained event; an edited event is found.

use serde_json::json;

use crate::spawn_app;

#[tokio::test]
async fn every_change_leaves_an_event_in_the_entitys_trail() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    let (status, _) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/sites/{site}"),
            &json!({"name": "格林街道第1核酸采样点（东）"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, trail) = app
        .get(
            &admin,
            &format!("/api/v1/audit?entity=site&entity_id={site}"),
        )
        .await;
    assert_eq!(status, 200);
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0]["action"], "update");
    assert_eq!(trail[0]["actor"], "admin");
    assert_eq!(
        trail[0]["summary"]["after"]["name"],
        "格林街道第1核酸采样点（东）"
    );
    assert_eq!(trail[1]["action"], "create");
    // Roles outside the commission's may not read trails.
    let office = app.token("volunteer").await;
    assert_eq!(
        app.get(
            &office,
            &format!("/api/v1/audit?entity=site&entity_id={site}")
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn verification_finds_an_edited_a_deleted_and_a_truncated_event() {
    let app = spawn_app(true).await;
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
    sqlx::query("UPDATE audit_events SET summary = '{}' WHERE seq = 42")
        .execute(&app.db.pool)
        .await
        .unwrap();
    match huoyan::audit::verify(&app.db).await.unwrap() {
        huoyan::audit::Verdict::Broken { at, verified } => {
            assert_eq!((at.seq(), verified), (42, 41))
        }
        v => panic!("{v:?}"),
    }
    let app = spawn_app(true).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = 7")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Broken { .. }
    ));
    let app = spawn_app(true).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Truncated { .. }
    ));
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"name": format!("并发{i}"), "phone": format!("1770000{i:04}"), "gender": "female", "birth_year": 1990, "home_region_id": compound});
            client.post(format!("{base}/api/v1/people")).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
}
