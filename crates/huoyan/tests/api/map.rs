//! The map (#11 item 5): cases as GeoJSON pins with the list's filters and scope, regions'
//! outlines with their control levels in the caller's scope, the built-in Leaflet files and the
//! tile server setting, the order form that picks regions instead of typing codes, and the
//! region and order pages' history read as steps instead of the trail's JSON.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{TestApp, spawn_app, spawn_app_with};

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
    let reported = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["placed"] == "reported")
        .count();
    assert!(
        reported * 10 > everything.len() * 9,
        "most where reported: {reported}"
    );
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
        // A report carries where it was made; a case filed from a finding without a point (a
        // positive tube's door retest) is pinned at its compound.
        assert!(
            p["placed"] == "reported" || p["placed"] == "compound",
            "{f}"
        );
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

#[tokio::test]
async fn leaflet_and_the_map_script_are_served_from_the_binary() {
    let app = spawn_app(false).await;
    for (path, kind, holds) in [
        (
            "/static/vendor/leaflet.js",
            "text/javascript",
            "Leaflet 1.9.4",
        ),
        (
            "/static/vendor/leaflet.css",
            "text/css",
            ".leaflet-container",
        ),
        (
            "/static/vendor/leaflet.markercluster.js",
            "text/javascript",
            "MarkerClusterGroup",
        ),
        (
            "/static/vendor/MarkerCluster.css",
            "text/css",
            ".leaflet-cluster-anim",
        ),
        (
            "/static/vendor/MarkerCluster.Default.css",
            "text/css",
            ".marker-cluster-small",
        ),
        ("/static/map.js", "text/javascript", "/api/v1/cases/geojson"),
        ("/static/map.css", "text/css", ".pin.st-closed"),
        ("/static/region-tree.js", "text/javascript", "region-picker"),
        (
            "/static/map-tiles.js",
            "text/javascript",
            "window.huoyanTiles = null;",
        ),
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(h["cache-control"], "public, max-age=300", "{path}");
        assert!(r.text().await.unwrap().contains(holds), "{path}");
    }
    let csp = app
        .client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: blob:;"),
        "no tile server by default: {csp}"
    );
}

