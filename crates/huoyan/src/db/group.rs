//! Group commit: one writer task per queue takes what callers have queued and writes up to a
//! batch of it in one transaction, so that many writes share one flush to disk (with SQLite's
//! `synchronous = FULL` every commit waits for the disk, a few milliseconds here) and one lock of
//! the audit chain's head. Each caller is answered only once the transaction holding its item has
//! committed, so nothing is acknowledged that is not on disk. What a batch writes, and how a
//! refused batch is split so that a bad item costs the others nothing, is the `Batch`'s; the
//! queue, the writer task and the answers are here, the same for every intake.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::Db;
use crate::error::{AppError, AppResult};

/// What a group-commit writer writes.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + 'static;
    type Done: Send + 'static;

    /// Writes `items`, committed before it returns; one answer per item, in their order.
    fn write(
        &self,
        db: &Db,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Vec<AppResult<Self::Done>>> + Send;
}

/// One caller's items, taken by the writer whole: a request's items (a scanner's offline queue)
/// share a batch rather than race one another into several.
struct Job<B: Batch> {
    items: Vec<B::Item>,
    answer: oneshot::Sender<Vec<AppResult<B::Done>>>,
    /// The job's room in the queue, given back when the writer takes it.
    room: OwnedSemaphorePermit,
}

/// The queue to one writer, started on first use on a thread of its own.
pub struct Writer<B: Batch> {
    db: Db,
    batch: Arc<B>,
    most: usize,
    waiting: usize,
    /// Room in the queue, counted in items.
    room: Arc<Semaphore>,
    queue: OnceLock<mpsc::UnboundedSender<Job<B>>>,
}

impl<B: Batch> Writer<B> {
    /// A writer of up to `most` items a transaction, with `waiting` items queued before callers
    /// wait for room.
    pub fn new(db: &Db, batch: B, most: usize, waiting: usize) -> Self {
        Self {
            db: db.clone(),
            batch: Arc::new(batch),
            most,
            waiting,
            room: Arc::new(Semaphore::new(waiting)),
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Job<B>> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let (db, batch, most) = (self.db.clone(), self.batch.clone(), self.most);
            // A thread and runtime of its own: on the request runtime, under thousands of
            // clients, the writer waited its turn behind every request task, and the fewer
            // batches it wrote, the more requests waited (BENCHMARKS.md, run D: accepted scans
            // under overload 1,101/s → 11,445/s). Its transactions take a connection of its
            // own, opened on this runtime: from the shared pool they would queue behind every
            // request's reads (PostgreSQL's intake rate fell from 32 to 512 clients).
            std::thread::Builder::new()
                .name("group-commit".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the writer");
                    runtime.block_on(async move { run(db.own_pool(1), batch, most, rx).await });
                })
                .expect("a thread for the writer");
            tx
        })
    }

    /// Writes `item` through the writer, waiting for room in the queue; answers once it is
    /// committed.
    pub async fn write(&self, item: B::Item) -> AppResult<B::Done> {
        only(self.write_all(vec![item]).await?)
    }

    /// As `write`, but a full queue refuses the item at once (`AppError::Busy`): the writer
    /// already holds more than it commits in the time a client waits, and queueing more would
    /// only grow memory and every caller's wait.
    pub async fn try_write(&self, item: B::Item) -> AppResult<B::Done> {
        only(self.try_write_all(vec![item]).await?)
    }

    /// Writes `items` through the writer in one batch (split only when the database refuses
    /// one of them), waiting for room for all of them; one answer per item.
    pub async fn write_all(&self, items: Vec<B::Item>) -> AppResult<Vec<AppResult<B::Done>>> {
        let room = self
            .room
            .clone()
            .acquire_many_owned(self.room_for(&items)?)
            .await
            .map_err(|_| anyhow::anyhow!("the writer has stopped"))?;
        self.send(items, room).await
    }

    /// As `write_all`, refusing all of `items` at once (`AppError::Busy`) when the queue has no
    /// room for them.
    pub async fn try_write_all(&self, items: Vec<B::Item>) -> AppResult<Vec<AppResult<B::Done>>> {
        let room = self
            .room
            .clone()
            .try_acquire_many_owned(self.room_for(&items)?)
            .map_err(|_| AppError::Busy)?;
        self.send(items, room).await
    }

    fn room_for(&self, items: &[B::Item]) -> AppResult<u32> {
        if items.len() > self.waiting {
            return Err(anyhow::anyhow!(
                "{} items at once, more than the writer's queue of {} holds",
                items.len(),
                self.waiting
            )
            .into());
        }
        Ok(u32::try_from(items.len()).expect("bounded by the queue"))
    }

    async fn send(
        &self,
        items: Vec<B::Item>,
        room: OwnedSemaphorePermit,
    ) -> AppResult<Vec<AppResult<B::Done>>> {
        let (answer, answered) = oneshot::channel();
        self.queue()
            .send(Job {
                items,
                answer,
                room,
            })
            .map_err(|_| anyhow::anyhow!("the writer has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the writer dropped the write").into())
    }
}

