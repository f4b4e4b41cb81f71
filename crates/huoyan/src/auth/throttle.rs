//! Sign-in throttling that slows guessing without letting a stranger lock anyone out.
//!
//! Only failures count. Each attempt is counted as a failure when it is let through (so a burst of
//! parallel requests cannot all pass before the first one's result is known) and taken back when
//! the password turns out right. Three rules decide how long an address must wait since its own
//! last failure before it may try again:
//!
//! - **per address**: after `address_free` failures, a back-off that doubles with each further
//!   failure up to `address_cap`. Only the guessing address pays it.
//! - **per account**: once an account has seen `account_free` failures from anywhere, every address
//!   that has failed (on any account) waits a doubling delay, capped at `account_cap`, before it
//!   tries again. Many addresses guessing one account thus share its slowing down.
//! - **server-wide budget**: failures fill a bucket that drains at one per `budget_drain`; while it
//!   holds more than `budget` failures, every address that has failed waits `budget_wait` between
//!   attempts. This slows password spraying (one password over many accounts from many addresses),
//!   which never trips the other two rules.
//!
//! An address with no failures on record ("clean") is never held back. So the owner of an account
//! under attack signs in at once from any address the attacker does not share, and after a typo
//! waits at most `max(account_cap, budget_wait)` counted from that typo: nobody can lock them out.
//! Each wait is measured from the waiting address's own last failure, so an attacker cannot keep
//! the owner waiting by racing for a shared slot.
//!
//! Memory is bounded: each table holds at most `capacity` keys (least recently failed evicted
//! first), a key is forgotten `memory` after its last failure, and refused attempts store nothing.
//! IPv6 addresses are counted per /64, the block one subscriber usually holds.

use std::collections::hash_map::RandomState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hashlink::LruCache;

