//! The audit trail's hash chain. Each event stores the hash of the one before it, so editing,
//! deleting or reordering any stored event breaks every hash after it and `verify` names the
//! first event that no longer matches. The head is sealed with a key kept outside the database
//! (`seal`), so a trail rewritten with recomputed hashes fails too, and the rows the trail
//! vouches for are checked against their latest events (`facts`), or, for scans, against the
//! hash their batch's event sealed (`scans`).
//!
//! Verification, in order: the head's seal; every event's link and hash from the first; that the
//! last event is the one the head names; that the trail still holds each checkpoint's event;
//! then the scans' batches and the vouched rows. The first thing that fails is the `Finding`.

pub mod facts;
pub mod scans;
pub mod seal;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first event links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at_ms: i64,
    /// Account id of the actor; `None` for the system itself (migrations, demo loader, jobs).
    pub actor_id: Option<i64>,
    pub actor: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    /// JSON text: what changed (before/after of the fields touched).
    pub summary: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// The hash this event must carry given its content and `prev_hash`. Fields are length-prefixed
    /// so that no two different events serialise to the same bytes.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let actor_id = self.actor_id.map(|a| a.to_string()).unwrap_or_default();
        let (seq, at_ms) = (self.seq.to_string(), self.at_ms.to_string());
        let parts: [&[u8]; 9] = [
            self.prev_hash.as_bytes(),
            seq.as_bytes(),
            at_ms.as_bytes(),
            actor_id.as_bytes(),
            self.actor.as_bytes(),
            self.entity.as_bytes(),
            self.entity_id.as_bytes(),
            self.action.as_bytes(),
            self.summary.as_bytes(),
        ];
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        hex::encode(h.finalize())
    }

    /// Fills `hash` for an event about to be appended after `prev_hash`.
    pub fn seal(mut self, prev_hash: &str) -> Self {
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {seq}: its content does not match its stored hash (edited)")]
    Tampered { seq: i64 },
    #[error(
        "event {seq}: it does not link to the event before it (inserted, deleted or reordered)"
    )]
    Unlinked { seq: i64 },
    #[error("event {seq}: sequence gap, expected {expected}")]
    Gap { seq: i64, expected: i64 },
}

impl ChainBreak {
    pub fn seq(&self) -> i64 {
        match self {
            Self::Tampered { seq } | Self::Unlinked { seq } | Self::Gap { seq, .. } => *seq,
        }
    }
}

/// Walks events in sequence order, starting from `GENESIS` and seq 1. Streaming so that a chain
/// of millions of events is checked in constant memory; returns how many events matched.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_hash: String,
    next_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS.to_string(),
            next_seq: 1,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if event.seq != self.next_seq {
            return Err(ChainBreak::Gap {
                seq: event.seq,
                expected: self.next_seq,
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: event.seq });
        }
        if event.compute_hash() != event.hash {
            return Err(ChainBreak::Tampered { seq: event.seq });
        }
        self.prev_hash = event.hash.clone();
        self.next_seq += 1;
        Ok(())
    }

    pub fn verified(&self) -> i64 {
        self.next_seq - 1
    }

    /// The hash of the last verified event: must equal the stored chain head.
    pub fn head(&self) -> &str {
        &self.prev_hash
    }

    /// After the last event: whether the trail ends where `head` says. Writers append events
    /// and move the head in one transaction, so in one snapshot the two always agree.
    pub fn finish(&self, head: &seal::Head) -> Result<i64, Finding> {
        let events = self.verified();
        if events < head.seq {
            Err(Finding::Truncated {
                events,
                head_seq: head.seq,
            })
        } else if events > head.seq {
            Err(Finding::PastHead {
                seq: head.seq + 1,
                head_seq: head.seq,
            })
        } else if self.head() != head.hash {
            Err(Finding::NotTheHead { seq: head.seq })
        } else {
            Ok(events)
        }
    }
}

/// The first thing verification found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    #[error("{0}")]
    Head(#[from] seal::HeadError),
    #[error("{at} ({verified} events before it match)")]
    Chain { verified: i64, at: ChainBreak },
    #[error(
        "the chain head says the trail ends at event {head_seq} but only {events} events remain: events after {events} were removed"
    )]
    Truncated { events: i64, head_seq: i64 },
    #[error(
        "event {seq} lies past the chain head (event {head_seq}): it was written outside Huoyan"
    )]
    PastHead { seq: i64, head_seq: i64 },
    #[error("event {seq} is not the event the chain head names (their hashes differ)")]
    NotTheHead { seq: i64 },
    #[error("{0}")]
    Checkpoint(#[from] seal::CheckpointBreak),
    #[error("{0}")]
    Data(#[from] facts::DataBreak),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut prev = GENESIS.to_string();
        (1..=n as i64)
            .map(|seq| {
                let e = AuditEvent {
                    seq,
                    at_ms: 1_661_000_000_000 + seq,
                    actor_id: Some(1),
                    actor: "admin".into(),
                    entity: "person".into(),
                    entity_id: seq.to_string(),
                    action: "create".into(),
                    summary: format!(r#"{{"name":"张{seq}"}}"#),
                    prev_hash: String::new(),
                    hash: String::new(),
                }
                .seal(&prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.check(e)?;
        }
        Ok(v.verified())
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(20)), Ok(20));
    }

    proptest! {
        /// Whatever single field of whichever event is edited, verification stops at that event.
        #[test]
        fn any_edit_is_found_at_its_event(n in 1usize..30, victim in 0usize..30, field in 0usize..5) {
            let mut events = chain(n);
            let victim = victim % n;
            let e = &mut events[victim];
            match field {
                0 => e.summary.push(' '),
                1 => e.at_ms += 1,
                2 => e.actor = "someone".into(),
                3 => e.action = "delete".into(),
                _ => e.actor_id = None,
            }
            prop_assert_eq!(verify(&events).unwrap_err().seq(), victim as i64 + 1);
        }

        #[test]
        fn a_deleted_event_is_found(n in 2usize..30, victim in 0usize..30) {
            let mut events = chain(n);
            let victim = victim % (n - 1);
            events.remove(victim);
            prop_assert!(verify(&events).is_err());
        }
    }

    #[test]
    fn the_trail_must_end_where_the_head_says() {
        let events = chain(5);
        let mut v = ChainVerifier::default();
        for e in &events[..4] {
            v.check(e).unwrap();
        }
        let head = |seq: i64, hash: &str| seal::Head {
            seq,
            hash: hash.into(),
            mac: None,
            key_id: None,
        };
        assert_eq!(v.finish(&head(4, &events[3].hash)), Ok(4));
        assert_eq!(
            v.finish(&head(5, &events[4].hash)),
            Err(Finding::Truncated {
                events: 4,
                head_seq: 5
            })
        );
        assert_eq!(
            v.finish(&head(3, &events[2].hash)),
            Err(Finding::PastHead {
                seq: 4,
                head_seq: 3
            })
        );
        assert_eq!(
            v.finish(&head(4, &events[2].hash)),
            Err(Finding::NotTheHead { seq: 4 })
        );
        assert_eq!(ChainVerifier::default().finish(&head(0, GENESIS)), Ok(0));
    }

    #[test]
    fn rehashing_an_edited_event_still_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].summary = "{}".into();
        let prev = events[1].hash.clone();
        events[2] = events[2].clone().seal(&prev);
        assert_eq!(verify(&events), Err(ChainBreak::Unlinked { seq: 4 }));
    }
}
