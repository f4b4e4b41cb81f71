//! The headers every answer carries (#10 item 14): a Content-Security-Policy that lets no inline
//! script run (and the pages hold none), no referrer to other sites, nothing signed-in kept by a
//! cache, and session cookies marked `Secure` when the server says it is behind TLS.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE};

use crate::{TestApp, spawn_app, spawn_app_with};

/// A browser-like client signed in as `username` through the login form.
async fn signed_in(app: &TestApp, username: &str) -> (reqwest::Client, Vec<String>) {
    let client = crate::page_client();
    let form = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let mut cookies: Vec<String> = form
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let form = form.text().await.unwrap();
    let csrf = crate::csrf_of(&form);
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", username),
            ("password", huoyan::auth::password::DEMO_PASSWORD),
            ("_csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in");
    cookies.extend(
        r.headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string()),
    );
    (client, cookies)
}

#[tokio::test]
async fn pages_and_api_answers_carry_the_security_headers_and_no_inline_script() {
    let app = spawn_app(true).await;
    let (admin, cookies) = signed_in(&app, "admin").await;
    // The office files reports, which the admin may not.
    let (office, _) = signed_in(&app, "office").await;
    assert!(
        cookies.iter().all(|c| !c.contains("Secure")),
        "plain HTTP by default: {cookies:?}"
    );
    let case = app.id_of("SELECT MIN(id) FROM cases").await;
    let order = app.id_of("SELECT MIN(id) FROM control_orders").await;
    let region = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let pages = [
        "/".to_string(),
        "/cases".into(),
        "/cases/new".into(),
        format!("/cases/{case}"),
        "/cases/figures".into(),
        "/check-ins".into(),
        "/notifications".into(),
        "/orders".into(),
        "/orders/new".into(),
        format!("/orders/{order}"),
        "/people".into(),
        "/regions".into(),
        format!("/regions/{region}"),
        "/teams".into(),
    ];
    for page in &pages {
        let get = |client: &reqwest::Client| client.get(format!("{}{page}", app.base)).send();
        let mut r = get(&admin).await.unwrap();
        if r.status() == 403 {
            r = get(&office).await.unwrap();
        }
        assert_eq!(r.status(), 200, "{page}");
        let h = r.headers().clone();
        let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{page}: {csp}"
        );
        assert_eq!(h[REFERRER_POLICY], "same-origin", "{page}");
        assert_eq!(h[CACHE_CONTROL], "no-store", "{page}: a signed-in page");
        let html = r.text().await.unwrap();
        // Every script is a file of the server's (the policy would block an inline one), and no
        // element carries a style or an event handler of its own.
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(
                tag.contains(" src=\"/static/"),
                "{page}: inline script {tag}"
            );
        }
        for attribute in [
            " style=\"",
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
        ] {
            assert!(!html.contains(attribute), "{page} has{attribute}");
        }
    }
    // The API too, and the built-in files may be kept a little.
    let token = app.token("admin").await;
    let r = app
        .client
        .get(format!("{}/api/v1/cases/{case}", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    for asset in ["/static/app.css", "/static/report.js", "/static/case.js"] {
        let r = app
            .client
            .get(format!("{}{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(r.headers()[CACHE_CONTROL], "public, max-age=300", "{asset}");
    }
}

#[tokio::test]
async fn behind_tls_the_session_cookies_are_secure() {
    let app = spawn_app_with(
        true,
        huoyan::app::Settings {
            secure_cookies: true,
            ..Default::default()
        },
    )
    .await;
    let (_, cookies) = signed_in(&app, "office").await;
    let named = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
            .unwrap_or_else(|| panic!("{name} in {cookies:?}"))
            .clone()
    };
    for name in ["huoyan_login_csrf", huoyan::auth::SESSION_COOKIE] {
        let cookie = named(name);
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}
