//! API tokens end: on sign-out, when the password changes, when the owner or an administrator
//! revokes one, and expired ones are purged.

use serde_json::{Value, json};

use crate::spawn_app;

async fn account_id(app: &crate::TestApp, username: &str) -> i64 {
    app.id_of(&format!(
        "SELECT id FROM accounts WHERE username = '{username}'"
    ))
    .await
}

async fn delete(app: &crate::TestApp, token: &str, path: &str) -> u16 {
    app.client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_new_password_ends_every_token_of_the_account() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (office, office2) = (app.token("office").await, app.token("office").await);
    let commander = app.token("commander").await;
    let id = account_id(&app, "office").await;
    let (status, body) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/accounts/{id}"),
            &json!({"password": "a-new-long-secret"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 401);
    assert_eq!(app.get(&office2, "/api/v1/me").await.0, 401);
    assert_eq!(
        app.get(&commander, "/api/v1/me").await.0,
        200,
        "other accounts keep theirs"
    );
    // A change that leaves the password alone ends nothing.
    let r = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": "office", "password": "a-new-long-secret"}))
        .send()
        .await
        .unwrap();
    let office = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/accounts/{id}"),
            &json!({"role": "office"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 200);
}

#[tokio::test]
async fn an_api_client_signs_out_with_its_token() {
    let app = spawn_app(true).await;
    let (office, other) = (app.token("office").await, app.token("office").await);
    assert_eq!(delete(&app, &office, "/api/v1/auth/token").await, 204);
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 401);
    assert_eq!(
        app.get(&other, "/api/v1/me").await.0,
        200,
        "only the calling token ends"
    );
    assert_eq!(delete(&app, &office, "/api/v1/auth/token").await, 401);
}

#[tokio::test]
async fn tokens_are_listed_and_revoked_by_their_owner_or_an_administrator() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (office, office2) = (app.token("office").await, app.token("office").await);
    let commander = app.token("commander").await;
    let office_id = account_id(&app, "office").await;

    let (status, list) = app.get(&office, "/api/v1/auth/tokens").await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    for t in items {
        assert_eq!(t["kind"], "api");
        assert_eq!(t["account_id"], office_id);
        assert!(t["created_at"].is_string() && t["expires_at"].is_string());
    }
    assert_eq!(
        items.iter().filter(|t| t["current"] == true).count(),
        1,
        "the calling token is marked"
    );
    let text = list.to_string();
    for secret in [&office, &office2] {
        assert!(!text.contains(secret.as_str()), "the token never leaves");
    }
    let hash_of_office: String = {
        use sqlx::Row;
        sqlx::query("SELECT token_hash FROM sessions WHERE account_id = $1")
            .bind(office_id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert!(!text.contains(&hash_of_office), "nor its hash");
    let second = items.iter().find(|t| t["current"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();

    // Another account sees only its own, and may neither list nor revoke office's.
    let (_, theirs) = app.get(&commander, "/api/v1/auth/tokens").await;
    let theirs = theirs["items"].as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert!(theirs.iter().all(|t| t["account_id"] != office_id));
    let (status, _) = app
        .get(
            &commander,
            &format!("/api/v1/auth/tokens?account_id={office_id}"),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        delete(&app, &commander, &format!("/api/v1/auth/tokens/{second}")).await,
        404
    );
    assert_eq!(app.get(&office2, "/api/v1/me").await.0, 200);

    // The administrator lists and revokes any account's.
    let (status, all) = app
        .get(
            &admin,
            &format!("/api/v1/auth/tokens?account_id={office_id}"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        delete(&app, &admin, &format!("/api/v1/auth/tokens/{second}")).await,
        204
    );
    assert_eq!(app.get(&office2, "/api/v1/me").await.0, 401);
    assert_eq!(
        delete(&app, &admin, &format!("/api/v1/auth/tokens/{second}")).await,
        404,
        "gone"
    );

    // The owner revokes their own.
    let (_, list) = app.get(&office, "/api/v1/auth/tokens").await;
    let own = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        delete(&app, &office, &format!("/api/v1/auth/tokens/{own}")).await,
        204
    );
    assert_eq!(app.get(&office, "/api/v1/me").await.0, 401);
}

/// Signing out of the pages ends the cookie session on the server, not only in the browser.
#[tokio::test]
async fn signing_out_of_the_pages_ends_the_session() {
    let app = spawn_app(true).await;
    let client = crate::page_client();
    let form = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::csrf_of(&form);
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "office"),
            ("password", "huoyan-demo"),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find_map(|c| {
            c.strip_prefix("huoyan_session=")
                .map(|v| v.split(';').next().unwrap().to_string())
        })
        .unwrap();
    let page = client
        .get(format!("{}/notifications", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page_csrf = crate::csrf_of(&page);
    let r = client
        .post(format!("{}/logout", app.base))
        .form(&[("_csrf", page_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The old cookie, replayed by hand, no longer signs anyone in.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", format!("huoyan_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn expired_sessions_are_purged() {
    use huoyan::auth::sessions::{purge_expired, token_hash};
    let app = spawn_app(true).await;
    let live = app.token("office").await;
    let stale = app.token("commander").await;
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE token_hash = $1")
        .bind(token_hash(&stale))
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(app.get(&stale, "/api/v1/me").await.0, 401);
    let before = app.count("sessions").await;
    assert_eq!(purge_expired(&app.db).await.unwrap(), 1);
    assert_eq!(app.count("sessions").await, before - 1);
    assert_eq!(app.get(&live, "/api/v1/me").await.0, 200, "live ones stay");
    assert_eq!(purge_expired(&app.db).await.unwrap(), 0);
}
