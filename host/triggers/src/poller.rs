//! One poller: a thread that feeds one shard of one mapping's source to the
//! mapping's function, one batch at a time, in order. It sleeps on the
//! store's commit notifier (no polling timer on the data path), wakes on the
//! commit that appends records, and reads after its checkpoint.
//!
//! A poller runs two lanes (threads) that take turns driving, so a batch is
//! read and invoked while the previous one commits (see `pipeline`).
//!
//! The loop survives everything (spin's trigger loops are the model): a store
//! error, a deleted source or function, even a panic in a batch is recorded
//! in the mapping's status, then the poller backs off and tries again until
//! the engine stops it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use eddy_runtime::deployed::Functions;
use eddy_store::mappings::{EventSourceMapping, status};
use eddy_store::{Store, StoreError, checkpoints};

use crate::batch::{self, Flow};
use crate::commit::{self, Position};
use crate::event::{filter_json, wit_event};
use crate::filters::Filters;
use crate::handler::NativeHandlers;
use crate::latency::Latency;
use crate::pipeline::{Handoff, Pipeline, Prefetched, Spec};
use crate::source::{ShardSource, SourceRecord};
use crate::stop::Stop;

/// The longest a poller sleeps on the notifier before it looks at its stop
/// signal (commits wake it at once).
const TICK: Duration = Duration::from_millis(50);

/// Everything one poller needs.
pub(crate) struct Poller {
    pub functions: Arc<Functions>,
    /// Functions handled natively (empty outside measurements).
    pub natives: Arc<NativeHandlers>,
    /// Where each invocation's trigger latency goes.
    pub latency: Arc<Latency>,
    pub store: Store,
    pub mapping: EventSourceMapping,
    pub source: ShardSource,
    /// The mapping's filters (`Ok(None)`: none); `Err` if they do not parse.
    pub filters: Result<Option<Filters>, String>,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub function_arn: String,
    pub stop: Stop,
}

impl Poller {
    /// Where this poller's commits go, expecting checkpoint `expected`.
    pub(crate) fn position(&self, expected: Option<u64>) -> Position {
        Position {
            uuid: self.mapping.uuid.clone(),
            log: self.source.log,
            shard: self.source.shard,
            expected,
        }
    }

    /// Whether the mapping has filters (so some records may not pass).
    pub(crate) fn has_filters(&self) -> bool {
        matches!(self.filters, Ok(Some(_)))
    }

    /// True if `record` passes the mapping's filters (any of them matches).
    pub(crate) fn keeps(&self, record: &SourceRecord) -> bool {
        match &self.filters {
            Ok(Some(filters)) => {
                filter_json(&self.source, record).is_none_or(|json| filters.matches(&json))
            }
            _ => true,
        }
    }

    /// Runs until the engine stops it.
    pub(crate) fn run(self) {
        if let Err(problem) = &self.filters {
            let error = ("InvalidFilterCriteria".to_string(), problem.clone());
            self.record_problem(status::RESULT_INTERNAL, error);
            while !self.stop.wait(Duration::from_secs(1)) {}
            return;
        }
        if !self.pipelines() {
            let (relay, _) = mpsc::channel();
            let (_, specs) = mpsc::channel();
            return self.lane(true, &relay, &specs);
        }
        let (to_second, second_specs) = mpsc::channel();
        let (to_first, first_specs) = mpsc::channel();
        let this = &self;
        std::thread::scope(|scope| {
            let second = std::thread::Builder::new()
                .name(format!("eddy-poller-{}b", self.source.shard))
                .spawn_scoped(scope, move || this.lane(false, &to_first, &second_specs));
            // Without a second lane, handing on fails and this one drives alone.
            drop(second);
            self.lane(true, &to_second, &first_specs);
        });
    }

    /// Whether this mapping's batches are pipelined (see `pipeline`).
    fn pipelines(&self) -> bool {
        self.mapping.batching_window_ms == 0 && !self.mapping.report_batch_item_failures
    }

