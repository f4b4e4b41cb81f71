//! Sign-in codes: the QR code posted at a post holds the post, the day and a MAC of both under
//! the server's key, so a code works on its own day at its own post only, and nobody can make
//! one at home. Late and early are measured against the published shift.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What a sign-in code's MAC is made for (the key is derived for this use alone).
pub const PURPOSE: &str = "huoyan sign-in code v1";
/// Hex characters of the MAC a code carries: 80 bits, short enough for a small QR code.
const MAC_HEX: usize = 20;
const PREFIX: &str = "HYQD";

/// Minutes before the start one may sign in, and after it one is late.
pub const EARLY_MINUTES: i64 = 60;
pub const LATE_AFTER_MINUTES: i64 = 10;
/// Metres from the site past which a sign-in is flagged (never refused).
pub const FAR_METRES: f64 = 500.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a sign-in code of any post")]
    Forged,
    #[error("this code is of {0}: scan the code posted at the post today")]
    OtherDay(String),
}

fn mac(key: &[u8], post: i64, day: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for f in [post.to_string().as_bytes(), day.as_bytes()] {
        m.update(&(f.len() as u64).to_be_bytes());
        m.update(f);
    }
    m
}

/// The code of post `post` on `day` (YYYY-MM-DD).
pub fn make(key: &[u8], post: i64, day: &str) -> String {
    let tag = hex::encode(mac(key, post, day).finalize().into_bytes());
    format!("{PREFIX}.{post}.{day}.{}", &tag[..MAC_HEX])
}

/// The post of a genuine code for one of `days` (today, and yesterday for a night shift still
/// running); a code of another day or one nobody made is refused, saying which.
pub fn check(key: &[u8], code: &str, days: &[&str]) -> Result<(i64, String), CodeError> {
    let parts: Vec<&str> = code.trim().split('.').collect();
    let [PREFIX, post, day, tag] = parts[..] else {
        return Err(CodeError::Forged);
    };
    let post: i64 = post.parse().map_err(|_| CodeError::Forged)?;
    let tag = hex::decode(tag).map_err(|_| CodeError::Forged)?;
    if tag.len() * 2 != MAC_HEX || mac(key, post, day).verify_truncated_left(&tag).is_err() {
        return Err(CodeError::Forged);
    }
    if !days.contains(&day) {
        return Err(CodeError::OtherDay(day.to_string()));
    }
    Ok((post, day.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key the server keeps";

    #[test]
    fn a_code_works_at_its_post_on_its_day_only() {
        let code = make(KEY, 7, "2022-09-06");
        assert_eq!(
            check(KEY, &code, &["2022-09-06"]),
            Ok((7, "2022-09-06".into()))
        );
        assert_eq!(
            check(KEY, &code, &["2022-09-07"]),
            Err(CodeError::OtherDay("2022-09-06".into()))
        );
        // Yesterday's code still serves a night shift that began yesterday.
        assert!(check(KEY, &code, &["2022-09-07", "2022-09-06"]).is_ok());
    }

    #[test]
    fn a_made_up_or_altered_code_is_forged() {
        let code = make(KEY, 7, "2022-09-06");
        let days = ["2022-09-06", "2022-09-07"];
        // Another post's number or another day under the same MAC.
        let moved = code.replacen(".7.", ".8.", 1);
        assert_eq!(check(KEY, &moved, &days), Err(CodeError::Forged));
        let redated = code.replace("2022-09-06", "2022-09-07");
        assert_eq!(check(KEY, &redated, &days), Err(CodeError::Forged));
        assert_eq!(check(b"another key", &code, &days), Err(CodeError::Forged));
        for junk in [
            "",
            "HYQD",
            "HYQD.7.2022-09-06",
            "HYQD.x.2022-09-06.00",
            "hello",
        ] {
            assert_eq!(check(KEY, junk, &days), Err(CodeError::Forged), "{junk}");
        }
        let short = &code[..code.len() - 2];
        assert_eq!(check(KEY, short, &days), Err(CodeError::Forged));
    }
}
