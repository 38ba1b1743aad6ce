//! Group commit: one writer thread owns redb's write transaction and runs every
//! concurrent write request inside a shared transaction, so N waiting callers pay
//! for one fsync instead of N.
//!
//! The contract for a job: it checks everything (conditions, sizes, existence)
//! before it writes anything, so a job that returns `Err` has changed nothing and
//! its neighbours in the same transaction are unaffected. A job that panics poisons
//! the whole transaction: it is aborted and every job in it fails.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::notify::Notifier;

/// When acknowledged writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every acknowledged write has been fsynced (redb `Durability::Immediate`).
    #[default]
    Durable,
    /// Writes are acknowledged before their fsync; a background durable commit
    /// follows within `RELAXED_WINDOW`. A crash loses at most that window and never
    /// corrupts anything. For local development and tests.
    Relaxed,
}

/// The longest a relaxed-mode write stays acknowledged but not yet on disk.
pub const RELAXED_WINDOW: Duration = Duration::from_millis(10);

/// How many queued jobs one transaction takes at most.
const MAX_JOBS_PER_COMMIT: usize = 4096;

/// What a job sees: the open write transaction and the commit's clock reading.
pub struct WriteCtx<'t> {
    pub(crate) txn: &'t redb::WriteTransaction,
    /// Milliseconds since the Unix epoch, read once per commit.
    pub now_ms: u64,
    touched: bool,
}