    /// One lane: drives while `driving`, otherwise waits to be handed a
    /// speculative batch on `specs`; hands on to the other lane on `relay`.
    fn lane(&self, mut driving: bool, relay: &Sender<Handoff>, specs: &Receiver<Handoff>) {
        let mut failures = 0u32;
        // The shard's checkpoint when this lane knows it (see `Known`).
        let mut known = Known::default();
        let mut ahead = None;
        while !self.stop.is_set() {
            if !driving {
                known.forget();
                driving = match specs.recv_timeout(TICK) {
                    Ok(Handoff::Ahead(after)) => {
                        // Like a batch, a read ahead must not end the lane.
                        let read = catch_unwind(AssertUnwindSafe(|| self.read_ahead(after)));
                        ahead = read.ok().flatten();
                        false
                    }
                    Ok(Handoff::Spec(spec)) => {
                        self.speculate(relay, spec, ahead.take(), &mut known)
                    }
                    Err(RecvTimeoutError::Timeout) => false,
                    // The other lane is gone (it only ends when stopping).
                    Err(RecvTimeoutError::Disconnected) => true,
                };
                continue;
            }
            ahead = None;
            let pipe = Pipeline::driver(Some(relay));
            let polled = catch_unwind(AssertUnwindSafe(|| self.poll_once(&pipe, &mut known)));
            if pipe.handed_off.get() {
                driving = false;
            }
            if !matches!(polled, Ok(Ok(()))) {
                known.forget();
            }
            let problem = match polled {
                Ok(Ok(())) => None,
                Ok(Err(e @ StoreError::ResourceNotFound(_))) => {
                    Some((status::RESULT_NO_SOURCE, e.to_string()))
                }
                Ok(Err(e)) => Some((status::RESULT_INTERNAL, e.to_string())),
                Err(_) => Some((
                    status::RESULT_INTERNAL,
                    "internal error: a batch panicked; it will be retried".to_string(),
                )),
            };
            let Some((result, message)) = problem else {
                failures = 0;
                continue;
            };
            failures = failures.saturating_add(1);
            self.record_problem(result, ("PollerError".to_string(), message));
            let wait = batch::backoff(failures.saturating_add(1));
            if self.stop.wait(wait) {
                return;
            }
        }
    }

    fn record_problem(&self, result: &'static str, error: (String, String)) {
        let _ = commit::record_failure(&self.store, &self.position(None), result, error, None);
    }

    /// Runs the batch after `spec`'s pending commit on top of its writes;
    /// returns whether this lane drives now: the pending commit landed, and
    /// this batch did not hand on in turn.
    fn speculate(
        &self,
        relay: &Sender<Handoff>,
        spec: Spec,
        ahead: Option<Prefetched>,
        known: &mut Known,
    ) -> bool {
        let after = spec.checkpoint;
        // Used only when read after where this batch starts, and full: a
        // read now would give the same records (a short one may have grown
        // since, and the batch is read again so it is as big as it can be).
        let ahead = ahead.filter(|a| a.after == after && a.records.len() >= self.limit());
        let (records, event) = match ahead {
            Some(a) => (Some(a.records), a.event),
            None => (None, None),
        };
        let pipe = Pipeline::speculative(relay, spec, event);
        // A failure to read or a panic is left to the driver to meet again;
        // nothing was written unless the gate opened.
        let flow = catch_unwind(AssertUnwindSafe(|| {
            let records = match records {
                Some(records) => records,
                None => self.source.read(&self.store, after, self.limit())?,
            };
            if records.is_empty() {
                return Ok(Flow::Done(Some(after)));
            }
            self.read_ahead_after(&records, &pipe);
            Ok::<Flow, StoreError>(batch::process(self, &records, Some(after), &pipe))
        }));
        let drives = pipe.gate.pass() && !pipe.handed_off.get();
        // The predecessor's commit set `after`; a finished batch moved it on.
        match flow {
            Ok(Ok(Flow::Done(checkpoint))) if drives => known.set(checkpoint),
            _ => known.forget(),
        }
        drives
    }

    /// Has the other lane read the batch after `records` ahead, when they
    /// are a full batch: a backlog, where the next batch is full too. A
    /// short batch means the shard is caught up, and the next one will be
    /// read when it is due (a batch read ahead too early would be dropped).
    fn read_ahead_after(&self, records: &[SourceRecord], pipe: &Pipeline<'_>) {
        if let Some(last) = records.last().filter(|_| records.len() >= self.limit()) {
            pipe.read_ahead(last.sequence);
        }
    }

