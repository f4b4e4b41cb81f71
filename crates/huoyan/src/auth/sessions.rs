//! Session and API tokens. Only a token's SHA-256 is stored, so a copy of the database does not
//! let anyone sign in; login attempts are rate-limited per account name and per address.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::Db;

use crate::error::{AppError, AppResult};
use crate::time::now_ms;

pub const COOKIE_TTL_MS: i64 = 12 * 3600 * 1000;
pub const API_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

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
    Ok(())
}

/// Sign-in throttle: 10 attempts a minute per account name, 30 per address.
pub struct LoginLimiter {
    by_name: DefaultKeyedRateLimiter<String>,
    by_addr: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let per_min = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("non-zero literal"));
        Self {
            by_name: RateLimiter::keyed(per_min(10)),
            by_addr: RateLimiter::keyed(per_min(30)),
        }
    }
}

impl LoginLimiter {
    pub fn check(&self, username: &str, addr: Option<IpAddr>) -> AppResult<()> {
        let name_ok = self.by_name.check_key(&username.to_lowercase()).is_ok();
        let addr_ok = addr.is_none_or(|a| self.by_addr.check_key(&a).is_ok());
        if name_ok && addr_ok {
            Ok(())
        } else {
            Err(AppError::RateLimited)
        }
    }
}
