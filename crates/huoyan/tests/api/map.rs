//! The map (#11 item 5): cases as GeoJSON pins with the list's filters and scope, regions'
//! outlines with their control levels in the caller's scope.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{TestApp, spawn_app};

/// The ids of a FeatureCollection's features, after checking its shape.
fn feature_ids(fc: &Value) -> BTreeSet<i64> {
    assert_eq!(fc["type"], "FeatureCollection", "{fc}");
    let features = fc["features"].as_array().expect("features");
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert!(f["properties"].is_object());
    }
    features.iter().map(|f| f["id"].as_i64().unwrap()).collect()
}

/// The ids of the cases list for `query`, all on one page.
async fn listed(app: &TestApp, token: &str, query: &str) -> BTreeSet<i64> {
    let (status, page) = app
        .get(token, &format!("/api/v1/cases?limit=500&{query}"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page["total"].as_i64().unwrap() <= 500,
        "one page holds them"
    );
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn pins(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, fc) = app
        .get(token, &format!("/api/v1/cases/geojson?{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {fc}");
    fc
}

#[tokio::test]
async fn case_pins_are_the_lists_cases_with_its_filters_scope_and_bound() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let all = pins(&app, &admin, "").await;
    let everything = listed(&app, &admin, "").await;
    assert!(everything.len() > 100, "the demo's cases");
    assert_eq!(feature_ids(&all), everything, "every case is pinned");
    assert_eq!(all["total"].as_i64().unwrap(), everything.len() as i64);
    for f in all["features"].as_array().unwrap() {
        assert_eq!(f["geometry"]["type"], "Point");
        let (lon, lat) = (
            f["geometry"]["coordinates"][0].as_f64().unwrap(),
            f["geometry"]["coordinates"][1].as_f64().unwrap(),
        );
        assert!(
            (124.0..126.0).contains(&lon) && (45.5..47.5).contains(&lat),
            "in Daqing: {f}"
        );
        let p = &f["properties"];
        assert_eq!(p["number"], format!("#{}", f["id"]));
        assert_eq!(p["placed"], "reported");
        for field in ["title", "state", "priority", "category", "state_label"] {
            assert!(
                p[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}: {p}"
            );
        }
    }
    // The list's filters, one by one and together.
    for query in [
        "state=closed",
        "state=dispatched,rectifying",
        "category=supplies",
        "overdue=true",
        "source=hotline&from=2022-08-25",
        "q=%E8%94%AC%E8%8F%9C",
    ] {
        let fc = pins(&app, &admin, query).await;
        let ids = listed(&app, &admin, query).await;
        assert!(
            !ids.is_empty() && ids.len() < everything.len(),
            "{query} filters"
        );
        assert_eq!(feature_ids(&fc), ids, "{query}");
    }
    let closed = pins(&app, &admin, "state=closed&lang=en").await;
    assert!(
        closed["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["state"] == "closed"
                && f["properties"]["state_label"] == "Closed")
    );
    // Bounded: at most `limit`, and never more than 500; `total` still counts them all.
    let five = pins(&app, &admin, "limit=5").await;
    assert_eq!(feature_ids(&five).len(), 5);
    assert_eq!(
        (five["total"].clone(), five["limit"].clone()),
        (json!(everything.len()), json!(5))
    );
    assert_eq!(pins(&app, &admin, "limit=100000").await["limit"], 500);
    // Scope: a district's commander, the compound's supervisor and a department see only their
    // own cases, exactly as their lists do.
    let sartu = app
        .id_of("SELECT id FROM regions WHERE code = '230602'")
        .await;
    let district = app
        .new_login("sartu-commander", "commander", json!({"region_id": sartu}))
        .await;
    for token in [
        district,
        app.token("supervisor").await,
        app.token("department").await,
    ] {
        let own = listed(&app, &token, "").await;
        assert!(
            !own.is_empty() && own.len() < everything.len(),
            "a part of the city"
        );
        assert_eq!(feature_ids(&pins(&app, &token, "").await), own);
    }
    let (status, _) = app
        .get(&app.token("volunteer").await, "/api/v1/cases/geojson")
        .await;
    assert_eq!(status, 403, "a role that reads no cases sees no pins");
    let (status, body) = app
        .get(&admin, "/api/v1/cases/geojson?from=yesterday")
        .await;
    assert_eq!(
        (status, crate::fields(&body)),
        (422, vec!["from".to_string()])
    );
}

#[tokio::test]
async fn a_case_reported_without_a_point_is_pinned_at_its_compound() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            &office,
            "/api/v1/cases",
            &json!({"category": "supplies", "priority": "normal", "compound_id": compound,
                    "description": "来电：缺少蔬菜，未给位置"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    let fc = pins(&app, &office, "q=%E6%9C%AA%E7%BB%99%E4%BD%8D%E7%BD%AE").await;
    assert_eq!(feature_ids(&fc), BTreeSet::from([id]));
    let pin = &fc["features"][0];
    assert_eq!(pin["properties"]["placed"], "compound");
    let outline: Value = serde_json::from_str(
        &sqlx::query_scalar::<_, String>("SELECT geometry FROM regions WHERE id = $1")
            .bind(compound)
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
    )
    .unwrap();
    let ring = outline["coordinates"][0].as_array().unwrap();
    let (lon, lat) = (
        pin["geometry"]["coordinates"][0].as_f64().unwrap(),
        pin["geometry"]["coordinates"][1].as_f64().unwrap(),
    );
    let within = |k: usize, v: f64| {
        let xs: Vec<f64> = ring.iter().map(|p| p[k].as_f64().unwrap()).collect();
        xs.iter().cloned().fold(f64::MAX, f64::min) < v
            && v < xs.iter().cloned().fold(f64::MIN, f64::max)
    };
    assert!(
        within(0, lon) && within(1, lat),
        "inside the compound's outline"
    );
}

async fn outlines(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, fc) = app
        .get(token, &format!("/api/v1/regions/geojson?{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {fc}");
    fc
}

#[tokio::test]
async fn outlines_carry_their_control_level_in_the_callers_scope_with_the_lists_filters() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let districts = outlines(&app, &admin, "level=district").await;
    // Three of the four districts of order No. 9 have an outline (the High-tech Zone has none).
    let with_outline: i64 = app
        .id_of("SELECT COUNT(*) FROM regions WHERE level = 'district' AND geometry IS NOT NULL")
        .await;
    assert_eq!(with_outline, 3);
    assert_eq!(feature_ids(&districts).len(), 3);
    assert_eq!(districts["total"], 3);
    for f in districts["features"].as_array().unwrap() {
        assert!(matches!(
            f["geometry"]["type"].as_str(),
            Some("Polygon" | "MultiPolygon")
        ));
        assert_eq!(f["properties"]["level"], "district");
        assert_eq!(
            f["properties"]["control"]["level"], "static_management",
            "{}",
            f["properties"]
        );
    }
    let compounds: i64 = app
        .id_of("SELECT COUNT(*) FROM regions WHERE level = 'compound'")
        .await;
    let all = outlines(&app, &admin, "level=compound&limit=500").await;
    assert_eq!(feature_ids(&all).len() as i64, compounds);
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let one = outlines(&app, &admin, &format!("ids={jingcheng}")).await;
    assert_eq!(feature_ids(&one), BTreeSet::from([jingcheng]));
    assert_eq!(
        one["features"][0]["properties"]["control"]["level"], "high_risk",
        "order No. 10"
    );
    let en = outlines(&app, &admin, &format!("ids={jingcheng}&lang=en")).await;
    assert_eq!(
        en["features"][0]["properties"]["control"]["label"],
        "High risk"
    );
    // Bounded, with the count of all.
    let ten = outlines(&app, &admin, "level=compound&limit=10").await;
    assert_eq!(feature_ids(&ten).len(), 10);
    assert_eq!(ten["total"].as_i64(), Some(compounds));
    // Only regions that have an outline: the buildings have none.
    let buildings = outlines(&app, &admin, &format!("within={jingcheng}")).await;
    assert_eq!(
        (feature_ids(&buildings).len(), buildings["total"].clone()),
        (0, json!(0))
    );
    // A district's commander sees its outline and its compounds, no other district's.
    let sartu = app
        .id_of("SELECT id FROM regions WHERE code = '230602'")
        .await;
    let district = app
        .new_login("sartu-commander", "commander", json!({"region_id": sartu}))
        .await;
    let own: i64 = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM regions WHERE level = 'compound' AND path LIKE '%/{sartu}/%'"
        ))
        .await;
    assert!(own > 0 && own < compounds);
    let seen = outlines(&app, &district, "level=compound&limit=500").await;
    assert_eq!(feature_ids(&seen).len() as i64, own);
    assert_eq!(
        feature_ids(&outlines(&app, &district, "level=district").await),
        BTreeSet::from([sartu])
    );
    // The compound's supervisor, its compound alone.
    let supervisor = app.token("supervisor").await;
    assert_eq!(
        feature_ids(&outlines(&app, &supervisor, "level=compound&limit=500").await),
        BTreeSet::from([jingcheng])
    );
    for bad in ["ids=1,x", "level=street"] {
        let (status, body) = app
            .get(&admin, &format!("/api/v1/regions/geojson?{bad}"))
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(crate::fields(&body), [bad.split('=').next().unwrap()]);
    }
}
