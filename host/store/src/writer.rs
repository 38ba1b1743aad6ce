//! Group commit: one writer thread owns redb's write transaction and runs every
//! concurrent write request inside a shared transaction, so N waiting callers pay
//! for one fsync instead of N.
//!
//! The contract for a job: it checks everything (conditions, sizes, existence)
//! before it writes anything, so a job that returns `Err` has changed nothing and
//! its neighbours in the same transaction are unaffected. A job that panics poisons
//! the whole transaction: it is aborted and every job in it fails.
//!
//! What keeps the one writer thread fast (each measured with `eddy bench store`):
//! jobs share per-commit open tables and a cache of decoded table metadata
//! (`WriteCtx`); a durable commit waits briefly for the callers the last one
//! answered (`gather`); and callers are answered without the writer waking each
//! one (`answer_all`). A caller is answered only after its commit is durable
//! (or, in relaxed mode, committed), exactly as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::notify::Notifier;
use crate::schema::{ITEMS, TABLE_STATS};
use crate::tables::meta::{ChangeStream, TableMeta};

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

/// The longest a durable commit waits for callers to come back (see `gather`).
const MAX_GATHER: Duration = Duration::from_millis(2);
/// How often a gathering commit looks for arrivals.
const GATHER_STEP: Duration = Duration::from_micros(50);

/// What a job sees: the open write transaction and the commit's clock reading.
pub struct WriteCtx<'t> {
    pub(crate) txn: &'t redb::WriteTransaction,
    /// Milliseconds since the Unix epoch, read once per commit.
    pub now_ms: u64,
    touched: bool,
    /// Decoded table metadata by name (see `TableCache`).
    tables: RefCell<TableCache>,
    /// ITEMS and TABLE_STATS, opened by the first job of the commit that uses
    /// them and kept open for the rest: opening a redb table per job was a
    /// large share of the writer's time.
    items: RefCell<Option<ItemsTable<'t>>>,
    stats: RefCell<Option<StatsTable<'t>>>,
}