impl<'t> WriteCtx<'t> {
    pub(crate) fn txn(&self) -> &'t redb::WriteTransaction {
        self.txn
    }

    /// Records that this commit appended records, so waiting readers are woken.
    pub(crate) fn touch(&mut self) {
        self.touched = true;
    }
}

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
/// A queued request. Called with `None` when the transaction could not even start:
/// the request is then answered with the commit's error without running.
type Job = Box<dyn FnOnce(Option<&mut WriteCtx<'_>>) -> Reply + Send>;

/// The handle callers submit jobs through. Dropping the last handle stops the
/// writer thread after it has committed what it holds, and joins it.
pub(crate) struct Writer {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn start(
        db: Arc<redb::Database>,
        durability: Durability,
        clock: Clock,
        notifier: Notifier,
    ) -> Writer {
        let (jobs, rx) = mpsc::sync_channel::<Job>(MAX_JOBS_PER_COMMIT);
        let thread = std::thread::Builder::new()
            .name("eddy-writer".into())
            .spawn(move || {
                WriterLoop {
                    db,
                    durability,
                    clock,
                    notifier,
                    unsynced_since: None,
                }
                .run(rx)
            })
            .expect("spawn the writer thread");
        Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// Runs `f` inside the next group commit and returns its result once that
    /// commit is acknowledged (durable, or relaxed per the store's mode).
    pub(crate) fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel::<Result<R>>(1);
        // `outcome` is Ok(None) only when the job never ran, and then `commit` is Err.
        let job: Job = Box::new(move |ctx| {
            let outcome = match ctx {
                Some(ctx) => f(ctx).map(Some),
                None => Ok(None),
            };
            Box::new(move |commit: Result<()>| {
                let answer = commit.and(outcome).and_then(|ran| {
                    ran.ok_or_else(|| StoreError::Storage("the request was not run".into()))
                });
                let _ = tx.send(answer);
            })
        });
        let sender = self.jobs.as_ref().expect("writer is running");
        sender
            .send(job)
            .map_err(|_| StoreError::Storage("the writer thread has stopped".into()))?;
        rx.recv()
            .map_err(|_| StoreError::Storage("the writer dropped a request".into()))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct WriterLoop {
    db: Arc<redb::Database>,
    durability: Durability,
    clock: Clock,
    notifier: Notifier,
    /// In relaxed mode: when the oldest commit not yet fsynced was made.
    unsynced_since: Option<Instant>,
}

impl WriterLoop {
    fn run(mut self, rx: Receiver<Job>) {
        loop {
            let first = match self.next_job(&rx) {
                Ok(Some(job)) => job,
                Ok(None) => {
                    self.sync_relaxed();
                    continue;
                }
                Err(()) => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_JOBS_PER_COMMIT {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
        self.sync_relaxed();
    }

    /// Waits for a job; in relaxed mode wakes when the unsynced window closes.
    /// `Ok(None)` means "time to fsync", `Err` means every sender is gone.
    fn next_job(&self, rx: &Receiver<Job>) -> std::result::Result<Option<Job>, ()> {
        match self.unsynced_since {
            None => rx.recv().map(Some).map_err(|_| ()),
            Some(since) => {
                let left = RELAXED_WINDOW.saturating_sub(since.elapsed());
                match rx.recv_timeout(left) {
                    Ok(job) => Ok(Some(job)),
                    Err(RecvTimeoutError::Timeout) => Ok(None),
                    Err(RecvTimeoutError::Disconnected) => Err(()),
                }
            }
        }
    }

    fn commit_batch(&mut self, batch: Vec<Job>) {
        let (outcome, replies, touched) = self.run_batch(batch);
        for reply in replies {
            reply(outcome.clone());
        }
        if outcome.is_ok() && touched {
            self.notifier.notify();
        }
    }

    fn run_batch(&mut self, batch: Vec<Job>) -> (Result<()>, Vec<Reply>, bool) {
        let mut replies = Vec::with_capacity(batch.len());
        let mut txn = match self.db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                let err = StoreError::from(e);
                for job in batch {
                    replies.push(fail_job(job, &err));
                }
                return (Err(err), replies, false);
            }
        };
        let durable = self.must_sync();
        let level = if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        if let Err(e) = txn.set_durability(level) {
            let err = StoreError::Storage(e.to_string());
            for job in batch {
                replies.push(fail_job(job, &err));
            }
            return (Err(err), replies, false);
        }
        let mut ctx = WriteCtx {
            txn: &txn,
            now_ms: self.clock.now_ms(),
            touched: false,
        };
        let mut poisoned = false;
        for job in batch {
            match catch_unwind(AssertUnwindSafe(|| job(Some(&mut ctx)))) {
                Ok(reply) => replies.push(reply),
                Err(_) => poisoned = true,
            }
        }
        let touched = ctx.touched;
        if poisoned {
            let _ = txn.abort();
            let err = StoreError::Storage(
                "internal error: a write request panicked; its whole commit was rolled back".into(),
            );
            return (Err(err), replies, false);
        }
        let outcome = txn.commit().map_err(StoreError::from);
        if outcome.is_ok() {
            self.unsynced_since = match (durable, self.unsynced_since) {
                (true, _) => None,
                (false, None) => Some(Instant::now()),
                (false, since) => since,
            };
        }
        (outcome, replies, touched)
    }

    fn must_sync(&self) -> bool {
        match self.durability {
            Durability::Durable => true,
            Durability::Relaxed => self
                .unsynced_since
                .is_some_and(|since| since.elapsed() >= RELAXED_WINDOW),
        }
    }

    /// Makes every relaxed commit so far durable with one empty durable commit.
    fn sync_relaxed(&mut self) {
        if self.unsynced_since.is_none() {
            return;
        }
        let done = self
            .db
            .begin_write()
            .map_err(StoreError::from)
            .and_then(|mut txn| {
                let _ = txn.set_durability(redb::Durability::Immediate);
                txn.commit().map_err(StoreError::from)
            });
        if done.is_ok() {
            self.unsynced_since = None;
        }
    }
}

fn fail_job(job: Job, _err: &StoreError) -> Reply {
    job(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use redb::ReadableDatabase;

    use crate::error::StoreError;
    use crate::schema::CHECKPOINTS;
    use crate::store::{Store, StoreOptions};

    fn put(store: &Store, consumer: &'static str, value: u64) -> crate::Result<()> {
        store.write(move |ctx| {
            let mut table = ctx.txn().open_table(CHECKPOINTS)?;
            table.insert((consumer, 0, 0), value)?;
            Ok(())
        })
    }

    fn get(dir: &std::path::Path, consumer: &str) -> Option<u64> {
        let db = redb::Database::open(dir.join(crate::store::DATA_FILE)).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(CHECKPOINTS).unwrap();
        table.get((consumer, 0, 0)).unwrap().map(|v| v.value())
    }

    #[test]
    fn concurrent_writers_each_get_their_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        let threads: Vec<_> = (0..16u64)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for n in 0..50u64 {
                        let outcome: crate::Result<u64> = store.write(move |_| {
                            if (i + n) % 7 == 0 {
                                Err(StoreError::Validation(format!("refused {i}/{n}")))
                            } else {
                                Ok(i * 1000 + n)
                            }
                        });
                        match outcome {
                            Ok(v) => assert_eq!(v, i * 1000 + n),
                            Err(StoreError::Validation(m)) => {
                                assert_eq!(m, format!("refused {i}/{n}"))
                            }
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn a_panicking_job_fails_its_commit_but_the_writer_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let outcome: crate::Result<()> = store.write(|_| panic!("bug in a job"));
        assert!(matches!(outcome, Err(StoreError::Storage(_))));
        put(&store, "after", 1).unwrap();
        drop(store);
        assert_eq!(get(dir.path(), "after"), Some(1));
    }

    #[test]
    fn relaxed_writes_are_durable_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            durability: super::Durability::Relaxed,
            ..StoreOptions::default()
        };
        let store = Store::open(dir.path(), options).unwrap();
        for n in 0..100 {
            put(&store, "relaxed", n).unwrap();
        }
        drop(store);
        assert_eq!(get(dir.path(), "relaxed"), Some(99));
    }
}
