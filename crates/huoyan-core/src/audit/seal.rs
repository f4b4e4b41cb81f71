//! Sealing the chain with a key kept outside the database. The hash chain alone only shows that
//! the events agree with each other: whoever can write the database can edit an event and
//! recompute every hash after it. The head (last seq and hash) is therefore stored with an
//! HMAC-SHA256 made with the audit key, which the database never holds; a rewritten trail needs
//! a new seal, and only the key's holder can make one.
//!
//! The same key signs checkpoints: statements of the head printed for keeping outside the system.
//! A seal alone cannot show that the trail was rolled back to a head it really had earlier (the
//! old seal is valid for it); a checkpoint kept elsewhere can.
//!
//! Every MAC is over length-prefixed fields behind a purpose label, so a head's seal can never
//! pass for a checkpoint's signature or the other way round.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::GENESIS;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of key material.
pub const KEY_BYTES: usize = 32;

/// The audit key. Its text form is 64 hex digits; `Debug` shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; KEY_BYTES]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an audit key is {} hex digits (found {found} characters)", KEY_BYTES * 2)]
    Length { found: usize },
    #[error("an audit key is hex digits only (0-9, a-f)")]
    NotHex,
}

impl AuditKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// Reads the text form; whitespace around it (a trailing newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != KEY_BYTES * 2 {
            return Err(KeyError::Length {
                found: text.chars().count(),
            });
        }
        let mut bytes = [0u8; KEY_BYTES];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| KeyError::NotHex)?;
        Ok(Self(bytes))
    }

    /// The text form, as a key file holds it (without the newline).
    pub fn to_text(&self) -> String {
        hex::encode(self.0)
    }

    /// A public name for the key: says which key sealed a head without revealing the key.
    pub fn id(&self) -> String {
        let mut id = self.mac("huoyan audit key id", &[]);
        id.truncate(16);
        id
    }

    /// A key of its own for another use (`purpose` names it), so that nothing made with it can
    /// pass for a seal, nor a seal for it.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        self.hmac(purpose, &[]).finalize().into_bytes().into()
    }

    fn hmac(&self, purpose: &str, fields: &[&[u8]]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for f in std::iter::once(purpose.as_bytes()).chain(fields.iter().copied()) {
            m.update(&(f.len() as u64).to_be_bytes());
            m.update(f);
        }
        m
    }

    fn mac(&self, purpose: &str, fields: &[&[u8]]) -> String {
        hex::encode(self.hmac(purpose, fields).finalize().into_bytes())
    }

    /// Compares in constant time; anything that is not hex simply does not match.
    fn matches(&self, purpose: &str, fields: &[&[u8]], mac: &str) -> bool {
        hex::decode(mac).is_ok_and(|m| self.hmac(purpose, fields).verify_slice(&m).is_ok())
    }

    /// The seal of a chain head.
    pub fn seal_head(&self, seq: i64, hash: &str) -> String {
        self.mac(HEAD, &[seq.to_string().as_bytes(), hash.as_bytes()])
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {})", self.id())
    }
}

const HEAD: &str = "huoyan audit head v1";
const CHECKPOINT: &str = "huoyan audit checkpoint v1";

/// The chain head as stored: the last event's seq and hash, its seal and the id of the key that
/// made the seal (`None` in a database no one has written to yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub mac: Option<String>,
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error(
        "the chain head (event {seq}) carries no seal: it was reset outside Huoyan, or the database predates sealed heads (then see `huoyan audit seal`)"
    )]
    Unsealed { seq: i64 },
    #[error(
        "the chain head's seal does not match the key given (id {given}); the head says it was sealed with key {stored}: give the key the server writes with (--audit-key, HUOYAN_AUDIT_KEY_FILE or HUOYAN_AUDIT_KEY); if that is the key given, the head was rewritten outside Huoyan"
    )]
    OtherKey { stored: String, given: String },
    #[error(
        "the chain head's seal (event {seq}) does not match it: the head or the trail before it was rewritten outside Huoyan"
    )]
    Forged { seq: i64 },
}

impl Head {
    /// Whether `key` vouches for this head. A head that was never written to (no event, no seal)
    /// is the one a fresh database starts with and passes; the data check then finds any rows
    /// someone left behind when resetting a trail to it.
    pub fn check(&self, key: &AuditKey) -> Result<(), HeadError> {
        let Some(mac) = &self.mac else {
            return if self.seq == 0 && self.hash == GENESIS {
                Ok(())
            } else {
                Err(HeadError::Unsealed { seq: self.seq })
            };
        };
        let seq = self.seq.to_string();
        if key.matches(HEAD, &[seq.as_bytes(), self.hash.as_bytes()], mac) {
            return Ok(());
        }
        match &self.key_id {
            Some(stored) if *stored != key.id() => Err(HeadError::OtherKey {
                stored: stored.clone(),
                given: key.id(),
            }),
            _ => Err(HeadError::Forged { seq: self.seq }),
        }
    }
}

