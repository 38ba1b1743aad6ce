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
//! answered (`Gathering`); and callers are answered without the writer waking each
//! one (`answer_all`). A caller is answered only after its commit is durable
//! (or, in relaxed mode, committed), exactly as before.
//!
//! A caller either parks its thread (`Writer::write`) or awaits a
//! `WriteFuture` (`Writer::submit`), which holds no thread while it waits: an
//! async server keeps many requests in flight on one thread that way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::task::{Context, Poll, Waker};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use redb::ReadableTable;

use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::notify::Notifier;
use crate::schema::{ITEMS, TABLE_STATS};
use crate::tables::meta::TableMeta;

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

/// The longest a durable commit waits for callers to come back (see
/// `Gathering`), and the longest any commit keeps taking new arrivals.
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
    /// Item count and byte changes by table id not yet in TABLE_STATS: they
    /// are added after each job (`run_job`), and before anything reads the
    /// table. Reading and rewriting a table's row for every item written
    /// was ~11% of the writer's time in the lab's trigger.
    stats_deltas: RefCell<HashMap<u64, StatsDelta>>,
}

/// A change to one table's TABLE_STATS row (see `WriteCtx::count_item`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct StatsDelta {
    items: i64,
    bytes: i64,
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

    /// Runs `f` on the commit's TABLE_STATS table (opened once per commit),
    /// with every item counted so far already added to it.
    pub(crate) fn with_stats<R>(
        &self,
        f: impl FnOnce(&mut StatsTable<'t>) -> Result<R>,
    ) -> Result<R> {
        self.flush_stats()?;
        with_open(&self.stats, || self.txn.open_table(TABLE_STATS), f)
    }

    /// Counts an item written to table `id` in its statistics: `removed`,
    /// the size of the item it replaced or deleted; `added`, its new size.
    pub(crate) fn count_item(&self, id: u64, removed: Option<usize>, added: Option<usize>) {
        let mut deltas = self.stats_deltas.borrow_mut();
        let delta = deltas.entry(id).or_default();
        let size = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        if let Some(old) = removed {
            delta.items = delta.items.saturating_sub(1);
            delta.bytes = delta.bytes.saturating_sub(size(old));
        }
        if let Some(new) = added {
            delta.items = delta.items.saturating_add(1);
            delta.bytes = delta.bytes.saturating_add(size(new));
        }
    }

    /// Adds the counted changes to TABLE_STATS. Each delta is forgotten once
    /// its row is written, so after an error the rest is still pending (and
    /// the next flush, at the latest `run_job`'s, fails the commit).
    fn flush_stats(&self) -> Result<()> {
        if self.stats_deltas.borrow().is_empty() {
            return Ok(());
        }
        with_open(
            &self.stats,
            || self.txn.open_table(TABLE_STATS),
            |stats| {
                let mut deltas = self.stats_deltas.borrow_mut();
                while let Some((&id, &delta)) = deltas.iter().next() {
                    if delta != StatsDelta::default() {
                        let (count, bytes) = stats.get(id)?.map(|v| v.value()).unwrap_or((0, 0));
                        stats.insert(id, (add(count, delta.items), add(bytes, delta.bytes)))?;
                    }
                    deltas.remove(&id);
                }
                Ok(())
            },
        )
    }
}

/// `value + delta`, within 0..=u64::MAX.
fn add(value: u64, delta: i64) -> u64 {
    if delta < 0 {
        value.saturating_sub(delta.unsigned_abs())
    } else {
        value.saturating_add(delta.unsigned_abs())
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
        self.queue(&waiter, f)?;
        waiter.wait()
    }

    /// `write` for async callers: queues `f` for the next group commit now and
    /// returns a future of its result. Waiting costs no thread, so many
    /// requests in flight (an HTTP server's connections) share one or two
    /// threads instead of parking one each: with 64 parked callers the kernel's
    /// context switches, not the writer, bounded throughput. Dropping the
    /// future does not withdraw the write; it only stops waiting for it.
    pub(crate) fn submit<R, F>(&self, f: F) -> WriteFuture<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let waiter = Arc::new(Waiter::<R>::for_task());
        match self.queue(&waiter, f) {
            Ok(()) => WriteFuture(Ok(waiter)),
            Err(e) => WriteFuture(Err(Some(e))),
        }
    }

    /// Sends `f` to the writer thread; its answer will go to `waiter`.
    fn queue<R, F>(&self, waiter: &Arc<Waiter<R>>, f: F) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let answer = Pending(Some(waiter.clone()));
        // `outcome` is Ok(None) only when the job never ran, and then `commit` is Err.
        let job: Job = Box::new(move |ctx| {
            let outcome = match ctx {
                Some(ctx) => f(ctx).map(Some),
                None => Ok(None),
            };
            Box::new(Ran { answer, outcome })
        });
        self.jobs
            .as_ref()
            .is_some_and(|sender| sender.send(job).is_ok())
            .then_some(())
            .ok_or_else(|| StoreError::Storage("the writer thread has stopped".into()))
    }
}

