//! Load with idempotency keys, and the crash cycle run over it: load, SIGKILL, check, restart,
//! resend, check. Generic over what is sent (`Workload`), so that another kind of writes (test
//! tube scans) gets the same cycles by implementing two methods.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::{Endpoint, Server, assert_chain_intact};

/// The longest the harness waits for load to reach a point, or for senders to stop.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Writes the server must never lose or double: each is sent with an idempotency key.
pub trait Workload: Send + Sync + 'static {
    /// Sends one item under `key`. The id it is stored under when the server acknowledged it;
    /// `None` when no acknowledgement arrived (no connection, or the answer was cut off). An
    /// answer other than an acknowledgement fails the test.
    fn send(&self, to: &Endpoint, key: &str) -> impl Future<Output = Option<i64>> + Send;

    /// What database `db` holds under keys starting with `prefix`, as (key, id), one pair per
    /// stored item (a key stored twice comes twice). Fails the test when an item is stored
    /// without the audit event that records it.
    fn stored(&self, db: &str, prefix: &str) -> impl Future<Output = Vec<(String, i64)>> + Send;
}

/// Keys sent and the ids acknowledged for them.
#[derive(Debug, Default)]
pub struct Sent {
    pub tried: Vec<String>,
    pub acked: HashMap<String, i64>,
}

/// Senders filing items under the keys `prefix0`, `prefix1`… until stopped or `most` are sent.
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Sent>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start<W: Workload>(
        workload: &Arc<W>,
        to: &Endpoint,
        prefix: &str,
        senders: usize,
        most: usize,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new(Sent::default()));
        let next = Arc::new(AtomicUsize::new(0));
        let tasks = (0..senders)
            .map(|_| {
                let (workload, to, prefix) = (workload.clone(), to.clone(), prefix.to_string());
                let (stop, sent, next) = (stop.clone(), sent.clone(), next.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= most {
                            break;
                        }
                        let key = format!("{prefix}{n}");
                        sent.lock().unwrap().tried.push(key.clone());
                        match workload.send(&to, &key).await {
                            Some(id) => {
                                sent.lock().unwrap().acked.insert(key, id);
                            }
                            // The server is gone: do not spin on refused connections.
                            None => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                })
            })
            .collect();
        Load { stop, sent, tasks }
    }

    /// What has been acknowledged so far.
    pub fn acked(&self) -> HashMap<String, i64> {
        self.sent.lock().unwrap().acked.clone()
    }

    /// Waits until at least `n` items are acknowledged.
    pub async fn until_acked(&self, n: usize) {
        let start = Instant::now();
        while self.sent.lock().unwrap().acked.len() < n {
            assert!(
                start.elapsed() < WAIT_LIMIT,
                "{n} acknowledgements did not come within {WAIT_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops the senders and waits for the requests in flight to end.
    pub async fn finish(self) -> Sent {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            tokio::time::timeout(WAIT_LIMIT, task)
                .await
                .expect("a sender stops in time")
                .expect("a sender ends without failing");
        }
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

/// Sends every key, `senders` at a time; the answer for each.
pub async fn send_all<W: Workload>(
    workload: &Arc<W>,
    to: &Endpoint,
    keys: &[String],
    senders: usize,
) -> HashMap<String, Option<i64>> {
    let keys = Arc::new(keys.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (workload, to, keys, next) =
                (workload.clone(), to.clone(), keys.clone(), next.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while let Some(key) = keys.get(next.fetch_add(1, Ordering::SeqCst)) {
                    answers.push((key.clone(), workload.send(&to, key).await));
                }
                answers
            })
        })
        .collect();
    let mut out = HashMap::new();
    for task in tasks {
        let answers = tokio::time::timeout(WAIT_LIMIT, task)
            .await
            .expect("resending ends in time")
            .expect("a sender ends without failing");
        out.extend(answers);
    }
    out
}

/// What one crash cycle saw.
#[derive(Debug)]
pub struct Cycle {
    pub tried: usize,
    pub acked: usize,
    /// Committed before the kill but never acknowledged (the answer was lost with the server).
    pub landed_unacked: usize,
    pub took: Duration,
}

/// Concurrent senders in a crash cycle.
const SENDERS: usize = 16;
/// Most items one cycle sends before its kill.
const MOST_PER_CYCLE: usize = 5_000;

/// `cycles` times: load on `server` (over database `db`), SIGKILL while it is under way,
/// then check that every acknowledged item is stored once under its id and the audit chain is
/// intact; restart on the same database, resend every key tried (acknowledged or not) and check
/// that each is answered, the acknowledged ones with their id, and stored exactly once. Leaves
/// no server running.
pub async fn crash_cycles<W: Workload>(
    db: &str,
    workload: &Arc<W>,
    mut server: Server,
    cycles: usize,
) -> Vec<Cycle> {
    let mut report = Vec::with_capacity(cycles);
    for cycle in 0..cycles {
        let started = Instant::now();
        let prefix = format!("crash-{cycle}-");
        let load = Load::start(workload, &server.endpoint, &prefix, SENDERS, MOST_PER_CYCLE);
        // Kill at a different point of the load each cycle.
        load.until_acked(20 + (cycle * 97) % 300).await;
        tokio::time::sleep(Duration::from_millis((cycle as u64 * 7) % 25)).await;
        server.kill().await;
        let sent = load.finish().await;
        assert_chain_intact(db).await;
        let stored: HashMap<String, i64> = once_each(workload.stored(db, &prefix).await, &prefix);
        for (key, id) in &sent.acked {
            assert_eq!(
                stored.get(key),
                Some(id),
                "cycle {cycle}: acknowledged {key} (id {id}) is stored as it was acknowledged"
            );
        }
        let tried: HashSet<&String> = sent.tried.iter().collect();
        for key in stored.keys() {
            assert!(tried.contains(key), "cycle {cycle}: {key} was never sent");
        }
        let landed_unacked = stored.len() - sent.acked.len();

        server = Server::start(db).await;
        let answers = send_all(workload, &server.endpoint, &sent.tried, SENDERS).await;
        for key in &sent.tried {
            let answer = answers[key];
            assert!(
                answer.is_some(),
                "cycle {cycle}: resent {key} is acknowledged by the restarted server"
            );
            if let Some(id) = stored.get(key) {
                assert_eq!(
                    answer,
                    Some(*id),
                    "cycle {cycle}: resent {key} answers with the item stored before"
                );
            }
        }
        let after = once_each(workload.stored(db, &prefix).await, &prefix);
        assert_eq!(
            after.len(),
            sent.tried.len(),
            "cycle {cycle}: one item per key"
        );
        for (key, id) in &after {
            assert_eq!(answers[key], Some(*id), "cycle {cycle}: {key}");
        }
        report.push(Cycle {
            tried: sent.tried.len(),
            acked: sent.acked.len(),
            landed_unacked,
            took: started.elapsed(),
        });
    }
    server.kill().await;
    assert_chain_intact(db).await;
    report
}

/// The stored pairs as a map, failing when a key or an id is stored twice.
pub fn once_each(pairs: Vec<(String, i64)>, prefix: &str) -> HashMap<String, i64> {
    let mut by_key = HashMap::new();
    let mut ids = HashSet::new();
    for (key, id) in pairs {
        assert!(key.starts_with(prefix), "{key} is not under {prefix}");
        assert!(ids.insert(id), "id {id} is stored under two keys");
        if let Some(other) = by_key.insert(key.clone(), id) {
            panic!("{key} is stored twice, as {other} and {id}");
        }
    }
    by_key
}
