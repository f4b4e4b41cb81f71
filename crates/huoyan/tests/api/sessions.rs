//! Signing in: bearer tokens, the login page with its cookie session and CSRF, throttling.

use serde_json::json;

use crate::spawn_app;

#[tokio::test]
async fn wrong_passwords_are_refused_and_throttled() {
    let app = spawn_app(true).await;
    let url = format!("{}/api/v1/auth/token", app.base);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = app
            .client
            .post(&url)
            .json(&json!({"username": "office", "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "five typos are free");
    assert!(
        statuses[5..].iter().all(|s| *s == 401 || *s == 429) && statuses.contains(&429),
        "then the address must wait: {statuses:?}"
    );
    // An unknown name answers as a known one does.
    let (status, _) = try_token(&client_from(4), &app, "nobody", "whatever1").await;
    assert_eq!(status, 401);
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
    let client = crate::page_client();
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
    let csrf = crate::csrf_of(&form);
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
    let csrf2 = crate::csrf_of(&form);
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
    let token = crate::csrf_of(&page);
    let community = app
        .id_of("SELECT id FROM regions WHERE code = '230602022001'")
        .await
        .to_string();
    let bad = client
        .post(format!("{}/orders", app.base))
        .form(&[
            ("_csrf", token.as_str()),
            ("number", "2022年第11号"),
            ("level", "medium_risk"),
            ("effective_from", "2022-08-25T08:00"),
            ("region_ids", "999999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text().await.unwrap().contains("没有该区域"),
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
            ("region_ids", community.as_str()),
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

/// A client whose requests come from 127.0.0.`n` (all of 127/8 is loopback on Linux), so a test
/// can play several addresses against the throttle.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, n]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends a username and password to the token endpoint; the status and Retry-After seconds.
async fn try_token(
    client: &reqwest::Client,
    app: &crate::TestApp,
    username: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let r = client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (r.status().as_u16(), retry)
}

/// The login form's CSRF value, with its cookie kept by `client`.
async fn login_csrf(client: &reqwest::Client, app: &crate::TestApp) -> String {
    crate::page_csrf(client, app, "/login").await
}

/// A unique 1 MB name per request once grew the server by 12 MB a request, kept forever by the
/// throttle. Over-long names and passwords are now refused before anything is kept.
#[tokio::test]
async fn overlong_credentials_are_refused_before_anything_is_kept() {
    let app = spawn_app(true).await;
    let long = "名".repeat(1 << 18);
    let (status, _) = try_token(&app.client, &app, &long, "whatever1").await;
    assert_eq!(status, 422);
    let r = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": format!("{long}x"), "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(crate::fields(&r.json().await.unwrap()), ["username"]);
    let r = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": "office", "password": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(crate::fields(&r.json().await.unwrap()), ["password"]);
    // The login page refuses it too, names the field, and does not echo the name back.
    let client = crate::page_client();
    let csrf = login_csrf(&client, &app).await;
    let r = client
        .post(format!("{}/login?lang=en", app.base))
        .form(&[
            ("username", long.as_str()),
            ("password", "whatever1"),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Username: at most 64 characters"), "{page}");
    assert!(page.len() < 100_000, "the name is not shown back");
    // The owner still signs in.
    assert_eq!(
        try_token(&app.client, &app, "office", "huoyan-demo")
            .await
            .0,
        200
    );
}

/// Ten wrong passwords from one address used to lock `office` out for everyone, its owner
/// included. Now only the guessing address is slowed.
#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out() {
    let app = spawn_app(true).await;
    let attacker = client_from(2);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, retry) = try_token(&attacker, &app, "office", "guess-guess").await;
        if status == 429 {
            assert!(retry.is_some_and(|s| s > 0), "429 says when to retry");
        }
        statuses.push(status);
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "the guesser is slowed: {statuses:?}"
    );
    assert_eq!(
        try_token(&attacker, &app, "office", "huoyan-demo").await.0,
        429,
        "the guessing address waits even with the right password"
    );
    let owner = client_from(3);
    assert_eq!(
        try_token(&owner, &app, "office", "huoyan-demo").await.0,
        200,
        "the owner signs in from their own address"
    );
}

/// One password tried over 60 accounts from 30 addresses (two tries each, under every
/// per-address and per-account limit) is held back by the server-wide budget of failures.
#[tokio::test]
async fn password_spraying_is_slowed_before_it_has_tried_every_account() {
    use sqlx::Row;
    let app = spawn_app(true).await;
    let names: Vec<String> = sqlx::query("SELECT username FROM accounts ORDER BY id LIMIT 60")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(names.len(), 60);
    let clients: Vec<_> = (10..40).map(client_from).collect();
    let mut statuses = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (status, retry) =
            try_token(&clients[i % clients.len()], &app, name, "Summer2022!").await;
        if status == 429 {
            assert!(retry.is_some_and(|s| s > 0), "429 says when to retry");
        }
        statuses.push(status);
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        tried < names.len(),
        "the spray was slowed before it tried every account: {statuses:?}"
    );
    // A user on a fresh address is not held back by it.
    assert_eq!(
        try_token(&client_from(50), &app, "office", "huoyan-demo")
            .await
            .0,
        200
    );
}

/// `next` values that browsers would follow off the site (`/\` reads as `//`, tabs and newlines
/// are dropped), as they appear raw in a query string.
const HOSTILE_NEXT: &[&str] = &[
    "/%5Cevil.example/phish",
    "/%5cevil.example",
    "/\\evil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D%0ASet-Cookie:%20a=b",
    "https://evil.example",
    "javascript:alert(1)",
    "%5C%5Cevil.example",
    "",
];

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn redirects_after_a_language_switch_or_login_stay_on_the_site() {
    let app = spawn_app(true).await;
    let client = client_from(1);
    let token = app.token("office").await;
    for next in HOSTILE_NEXT {
        let r = client
            .get(format!("{}/lang/en?next={next}", app.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{next}: {}", r.status());
        assert_eq!(location(&r), "/", "/lang with next={next}");
        // Signed in, /login sends the browser on at once.
        let r = client
            .get(format!("{}/login?next={next}", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/", "/login (signed in) with next={next}");
        // Signed out, the form carries `next` to the POST, which redirects after signing in.
        let page = client
            .get(format!("{}/login?next={next}", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("name=\"next\" value=\"/\""),
            "/login form with next={next}"
        );
    }
    for next in HOSTILE_NEXT {
        let cookies = crate::page_client();
        let csrf = login_csrf(&cookies, &app).await;
        let r = cookies
            .post(format!("{}/login", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "username=office&password=huoyan-demo&_csrf={csrf}&next={next}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "POST /login with next={next}");
        assert_eq!(location(&r), "/", "POST /login with next={next}");
    }
    // A local path is still followed.
    let r = client
        .get(format!("{}/lang/en?next=/cases%3Fview%3Dmine", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/cases?view=mine");
}