/// The result of a write submitted with `Store::submit`, once its commit is
/// acknowledged.
pub struct WriteFuture<R>(std::result::Result<Arc<Waiter<R>>, Option<StoreError>>);

impl<R> Future for WriteFuture<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let state = &mut self.get_mut().0;
        let waiter = match state {
            Ok(waiter) => waiter,
            Err(error) => {
                return Poll::Ready(Err(error.take().unwrap_or_else(|| {
                    StoreError::Storage("a write's result was taken twice".into())
                })));
            }
        };
        let done = match waiter.slot.lock() {
            Ok(mut slot) => match slot.done.take() {
                Some(done) => Ok(done.result),
                None => {
                    match &slot.waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => slot.waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            },
            Err(_) => Err(StoreError::Storage("a request's answer was lost".into())),
        };
        // Answered once: a later poll says so instead of waiting forever.
        *state = Err(None);
        Poll::Ready(done.unwrap_or_else(Err))
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
    /// (see `Gathering`).
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
            let (outcome, replies, touched) = self.group_commit(first, &rx);
            self.last_batch = replies.len();
            answer_all(&outcome, replies);
            if outcome.is_ok() && touched {
                self.notifier.notify();
            }
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

    /// One group commit: a transaction for `first` and every job queued
    /// behind it, each run as soon as it is taken, then the commit.
    ///
    /// A durable commit costs an fsync, so it should carry every caller about
    /// to submit: the callers the last commit answered come back within
    /// microseconds, and committing the first of them alone would cost each
    /// group of callers two fsyncs. So while fewer jobs than last time have
    /// come, it waits for the rest (`gathering`), running each as it arrives:
    /// the jobs' own work then overlaps the callers' preparing the next ones,
    /// instead of following it. A lone caller never waits (its last batch was
    /// 1); when callers go away, the next commit expects fewer.
    fn group_commit(&mut self, first: Job, rx: &Receiver<Job>) -> (Result<()>, Vec<Reply>, bool) {
        let durable = self.must_sync();
        let txn = match self.begin(durable) {
            Ok(txn) => txn,
            Err(err) => {
                // Fails what is queued now; later jobs get a fresh transaction.
                let mut batch = vec![first];
                drain(rx, &mut batch);
                return (
                    Err(err),
                    batch.into_iter().map(|job| job(None)).collect(),
                    false,
                );
            }
        };
        let mut ctx = WriteCtx {
            txn: &txn,
            now_ms: self.clock.now_ms(),
            touched: false,
            tables: RefCell::new(std::mem::take(&mut self.tables)),
            items: RefCell::new(None),
            stats: RefCell::new(None),
            stats_deltas: RefCell::new(HashMap::new()),
        };
        let expected = self.last_batch.clamp(1, MAX_JOBS_PER_COMMIT);
        let gathering = Gathering::new(self, expected);
        let mut replies = Vec::with_capacity(expected);
        let mut counted = Ok(());
        let mut poisoned = !run_job(first, &mut ctx, &mut replies, &mut counted);
        // Arrivals keep joining while they come back to back, but only for so
        // long: a steady stream must not hold the commit (and, relaxed, its
        // fsync window) open.
        let taking_until = Instant::now() + MAX_GATHER;
        while !poisoned
            && counted.is_ok()
            && replies.len() < MAX_JOBS_PER_COMMIT
            && Instant::now() < taking_until
        {
            match rx.try_recv() {
                Ok(job) => poisoned = !run_job(job, &mut ctx, &mut replies, &mut counted),
                Err(_) if gathering.waits_for(replies.len()) => {
                    std::thread::sleep(gathering.step())
                }
                Err(_) => break,
            }
        }
        // The open tables borrow the transaction: closed before it commits.
        let touched = ctx.touched;
        let tables = ctx.tables.take();
        drop(ctx);
        if let Err(err) = counted {
            let _ = txn.abort();
            return (Err(err), replies, false);
        }
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

    /// A write transaction, fsynced on commit when `durable`.
    fn begin(&self, durable: bool) -> Result<redb::WriteTransaction> {
        let mut txn = self.db.begin_write()?;
        let level = if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        txn.set_durability(level)
            .map_err(|e| StoreError::Storage(e.to_string()))?;
        Ok(txn)
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

/// Runs one job in the commit's transaction and adds the items it wrote to
/// TABLE_STATS (`counted`: an error there fails the whole commit); false
/// when it panicked (which poisons the whole commit).
///
/// Statistics are added per job, not per item: a trigger's commit of 1,000
/// records writes ~630 items in one job. Not once per commit either: done
/// after the last job, the work moved from the time the writer waits for
/// callers to the time they wait for it, and 64 durable writers measured
/// ~15% slower.
fn run_job(
    job: Job,
    ctx: &mut WriteCtx<'_>,
    replies: &mut Vec<Reply>,
    counted: &mut Result<()>,
) -> bool {
    // The statistics inside the catch too: a panic writing them poisons the
    // commit, like one in a job, rather than ending the writer thread.
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let reply = job(Some(&mut *ctx));
        (reply, ctx.flush_stats())
    }));
    match ran {
        Ok((reply, flushed)) => {
            replies.push(reply);
            if counted.is_ok() {
                *counted = flushed.map_err(|e| {
                    StoreError::Storage(format!(
                        "updating table statistics failed, so the whole commit was rolled back: {e}"
                    ))
                });
            }
            true
        }
        Err(_) => false,
    }
}