/// A statement that the trail held `events` events, the last with hash `head`, at `at_ms`; kept
/// outside the system, it later proves that the trail still starts with those events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub events: i64,
    pub head: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a Huoyan audit checkpoint: {0}")]
    Malformed(String),
    #[error(
        "the checkpoint was signed with another key (id {stored}; the key given has id {given})"
    )]
    OtherKey { stored: String, given: String },
    #[error("the checkpoint's signature does not match its content: it was altered or forged")]
    BadSignature,
}

const TITLE: &str = "Huoyan audit checkpoint";

impl Checkpoint {
    fn fields(&self) -> [String; 3] {
        [
            self.events.to_string(),
            self.head.clone(),
            self.at_ms.to_string(),
        ]
    }

    fn signature(&self, key: &AuditKey) -> String {
        let f = self.fields();
        key.mac(
            CHECKPOINT,
            &[f[0].as_bytes(), f[1].as_bytes(), f[2].as_bytes()],
        )
    }

    /// The signed statement, a few lines of text meant to be printed or copied elsewhere.
    pub fn render(&self, key: &AuditKey) -> String {
        format!(
            "{TITLE}\nevents: {}\nhead: {}\nat: {}\nkey: {}\nsignature: {}\n",
            self.events,
            self.head,
            rfc3339_ms(self.at_ms),
            key.id(),
            self.signature(key)
        )
    }