    /// Reads the batch after `after` and builds its event, while the other
    /// lane invokes the batch before it (see `pipeline`). `None` when the
    /// read fails (the batch is read again when its turn comes).
    fn read_ahead(&self, after: u64) -> Option<Prefetched> {
        let records = self.source.read(&self.store, after, self.limit()).ok()?;
        // With filters, some records are not delivered: the event is built
        // for those that are, when the batch runs.
        let event = (!self.has_filters())
            .then(|| {
                let all: Vec<&SourceRecord> = records.iter().collect();
                wit_event(&self.source, &all).ok()
            })
            .flatten();
        Some(Prefetched {
            after,
            records,
            event,
        })
    }

    /// The mapping's batch size.
    fn limit(&self) -> usize {
        usize::try_from(self.mapping.batch_size.max(1)).unwrap_or(usize::MAX)
    }

    /// Reads one batch after the checkpoint and processes it, or waits for a
    /// commit when there is nothing to read.
    fn poll_once(&self, pipe: &Pipeline<'_>, known: &mut Known) -> Result<(), StoreError> {
        let notifier = self.store.notifier();
        // Read the generation before reading records, so a commit landing
        // between the read and the wait still wakes the wait.
        let generation = notifier.generation();
        let checkpoint = match known.take() {
            Some(checkpoint) => checkpoint,
            None => checkpoints::load(
                &self.store,
                &self.mapping.uuid,
                self.source.log,
                self.source.shard,
            )?,
        };
        let after = checkpoint.unwrap_or(0);
        let limit = self.limit();
        let mut records = self.source.read(&self.store, after, limit)?;
        if records.is_empty() {
            // Woken by a commit (anyone's): the checkpoint is still the one
            // this lane knows, as only its own commits move it. A quiet tick
            // reads it from the store again, should that ever not hold.
            if notifier.wait_past(generation, TICK) != generation {
                known.set(checkpoint);
            }
            return Ok(());
        }
        if self.mapping.batching_window_ms > 0 && records.len() < limit {
            records = self.gather(records, generation, after, limit)?;
            if self.stop.is_set() {
                return Ok(());
            }
        }
        self.read_ahead_after(&records, pipe);
        if let Flow::Done(checkpoint) = batch::process(self, &records, checkpoint, pipe)
            && !pipe.handed_off.get()
        {
            known.set(checkpoint);
        }
        Ok(())
    }

    /// Lambda's batching window: waits up to MaximumBatchingWindowInSeconds
    /// (from the first record seen) for a full batch, re-reading on commits.
    fn gather(
        &self,
        mut records: Vec<SourceRecord>,
        mut generation: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, StoreError> {
        let window = Duration::from_millis(u64::from(self.mapping.batching_window_ms));
        let deadline = Instant::now() + window;
        while records.len() < limit && !self.stop.is_set() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let now = self.store.notifier().wait_past(generation, left.min(TICK));
            if now != generation {
                generation = now;
                records = self.source.read(&self.store, after, limit)?;
            }
        }
        Ok(records)
    }
}

/// The shard's checkpoint as a lane last committed or read it, so that an
/// idle lane woken by every commit anywhere in the store does not read it
/// again each time (the batch it just committed says what it is). Only this
/// poller's commits move the checkpoint (the engine never runs two pollers
/// of a shard at once, and every commit checks the checkpoint it expects, so
/// a wrong one could only make a commit stale, never apply anything twice);
/// it is forgotten on any failure, on handing over, and on a quiet tick.
#[derive(Debug, Default)]
struct Known(Option<Option<u64>>);

impl Known {
    fn set(&mut self, checkpoint: Option<u64>) {
        self.0 = Some(checkpoint);
    }

    fn forget(&mut self) {
        self.0 = None;
    }

    /// The known checkpoint (`Some(None)`: the shard has none), once.
    fn take(&mut self) -> Option<Option<u64>> {
        self.0.take()
    }
}