/// How long a durable commit waits for the callers the last one answered
/// (see `WriterLoop::group_commit`): until as many jobs as last time are in,
/// at most half as long as the last commit took (and `MAX_GATHER`). It
/// sleeps rather than waits on the channel: a waiting receiver makes every
/// send a wake-up.
struct Gathering {
    expected: usize,
    deadline: Option<Instant>,
}

impl Gathering {
    fn new(writer: &WriterLoop, expected: usize) -> Gathering {
        let gathers = writer.durability == Durability::Durable;
        Gathering {
            expected,
            deadline: gathers.then(|| Instant::now() + (writer.last_commit / 2).min(MAX_GATHER)),
        }
    }

    /// Whether a commit holding `jobs` should wait for more.
    fn waits_for(&self, jobs: usize) -> bool {
        jobs < self.expected
            && self
                .deadline
                .is_some_and(|deadline| Instant::now() < deadline)
    }

    fn step(&self) -> Duration {
        self.deadline
            .map_or(Duration::ZERO, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            })
            .min(GATHER_STEP)
    }
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
    // Parked threads form the wake-up tree; a task's waker only queues it on
    // its runtime, cheap enough for the writer to call itself.
    let threads: Arc<[Thread]> = replies.iter().filter_map(|r| r.thread()).collect();
    let mut place = threads.len();
    let mut tasks = Vec::new();
    for reply in replies.into_iter().rev() {
        let tree = reply.parks().then(|| {
            place -= 1;
            (threads.clone(), place)
        });
        tasks.extend(reply.answer(outcome.clone(), tree));
    }
    if let Some(first) = threads.first() {
        first.unpark();
    }
    for waker in tasks {
        waker.wake();
    }
}

/// A job's result waiting for its commit's outcome.
trait Answer: Send {
    /// The caller's thread when the caller parks one (`Writer::write`); a
    /// task (`Writer::submit`) has none.
    fn thread(&self) -> Option<Thread>;
    fn parks(&self) -> bool {
        self.thread().is_some()
    }
    /// Stores the caller's answer. A parked caller is `threads[index]` of
    /// `tree`, woken later by the writer or another caller (see
    /// `answer_all`); a task's waker is returned, for the writer to wake.
    fn answer(
        self: Box<Self>,
        commit: Result<()>,
        tree: Option<(Arc<[Thread]>, usize)>,
    ) -> Option<Waker>;
}

/// What a job returned, before the commit's outcome is known.
struct Ran<R> {
    answer: Pending<R>,
    outcome: Result<Option<R>>,
}

impl<R: Send> Answer for Ran<R> {
    fn thread(&self) -> Option<Thread> {
        self.answer
            .0
            .as_ref()
            .and_then(|waiter| waiter.thread.clone())
    }

    fn answer(
        mut self: Box<Self>,
        commit: Result<()>,
        tree: Option<(Arc<[Thread]>, usize)>,
    ) -> Option<Waker> {
        let outcome = std::mem::replace(&mut self.outcome, Ok(None));
        let result = commit.and(outcome).and_then(|ran| {
            ran.ok_or_else(|| StoreError::Storage("the request was not run".into()))
        });
        self.answer.store(result, tree)
    }
}

/// The writer's side of a `Waiter`. Dropped unanswered (the writer stopped, or
/// a job panicked), it answers with an error and wakes the caller itself, so a
/// caller never waits forever.
struct Pending<R>(Option<Arc<Waiter<R>>>);