    /// Reads a statement made by `render` and checks its signature with `key`.
    pub fn parse(text: &str, key: &AuditKey) -> Result<Checkpoint, CheckpointError> {
        let bad = |m: &str| CheckpointError::Malformed(m.to_string());
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(TITLE) {
            return Err(bad("the first line is not the title"));
        }
        let mut field = |name: &str| -> Result<String, CheckpointError> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(':'))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| bad(&format!("expected the line `{name}: …`")))
        };
        let events = field("events")?
            .parse::<i64>()
            .ok()
            .filter(|e| *e >= 0)
            .ok_or_else(|| bad("events is not a count"))?;
        let head = field("head")?;
        let at_ms = chrono::DateTime::parse_from_rfc3339(&field("at")?)
            .map_err(|_| bad("at is not an RFC 3339 time"))?
            .timestamp_millis();
        let (stored_key, signature) = (field("key")?, field("signature")?);
        if lines.next().is_some() {
            return Err(bad("lines after the signature"));
        }
        let cp = Checkpoint {
            events,
            head,
            at_ms,
        };
        let f = cp.fields();
        if key.matches(
            CHECKPOINT,
            &[f[0].as_bytes(), f[1].as_bytes(), f[2].as_bytes()],
            &signature,
        ) {
            return Ok(cp);
        }
        if stored_key != key.id() {
            return Err(CheckpointError::OtherKey {
                stored: stored_key,
                given: key.id(),
            });
        }
        Err(CheckpointError::BadSignature)
    }

    /// Given the hash of the trail's event `self.events` (`None`: the trail is shorter), whether
    /// the trail still holds what this checkpoint saw.
    pub fn check(&self, hash_there: Option<&str>, events_now: i64) -> Result<(), CheckpointBreak> {
        let at = rfc3339_ms(self.at_ms);
        if self.events == 0 {
            return Ok(());
        }
        match hash_there {
            None => Err(CheckpointBreak::Shorter {
                at,
                events: self.events,
                now: events_now,
            }),
            Some(h) if h != self.head => Err(CheckpointBreak::Rewritten {
                at,
                seq: self.events,
            }),
            Some(_) => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointBreak {
    #[error(
        "the checkpoint of {at} saw {events} events but the trail now holds {now}: events were removed or the trail was reset"
    )]
    Shorter { at: String, events: i64, now: i64 },
    #[error(
        "event {seq} is not the one the checkpoint of {at} saw (its hash differs): the trail was rewritten up to there"
    )]
    Rewritten { at: String, seq: i64 },
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AuditKey {
        AuditKey::from_bytes([b; KEY_BYTES])
    }

    fn sealed(k: &AuditKey, seq: i64, hash: &str) -> Head {
        Head {
            seq,
            hash: hash.into(),
            mac: Some(k.seal_head(seq, hash)),
            key_id: Some(k.id()),
        }
    }

    #[test]
    fn keys_read_back_from_their_text_and_never_show_in_debug() {
        let k = key(7);
        assert_eq!(
            AuditKey::parse(&format!("{}\n", k.to_text())),
            Ok(k.clone())
        );
        assert_eq!(AuditKey::parse("abc"), Err(KeyError::Length { found: 3 }));
        assert_eq!(AuditKey::parse(&"zz".repeat(32)), Err(KeyError::NotHex));
        assert!(!format!("{k:?}").contains(&k.to_text()));
        assert_eq!(k.id().len(), 16);
        assert_ne!(k.id(), key(8).id());
    }

    #[test]
    fn a_head_passes_only_with_its_own_seal_and_key() {
        let k = key(1);
        let h = "ab".repeat(32);
        assert_eq!(sealed(&k, 5, &h).check(&k), Ok(()));
        // Moved back, or rehashed, with the old seal kept.
        let mut moved = sealed(&k, 5, &h);
        moved.seq = 4;
        assert_eq!(moved.check(&k), Err(HeadError::Forged { seq: 4 }));
        let mut rehashed = sealed(&k, 5, &h);
        rehashed.hash = "cd".repeat(32);
        assert_eq!(rehashed.check(&k), Err(HeadError::Forged { seq: 5 }));
        // A seal that is not even hex.
        let mut garbage = sealed(&k, 5, &h);
        garbage.mac = Some("not a mac".into());
        assert_eq!(garbage.check(&k), Err(HeadError::Forged { seq: 5 }));
        // Another key: named as such, whatever the head says.
        assert!(matches!(
            sealed(&k, 5, &h).check(&key(2)),
            Err(HeadError::OtherKey { .. })
        ));
        // Without a seal only the untouched genesis passes.
        let bare = |seq, hash: &str| Head {
            seq,
            hash: hash.into(),
            mac: None,
            key_id: None,
        };
        assert_eq!(bare(0, GENESIS).check(&k), Ok(()));
        assert_eq!(bare(5, &h).check(&k), Err(HeadError::Unsealed { seq: 5 }));
        assert_eq!(bare(0, &h).check(&k), Err(HeadError::Unsealed { seq: 0 }));
    }

    #[test]
    fn seals_and_signatures_are_not_interchangeable() {
        let k = key(3);
        let cp = Checkpoint {
            events: 5,
            head: "ab".repeat(32),
            at_ms: 1_661_000_000_123,
        };
        let text = cp.render(&k);
        let signature = text
            .lines()
            .last()
            .unwrap()
            .strip_prefix("signature: ")
            .unwrap();
        assert_ne!(signature, k.seal_head(5, &cp.head));
        let head = Head {
            seq: 5,
            hash: cp.head.clone(),
            mac: Some(signature.to_string()),
            key_id: Some(k.id()),
        };
        assert_eq!(head.check(&k), Err(HeadError::Forged { seq: 5 }));
    }

    #[test]
    fn a_checkpoint_reads_back_and_refuses_any_change() {
        let k = key(4);
        let cp = Checkpoint {
            events: 4211,
            head: "9f".repeat(32),
            at_ms: 1_661_000_000_123,
        };
        let text = cp.render(&k);
        assert!(
            text.starts_with("Huoyan audit checkpoint\nevents: 4211\n"),
            "{text}"
        );
        assert!(text.contains("at: 2022-08-20T12:53:20.123Z"), "{text}");
        assert_eq!(Checkpoint::parse(&text, &k), Ok(cp.clone()));
        // Copied by hand: CRLF, indentation and blank lines do not matter.
        let retyped = format!("\n  {}\n", text.replace('\n', "\r\n  "));
        assert_eq!(Checkpoint::parse(&retyped, &k), Ok(cp.clone()));
        for (from, to) in [
            ("events: 4211", "events: 4210"),
            (
                "at: 2022-08-20T12:53:20.123Z",
                "at: 2022-08-20T12:53:21.123Z",
            ),
            (
                &format!("head: {}", cp.head),
                &format!("head: {}", "9e".repeat(32)),
            ),
        ] {
            assert_eq!(
                Checkpoint::parse(&text.replace(from, to), &k),
                Err(CheckpointError::BadSignature),
                "{from}"
            );
        }
        assert!(matches!(
            Checkpoint::parse(&text, &key(5)),
            Err(CheckpointError::OtherKey { .. })
        ));
        // Forged with another key and the right key's id written in: still refused.
        let forged = cp.render(&key(5)).replace(&key(5).id(), &k.id());
        assert_eq!(
            Checkpoint::parse(&forged, &k),
            Err(CheckpointError::BadSignature)
        );
        for broken in [
            "",
            "hello",
            &text.replace("events: 4211", "events: many"),
            &text.replace("events: 4211", "events: -1"),
            &format!("{text}note: mine\n"),
            &text.replace("head:", "hash:"),
        ] {
            assert!(
                matches!(
                    Checkpoint::parse(broken, &k),
                    Err(CheckpointError::Malformed(_))
                ),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_checkpoint_holds_while_the_trail_keeps_its_event() {
        let cp = Checkpoint {
            events: 10,
            head: "aa".repeat(32),
            at_ms: 0,
        };
        assert_eq!(cp.check(Some(&"aa".repeat(32)), 12), Ok(()));
        assert!(matches!(
            cp.check(None, 9),
            Err(CheckpointBreak::Shorter {
                events: 10,
                now: 9,
                ..
            })
        ));
        assert!(matches!(
            cp.check(Some(&"bb".repeat(32)), 12),
            Err(CheckpointBreak::Rewritten { seq: 10, .. })
        ));
        let empty = Checkpoint {
            events: 0,
            head: GENESIS.into(),
            at_ms: 0,
        };
        assert_eq!(empty.check(None, 0), Ok(()));
    }
}
