//! Addresses as people write them on the JSON API and the report form (Open311's are in
//! `open311.rs`), and the API's answers to input it must not echo or methods it does not take.

use serde_json::{Value, json};

use crate::{TestApp, fields, page_client, spawn_app};

impl TestApp {
    /// Posts the report form as the account of `token` (a bearer needs no CSRF token), not
    /// following the redirect to the case filed.
    async fn report_form(&self, token: &str, parts: &[(&str, &str)]) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("category", "supplies")
            .text("priority", "normal")
            .text("description", "蔬菜包未送达");
        for (name, value) in parts {
            form = form.text(name.to_string(), value.to_string());
        }
        page_client()
            .post(format!("{}/cases/new", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_api_and_the_report_form_take_an_address_as_people_write_it() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let report = |address: &str| json!({"category": "supplies", "address": address, "description": "蔬菜包未送达"});
    let (status, case) = app
        .send(
            "POST",
            &office,
            "/api/v1/cases",
            &report("大庆市高新区 景程小区３号楼"),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["compound_id"], jingcheng);
    assert_eq!(
        case["address"], "大庆市高新区 景程小区３号楼",
        "kept as written"
    );

    let before = app.count("cases").await;
    for (address, lang, message) in [
        ("景程小区与毅腾商都之间", "en", "matches 2 compounds: "),
        ("景程小区与毅腾商都之间", "zh", "匹配到 2 个小区："),
        ("中央大街12号", "en", "names no known compound"),
        ("中央大街12号", "zh", "未找到所写的小区"),
    ] {
        let (status, body) = app
            .send(
                "POST",
                &office,
                &format!("/api/v1/cases?lang={lang}"),
                &report(address),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), ["address"]);
        let said = body["fields"][0]["message"].as_str().unwrap();
        assert!(said.starts_with(message), "{said}");
    }
    // A point in another compound than the one named.
    let (lon, lat) = app.centre_of("景程东苑").await;
    let (status, body) = app
        .send(
            "POST",
            &office,
            "/api/v1/cases",
            &json!({"category": "supplies", "compound_id": jingcheng, "lon": lon, "lat": lat, "description": "蔬菜包未送达"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["compound_id", "lon"]);
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("景程东苑")
    );
    assert_eq!(app.count("cases").await, before, "nothing was filed");

    // The form: an address alone files the case; an ambiguous one comes back with the address
    // kept and the candidates named beside it, in the page's language.
    let r = app
        .report_form(&office, &[("address", "景程小区3号楼东门")])
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let id = to.strip_prefix("/cases/").unwrap();
    let (_, case) = app.get(&office, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["compound_id"], jingcheng);
    let r = app
        .report_form(&office, &[("address", "景程小区与毅腾商都之间")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("value=\"景程小区与毅腾商都之间\""), "{page}");
    assert!(page.contains("匹配到 2 个小区"), "{page}");
    assert_eq!(app.count("cases").await, before + 1);
}

#[tokio::test]
async fn api_errors_never_echo_a_huge_value() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let huge = "x".repeat(20_000);
    let mut unknown = serde_json::Map::new();
    unknown.insert(huge.clone(), Value::from(1));
    for body in [
        json!({"category": "supplies", "priority": huge, "description": "蔬菜包未送达"}),
        json!({"category": huge, "description": "蔬菜包未送达"}),
        json!({"category": "supplies", "compound_id": huge, "description": "蔬菜包未送达"}),
        Value::Object(unknown),
    ] {
        let (status, answer) = app.send("POST", &office, "/api/v1/cases", &body).await;
        assert_eq!(status, 422, "{answer}");
        let size = answer.to_string().len();
        assert!(size < 1000, "{size} bytes: {answer}");
    }
    let (status, answer) = app.get(&office, &format!("/api/v1/cases/{huge}")).await;
    assert_eq!(status, 422);
    assert!(answer.to_string().len() < 1000, "{answer}");
}

#[tokio::test]
async fn a_method_an_api_route_does_not_take_is_405_with_the_error_body() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    for (method, path, lang, message) in [
        (
            "PUT",
            "/api/v1/cases",
            "en",
            "this resource does not take this method",
        ),
        ("DELETE", "/api/v1/cases/1", "zh", "此资源不接受该请求方法"),
    ] {
        let r = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}?lang={lang}", app.base),
            )
            .bearer_auth(&office)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        let allow = r.headers()["allow"].to_str().unwrap().to_string();
        assert!(allow.contains("GET"), "{allow}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed");
        assert_eq!(body["message"], message);
    }
}