impl<R> Pending<R> {
    /// Stores the answer. A parked caller outside a wake-up tree is woken
    /// here; a task's waker is returned.
    fn store(&mut self, result: Result<R>, tree: Option<(Arc<[Thread]>, usize)>) -> Option<Waker> {
        let waiter = self.0.take()?;
        let alone = tree.is_none();
        let waker = match waiter.slot.lock() {
            Ok(mut slot) => {
                slot.done = Some(Done { result, tree });
                slot.waker.take()
            }
            Err(_) => None,
        };
        if let (true, Some(thread)) = (alone, &waiter.thread) {
            thread.unpark();
        }
        waker
    }
}

impl<R> Drop for Pending<R> {
    fn drop(&mut self) {
        let lost = Err(StoreError::Storage("the writer dropped a request".into()));
        if let Some(waker) = self.store(lost, None) {
            waker.wake();
        }
    }
}

/// Where a caller waits for its answer: a parked thread (`Writer::write`) or
/// a task's waker (`Writer::submit`).
struct Waiter<R> {
    thread: Option<Thread>,
    slot: std::sync::Mutex<Slot<R>>,
}

struct Slot<R> {
    done: Option<Done<R>>,
    /// The waker of the task that last polled the `WriteFuture`.
    waker: Option<Waker>,
}

/// An answer, and the parked callers this caller wakes once it has it.
struct Done<R> {
    result: Result<R>,
    tree: Option<(Arc<[Thread]>, usize)>,
}

impl<R> Waiter<R> {
    fn new() -> Waiter<R> {
        Waiter::with(Some(std::thread::current()))
    }

    fn for_task() -> Waiter<R> {
        Waiter::with(None)
    }

    fn with(thread: Option<Thread>) -> Waiter<R> {
        Waiter {
            thread,
            slot: std::sync::Mutex::new(Slot {
                done: None,
                waker: None,
            }),
        }
    }