#[tokio::test]
async fn a_configured_tile_server_is_drawn_and_allowed_by_the_policy() {
    let tiles = huoyan::web::map::Tiles::parse(
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        Some("© Example <contributors>"),
    )
    .unwrap();
    let app = spawn_app_with(
        false,
        huoyan::app::Settings {
            map_tiles: Some(tiles),
            ..Default::default()
        },
    )
    .await;
    let r = app
        .client
        .get(format!("{}/static/map-tiles.js", app.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: blob: https://*.tiles.example.org;"),
        "{csp}"
    );
    let script = r.text().await.unwrap();
    let config: Value = serde_json::from_str(
        script
            .strip_prefix("window.huoyanTiles = ")
            .and_then(|s| s.trim_end().strip_suffix(';'))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        config,
        json!({"url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png", "attribution": "© Example <contributors>", "datum": "wgs84"})
    );
}

#[tokio::test]
async fn the_tile_server_is_set_by_flag_or_file_and_a_bad_one_stops_the_command() {
    let dir = std::env::temp_dir().join(format!("huoyan-tiles-{}", crate::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("x.db").display().to_string();
    let (code, out) = crate::cli::huoyan(
        &db,
        &[
            "--map-tiles",
            "ftp://tiles.example/{z}/{x}/{y}.png",
            "migrate",
        ],
        "",
    );
    assert_ne!(code, 0);
    assert!(
        out.contains("map_tiles") && out.contains("https://"),
        "{out}"
    );
    let config = dir.join("huoyan.toml");
    std::fs::write(
        &config,
        "map_tiles = \"https://{s}.tiles.example.org/{z}/{x}/{y}.png\"\nmap_tiles_attribution = \"© Example\"\n",
    )
    .unwrap();
    let (code, out) = crate::cli::huoyan(
        &db,
        &["--config", &config.display().to_string(), "migrate"],
        "",
    );
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn page(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let r = crate::page_client()
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn every_list_with_places_has_its_map() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    for (path, cases) in [
        ("/cases".to_string(), Some("data-cases=\"")),
        // The board's pins are the board's cases: its own states, not the state typed.
        (
            "/cases?view=board&state=closed".into(),
            Some("data-cases=\"state=triaged%2Cdispatched"),
        ),
        ("/regions".into(), None),
        (
            format!("/regions/{jingcheng}"),
            Some("data-cases=\"region_id="),
        ),
        ("/orders".into(), None),
        ("/orders/1".into(), None),
        ("/orders/new".into(), None),
    ] {
        let (status, html) = page(&app, &admin, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("id=\"map\""), "{path} has a map");
        assert!(
            html.contains("<script src=\"/static/map.js\" defer>"),
            "{path}"
        );
        assert_eq!(
            cases.is_some(),
            html.contains("data-cases="),
            "{path} pins cases"
        );
        if let Some(c) = cases {
            assert!(html.contains(c), "{path}: {c}");
        }
    }
}

/// The region tree's checkbox for region `id`, if the form offers it (its tag).
fn region_box(html: &str, id: i64) -> Option<&str> {
    let at = html.find(&format!("name=\"region_ids\" value=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    Some(&html[start..at + html[at..].find('>')?])
}

/// The field a page's form shows for `name`, if any (its tag).
fn input_named<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let start = html[..at].rfind('<')?;
    Some(&html[start..at + html[at..].find('>')?])
}

#[tokio::test]
async fn an_order_is_scoped_by_ticking_regions_never_by_typing_codes() {
    let app = spawn_app(true).await;
    let commander = app.token("commander").await;
    let (status, form) = page(&app, &commander, "/orders/new").await;
    assert_eq!(status, 200);
    assert!(
        input_named(&form, "region_codes").is_none(),
        "no code to type"
    );
    let tick = input_named(&form, "region_ids").expect("the region tree");
    assert!(tick.contains("type=\"checkbox\""), "{tick}");
    assert!(
        form.contains("id=\"region-search\""),
        "the tree can be searched"
    );
    assert!(form.contains("data-pick"), "the map picks regions");
    // Every region down to the compounds can be ticked, each once.
    let tickable: i64 = app
        .id_of("SELECT COUNT(*) FROM regions WHERE level <> 'building'")
        .await;
    assert_eq!(form.matches("name=\"region_ids\"").count() as i64, tickable);
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let gelin = app
        .id_of("SELECT id FROM regions WHERE code = '230602022'")
        .await;
    let post = |fields: Vec<(&'static str, String)>| {
        let client = crate::page_client();
        let url = format!("{}/orders", app.base);
        let token = commander.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, r.text().await.unwrap())
        }
    };
    let base = |number: &str| {
        vec![
            ("_csrf", String::new()),
            ("number", number.to_string()),
            ("level", "medium_risk".to_string()),
            ("effective_from", "2022-09-06T08:00".to_string()),
        ]
    };
    // Wrong: no time; the regions ticked stay ticked on the page that says so.
    let mut bad = base("2022年第12号");
    bad[3].1 = String::new();
    bad.extend([
        ("region_ids", jingcheng.to_string()),
        ("region_ids", gelin.to_string()),
    ]);
    let (status, _, html) = post(bad).await;
    assert_eq!(status, 422);
    for id in [jingcheng, gelin] {
        let tag = region_box(&html, id).expect("the region is offered");
        assert!(tag.contains(" checked"), "{tag}");
    }
    assert_eq!(html.matches(" checked").count(), 2, "only those");
    assert!(html.contains("格林街道、景程小区"), "the chosen are listed");
    // Nothing ticked: said so in the page's language.
    let (status, _, html) = post(base("2022年第12号")).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("管控通告至少要涉及一个区域"),
        "named in Chinese"
    );
    // Ticked: the order covers exactly those regions.
    let mut good = base("2022年第12号");
    good.extend([
        ("region_ids", jingcheng.to_string()),
        ("region_ids", gelin.to_string()),
    ]);
    let (status, location, _) = post(good).await;
    assert_eq!(status, 303);
    let id: i64 = location
        .unwrap()
        .strip_prefix("/orders/")
        .unwrap()
        .parse()
        .unwrap();
    let (_, order) = app
        .get(&commander, &format!("/api/v1/control-orders/{id}"))
        .await;
    let mut covered: Vec<i64> = serde_json::from_value(order["region_ids"].clone()).unwrap();
    covered.sort();
    let mut wanted = vec![jingcheng, gelin];
    wanted.sort();
    assert_eq!(covered, wanted);
    // A district's commander is offered only its own district's regions, and a region
    // outside it is refused by name.
    let sartu = app
        .id_of("SELECT id FROM regions WHERE code = '230602'")
        .await;
    let district = app
        .new_login("sartu-commander", "commander", json!({"region_id": sartu}))
        .await;
    let (_, form) = page(&app, &district, "/orders/new").await;
    assert!(region_box(&form, gelin).is_some(), "Gelin lies in Sartu");
    assert!(
        region_box(&form, jingcheng).is_none(),
        "the High-tech Zone does not"
    );
    let r = crate::page_client()
        .post(format!("{}/orders", app.base))
        .bearer_auth(&district)
        .form(&[
            ("number", "2022年第13号"),
            ("level", "low_risk"),
            ("effective_from", "2022-09-06T08:00"),
            ("region_ids", &jingcheng.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        region_box(&html, gelin).is_some(),
        "the form is shown again"
    );
}

/// The part of a page under its trail's heading.
fn trail_of(html: &str) -> &str {
    let at = html.find("操作留痕").expect("the page shows its history");
    &html[at..]
}

#[tokio::test]
async fn region_and_order_pages_show_their_history_as_steps_not_json() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let commander = app.token("commander").await;
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, _) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/regions/{jingcheng}"),
            &json!({"name": "景程小区（一期）", "geometry": {"type": "Polygon", "coordinates": [[[125.0, 46.5], [125.01, 46.5], [125.01, 46.51], [125.0, 46.5]]]}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .send(
            "PATCH",
            &commander,
            "/api/v1/control-orders/2",
            &json!({"effective_until": "2022-09-01T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, region) = page(&app, &admin, &format!("/regions/{jingcheng}")).await;
    let (_, order) = page(&app, &commander, "/orders/2").await;
    for (what, html) in [("region", &region), ("order", &order)] {
        let trail = trail_of(html);
        for raw in [
            "{",
            "&#34;",
            "\"before\"",
            "before",
            "sha256",
            "_id",
            "_at",
            "effective_",
        ] {
            assert!(
                !trail.contains(raw),
                "{what}'s history shows {raw}: {trail}"
            );
        }
        assert!(trail.contains("修改"), "{what}: the change, in words");
    }
    let region = trail_of(&region);
    for words in [
        "创建",
        "名称",
        "<del>景程小区</del> → 景程小区（一期）",
        "边界",
        "已设置",
        "层级",
        "小区",
        "上级",
        "景程社区",
    ] {
        assert!(
            region.contains(words),
            "the region's history says {words}: {region}"
        );
    }
    let order = trail_of(&order);
    for words in [
        "发布",
        "2022年第10号",
        "管控等级",
        "高风险区",
        "涉及区域",
        "景程小区",
        "截止时间",
        "<del>—</del> → 2022-09-01 10:00",
        "commander",
        "系统 · 演示数据",
    ] {
        assert!(
            order.contains(words),
            "the order's history says {words}: {order}"
        );
    }
    // In English too, with English labels.
    let (_, english) = page(&app, &commander, "/orders/2?lang=en").await;
    let at = english.find("Audit trail").unwrap();
    assert!(english[at..].contains("Issued") && english[at..].contains("Effective until"));
}

/// Where the demo's maps keep their screenshots: `test-artefacts` in the target directory.
fn artefacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the page's map drew, read from its elements.
const DRAWN: &str = r#"
    var m = document.getElementById("map");
    var clusters = Array.prototype.map.call(m.querySelectorAll(".marker-cluster"), function (e) {
      return parseInt(e.textContent, 10);
    });
    var box = m.getBoundingClientRect();
    return {
      pins: Number(m.getAttribute("data-pins")),
      outlines: Number(m.getAttribute("data-outlines")),
      single: m.querySelectorAll(".leaflet-marker-icon.pin").length,
      clusters: clusters.length,
      clustered: clusters.reduce(function (a, b) { return a + b; }, 0),
      polygons: m.querySelectorAll("path.area").length,
      note: document.getElementById("map-note").textContent,
      error: m.getAttribute("data-error"),
      width: box.width,
      height: box.height,
      wide: document.documentElement.scrollWidth > window.innerWidth
    };
"#;

/// A point (viewport x, y) where `selector`'s first match is the topmost element, looked for on
/// a grid over the map, so that a real click there lands on it.
async fn point_on(c: &fantoccini::Client, selector: &str) -> Option<(f64, f64)> {
    let found = c
        .execute(
            r#"
            var want = document.querySelectorAll(arguments[0]);
            var box = document.getElementById("map").getBoundingClientRect();
            for (var y = box.top + 4; y < box.bottom - 4; y += 3) {
              for (var x = box.left + 4; x < box.right - 4; x += 3) {
                var at = document.elementFromPoint(x, y);
                for (var i = 0; i < want.length; i++) {
                  if (want[i] === at || want[i].contains(at)) return [Math.round(x), Math.round(y)];
                }
              }
            }
            return null;
            "#,
            vec![json!(selector)],
        )
        .await
        .unwrap();
    let xy = found.as_array()?;
    Some((xy[0].as_f64()?, xy[1].as_f64()?))
}

async fn click_at(c: &fantoccini::Client, (x, y): (f64, f64)) {
    use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(click).await.unwrap();
}

/// The demo's cases on the map of `/cases` at a phone's width and a desktop's: the outlines and
/// the pins (alone or in clusters) are drawn, every pin of the data is accounted for, the map
/// fits the page, a pin opens its case, and the screenshots are kept as test artefacts.
#[tokio::test]
async fn the_demos_cases_are_pinned_on_the_map_at_360_and_1280_px() {
    use fantoccini::Locator;
    let app = spawn_app(true).await;
    let commander = app.token("commander").await;
    let expected = pins(&app, &commander, "").await;
    let pinned = expected["features"].as_array().unwrap().len() as u64;
    assert!(pinned > 100, "the demo's cases");
    let mut outlined = 0;
    for level in ["district", "compound"] {
        let fc = outlines(&app, &commander, &format!("level={level}&limit=500")).await;
        outlined += fc["features"].as_array().unwrap().len() as u64;
    }
    for (width, height) in [(360, 780), (1280, 900)] {
        let (c, _driver, _profile) = crate::browser::browser(width, height).await;
        crate::browser::sign_in(&c, &app.base, "commander", "huoyan-demo").await;
        c.goto(&format!("{}/cases", app.base)).await.unwrap();
        c.wait()
            .for_element(Locator::Css("#map[data-ready]"))
            .await
            .unwrap();
        let drawn = c.execute(DRAWN, vec![]).await.unwrap();
        let n = |k: &str| drawn[k].as_f64().unwrap();
        assert_eq!(drawn["note"], "", "{width} px: nothing went wrong: {drawn}");
        assert_eq!(drawn["pins"].as_u64(), Some(pinned), "{width} px: {drawn}");
        assert!(
            n("single") + n("clusters") > 0.0,
            "{width} px: pins drawn: {drawn}"
        );
        assert!(
            n("clusters") > 0.0,
            "{width} px: this many pins cluster: {drawn}"
        );
        assert_eq!(
            n("single") + n("clustered"),
            pinned as f64,
            "{width} px: every pin shows, alone or counted in a cluster: {drawn}"
        );
        assert_eq!(drawn["outlines"].as_u64(), Some(outlined), "{drawn}");
        assert_eq!(
            n("polygons"),
            outlined as f64,
            "{width} px: every outline drawn"
        );
        assert!(
            n("width") <= width as f64 && n("width") > width as f64 * 0.8,
            "{drawn}"
        );
        assert!(
            n("height") >= 250.0 && n("height") <= height as f64 * 0.6,
            "{width} px: a map that leaves room for the list: {drawn}"
        );
        assert_eq!(drawn["wide"], false, "{width} px: no sideways scrolling");
        c.execute("document.getElementById('map').scrollIntoView()", vec![])
            .await
            .unwrap();
        let shot = artefacts().join(format!("map-{width}.png"));
        std::fs::write(&shot, c.screenshot().await.unwrap()).unwrap();
        println!("map screenshot at {width} px: {}", shot.display());
        // A pin opens its case; where every pin is in a cluster, a cluster zooms in first.
        let mut at = None;
        for _ in 0..6 {
            at = point_on(&c, ".leaflet-marker-icon.pin").await;
            if at.is_some() {
                break;
            }
            let cluster = point_on(&c, ".marker-cluster")
                .await
                .expect("a pin or a cluster to click");
            click_at(&c, cluster).await;
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        }
        let at = at.expect("a pin to click");
        click_at(&c, at).await;
        let mut opened = None;
        for _ in 0..50 {
            let path = c.current_url().await.unwrap().path().to_string();
            if let Some(id) = path.strip_prefix("/cases/") {
                opened = id.parse::<i64>().ok();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let opened = opened.expect("the pin opened a case");
        assert!(feature_ids(&expected).contains(&opened));
        c.close().await.unwrap();
    }
}

/// On the order form the regions are found by typing and ticked in the tree or on the map; the
/// two agree, and the chosen are listed by name.
#[tokio::test]
async fn regions_are_picked_in_the_searchable_tree_and_on_the_map() {
    use fantoccini::Locator;
    let app = spawn_app(true).await;
    let sartu = app
        .id_of("SELECT id FROM regions WHERE code = '230602'")
        .await;
    let gelin = app
        .id_of("SELECT id FROM regions WHERE code = '230602022'")
        .await;
    let (c, _driver, _profile) = crate::browser::browser(1280, 900).await;
    crate::browser::sign_in(&c, &app.base, "commander", "huoyan-demo").await;
    c.goto(&format!("{}/orders/new", app.base)).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#map[data-ready]"))
        .await
        .unwrap();
    let visible = || async {
        c.execute(
            "return Array.prototype.filter.call(document.querySelectorAll('#region-picker li'), \
             function (li) { return li.offsetParent !== null; }).length",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap()
    };
    let before = visible().await;
    c.find(Locator::Id("region-search"))
        .await
        .unwrap()
        .send_keys("格林街道")
        .await
        .unwrap();
    let after = visible().await;
    assert!(
        after >= 3 && after < before,
        "narrowed to Gelin and above it: {before} → {after}"
    );
    let gelin_box = c
        .find(Locator::Css(&format!(
            "input[name=region_ids][value='{gelin}']"
        )))
        .await
        .unwrap();
    assert!(gelin_box.is_displayed().await.unwrap(), "found by typing");
    gelin_box.click().await.unwrap();
    assert!(
        c.find(Locator::Id("picked"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("格林街道")
    );
    // Clicking Sartu's outline ticks Sartu in the tree.
    let at = point_on(&c, &format!("path.area[data-region='{sartu}']"))
        .await
        .expect("Sartu's outline shows");
    click_at(&c, at).await;
    let sartu_box = c
        .find(Locator::Css(&format!(
            "input[name=region_ids][value='{sartu}']"
        )))
        .await
        .unwrap();
    assert_eq!(
        sartu_box.prop("checked").await.unwrap().as_deref(),
        Some("true")
    );
    let picked = c
        .find(Locator::Id("picked"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        picked.contains("萨尔图区") && picked.contains("格林街道"),
        "{picked}"
    );
    let class = c
        .find(Locator::Css(&format!("path.area[data-region='{sartu}']")))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(class.contains("picked"), "the map shows it chosen: {class}");
    std::fs::write(
        artefacts().join("order-new-1280.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}
