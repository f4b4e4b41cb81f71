//! Signed-in callers remembered for a second, so that a scanner sending a scan every few
//! hundred milliseconds is not looked up in the database on each (at 20,000 requests a second the
//! session read alone took more than the scan). Bounded (least recently used first out) and
//! short-lived; forgotten at once when this server ends a session or changes an account, so a
//! revoked token or a changed role takes effect on the next request here, and within a second
//! on another server sharing the database.

use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use hashlink::LruCache;

use super::Principal;

/// How long a caller is remembered.
const FOR: Duration = Duration::from_secs(1);
/// Most callers remembered: a city's scanners and then some.
const MOST: usize = 20_000;
/// Locks that callers' lookups take turns on (a caller always on the same one).
const TURNS: usize = 64;

struct Entry {
    principal: Principal,
    /// When the session itself expires (ms since the epoch).
    expires_at_ms: i64,
    until: Instant,
    epoch: u64,
}

static CALLERS: LazyLock<Mutex<LruCache<String, Entry>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(MOST)));
static TURN: LazyLock<Vec<tokio::sync::Mutex<()>>> =
    LazyLock::new(|| (0..TURNS).map(|_| tokio::sync::Mutex::new(())).collect());
/// Moves on whenever something could make a remembered caller wrong; older entries are ignored.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The caller remembered under `key` (a token's hash and kind), while still good at `now_ms`.
fn recall(key: &str, now_ms: i64) -> Option<Principal> {
    let mut callers = CALLERS.lock().unwrap_or_else(|e| e.into_inner());
    let e = callers.get(key)?;
    if e.epoch == EPOCH.load(Ordering::Acquire)
        && e.until > Instant::now()
        && e.expires_at_ms > now_ms
    {
        Some(e.principal.clone())
    } else {
        callers.remove(key);
        None
    }
}

/// The caller remembered under `key`, or else the one `load` reads (with the session's expiry,
/// in ms), remembered. One lookup of a caller at a time: when a caller's second ran out under
/// load, every request in flight missed at once and each read the session (up to 512 reads at
/// once at 512 connections, queued on the pool's 16 connections: PostgreSQL's intake fell from
/// 128 to 512 connections); those behind the first find what it read.
pub async fn recall_or_load<F, Fut, E>(
    key: String,
    now_ms: i64,
    load: F,
) -> Result<Option<Principal>, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<(Principal, i64)>, E>>,
{
    if let Some(p) = recall(&key, now_ms) {
        return Ok(Some(p));
    }
    let stripe = BuildHasherDefault::<DefaultHasher>::default().hash_one(&key) as usize % TURNS;
    let _turn = TURN[stripe].lock().await;
    if let Some(p) = recall(&key, now_ms) {
        return Ok(Some(p));
    }
    let epoch = epoch();
    let Some((principal, expires_at_ms)) = load().await? else {
        return Ok(None);
    };
    remember(key, principal.clone(), expires_at_ms, epoch);
    Ok(Some(principal))
}

/// Remembers `principal` under `key`, as read from the database while the epoch was `epoch`
/// (`epoch()` taken before the read, so a change during the read is not remembered over).
fn remember(key: String, principal: Principal, expires_at_ms: i64, epoch: u64) {
    let entry = Entry {
        principal,
        expires_at_ms,
        until: Instant::now() + FOR,
        epoch,
    };
    CALLERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, entry);
}

fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

/// Forgets every remembered caller: a session ended or an account changed.
pub fn forget_all() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use huoyan_core::auth::{Role, Scope};

    use super::*;
    use crate::auth::Via;

    fn caller() -> Principal {
        Principal {
            account_id: 1,
            username: "scanner".into(),
            person_id: None,
            role: Role::Sampler,
            scope: Scope::default(),
            scope_path: None,
            csrf: String::new(),
            via: Via::Bearer,
        }
    }

    /// Many requests of one caller missing at once read the session once; a caller that is
    /// not found is not remembered, and is read again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn callers_missed_at_once_are_read_once() {
        let reads = Arc::new(AtomicUsize::new(0));
        let now = crate::time::now_ms();
        let mut requests = Vec::new();
        for _ in 0..64 {
            let reads = reads.clone();
            requests.push(tokio::spawn(async move {
                recall_or_load("api:once".to_string(), now, || async move {
                    reads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(Some((caller(), now + 60_000)))
                })
                .await
            }));
        }
        for r in requests {
            assert_eq!(r.await.unwrap().unwrap().unwrap().account_id, 1);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        for _ in 0..2 {
            let found = recall_or_load("api:nobody".to_string(), now, || async {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(None)
            })
            .await;
            assert!(found.unwrap().is_none());
        }
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
