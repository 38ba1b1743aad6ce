//! Logs and metrics of invocations, CloudWatch-shaped: every invocation's
//! START / log lines / END / REPORT and its one-minute metric buckets. They
//! leave the hot path: `record` only appends to a buffer; a flusher thread
//! (and `flush`, and Drop) writes the buffer to the store in one write job.
//!
//! Metrics are attributed to the minute an invocation ended (store clock).
//! ConcurrentExecutions is the most invocations of a function whose run
//! times overlapped, computed from the runs recorded in this process (see
//! `Spans`). Throttles is always 0: eddy has no concurrency limit yet.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy_store::telemetry::{NewLogBlock, NewLogLine, TelemetryBatch, write_batch_in};
use eddy_store::{Store, WriteCtx};

use crate::deployed::framed_log;
use crate::error::InvocationError;
use crate::invoke::InvocationOutcome;

/// How often the flusher writes a non-empty buffer.
pub const FLUSH_PERIOD: Duration = Duration::from_millis(200);
/// Buffered log bytes at most; past it (the store is failing or far behind)
/// new lines are dropped and counted, and metrics are still kept.
const MAX_PENDING_LOG_BYTES: usize = 8 << 20;
/// Runs remembered per function to compute concurrency: those that ended
/// within Lambda's longest timeout (15 min), at most this many.
const MAX_SPANS: usize = 1024;
const SPAN_HORIZON: Duration = Duration::from_secs(900);

/// What the store keeps of an invocation: `deployed::framed_log` (START, the
/// function's lines, END, REPORT, as Lambda writes them), with Lambda's ERROR
/// line before END when the invocation failed.
pub fn log_lines(outcome: &InvocationOutcome, version: u32, memory_mib: u32) -> Vec<String> {
    framed_lines(outcome, version, memory_mib).0
}

/// `log_lines`, and the index of the first line written when the run ended
/// (ERROR, END, REPORT): those take the end time, the others the start.
fn framed_lines(
    outcome: &InvocationOutcome,
    version: u32,
    memory_mib: u32,
) -> (Vec<String>, usize) {
    let mut lines = framed_log(outcome, version, memory_mib);
    // framed_log ends with END and REPORT.
    let end = lines.len().saturating_sub(2);
    if let Err(e) = &outcome.result {
        lines.insert(end, error_line(&outcome.request_id, e));
    }
    (lines, end)
}

/// Whether the invocation counts in Lambda's Errors metric: the function or
/// its sandbox failed. A commit the store refused (a conflict with a
/// concurrent write, a trigger's batch that ran on top of one that did not
/// land) is the platform re-running the work, not an error of the function.
fn is_function_error<T>(result: &Result<T, InvocationError>) -> bool {
    match result {
        Ok(_) => false,
        Err(InvocationError::Conflict(_) | InvocationError::Commit(_)) => false,
        Err(_) => true,
    }
}

