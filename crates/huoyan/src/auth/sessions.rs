//! Session and API tokens. Only a token's SHA-256 is stored, so a copy of the database does not
//! let anyone sign in; login attempts are throttled (`super::throttle`) after their lengths are
//! checked, so nothing an anonymous caller sends is kept unbounded.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::throttle::{Policy, Throttle, origin};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::time::now_ms;

/// A page session lasts one long shift: people sign in again each working day.
pub const COOKIE_TTL_MS: i64 = 12 * 3600 * 1000;
/// A program's token lasts a week: long enough for a script or an integration run by a duty
/// rota to sign in once per weekly shift cycle, short enough that a token copied into a chat or a
/// config file stops working within days, and a revocation missed by hand ends on its own.
pub const API_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Longest username accepted at sign-in, in bytes: no account can have a longer one
/// (`accounts::check_new`).
pub const MAX_USERNAME: usize = 64;

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Issued {
    pub token: String,
    pub csrf: String,
    pub expires_at_ms: i64,
}

/// Checks a username and password; returns the account id when they match an enabled account.
pub async fn check_credentials(db: &Db, username: &str, password: &str) -> AppResult<Option<i64>> {
    let row =
        sqlx::query("SELECT id, password_hash FROM accounts WHERE username = $1 AND disabled = 0")
            .bind(username)
            .fetch_optional(&db.pool)
            .await?;
    let Some(row) = row else {
        // Spend the same effort as a real check so timing does not reveal which names exist.
        let _ = super::password::verify(password, &DUMMY_HASH);
        return Ok(None);
    };
    let (id, stored): (i64, String) = (row.try_get("id")?, row.try_get("password_hash")?);
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || super::password::verify(&password, &stored))
        .await
        .map_err(anyhow::Error::from)?;
    Ok(ok.then_some(id))
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    super::password::hash("no such account").expect("hashing a constant cannot fail")
});

/// Opens a session. Sessions are not audited events: signing in changes no record of the city.
pub async fn issue(db: &Db, account_id: i64, kind: &str) -> AppResult<Issued> {
    let token = new_token();
    let csrf = new_token();
    let now = now_ms();
    let ttl = if kind == "api" {
        API_TTL_MS
    } else {
        COOKIE_TTL_MS
    };
    sqlx::query("INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(token_hash(&token))
        .bind(account_id)
        .bind(kind)
        .bind(&csrf)
        .bind(now)
        .bind(now + ttl)
        .execute(&db.pool)
        .await?;
    Ok(Issued {
        token,
        csrf,
        expires_at_ms: now + ttl,
    })
}

pub async fn revoke(db: &Db, token: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    super::remembered::forget_all();
    Ok(())
}

/// Refuses over-long sign-in fields before anything else is done with them.
pub fn check_lengths(username: &str, password: &str) -> AppResult<()> {
    let mut errors = Vec::new();
    if username.len() > MAX_USERNAME {
        errors.push(FieldError::new(
            "username",
            format!("at most {MAX_USERNAME} characters"),
        ));
    }
    if password.chars().count() > super::password::MAX_CHARS {
        errors.push(FieldError::new(
            "password",
            format!("at most {} characters", super::password::MAX_CHARS),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// The server's sign-in throttle: `Throttle` on the system clock, shared by every request.
pub struct LoginLimiter {
    throttle: Mutex<Throttle>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            throttle: Mutex::new(Throttle::new(Policy::default())),
        }
    }
}

impl LoginLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        // The throttle's methods cannot panic half-way; its state stays sound after one elsewhere.
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets an attempt through (counted as a failure until `succeeded`), or says how long to wait.
    pub fn attempt(&self, username: &str, addr: Option<IpAddr>) -> Result<(), Throttled> {
        self.lock()
            .attempt(username, origin(addr), Instant::now())
            .map_err(Throttled)
    }

    /// The attempt let through had the right password (or could not be checked): no failure.
    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>) {
        self.lock()
            .succeeded(username, origin(addr), Instant::now());
    }
}

/// A sign-in held back: 429 with `Retry-After`.
#[derive(Debug)]
pub struct Throttled(pub Duration);

impl Throttled {
    /// Whole seconds to wait, at least one.
    pub fn secs(&self) -> u64 {
        (self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)).max(1)
    }
}

/// Why a sign-in got no token.
#[derive(Debug)]
pub enum Refused {
    Error(AppError),
    Throttled(Throttled),
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Self::Error(e)
    }
}

impl From<Throttled> for Refused {
    fn from(t: Throttled) -> Self {
        Self::Throttled(t)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Error(e) => e.into_response(),
            Self::Throttled(t) => (
                [(axum::http::header::RETRY_AFTER, t.secs().to_string())],
                AppError::RateLimited,
            )
                .into_response(),
        }
    }
}

/// Checks lengths, the throttle and the password, in that order; the account id on success.
pub async fn sign_in(
    db: &Db,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<i64, Refused> {
    check_lengths(username, password)?;
    limiter.attempt(username, addr)?;
    // Were this request dropped while the hash is checked, its attempt stays counted as a
    // failure: the safe side.
    let checked = check_credentials(db, username, password).await;
    if !matches!(checked, Ok(None)) {
        limiter.succeeded(username, addr);
    }
    Ok(checked?.ok_or(AppError::Unauthenticated)?)
}

/// What a session is, as the document shows `TokenInfo.kind`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TokenKind {
    /// A bearer token for programs.
    Api,
    /// A page session.
    Cookie,
}

/// One session or token as its owner sees it: never the token or its hash.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub account_id: i64,
    /// `api` for a bearer token, `cookie` for a page session.
    #[schema(value_type = TokenKind)]
    pub kind: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// True for the token this request was sent with.
    pub current: bool,
}

/// An account's unexpired sessions and tokens, newest first.
pub async fn list(
    db: &Db,
    account_id: i64,
    current: Option<&str>,
    paging: &crate::http::Paging,
) -> AppResult<crate::http::ListPage<TokenInfo>> {
    let current = current.map(token_hash).unwrap_or_default();
    let mut filter = crate::db::Sql::new(" WHERE account_id = ");
    filter
        .bind(account_id)
        .push(" AND expires_at > ")
        .bind(now_ms());
    crate::http::fetch_page(
        db,
        "id, account_id, kind, created_at, expires_at, token_hash",
        "sessions",
        &filter,
        "id DESC",
        paging,
        |r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                kind: r.try_get("kind")?,
                created_at: crate::time::rfc3339(r.try_get("created_at")?),
                expires_at: crate::time::rfc3339(r.try_get("expires_at")?),
                current: r.try_get::<String, _>("token_hash")? == current,
            })
        },
    )
    .await
}

/// Ends session `id` if it belongs to `owner` (any account's when `owner` is `None`); whether
/// there was one to end.
pub async fn revoke_id(db: &Db, id: i64, owner: Option<i64>) -> AppResult<bool> {
    let done = match owner {
        Some(owner) => sqlx::query(
            "DELETE FROM sessions WHERE id = $1 AND account_id = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(owner),
        None => sqlx::query("DELETE FROM sessions WHERE id = $1 AND expires_at > $2").bind(id),
    }
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    super::remembered::forget_all();
    Ok(done.rows_affected() > 0)
}

/// Deletes the sessions and tokens that have expired (they already sign nobody in); how many.
/// The server runs it now and then so the table holds only live sessions.
pub async fn purge_expired(db: &Db) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// The server's job: purge expired sessions once an hour.
pub async fn purge_hourly(db: Db) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match purge_expired(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired sessions purged"),
            Err(e) => tracing::warn!(error = %e, "session purge failed"),
        }
    }
}