/// The limits; `Policy::default()` is what the server uses.
#[derive(Debug, Clone)]
pub struct Policy {
    pub address_free: u32,
    pub address_base: Duration,
    pub address_cap: Duration,
    pub account_free: u32,
    pub account_base: Duration,
    pub account_cap: Duration,
    pub budget: u32,
    pub budget_drain: Duration,
    pub budget_wait: Duration,
    pub memory: Duration,
    pub capacity: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            // Five typos are free; then 10 s, 20 s, 40 s … up to 15 minutes between guesses.
            address_free: 5,
            address_base: Duration::from_secs(10),
            address_cap: Duration::from_secs(15 * 60),
            // An account under attack makes every failing address wait 2 s, 4 s … up to a minute:
            // short enough that its owner, after a typo, is not kept out for long.
            account_free: 5,
            account_base: Duration::from_secs(2),
            account_cap: Duration::from_secs(60),
            // A city's users mistype far less than 20 times in a burst or 10 times a minute.
            budget: 20,
            budget_drain: Duration::from_secs(6),
            budget_wait: Duration::from_secs(60),
            memory: Duration::from_secs(3600),
            // About 1.5 MB at most for the two tables.
            capacity: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

/// The throttle's state. Pure: the caller passes the time, so tests drive the clock.
pub struct Throttle {
    policy: Policy,
    addresses: LruCache<IpAddr, Record, RandomState>,
    accounts: LruCache<String, Record, RandomState>,
    /// Failures in the server-wide bucket as of `budget_at`.
    budget_level: f64,
    budget_at: Option<Instant>,
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64; an unknown address is one
/// key of its own.
pub fn origin(addr: Option<IpAddr>) -> IpAddr {
    match addr.map(|a| a.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

fn account_key(username: &str) -> String {
    username.to_lowercase()
}

/// `base`, doubled for each step past the first, at most `cap`.
fn doubling(base: Duration, cap: Duration, step: u32) -> Duration {
    let factor = 1u32.checked_shl(step.saturating_sub(1)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

impl Throttle {
    pub fn new(policy: Policy) -> Self {
        // SipHash with a random key: names and addresses are chosen by strangers.
        let capacity = policy.capacity.max(1);
        Self {
            addresses: LruCache::with_hasher(capacity, RandomState::new()),
            accounts: LruCache::with_hasher(capacity, RandomState::new()),
            policy,
            budget_level: 0.0,
            budget_at: None,
        }
    }

    /// Lets a sign-in attempt through, counting it as a failure until `succeeded` takes it back,
    /// or says how long the address must wait first. A refused attempt changes nothing.
    pub fn attempt(&mut self, username: &str, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        self.forget_old(now);
        let key = account_key(username);
        if let Some(a) = self.addresses.peek(&addr).copied() {
            let p = &self.policy;
            let mut wait = Duration::ZERO;
            if a.failures >= p.address_free {
                let step = a.failures - p.address_free + 1;
                wait = wait.max(doubling(p.address_base, p.address_cap, step));
            }
            if let Some(u) = self.accounts.peek(&key)
                && u.failures >= p.account_free
            {
                let step = u.failures - p.account_free + 1;
                wait = wait.max(doubling(p.account_base, p.account_cap, step));
            }
            if self.budget(now) > f64::from(p.budget) {
                wait = wait.max(p.budget_wait);
            }
            let ready = a.last + wait;
            if now < ready {
                return Err(ready - now);
            }
        }
        fn bump<K: std::hash::Hash + Eq>(
            table: &mut LruCache<K, Record, RandomState>,
            k: K,
            now: Instant,
        ) {
            match table.get_mut(&k) {
                Some(r) => {
                    r.failures = r.failures.saturating_add(1);
                    r.last = now;
                }
                None => {
                    table.insert(
                        k,
                        Record {
                            failures: 1,
                            last: now,
                        },
                    );
                }
            }
        }
        bump(&mut self.addresses, addr, now);
        bump(&mut self.accounts, key, now);
        self.budget_level = self.budget(now) + 1.0;
        self.budget_at = Some(now);
        Ok(())
    }

    /// The attempt let through by `attempt` had the right password: it was no failure.
    pub fn succeeded(&mut self, username: &str, addr: IpAddr, now: Instant) {
        fn undo<K: std::hash::Hash + Eq>(table: &mut LruCache<K, Record, RandomState>, k: &K) {
            if let Some(r) = table.peek_mut(k) {
                r.failures = r.failures.saturating_sub(1);
                if r.failures == 0 {
                    table.remove(k);
                }
            }
        }
        undo(&mut self.addresses, &addr);
        undo(&mut self.accounts, &account_key(username));
        self.budget_level = (self.budget(now) - 1.0).max(0.0);
        self.budget_at = Some(now);
    }

    /// How many addresses and account names the throttle remembers.
    pub fn remembered(&self) -> (usize, usize) {
        (self.addresses.len(), self.accounts.len())
    }

    fn budget(&self, now: Instant) -> f64 {
        let Some(at) = self.budget_at else { return 0.0 };
        let drained = now.saturating_duration_since(at).as_secs_f64()
            / self
                .policy
                .budget_drain
                .as_secs_f64()
                .max(f64::MIN_POSITIVE);
        (self.budget_level - drained).max(0.0)
    }

    /// Drops keys whose last failure is older than `memory`. Failures move a key to the back, so
    /// the oldest are at the front.
    fn forget_old(&mut self, now: Instant) {
        let memory = self.policy.memory;
        let stale = |r: &Record| now.saturating_duration_since(r.last) >= memory;
        while self.addresses.iter().next().is_some_and(|(_, r)| stale(r)) {
            self.addresses.remove_lru();
        }
        while self.accounts.iter().next().is_some_and(|(_, r)| stale(r)) {
            self.accounts.remove_lru();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_address_backs_off_after_its_free_failures() {
        let p = Policy::default();
        let mut t = Throttle::new(p.clone());
        let t0 = Instant::now();
        for _ in 0..p.address_free {
            t.attempt("office", ip(1), t0).unwrap();
        }
        assert_eq!(t.attempt("office", ip(1), t0), Err(p.address_base));
        assert_eq!(
            t.attempt("admin", ip(1), t0 + secs(4)),
            Err(p.address_base - secs(4)),
            "another account does not help"
        );
        let t1 = t0 + p.address_base;
        t.attempt("office", ip(1), t1).unwrap();
        assert_eq!(t.attempt("x", ip(1), t1), Err(p.address_base * 2));
        // The back-off grows no further than its cap.
        let mut now = t1;
        for _ in 0..40 {
            now += p.address_cap;
            t.attempt("office", ip(1), now).unwrap();
        }
        assert_eq!(t.attempt("office", ip(1), now), Err(p.address_cap));
    }

    #[test]
    fn a_stranger_cannot_lock_the_owner_out() {
        let p = Policy::default();
        let mut t = Throttle::new(p.clone());
        let t0 = Instant::now();
        let mut now = t0;
        // An attacker keeps failing on `office` as fast as it is let.
        for _ in 0..200 {
            match t.attempt("office", ip(1), now) {
                Ok(()) => {}
                Err(wait) => now += wait,
            }
        }
        // The owner's first attempt from their own address goes through at once.
        assert_eq!(t.attempt("office", ip(2), now), Ok(()));
        t.succeeded("office", ip(2), now);
        // After a typo the owner waits, but never longer than the account's cap…
        t.attempt("office", ip(2), now).unwrap();
        let typo = now;
        assert_eq!(t.attempt("office", ip(2), now), Err(p.account_cap));
        // …counted from their own typo, however the attacker keeps trying meanwhile.
        for _ in 0..50 {
            let _ = t.attempt("office", ip(1), now);
            now += secs(1);
        }
        assert_eq!(t.attempt("office", ip(2), typo + p.account_cap), Ok(()));
    }

    #[test]
    fn many_addresses_on_one_account_share_its_delay() {
        let p = Policy::default();
        let mut t = Throttle::new(p.clone());
        let now = Instant::now();
        for n in 0..p.account_free {
            t.attempt("admin", ip(n), now).unwrap();
        }
        // Each of those addresses has failed once, far below its own limit, yet must now wait.
        assert_eq!(t.attempt("admin", ip(0), now), Err(p.account_base));
        // A fresh address may try; its failure makes the delay grow for all.
        t.attempt("admin", ip(99), now).unwrap();
        assert_eq!(t.attempt("admin", ip(0), now), Err(p.account_base * 2));
    }

    #[test]
    fn spraying_many_accounts_from_many_addresses_is_slowed_by_the_budget() {
        let p = Policy::default();
        let mut t = Throttle::new(p.clone());
        let now = Instant::now();
        let addresses = 30;
        let mut refused = 0;
        for i in 0..60 {
            if t.attempt(&format!("user-{i}"), ip(i % addresses), now)
                .is_err()
            {
                refused += 1;
            }
        }
        assert!(refused > 0, "the second round is held back");
        assert_eq!(
            t.attempt("user-99", ip(0), now),
            Err(p.budget_wait),
            "an address that failed waits while the budget is spent"
        );
        // The bucket drains: after enough time the spray may go on, slowly.
        let later = now + p.budget_drain * (addresses + 1) + p.budget_wait;
        assert_eq!(t.attempt("user-99", ip(0), later), Ok(()));
    }

    #[test]
    fn successes_are_no_failures() {
        let p = Policy::default();
        let mut t = Throttle::new(p.clone());
        let now = Instant::now();
        for _ in 0..100 {
            t.attempt("office", ip(1), now).unwrap();
            t.succeeded("office", ip(1), now);
        }
        assert_eq!(
            t.remembered(),
            (0, 0),
            "nothing is remembered of good sign-ins"
        );
        // Nor does signing in to one's own account wipe the failures on record.
        for _ in 0..p.address_free {
            t.attempt("admin", ip(1), now).unwrap();
        }
        assert!(t.attempt("office", ip(1), now).is_err());
    }

    #[test]
    fn memory_is_bounded_in_size_and_age() {
        let p = Policy {
            capacity: 100,
            ..Policy::default()
        };
        let mut t = Throttle::new(p.clone());
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let _ = t.attempt(
                &format!("name-{i}"),
                ip(i),
                t0 + Duration::from_millis(i.into()),
            );
            let (addresses, accounts) = t.remembered();
            assert!(
                addresses <= 100 && accounts <= 100,
                "{addresses} {accounts}"
            );
        }
        assert_eq!(t.remembered(), (100, 100));
        // Refused attempts store nothing.
        let mut t = Throttle::new(p.clone());
        for _ in 0..p.address_free {
            t.attempt("a", ip(1), t0).unwrap();
        }
        for i in 0..1000 {
            assert!(t.attempt(&format!("other-{i}"), ip(1), t0).is_err());
        }
        assert_eq!(t.remembered(), (1, 1));
        // A key is forgotten `memory` after its last failure, and the address is clean again.
        let later = t0 + p.memory;
        assert_eq!(t.attempt("a", ip(1), later), Ok(()));
        assert_eq!(t.remembered(), (1, 1), "only the new failure is on record");
    }

    #[test]
    fn ipv6_is_counted_per_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(origin(Some(a)), origin(Some(b)));
        assert_ne!(origin(Some(a)), origin(Some(c)));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(origin(Some(mapped)), ip(1));
        assert_eq!(origin(None), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}
