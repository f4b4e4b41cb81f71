//! Searches take the user's text literally: `%` and `_` find themselves, on both backends
//! (before, `_` matched any character and `%` everything, or was dropped from case searches).

use serde_json::json;

use crate::spawn_app;

#[tokio::test]
async fn percent_and_underscore_in_a_search_match_themselves() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let admin = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "testing", "compound_id": compound, "description": "消毒液浓度仅 50% 需复查"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let total = |body: &serde_json::Value| body["total"].as_i64().unwrap();
    for q in ["50%25", "%25", "50%25%20%E9%9C%80"] {
        let (status, body) = app
            .get(&admin, &format!("/api/v1/cases?q={q}&limit=5"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(total(&body), 1, "q={q}: {body}");
        assert_eq!(body["items"][0]["id"], case["id"]);
    }
    let (_, body) = app.get(&admin, "/api/v1/cases?q=_&limit=5").await;
    assert_eq!(total(&body), 0, "{body}");
    for path in [
        "/api/v1/sites?q=_",
        "/api/v1/sites?q=%25",
        "/api/v1/people?q=_",
        "/api/v1/people?skill=%25",
        "/api/v1/teams?q=%25",
        "/api/v1/departments?q=_",
        "/api/v1/control-orders?q=_",
        "/api/v1/regions?q=%25",
    ] {
        let (status, body) = app.get(&admin, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            total(&body),
            0,
            "{path} finds only what holds the character: {body}"
        );
    }
    // A search has a length limit, named.
    let (status, body) = app
        .get(&admin, &format!("/api/v1/cases?q={}", "a".repeat(201)))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("\"q\""), "{body}");
    for path in [
        "/api/v1/sites",
        "/api/v1/people",
        "/api/v1/teams",
        "/api/v1/departments",
        "/api/v1/control-orders",
        "/api/v1/regions",
    ] {
        let (status, body) = app
            .get(&admin, &format!("{path}?q={}", "字".repeat(101)))
            .await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body.to_string().contains("\"q\""), "{path}: {body}");
    }
    // The ordinary search still works.
    let (_, body) = app.get(&admin, "/api/v1/sites?q=%E9%87%87%E6%A0%B7").await;
    assert!(total(&body) > 0, "{body}");
}
