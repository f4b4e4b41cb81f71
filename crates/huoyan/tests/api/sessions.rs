//! Signing in: bearer tokens, the login page with its cookie session and CSRF, throttling.

use serde_json::json;

use crate::spawn_app;

#[tokio::test]
async fn wrong_passwords_are_refused_and_throttled() {
    let app = spawn_app(true).await;
    let url = format!("{}/api/v1/auth/token", app.base);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = app
            .client
            .post(&url)
            .json(&json!({"username": "office", "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(
        statuses[11], 429,
        "the eleventh attempt in a minute is throttled"
    );
    let r = app
        .client
        .post(&url)
        .json(&json!({"username": "nobody", "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(format!("{}/api/v1/people", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(format!("{}/api/v1/people", app.base))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_disabled_account_loses_its_tokens() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let office = app.token("office").await;
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 200);
    let id = app
        .id_of("SELECT id FROM accounts WHERE username = 'office'")
        .await;
    let (status, body) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/accounts/{id}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 401);
}

#[tokio::test]
async fn accounts_need_a_scope_and_refuse_the_demo_password() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (status, body) = app
        .send(
            "POST",
            &admin,
            "/api/v1/accounts",
            &json!({"username": "sup2", "password": "huoyan-demo", "role": "supervisor"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(crate::fields(&body), ["password", "scope"]);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await;
    let (status, body) = app.send("POST", &admin, "/api/v1/accounts", &json!({"username": "sup2", "password": "a-long-secret", "role": "supervisor", "scope": {"region_id": compound}})).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        !body.to_string().contains("argon2"),
        "the hash never leaves the server"
    );
}

/// The page flow: login form with its CSRF cookie, session cookie, CSRF on every form.
#[tokio::test]
async fn pages_sign_in_with_a_session_and_check_csrf() {
    let app = spawn_app(true).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/regions", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "signed-out visitors are sent to the login page"
    );
    let form = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // A forged login form (no matching cookie value) is refused.
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "commander"),
            ("password", "huoyan-demo"),
            ("_csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let form = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf2 = form
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(csrf, csrf2);
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "commander"),
            ("password", "huoyan-demo"),
            ("_csrf", &csrf2),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("huoyan_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let home = client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("指挥长"), "Chinese by default");
    let en = client
        .get(format!("{}/?lang=en", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Commander"));
    // A cookie-authenticated API write without the CSRF header is refused…
    let r = client
        .post(format!("{}/api/v1/control-orders", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(crate::fields(&r.json().await.unwrap()), ["_csrf"]);
    // …and so is a page form without its token, which is re-shown with the message.
    let r = client
        .post(format!("{}/orders", app.base))
        .form(&[("number", "2022年第11号"), ("_csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let orders = app.count("control_orders").await;
    let page = client
        .get(format!("{}/orders/new", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let bad = client
        .post(format!("{}/orders", app.base))
        .form(&[
            ("_csrf", token.as_str()),
            ("number", "2022年第11号"),
            ("level", "medium_risk"),
            ("effective_from", "2022-08-25T08:00"),
            ("region_codes", "999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("没有区划代码为 999 的区域"),
        "the message in the page's language"
    );
    assert_eq!(app.count("control_orders").await, orders);
    let ok = client
        .post(format!("{}/orders", app.base))
        .form(&[
            ("_csrf", token.as_str()),
            ("number", "2022年第11号"),
            ("level", "medium_risk"),
            ("effective_from", "2022-08-25T08:00"),
            ("region_codes", "230602022001"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(app.count("control_orders").await, orders + 1);
    let from: i64 = app
        .id_of("SELECT effective_from FROM control_orders WHERE number = '2022年第11号'")
        .await;
    assert_eq!(from, 1_661_385_600_000, "08:00 Beijing time is 00:00 UTC");
    let r = client
        .post(format!("{}/logout", app.base))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        client
            .get(format!("{}/", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}