/// The error's message without its type (a handler error's own message; the
/// named error, e.g. "fuel exhausted", otherwise).
pub fn error_message(e: &InvocationError) -> String {
    match e {
        InvocationError::Handler { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Lambda's error line: `ERROR RequestId: ID Invoke Error {"errorType":..,"errorMessage":..}`.
fn error_line(id: &str, e: &InvocationError) -> String {
    let body = serde_json::json!({"errorType": e.error_type(), "errorMessage": error_message(e)});
    format!("ERROR RequestId: {id} Invoke Error {body}")
}

/// One recorded run, for concurrency: when it ran, how many runs overlapped
/// its start, and the minute its metrics went to.
struct Span {
    start: Instant,
    end: Instant,
    concurrent: u64,
    minute_ms: u64,
}

/// Recent runs of one function, in the order they ended (= recorded).
///
/// The most runs overlapping at once is reached at some run's start; a run
/// L recorded now overlaps exactly the recorded runs that ended after L
/// started (all ended before L did). Those that started before L count
/// towards L's start; those that started after L get L counted towards theirs.
#[derive(Default)]
struct Spans(VecDeque<Span>);

impl Spans {
    /// Adds a run; calls `raised(minute, concurrent)` for every run (this one
    /// included) whose count of overlapping runs went up.
    fn add(&mut self, mut span: Span, mut raised: impl FnMut(u64, u64)) {
        span.concurrent = 1;
        for other in self.0.iter_mut().rev() {
            if other.end <= span.start {
                break;
            }
            if other.start <= span.start {
                span.concurrent += 1;
            } else {
                other.concurrent += 1;
                raised(other.minute_ms, other.concurrent);
            }
        }
        raised(span.minute_ms, span.concurrent);
        while self.0.len() >= MAX_SPANS
            || self
                .0
                .front()
                .is_some_and(|s| span.end.duration_since(s.end) > SPAN_HORIZON)
        {
            self.0.pop_front();
        }
        self.0.push_back(span);
    }
}

/// What `record` appends to, under one lock.
#[derive(Default)]
struct Buffer {
    batch: TelemetryBatch,
    log_bytes: usize,
    /// Lines dropped because the buffer was full, per function.
    dropped: HashMap<String, u64>,
    spans: HashMap<String, Spans>,
    /// How many batches write jobs have taken (`write_pending`): counted
    /// under this lock, so a flush sees every take before its own.
    taken_by_jobs: u64,
}

impl Buffer {
    /// The batch to write, with a marker line per function that lost lines.
    fn take(&mut self, now_ms: u64) -> TelemetryBatch {
        let mut batch = std::mem::take(&mut self.batch);
        self.log_bytes = 0;
        for (function, lines) in self.dropped.drain() {
            let message =
                format!("[eddy: {lines} log lines dropped: the store fell behind writing logs]");
            batch.logs.push(NewLogBlock {
                function,
                version: 0,
                lines: vec![NewLogLine {
                    timestamp_ms: now_ms,
                    message,
                }],
            });
        }
        batch
    }
}

struct Shared {
    store: Store,
    buffer: Mutex<Buffer>,
    /// Held while a batch is taken and written, so `flush` returns only after
    /// everything recorded before it is in the store.
    flushing: Mutex<()>,
    /// The takes by write jobs (`Buffer::taken_by_jobs`) known committed:
    /// a write returned after they happened.
    landed: AtomicU64,
}

impl Shared {
    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        // A panic while holding the lock leaves at worst a half-added record.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn flush(&self) -> eddy_store::Result<Flushed> {
        let _one_at_a_time = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
        let (batch, taken_by_jobs) = {
            let mut buffer = self.buffer();
            (buffer.take(self.store.now_ms()), buffer.taken_by_jobs)
        };
        if batch.is_empty() {
            return Ok(Flushed {
                wrote: false,
                taken_by_jobs,
            });
        }
        let batch = Arc::new(batch);
        let job = batch.clone();
        let written = self.store.write(move |ctx| write_batch_in(ctx, &job));
        if written.is_err() {
            // Nothing was committed: keep the batch for the next flush.
            let batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
            self.buffer().put_back(batch);
        }
        written.map(|()| Flushed {
            wrote: true,
            taken_by_jobs,
        })
    }
}

/// What a flush did.
struct Flushed {
    /// It wrote a batch (and so waited for a commit).
    wrote: bool,
    /// `Buffer::taken_by_jobs` when it took its batch.
    taken_by_jobs: u64,
}

/// The buffer of logs and metrics not yet written, and its flusher.
pub struct Telemetry {
    shared: Arc<Shared>,
    flusher: Option<Flusher>,
}

impl Telemetry {
    /// Telemetry for `store`'s functions, with its flusher thread started.
    pub fn new(store: Store) -> Arc<Telemetry> {
        let shared = Arc::new(Shared {
            store,
            buffer: Mutex::new(Buffer::default()),
            flushing: Mutex::new(()),
            landed: AtomicU64::new(0),
        });
        let flusher = Flusher::start(shared.clone());
        Arc::new(Telemetry {
            shared,
            flusher: Some(flusher),
        })
    }

    /// Buffers the log lines and metrics of one finished invocation of
    /// `function` version `version` (configured with `memory_mib`). Never
    /// touches the store.
    pub fn record(
        &self,
        function: &str,
        version: u32,
        memory_mib: u32,
        outcome: &InvocationOutcome,
    ) {
        let end = Instant::now();
        let end_ms = self.shared.store.now_ms();
        let start_ms = end_ms.saturating_sub(duration_ms(outcome.duration));
        let (lines, first_end_line) = framed_lines(outcome, version, memory_mib);
        let mut buffer = self.shared.buffer();
        let bucket = buffer.batch.bucket(function, end_ms);
        bucket.invocations = bucket.invocations.saturating_add(1);
        bucket.errors = bucket
            .errors
            .saturating_add(u64::from(is_function_error(&outcome.result)));
        let micros = u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX);
        bucket.duration_us.record(micros);
        bucket.fuel.record(outcome.fuel_used);
        let span = Span {
            start: end.checked_sub(outcome.duration).unwrap_or(end),
            end,
            concurrent: 1,
            minute_ms: end_ms,
        };
        let Buffer { batch, spans, .. } = &mut *buffer;
        spans
            .entry(function.to_string())
            .or_default()
            .add(span, |minute, concurrent| {
                let bucket = batch.bucket(function, minute);
                bucket.concurrent_max = bucket.concurrent_max.max(concurrent);
            });
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(i, message)| NewLogLine {
                timestamp_ms: if i < first_end_line { start_ms } else { end_ms },
                message,
            });
        buffer.push_lines(function, version, lines);
    }

    /// Writes everything buffered so far to the store (one write job); when
    /// it returns Ok, everything recorded before the call can be read.
    ///
    /// A trigger's commit may have taken telemetry (`write_pending`) and not
    /// be committed yet: a reader told "flushed" would then miss invocations
    /// recorded before it asked (a log group not found yet). So when a write
    /// job took telemetry that no write since is known to follow, the flush
    /// waits for one: the writer runs jobs in order, so the return of a write
    /// queued after the take means the take's commit has landed (or failed).
    pub fn flush(&self) -> eddy_store::Result<()> {
        let flushed = self.shared.flush()?;
        if flushed.taken_by_jobs > self.shared.landed.load(Ordering::Acquire) {
            if !flushed.wrote {
                self.shared.store.write(|_| Ok(()))?;
            }
            self.shared
                .landed
                .fetch_max(flushed.taken_by_jobs, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Writes everything buffered so far inside the caller's write job, so a
    /// trigger commits its invocations' telemetry with its checkpoint. If that
    /// job's commit then fails, this telemetry is lost with it (it is a
    /// record of what ran, never data).
    pub fn write_pending(&self, ctx: &WriteCtx<'_>) -> eddy_store::Result<()> {
        let batch = {
            let mut buffer = self.shared.buffer();
            let batch = buffer.take(ctx.now_ms);
            if !batch.is_empty() {
                buffer.taken_by_jobs += 1;
            }
            batch
        };
        let written = write_batch_in(ctx, &batch);
        if written.is_err() {
            self.shared.buffer().put_back(batch);
        }
        written
    }
}

impl Buffer {
    /// Puts back a batch that was not written, in front of what came since.
    fn put_back(&mut self, batch: TelemetryBatch) {
        self.batch.absorb_older(batch);
        self.log_bytes = self
            .batch
            .logs
            .iter()
            .flat_map(|b| &b.lines)
            .map(line_cost)
            .sum();
    }

    /// Buffers one invocation's lines as one block (the store writes it as
    /// one row), dropping and counting those past the buffer's limit.
    fn push_lines(
        &mut self,
        function: &str,
        version: u32,
        lines: impl Iterator<Item = NewLogLine>,
    ) {
        let mut kept = Vec::with_capacity(lines.size_hint().0);
        let mut dropped = 0u64;
        for line in lines {
            let cost = line_cost(&line);
            if self.log_bytes.saturating_add(cost) > MAX_PENDING_LOG_BYTES {
                dropped = dropped.saturating_add(1);
                continue;
            }
            self.log_bytes = self.log_bytes.saturating_add(cost);
            kept.push(line);
        }
        if dropped > 0 {
            let count = self.dropped.entry(function.to_string()).or_default();
            *count = count.saturating_add(dropped);
        }
        if !kept.is_empty() {
            self.batch.logs.push(NewLogBlock {
                function: function.to_string(),
                version,
                lines: kept,
            });
        }
    }
}

/// A buffered line's memory, roughly: its text and its bookkeeping.
fn line_cost(line: &NewLogLine) -> usize {
    line.message.len().saturating_add(64)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Drop for Telemetry {
    /// Stops the flusher, then writes what is left, so a short-lived process
    /// (one `eddy invoke`) leaves its telemetry in the store.
    fn drop(&mut self) {
        drop(self.flusher.take());
        if let Err(e) = self.shared.flush() {
            eprintln!("eddy: writing function logs and metrics failed: {e}");
        }
    }
}

/// The flusher thread; stops and joins on Drop.
struct Flusher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    fn start(shared: Arc<Shared>) -> Flusher {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("eddy-telemetry".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(FLUSH_PERIOD) {
                    if shared.buffer().batch.is_empty() {
                        continue;
                    }
                    // A failed write keeps its batch for the next try.
                    if let Err(e) = shared.flush() {
                        eprintln!(
                            "eddy: writing function logs and metrics failed (will retry): {e}"
                        );
                    }
                }
            })
            .ok();
        Flusher {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use eddy_store::StoreOptions;
    use eddy_store::clock::Clock;
    use eddy_store::telemetry::{LogQuery, read_buckets, read_logs};

    use super::*;
    use crate::bindgen::Response;
    use crate::overlay::Committed;

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn errors_count_the_functions_failures_not_refused_commits() {
        let failed = |e: InvocationError| is_function_error::<()>(&Err(e));
        assert!(failed(InvocationError::FuelExhausted));
        assert!(failed(InvocationError::Handler {
            error_type: "E".into(),
            message: "m".into()
        }));
        assert!(!failed(InvocationError::Conflict("item changed".into())));
        assert!(!failed(InvocationError::Commit("stale checkpoint".into())));
        assert!(!is_function_error::<()>(&Ok(())));
    }

    fn outcome(result: Result<Response, InvocationError>, logs: &[&str]) -> InvocationOutcome {
        InvocationOutcome {
            request_id: "req-1".into(),
            result,
            logs: logs.iter().map(|l| l.to_string()).collect(),
            duration: Duration::from_micros(2_500),
            fuel_used: 1234,
            max_memory_used: 3 << 20,
            cold_start: false,
            committed: Committed::default(),
        }
    }

    fn ok() -> Result<Response, InvocationError> {
        Ok(Response {
            payload: None,
            failed_sequence_numbers: Vec::new(),
        })
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            clock: Clock::manual(T0),
            ..StoreOptions::default()
        };
        let store = Store::open(dir.path(), options).unwrap();
        (dir, store)
    }

    fn messages(store: &Store, function: &str) -> Vec<String> {
        let query = LogQuery {
            limit: 100,
            ..LogQuery::default()
        };
        let page = read_logs(store, function, &query).unwrap();
        page.events.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn lines_are_framed_as_lambda_frames_them() {
        let lines = log_lines(&outcome(ok(), &["hello  \n"]), 3, 128);
        assert_eq!(lines[0], "START RequestId: req-1 Version: 3");
        assert_eq!(lines[1], "hello");
        assert_eq!(lines[2], "END RequestId: req-1");
        assert_eq!(
            lines[3],
            "REPORT RequestId: req-1\tDuration: 2.50 ms\tBilled Duration: 3 ms\t\
             Memory Size: 128 MB\tMax Memory Used: 3 MB\tFuel Used: 1234"
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn a_failure_logs_its_named_error_before_end() {
        let failed = outcome(Err(InvocationError::FuelExhausted), &[]);
        let lines = log_lines(&failed, 1, 128);
        assert_eq!(
            lines[1],
            r#"ERROR RequestId: req-1 Invoke Error {"errorType":"FuelExhausted","errorMessage":"fuel exhausted"}"#
        );
        assert!(lines[2].starts_with("END "));
        let timed_out = InvocationError::TimedOut(Duration::from_secs(3));
        assert_eq!(error_message(&timed_out), "timed out after 3.00 s");
    }

    #[test]
    fn record_buffers_and_flush_writes_logs_and_one_bucket() {
        let (_dir, store) = open();
        let telemetry = Telemetry::new(store.clone());
        telemetry.record("f", 1, 128, &outcome(ok(), &["one"]));
        telemetry.record(
            "f",
            1,
            128,
            &outcome(Err(InvocationError::FuelExhausted), &[]),
        );
        telemetry.flush().unwrap();
        let logged = messages(&store, "f");
        assert_eq!(logged.len(), 4 + 4);
        assert_eq!(logged[1], "one");
        assert!(logged.iter().any(|m| m.contains("fuel exhausted")));
        let buckets = read_buckets(&store, "f", 0, u64::MAX).unwrap();
        assert_eq!(buckets.len(), 1);
        let bucket = &buckets[0].1;
        assert_eq!(
            (bucket.invocations, bucket.errors, bucket.throttles),
            (2, 1, 0)
        );
        assert_eq!(bucket.duration_us.sum, 5_000);
        assert_eq!(bucket.fuel.max, 1234);
        assert!(bucket.concurrent_max >= 1);
    }

    #[test]
    fn runs_recorded_one_after_the_other_are_not_concurrent() {
        let (_dir, store) = open();
        let telemetry = Telemetry::new(store.clone());
        let mut instant = outcome(ok(), &[]);
        instant.duration = Duration::ZERO;
        for _ in 0..3 {
            telemetry.record("f", 1, 128, &instant);
        }
        telemetry.flush().unwrap();
        let buckets = read_buckets(&store, "f", 0, u64::MAX).unwrap();
        assert_eq!(buckets[0].1.invocations, 3);
        assert_eq!(buckets[0].1.concurrent_max, 1);
    }

    #[test]
    fn dropping_the_telemetry_writes_what_is_buffered() {
        let (_dir, store) = open();
        let telemetry = Telemetry::new(store.clone());
        telemetry.record("g", 2, 128, &outcome(ok(), &[]));
        drop(telemetry);
        // START, END, REPORT.
        assert_eq!(messages(&store, "g").len(), 3);
    }

    #[test]
    fn write_pending_writes_inside_the_callers_job() {
        let (_dir, store) = open();
        let telemetry = Telemetry::new(store.clone());
        telemetry.record("h", 1, 128, &outcome(ok(), &[]));
        let shared = telemetry.clone();
        store.write(move |ctx| shared.write_pending(ctx)).unwrap();
        assert_eq!(messages(&store, "h").len(), 3);
        telemetry.flush().unwrap();
        assert_eq!(messages(&store, "h").len(), 3, "nothing is written twice");
    }

    #[test]
    fn a_flush_waits_for_telemetry_a_commit_under_way_has_taken() {
        let (_dir, store) = open();
        let telemetry = Telemetry::new(store.clone());
        telemetry.record("h", 1, 128, &outcome(ok(), &[]));
        let (taken, wait) = std::sync::mpsc::channel();
        let shared = telemetry.clone();
        let committing = std::thread::spawn({
            let store = store.clone();
            move || {
                store.write(move |ctx| {
                    shared.write_pending(ctx)?;
                    taken.send(()).unwrap();
                    // The commit is slow: the reader below asks meanwhile.
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
            }
        });
        wait.recv().unwrap();
        assert_eq!(
            telemetry.shared.buffer().taken_by_jobs,
            1,
            "the job took the record (not the background flusher)"
        );
        telemetry.flush().unwrap();
        assert_eq!(messages(&store, "h").len(), 3, "read after flush");
        committing.join().unwrap().unwrap();
    }

    #[test]
    fn an_invocation_is_one_block_and_lines_past_the_limit_are_counted() {
        let line = |message: &str| NewLogLine {
            timestamp_ms: T0,
            message: message.into(),
        };
        let mut buffer = Buffer::default();
        let lines = ["START", "a", "END"].map(line);
        buffer.push_lines("f", 2, lines.clone().into_iter());
        assert_eq!(buffer.batch.logs.len(), 1);
        assert_eq!(buffer.batch.logs[0].lines, lines);
        // Leave 200 bytes: room for one line of 100 (costing 164), not two.
        let fill = MAX_PENDING_LOG_BYTES - buffer.log_bytes - line_cost(&line("")) - 200;
        buffer.push_lines("f", 2, [line(&"x".repeat(fill))].into_iter());
        let hundred = "y".repeat(100);
        buffer.push_lines("f", 2, [line(&hundred), line(&hundred)].into_iter());
        buffer.push_lines("g", 1, [line(&hundred)].into_iter());
        assert_eq!(buffer.batch.logs.len(), 3);
        assert_eq!(buffer.batch.logs[2].lines, [line(&hundred)]);
        let batch = buffer.take(T0 + 1);
        let mut markers: Vec<(&str, &str)> = batch.logs[3..]
            .iter()
            .map(|b| (b.function.as_str(), b.lines[0].message.as_str()))
            .collect();
        markers.sort();
        let dropped =
            |n| format!("[eddy: {n} log lines dropped: the store fell behind writing logs]");
        assert_eq!(
            markers,
            [("f", dropped(1).as_str()), ("g", dropped(1).as_str())]
        );
        assert_eq!(buffer.log_bytes, 0);
    }

    fn span(base: Instant, start: u64, end: u64, minute_ms: u64) -> Span {
        Span {
            start: base + Duration::from_millis(start),
            end: base + Duration::from_millis(end),
            concurrent: 0,
            minute_ms,
        }
    }

    /// Adds runs (start, end) in end order; returns the max concurrency seen.
    fn most_at_once(runs: &[(u64, u64)]) -> u64 {
        let base = Instant::now();
        let mut spans = Spans::default();
        let mut most = 0;
        for &(start, end) in runs {
            spans.add(span(base, start, end, 0), |_, c| most = most.max(c));
        }
        most
    }

    #[test]
    fn concurrency_is_the_most_runs_overlapping_at_once() {
        // One after the other.
        assert_eq!(most_at_once(&[(0, 10), (10, 20), (20, 30)]), 1);
        // Two short runs inside a long one, not overlapping each other.
        assert_eq!(most_at_once(&[(1, 2), (3, 4), (0, 10)]), 2);
        // Three at once, the longest recorded last.
        assert_eq!(most_at_once(&[(2, 5), (1, 6), (0, 10)]), 3);
        // Staggered: at most two overlap.
        assert_eq!(most_at_once(&[(0, 10), (5, 15), (12, 20)]), 2);
    }

    #[test]
    fn concurrency_matches_a_brute_force_count() {
        // Deterministic pseudo-random runs, recorded in end order.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..50 {
            let mut runs: Vec<(u64, u64)> = (0..30)
                .map(|_| {
                    let start = next() % 1000;
                    (start, start + 1 + next() % 200)
                })
                .collect();
            runs.sort_by_key(|&(_, end)| end);
            let brute = runs
                .iter()
                .map(|&(s, _)| runs.iter().filter(|&&(a, b)| a <= s && s < b).count() as u64)
                .max()
                .unwrap();
            assert_eq!(most_at_once(&runs), brute, "{runs:?}");
        }
    }
}