    /// Parks until answered (`park` may return early: the slot decides), then
    /// wakes this caller's two children in the commit's wake-up tree.
    fn wait(&self) -> Result<R> {
        loop {
            let done = match self.slot.lock() {
                Ok(mut slot) => slot.done.take(),
                Err(_) => return Err(StoreError::Storage("a request's answer was lost".into())),
            };
            if let Some(done) = done {
                if let Some((threads, index)) = &done.tree {
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
    /// (parks: a thread's caller, else a task's).
    struct Probe(Arc<std::sync::Mutex<Vec<usize>>>, bool);

    impl super::Answer for Probe {
        fn thread(&self) -> Option<std::thread::Thread> {
            self.1.then(std::thread::current)
        }

        fn answer(
            self: Box<Self>,
            _commit: crate::Result<()>,
            tree: Option<(Arc<[std::thread::Thread]>, usize)>,
        ) -> Option<std::task::Waker> {
            self.0
                .lock()
                .unwrap()
                .push(tree.map_or(usize::MAX, |(_, index)| index));
            None
        }
    }

    /// A caller may take its answer before it is woken and then wakes its
    /// children (higher indexes) at once: their answers must be stored first,
    /// or a child woken too early parks again and is never woken.
    #[test]
    fn callers_are_answered_children_before_parents() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let replies: Vec<super::Reply> = (0..10)
            .map(|_| Box::new(Probe(order.clone(), true)) as super::Reply)
            .collect();
        super::answer_all(&Ok(()), replies);
        let order = order.lock().unwrap().clone();
        assert_eq!(order, (0..10).rev().collect::<Vec<_>>());
    }

    /// The same with tasks between the threads: the threads keep their own
    /// tree (places 0.. in commit order, tasks outside it), still answered
    /// last to first.
    #[test]
    fn tasks_in_a_commit_leave_the_threads_tree_intact() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let parks = [true, false, false, true, false, true, true, false];
        let replies: Vec<super::Reply> = parks
            .iter()
            .map(|&parks| Box::new(Probe(order.clone(), parks)) as super::Reply)
            .collect();
        super::answer_all(&Ok(()), replies);
        let order = order.lock().unwrap().clone();
        let task = usize::MAX;
        assert_eq!(order, [task, 3, 2, task, 1, task, task, 0]);
    }

    /// Wakes a parked test thread and counts the wake-ups.
    struct Unpark(std::thread::Thread, std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.unpark();
        }
    }

    /// Many submitted writes in flight on ONE thread, as an async server runs
    /// them: each resolves to its own result (or its own error), and every
    /// one that is pending is woken, so this never hangs.
    #[test]
    fn submitted_writes_share_commits_and_each_gets_its_own_result() {
        use std::future::Future;
        use std::task::{Context, Poll};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let unpark = Arc::new(Unpark(
            std::thread::current(),
            std::sync::atomic::AtomicUsize::new(0),
        ));
        let waker = std::task::Waker::from(unpark.clone());
        let mut cx = Context::from_waker(&waker);
        for round in 0..20u64 {
            let mut pending: Vec<_> = (0..64u64)
                .map(|i| {
                    let n = round * 64 + i;
                    let future = store.submit(move |ctx| {
                        let mut table = ctx.txn().open_table(CHECKPOINTS)?;
                        if n % 5 == 0 {
                            return Err(StoreError::Validation(format!("refused {n}")));
                        }
                        table.insert(("submitted", n, 0u32), n)?;
                        Ok(n)
                    });
                    (n, Box::pin(future))
                })
                .collect();
            while !pending.is_empty() {
                pending.retain_mut(|(n, future)| match future.as_mut().poll(&mut cx) {
                    Poll::Pending => true,
                    Poll::Ready(Ok(v)) => {
                        assert_eq!(v, *n);
                        false
                    }
                    Poll::Ready(Err(StoreError::Validation(m))) => {
                        assert_eq!(m, format!("refused {n}"));
                        false
                    }
                    Poll::Ready(Err(e)) => panic!("unexpected {e}"),
                });
                if !pending.is_empty() {
                    std::thread::park_timeout(std::time::Duration::from_secs(10));
                }
            }
        }
        assert!(unpark.1.load(std::sync::atomic::Ordering::SeqCst) > 0);
        // A future polled again after its answer says so, never waits forever.
        let mut done = Box::pin(store.submit(|_| Ok(7u64)));
        let answer = loop {
            match done.as_mut().poll(&mut cx) {
                Poll::Ready(answer) => break answer,
                Poll::Pending => std::thread::park_timeout(std::time::Duration::from_secs(10)),
            }
        };
        assert_eq!(answer.unwrap(), 7);
        assert!(matches!(
            done.as_mut().poll(&mut cx),
            Poll::Ready(Err(StoreError::Storage(_)))
        ));
        drop(store);
        let db = redb::Database::open(dir.path().join(crate::store::DATA_FILE)).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(CHECKPOINTS).unwrap();
        let kept = table
            .range(("submitted", 0u64, 0u32)..=("submitted", u64::MAX, u32::MAX))
            .unwrap()
            .count();
        assert_eq!(kept, 20 * 64 - 20 * 64 / 5);
    }

    /// Parked threads and tasks in the same commits: every caller of either
    /// kind gets its own answer and none waits forever (the threads' wake-up
    /// tree must hold with tasks interleaved in the commit).
    #[test]
    fn threads_and_tasks_mixed_in_commits_each_get_their_own_answer() {
        use std::future::Future;
        use std::task::{Context, Poll};
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        let (done, finished) = std::sync::mpsc::channel();
        let threads: Vec<_> = (0..12u64)
            .map(|t| {
                let (store, done) = (store.clone(), done.clone());
                std::thread::spawn(move || {
                    for n in 0..40u64 {
                        let v = t * 1000 + n;
                        let outcome = store.write(move |_| match v % 6 {
                            0 => Err(StoreError::Validation(format!("refused {v}"))),
                            _ => Ok(v),
                        });
                        match outcome {
                            Ok(got) => assert_eq!(got, v),
                            Err(StoreError::Validation(m)) => assert_eq!(m, format!("refused {v}")),
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    let _ = done.send(());
                })
            })
            .collect();
        let unpark = Arc::new(Unpark(
            std::thread::current(),
            std::sync::atomic::AtomicUsize::new(0),
        ));
        let waker = std::task::Waker::from(unpark);
        let mut cx = Context::from_waker(&waker);
        for round in 0..40u64 {
            let mut pending: Vec<_> = (0..16u64)
                .map(|i| {
                    let v = 100_000 + round * 100 + i;
                    (v, Box::pin(store.submit(move |_| Ok(v))))
                })
                .collect();
            while !pending.is_empty() {
                pending.retain_mut(|(v, future)| match future.as_mut().poll(&mut cx) {
                    Poll::Pending => true,
                    Poll::Ready(got) => {
                        assert_eq!(got.unwrap(), *v);
                        false
                    }
                });
                if !pending.is_empty() {
                    std::thread::park_timeout(std::time::Duration::from_secs(10));
                }
            }
        }
        // A caller never answered shows as a failure here, not a hung test.
        for _ in &threads {
            finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("every parked caller is answered");
        }
        for thread in threads {
            thread.join().unwrap();
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
