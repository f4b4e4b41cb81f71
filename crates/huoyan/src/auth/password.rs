//! Password hashing with argon2id (the crate's defaults follow OWASP's recommendation).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::{AppError, AppResult};

/// Only `huoyan demo` may create accounts with this password; everywhere else it is refused.
pub const DEMO_PASSWORD: &str = "huoyan-demo";

/// Longest password accepted, set or tried: far past any passphrase, short of making argon2's
/// input a way to spend the server's memory or time.
pub const MAX_CHARS: usize = 1024;

pub fn check_strength(password: &str, allow_demo: bool) -> AppResult<()> {
    if password == DEMO_PASSWORD && !allow_demo {
        return Err(AppError::invalid(
            "password",
            "the demo password may only be used by `huoyan demo`",
        ));
    }
    let chars = password.chars().count();
    if chars < 8 {
        return Err(AppError::invalid("password", "use at least 8 characters"));
    }
    if chars > MAX_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("at most {MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_policy() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
        assert!(check_strength(DEMO_PASSWORD, false).is_err());
        assert!(check_strength(DEMO_PASSWORD, true).is_ok());
        assert!(check_strength("short", false).is_err());
        assert!(check_strength(&"x".repeat(MAX_CHARS), false).is_ok());
        assert!(check_strength(&"x".repeat(MAX_CHARS + 1), false).is_err());
    }
}