/// The one answer of a job of one item.
fn only<D>(answers: Vec<AppResult<D>>) -> AppResult<D> {
    answers
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(anyhow::anyhow!("the writer gave no answer").into()))
}

/// Whether a batch's failure is one item's doing, so that writing its items again one by one
/// fails that item alone: a rule of the database broken (`Invalid`, `Conflict`) or a value it
/// refused (SQLSTATE class 22, data exception: text with U+0000, a number out of range). Such a
/// statement failed before any commit, so writing the others again cannot write one twice. Any
/// other failure (the database unreachable, the commit lost) is the batch's.
pub fn refused_by_item(e: &AppError) -> bool {
    matches!(e, AppError::Invalid(_) | AppError::Conflict(_)) || is_data_exception(e)
}

/// Whether the database refused a value it was given (SQLSTATE class 22).
pub fn is_data_exception(e: &AppError) -> bool {
    let AppError::Internal(e) = e else {
        return false;
    };
    e.downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .is_some_and(|code| code.starts_with("22"))
}

/// Writes what is queued, whole jobs up to a batch of items at a time, until every sender is
/// gone.
async fn run<B: Batch>(
    db: Db,
    batch: Arc<B>,
    most: usize,
    mut queue: mpsc::UnboundedReceiver<Job<B>>,
) {
    while let Some(first) = queue.recv().await {
        let mut n = first.items.len();
        let mut jobs = vec![first];
        while n < most {
            let Ok(job) = queue.try_recv() else {
                break;
            };
            n += job.items.len();
            jobs.push(job);
        }
        let (db, batch) = (db.clone(), batch.clone());
        // In a task of its own, so that a panic fails this batch's callers (their answers are
        // dropped) and not the writer.
        let _ = tokio::spawn(async move {
            let mut items = Vec::with_capacity(n);
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                // Taken: its room in the queue is free again.
                drop(job.room);
                answers.push((job.items.len(), job.answer));
                items.extend(job.items);
            }
            let mut done = batch.write(&db, items).await.into_iter();
            for (k, answer) in answers {
                // A caller that went away (client disconnected) is not told; its write stays.
                let _ = answer.send(done.by_ref().take(k).collect());
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// Doubles each number, slowly, and notes each batch's size; a batch holding 13 panics.
    #[derive(Default)]
    struct Doubler(Mutex<Vec<usize>>);

    impl Batch for Doubler {
        type Item = i64;
        type Done = i64;

        async fn write(&self, _db: &Db, items: Vec<i64>) -> Vec<AppResult<i64>> {
            self.0.lock().unwrap().push(items.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!items.contains(&13), "unlucky");
            items
                .into_iter()
                .map(|i| {
                    if i < 0 {
                        Err(crate::error::AppError::invalid("n", "not negative"))
                    } else {
                        Ok(i * 2)
                    }
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn callers_waiting_together_share_a_batch_and_each_gets_its_own_answer() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let writer = Arc::new(Writer::new(&db, Doubler::default(), 16, 64));
        let calls: Vec<_> = (0..40i64)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { (i, w.write(if i == 7 { -1 } else { 100 + i }).await) })
            })
            .collect();
        for call in calls {
            let (i, answer) = call.await.unwrap();
            match answer {
                Ok(d) => assert_eq!(d, (100 + i) * 2),
                Err(e) => assert_eq!((i, e.to_string()), (7, "invalid input".to_string())),
            }
        }
        let sizes = writer.batch.0.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&s| s <= 16), "{sizes:?}");
        assert!(sizes.len() < 40, "some callers shared a batch: {sizes:?}");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_takes_again_once_drained() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        // One item a batch, two waiting: of eight sent at once, the writer holds one and the
        // queue two; the rest are refused without waiting.
        let writer = Arc::new(Writer::new(&db, Doubler::default(), 1, 2));
        let calls: Vec<_> = (0..8i64)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { w.try_write(i).await })
            })
            .collect();
        let mut busy = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => {}
                Err(AppError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!((4..=6).contains(&busy), "{busy} refused");
        assert_eq!(writer.try_write(5).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn one_callers_items_share_a_batch_and_a_group_too_big_for_the_room_is_refused() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let writer = Arc::new(Writer::new(&db, Doubler::default(), 16, 8));
        let answers = writer.write_all(vec![1, -2, 3, 4, 5]).await.unwrap();
        assert_eq!(answers.len(), 5);
        assert_eq!(answers[0].as_ref().ok(), Some(&2));
        assert!(answers[1].is_err(), "one item's refusal is its own");
        assert_eq!(answers[4].as_ref().ok(), Some(&10));
        assert_eq!(writer.batch.0.lock().unwrap().clone(), vec![5], "one batch");
        assert!(writer.try_write_all((0..9).collect()).await.is_err());
        assert_eq!(writer.try_write(7).await.unwrap(), 14);
    }

    #[tokio::test]
    async fn a_batch_that_panics_fails_its_callers_and_not_the_writer() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let writer = Writer::new(&db, Doubler::default(), 16, 64);
        assert!(writer.write(13).await.is_err());
        assert_eq!(writer.write(21).await.unwrap(), 42);
    }
}
