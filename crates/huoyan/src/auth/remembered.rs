//! Signed-in callers remembered for a second, so that a scanner sending a scan every few
//! hundred milliseconds is not looked up in the database on each (at 20,000 requests a second the
//! session read alone took more than the scan). Bounded (least recently used first out) and
//! short-lived; forgotten at once when this server ends a session or changes an account, so a
//! revoked token or a changed role takes effect on the next request here, and within a second
//! on another server sharing the database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use hashlink::LruCache;

use super::Principal;

/// How long a caller is remembered.
const FOR: Duration = Duration::from_secs(1);
/// Most callers remembered: a city's scanners and then some.
const MOST: usize = 20_000;

struct Entry {
    principal: Principal,
    /// When the session itself expires (ms since the epoch).
    expires_at_ms: i64,
    until: Instant,
    epoch: u64,
}

static CALLERS: LazyLock<Mutex<LruCache<String, Entry>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(MOST)));
/// Moves on whenever something could make a remembered caller wrong; older entries are ignored.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The caller remembered under `key` (a token's hash and kind), while still good at `now_ms`.
pub fn recall(key: &str, now_ms: i64) -> Option<Principal> {
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

/// Remembers `principal` under `key`, as read from the database while the epoch was `epoch`
/// (`epoch()` taken before the read, so a change during the read is not remembered over).
pub fn remember(key: String, principal: Principal, expires_at_ms: i64, epoch: u64) {
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

pub fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

/// Forgets every remembered caller: a session ended or an account changed.
pub fn forget_all() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
}