/// The ITEMS table as a write sees it.
pub(crate) type ItemsTable<'t> = redb::Table<'t, (u64, &'static [u8]), &'static [u8]>;
/// The TABLE_STATS table as a write sees it.
pub(crate) type StatsTable<'t> = redb::Table<'t, u64, (u64, u64)>;

/// Table metadata decoded by earlier jobs, by table name, so a PutItem does
/// not parse the table's JSON again. Only write jobs (on the writer thread)
/// see it. It holds what the write transaction holds: the DDL paths that
/// change or delete a table's metadata drop its entry in the same job, and the
/// whole cache is dropped when a commit does not happen, so an entry never
/// outlives the metadata it was read from.
#[derive(Default)]
pub(crate) struct TableCache {
    entries: HashMap<String, Arc<TableMeta>>,
    /// Change stream ARNs by log id (see `stream_arn`).
    stream_arns: HashMap<u64, Arc<str>>,
}

impl TableCache {
    /// The cache stops growing here (a store with more tables re-reads some).
    const MAX_ENTRIES: usize = 4096;

    pub(crate) fn get(&self, name: &str) -> Option<Arc<TableMeta>> {
        self.entries.get(name).cloned()
    }

    pub(crate) fn insert(&mut self, meta: Arc<TableMeta>) {
        if self.entries.len() >= Self::MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(meta.name.clone(), meta);
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.entries.remove(name);
    }

    /// `meta.stream_arn(stream)`, formatted once per log: formatting the
    /// stream label's timestamp for every change record was a tenth of the
    /// cost of writing one. A log id names one stream of one table of this
    /// store forever and a stream's ARN never changes, so an entry never goes
    /// stale, even across DDL.
    pub(crate) fn stream_arn(&mut self, meta: &TableMeta, stream: &ChangeStream) -> Arc<str> {
        if let Some(arn) = self.stream_arns.get(&stream.log) {
            return arn.clone();
        }
        if self.stream_arns.len() >= Self::MAX_ENTRIES {
            self.stream_arns.clear();
        }
        let arn: Arc<str> = meta.stream_arn(stream).into();
        self.stream_arns.insert(stream.log, arn.clone());
        arn
    }
}

impl<'t> WriteCtx<'t> {
    /// The write transaction. ITEMS and TABLE_STATS stay open for the whole
    /// commit once used: reach them through `with_items` / `with_stats`, never
    /// `open_table` (redb refuses a second open of an open table).
    pub(crate) fn txn(&self) -> &'t redb::WriteTransaction {
        self.txn
    }

    /// Records that this commit appended records, so waiting readers are woken.
    pub(crate) fn touch(&mut self) {
        self.touched = true;
    }

    /// The commit's table-metadata cache.
    pub(crate) fn table_cache(&self) -> std::cell::RefMut<'_, TableCache> {
        self.tables.borrow_mut()
    }

    /// Runs `f` on the commit's ITEMS table (opened once per commit).
    pub(crate) fn with_items<R>(
        &self,
        f: impl FnOnce(&mut ItemsTable<'t>) -> Result<R>,
    ) -> Result<R> {
        with_open(&self.items, || self.txn.open_table(ITEMS), f)
    }

    /// Runs `f` on the commit's TABLE_STATS table (opened once per commit).
    pub(crate) fn with_stats<R>(
        &self,
        f: impl FnOnce(&mut StatsTable<'t>) -> Result<R>,
    ) -> Result<R> {
        with_open(&self.stats, || self.txn.open_table(TABLE_STATS), f)
    }
}

/// Runs `f` on the table in `slot`, opening it first if needed. A nested use of
/// the same table is an error, never a panic.
fn with_open<T, R>(
    slot: &RefCell<Option<T>>,
    open: impl FnOnce() -> std::result::Result<T, redb::TableError>,
    f: impl FnOnce(&mut T) -> Result<R>,
) -> Result<R> {
    let mut slot = slot
        .try_borrow_mut()
        .map_err(|_| StoreError::Storage("internal error: a table was opened twice".into()))?;
    let table = match slot.as_mut() {
        Some(table) => table,
        None => slot.insert(open()?),
    };
    f(table)
}

/// How a job's caller is answered once its commit is known (see `Answer`).
type Reply = Box<dyn Answer>;
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
                    tables: TableCache::default(),
                    last_batch: 0,
                    last_commit: Duration::ZERO,
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
        let waiter = Arc::new(Waiter::<R>::new());
        let answer = Pending(Some(waiter.clone()));
        // `outcome` is Ok(None) only when the job never ran, and then `commit` is Err.
        let job: Job = Box::new(move |ctx| {
            let outcome = match ctx {
                Some(ctx) => f(ctx).map(Some),
                None => Ok(None),
            };
            Box::new(Ran { answer, outcome })
        });
        let sender = self
            .jobs
            .as_ref()
            .ok_or_else(|| StoreError::Storage("the writer thread has stopped".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Storage("the writer thread has stopped".into()))?;
        waiter.wait()
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
    /// Kept across commits; lent to each commit's `WriteCtx`.
    tables: TableCache,
    /// How many jobs the last commit carried, and how long its commit took
    /// (see `gather`).
    last_batch: usize,
    last_commit: Duration,
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
            drain(&rx, &mut batch);
            if self.durability == Durability::Durable {
                self.gather(&rx, &mut batch);
            }
            self.last_batch = batch.len();
            self.commit_batch(batch);
        }
        self.sync_relaxed();
    }

    /// A durable commit costs an fsync, so it should carry every caller about
    /// to submit: the callers the last commit answered come back within
    /// microseconds, and committing the first of them alone would cost each
    /// group of callers two fsyncs. While fewer jobs than last time are here,
    /// wait for the rest, at most half as long as the last commit took (and
    /// `MAX_GATHER`). A lone caller never waits (its last batch was 1); when
    /// callers go away, the next commit expects fewer. It sleeps rather than
    /// waits on the channel: a waiting receiver makes every send a wake-up.
    fn gather(&self, rx: &Receiver<Job>, batch: &mut Vec<Job>) {
        let deadline = Instant::now() + (self.last_commit / 2).min(MAX_GATHER);
        while batch.len() < self.last_batch.min(MAX_JOBS_PER_COMMIT) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(GATHER_STEP));
            drain(rx, batch);
        }
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
        answer_all(&outcome, replies);
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
            tables: RefCell::new(std::mem::take(&mut self.tables)),
            items: RefCell::new(None),
            stats: RefCell::new(None),
        };
        let mut poisoned = false;
        for job in batch {
            match catch_unwind(AssertUnwindSafe(|| job(Some(&mut ctx)))) {
                Ok(reply) => replies.push(reply),
                Err(_) => poisoned = true,
            }
        }
        // The open tables borrow the transaction: closed before it commits.
        let touched = ctx.touched;
        let tables = ctx.tables.take();
        drop(ctx);
        if poisoned {
            let _ = txn.abort();
            let err = StoreError::Storage(
                "internal error: a write request panicked; its whole commit was rolled back".into(),
            );
            return (Err(err), replies, false);
        }
        let started = Instant::now();
        let outcome = txn.commit().map_err(StoreError::from);
        self.last_commit = started.elapsed();
        if outcome.is_ok() {
            // Only a committed transaction's metadata may be remembered.
            self.tables = tables;
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

/// Moves every job already queued into `batch` (up to the per-commit limit).
fn drain(rx: &Receiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_JOBS_PER_COMMIT {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn fail_job(job: Job, _err: &StoreError) -> Reply {
    job(None)
}

/// Answers every caller of a commit. Waking a parked thread costs a syscall
/// and, in a VM, an inter-processor interrupt: measured at several µs, so
/// waking 64 callers one by one kept the writer from its next commit about as
/// long as the commit took. So the writer stores every answer, wakes only the
/// first caller, and each woken caller wakes two more (callers form a binary
/// tree by their place in the commit): the wake-ups run on the callers' time,
/// in parallel, in a handful of rounds.
///
/// Answers are stored last to first: a caller can find its answer before
/// anyone wakes it (a wake-up left over from an earlier commit ends its park
/// early), and it then wakes its children at once; their indexes are higher
/// than its own, so their answers must already be there. Stored first to last,
/// a child woken too early found nothing, parked again, and was never woken:
/// `eddy bench store` hung with 64 writers.
fn answer_all(outcome: &Result<()>, replies: Vec<Reply>) {
    let threads: Arc<[std::thread::Thread]> = replies.iter().map(|r| r.thread()).collect();
    for (index, reply) in replies.into_iter().enumerate().rev() {
        reply.answer(outcome.clone(), &threads, index);
    }
    if let Some(first) = threads.first() {
        first.unpark();
    }
}

/// A job's result waiting for its commit's outcome.
trait Answer: Send {
    /// The caller's thread.
    fn thread(&self) -> std::thread::Thread;
    /// Stores the caller's answer; `threads[index]` is the caller, woken later
    /// by the writer or another caller (see `answer_all`).
    fn answer(
        self: Box<Self>,
        commit: Result<()>,
        threads: &Arc<[std::thread::Thread]>,
        index: usize,
    );
}

/// What a job returned, before the commit's outcome is known.
struct Ran<R> {
    answer: Pending<R>,
    outcome: Result<Option<R>>,
}

impl<R: Send> Answer for Ran<R> {
    fn thread(&self) -> std::thread::Thread {
        self.answer.thread()
    }

    fn answer(
        mut self: Box<Self>,
        commit: Result<()>,
        threads: &Arc<[std::thread::Thread]>,
        index: usize,
    ) {
        let outcome = std::mem::replace(&mut self.outcome, Ok(None));
        let result = commit.and(outcome).and_then(|ran| {
            ran.ok_or_else(|| StoreError::Storage("the request was not run".into()))
        });
        self.answer.store(result, Some((threads.clone(), index)));
    }
}

/// The writer's side of a `Waiter`. Dropped unanswered (the writer stopped, or
/// a job panicked), it answers with an error and wakes the caller itself, so a
/// caller never waits forever.
struct Pending<R>(Option<Arc<Waiter<R>>>);

impl<R> Pending<R> {
    fn thread(&self) -> std::thread::Thread {
        match &self.0 {
            Some(waiter) => waiter.thread.clone(),
            None => std::thread::current(),
        }
    }

    fn store(&mut self, result: Result<R>, wake: Option<(Arc<[std::thread::Thread]>, usize)>) {
        if let Some(waiter) = self.0.take() {
            let alone = wake.is_none();
            if let Ok(mut slot) = waiter.slot.lock() {
                *slot = Some(Done { result, wake });
            }
            if alone {
                waiter.thread.unpark();
            }
        }
    }
}

impl<R> Drop for Pending<R> {
    fn drop(&mut self) {
        self.store(
            Err(StoreError::Storage("the writer dropped a request".into())),
            None,
        );
    }
}

/// Where a caller of `Writer::write` waits for its answer.
struct Waiter<R> {
    thread: std::thread::Thread,
    slot: std::sync::Mutex<Option<Done<R>>>,
}

/// An answer, and the callers this caller wakes once it has it.
struct Done<R> {
    result: Result<R>,
    wake: Option<(Arc<[std::thread::Thread]>, usize)>,
}

impl<R> Waiter<R> {
    fn new() -> Waiter<R> {
        Waiter {
            thread: std::thread::current(),
            slot: std::sync::Mutex::new(None),
        }
    }

    /// Parks until answered (`park` may return early: the slot decides), then
    /// wakes this caller's two children in the commit's wake-up tree.
    fn wait(&self) -> Result<R> {
        loop {
            let done = match self.slot.lock() {
                Ok(mut slot) => slot.take(),
                Err(_) => return Err(StoreError::Storage("a request's answer was lost".into())),
            };
            if let Some(done) = done {
                if let Some((threads, index)) = &done.wake {
                    for child in [
                        index.saturating_mul(2).saturating_add(1),
                        index.saturating_mul(2).saturating_add(2),
                    ] {
                        if let Some(thread) = threads.get(child) {
                            thread.unpark();
                        }
                    }
                }
                return done.result;
            }
            std::thread::park();
        }
    }
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

    /// Records the order in which a commit's callers are answered.
    struct Probe(Arc<std::sync::Mutex<Vec<usize>>>);

    impl super::Answer for Probe {
        fn thread(&self) -> std::thread::Thread {
            std::thread::current()
        }

        fn answer(
            self: Box<Self>,
            _commit: crate::Result<()>,
            _threads: &Arc<[std::thread::Thread]>,
            index: usize,
        ) {
            self.0.lock().unwrap().push(index);
        }
    }

    /// A caller may take its answer before it is woken and then wakes its
    /// children (higher indexes) at once: their answers must be stored first,
    /// or a child woken too early parks again and is never woken.
    #[test]
    fn callers_are_answered_children_before_parents() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let replies: Vec<super::Reply> = (0..10)
            .map(|_| Box::new(Probe(order.clone())) as super::Reply)
            .collect();
        super::answer_all(&Ok(()), replies);
        let order = order.lock().unwrap().clone();
        assert_eq!(order, (0..10).rev().collect::<Vec<_>>());
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
