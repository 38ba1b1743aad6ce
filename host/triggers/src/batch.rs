//! Processing one batch: filter, invoke, commit — and on failure retry with
//! backoff, bisect, honour partial batch failures, or give up to the
//! on-failure destination. Work is a queue of segments (contiguous runs of
//! the batch), processed in order, so records are delivered in shard order
//! and the checkpoint only ever moves forward past whole segments.
//!
//! Decisions (Lambda's documented behaviour, made exactly-once):
//! - A failed invocation commits nothing. The segment is retried after a
//!   backoff of 10 ms doubling per consecutive failure up to 1 s, until it
//!   succeeds, its oldest record is older than MaximumRecordAgeInSeconds
//!   (checked before every attempt, the first included), or it has been
//!   retried more than MaximumRetryAttempts times; then it is given up.
//! - BisectBatchOnFunctionError splits a failing segment of two or more
//!   delivered records in halves, each processed in turn (no backoff); as
//!   Lambda documents, splitting does not consume the retry quota (the halves
//!   inherit the segment's retry count).
//! - ReportBatchItemFailures: Lambda keeps the effects of the records before
//!   the first reported failure and retries from it. With exactly-once
//!   commits an invocation's writes are all-or-nothing, and the records after
//!   the failure may have written too, so eddy commits NOTHING from a
//!   partially failed invocation: it re-invokes at once with only the records
//!   before the first failure (committing them with their checkpoint when
//!   that succeeds), then retries from the failed record (a retry: counted,
//!   after backoff). An unknown or empty itemIdentifier fails the whole batch,
//!   as in Lambda. The handler is invoked once more for the successful prefix.
//! - A conflict (something the function read changed before its commit) is
//!   re-run at once and is not a function error.
//! - Filtered-out records are processed: the checkpoint moves past them (a
//!   segment of only filtered-out records commits its checkpoint alone).
//! - The function missing, or the store failing, is retried with backoff
//!   without consuming retries, until records age out (Lambda's "before
//!   invocation" errors).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use eddy_runtime::bindgen::Response;
use eddy_runtime::error::InvocationError;
use eddy_runtime::overlay::{self, Committed, Writes};
use eddy_store::StoreError;
use eddy_store::mappings::status;

use crate::commit::{self, Position, Progress, Verdict};
use crate::destination::{Condition, GiveUp, failure_record};
use crate::event::wit_event;
use crate::handler;
use crate::pipeline::{Handoff, Pipeline, Spec};
use crate::poller::Poller;
use crate::source::SourceRecord;

/// The first backoff after a failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A contiguous run of the batch, `records[start..end]`.
#[derive(Debug, Clone, Default)]
struct Segment {
    start: usize,
    end: usize,
    /// Retries consumed (Lambda's retry quota).
    retries: u32,
    /// Consecutive failures of any kind (the backoff exponent).
    failures: u32,
    /// Invocations made for these records.
    invokes: u32,
    /// Wait before the next attempt.
    delay: bool,
    last_request: Option<String>,
    last_version: Option<u32>,
    last_error: Option<(String, String)>,
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Every record was committed (processed, filtered or given up); the
    /// shard's checkpoint is now this.
    Done(Option<u64>),
    /// The engine is stopping, or the checkpoint moved under the batch:
    /// whatever was not committed stays pending.
    Abandoned,
}

enum Step {
    Committed(u64),
    Again(Vec<Segment>),
    Abandon,
}

/// Processes `records` (read after checkpoint `start`) to the end, taking
/// part in `pipe` (see `pipeline`): nothing is written before its gate opens,
/// and a shut gate abandons the batch.
pub(crate) fn process(
    poller: &Poller,
    records: &[SourceRecord],
    start: Option<u64>,
    pipe: &Pipeline<'_>,
) -> Flow {
    // Only a mapping with filters has records that are not delivered.
    let kept: Option<Vec<bool>> = poller
        .has_filters()
        .then(|| records.iter().map(|r| poller.keeps(r)).collect());
    let mut expected = start;
    let mut queue = VecDeque::from([Segment {
        end: records.len(),
        ..Segment::default()
    }]);
    while let Some(segment) = queue.pop_front() {
        if segment.start >= segment.end {
            continue;
        }
        if pipe.gate.shut() {
            return Flow::Abandoned;
        }
        if poller.stop.is_set() || (segment.delay && poller.stop.wait(backoff(segment.failures))) {
            return Flow::Abandoned;
        }
        let work = Work {
            poller,
            records,
            kept: kept.as_deref(),
            position: poller.position(expected),
            pipe,
        };
        match work.attempt(segment) {
            Step::Committed(checkpoint) => expected = Some(checkpoint),
            Step::Again(next) => next.into_iter().rev().for_each(|s| queue.push_front(s)),
            Step::Abandon => return Flow::Abandoned,
        }
    }
    Flow::Done(expected)
}

/// What an invocation is told of its commit's verdict.
fn invocation_answer(done: &Result<Verdict, StoreError>) -> Result<Committed, InvocationError> {
    match done {
        Ok(Verdict::Done(c)) => Ok(*c),
        Ok(Verdict::Conflict(m)) => Err(InvocationError::Conflict(m.clone())),
        Ok(Verdict::Stale) => Err(InvocationError::Commit(
            "the mapping's checkpoint moved during the invocation (or the batch it ran on top of \
             did not commit); nothing was committed"
                .into(),
        )),
        Err(e) => Err(InvocationError::Commit(e.to_string())),
    }
}

/// 10 ms doubling per consecutive failure, at most 1 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(10);
    FIRST_BACKOFF.saturating_mul(1 << shift).min(MAX_BACKOFF)
}

struct Work<'a> {
    poller: &'a Poller,
    records: &'a [SourceRecord],
    /// Which records pass the filters (`None`: all of them).
    kept: Option<&'a [bool]>,
    position: Position,
    pipe: &'a Pipeline<'a>,
}

impl Work<'_> {
    fn attempt(&self, mut segment: Segment) -> Step {
        let slice = self
            .records
            .get(segment.start..segment.end)
            .unwrap_or_default();
        let delivered: Vec<&SourceRecord> = match self.kept {
            None => slice.iter().collect(),
            Some(kept) => (segment.start..segment.end)
                .filter(|&i| kept.get(i).copied().unwrap_or(false))
                .filter_map(|i| self.records.get(i))
                .collect(),
        };
        let (Some(first), Some(_)) = (delivered.first(), slice.last()) else {
            // Only filtered-out records: they are processed without a call.
            return self.settle(self.commit_alone(None, self.progress(slice, None)), segment);
        };
        let mapping = &self.poller.mapping;
        let now = self.poller.store.now_ms();
        let age_ms = now.saturating_sub(first.arrival_ms);
        if mapping
            .max_record_age_secs
            .is_some_and(|max| age_ms > u64::from(max) * 1000)
        {
            return self.give_up(slice, segment, Condition::RecordAgeExceeded);
        }
        if mapping.max_retries.is_some_and(|max| segment.retries > max) {
            return self.give_up(slice, segment, Condition::RetryAttemptsExhausted);
        }
        let deployed = match self.poller.functions.resolve(&mapping.function_name, None) {
            Ok(deployed) => deployed,
            Err(e) => {
                let error = ("ResourceNotFoundException".to_string(), e.to_string());
                return self.retry_later(segment, status::RESULT_NO_FUNCTION, error, None, false);
            }
        };
        segment.last_version = Some(deployed.version);
        // The first attempt at a whole batch may have its event built ahead.
        let whole = self.kept.is_none() && segment.start == 0 && segment.end == self.records.len();
        let ahead = whole.then(|| self.pipe.event.take()).flatten();
        let event = match ahead.map_or_else(|| wit_event(&self.poller.source, &delivered), Ok) {
            Ok(event) => event,
            Err(e) => return self.failed(segment, &delivered, &e, None),
        };
        let progress = self.progress(slice, Some(now));
        let defer = mapping.report_batch_item_failures;
        let last = segment.end >= self.records.len();
        let verdict = RefCell::new(None);
        let stash = RefCell::new(None);
        self.poller.latency.record_since(first.arrival_ms);
        let invoke = || {
            handler::invoke_with_commit(
                &self.poller.functions,
                &self.poller.natives,
                &deployed,
                event,
                |writes| {
                    if defer {
                        *stash.borrow_mut() = Some(writes);
                        return Ok(Committed::default());
                    }
                    let done = self.commit_invoked(writes, progress.clone(), last);
                    let answer = invocation_answer(&done);
                    *verdict.borrow_mut() = Some(done);
                    answer
                },
            )
        };
        // Only the first run stacks on the predecessor's pending writes.
        let parent = self.pipe.parent.borrow_mut().take();
        let outcome = match parent {
            Some(parent) => overlay::on_top_of(parent, invoke),
            None => invoke(),
        };
        segment.invokes = segment.invokes.saturating_add(1);
        segment.last_request = Some(outcome.request_id.clone());
        match (outcome.result, verdict.into_inner()) {
            (_, Some(done)) => self.settle(done, segment),
            (Ok(response), None) => {
                self.partial(response, stash.into_inner(), progress, segment, &delivered)
            }
            (Err(InvocationError::Conflict(_)), None) => Step::Again(vec![segment]),
            (Err(e), None) => self.failed(segment, &delivered, &e, Some(now)),
        }
    }

    /// Commits an invocation's writes once the gate opens. The final
    /// segment's commit first hands the next batch to the other lane, stacked
    /// on these writes, and then tells it whether they landed.
    fn commit_invoked(
        &self,
        writes: Writes,
        progress: Progress,
        last: bool,
    ) -> Result<Verdict, StoreError> {
        if !self.pipe.gate.pass() {
            return Ok(Verdict::Stale);
        }
        let writes = Arc::new(writes);
        let told = match self.pipe.relay.filter(|_| last) {
            Some(relay) => {
                let (tell, verdict) = mpsc::channel();
                let spec = Spec {
                    checkpoint: progress.checkpoint,
                    parent: writes.clone(),
                    verdict,
                };
                // No other lane (it could not start): no pipelining.
                relay.send(Handoff::Spec(spec)).is_ok().then_some(tell)
            }
            None => None,
        };
        let done = commit::commit(
            &self.poller.store,
            self.poller.functions.telemetry(),
            Some(writes),
            progress,
        );
        if let Some(tell) = told {
            let landed = matches!(done, Ok(Verdict::Done(_)));
            // The other lane may have stopped listening (the engine stops).
            let _ = tell.send(landed);
            self.pipe.handed_off.set(landed);
        }
        done
    }

    /// A commit of writes made without an invocation, once the gate opens.
    fn commit_alone(
        &self,
        writes: Option<Writes>,
        progress: Progress,
    ) -> Result<Verdict, StoreError> {
        if !self.pipe.gate.pass() {
            return Ok(Verdict::Stale);
        }
        commit::commit(
            &self.poller.store,
            self.poller.functions.telemetry(),
            writes.map(Arc::new),
            progress,
        )
    }

    /// Records a failure in the status, once the gate opens (a discarded
    /// speculative run records nothing).
    fn record_failure(
        &self,
        result: &'static str,
        error: (String, String),
        invoked_ms: Option<u64>,
    ) {
        if self.pipe.gate.pass() {
            let position = &self.position;
            let _ = commit::record_failure(&self.poller.store, position, result, error, invoked_ms);
        }
    }

    /// What a commit of `slice` records.
    fn progress(&self, slice: &[SourceRecord], invoked_ms: Option<u64>) -> Progress {
        let last = slice.last();
        Progress {
            position: self.position.clone(),
            checkpoint: last.map_or(0, |r| r.sequence),
            records: slice.len() as u64,
            last_arrival_ms: last.map_or(0, |r| r.arrival_ms),
            invoked_ms,
            given_up: None,
            error: None,
        }
    }

    /// Acts on a commit's verdict.
    fn settle(&self, done: Result<Verdict, StoreError>, segment: Segment) -> Step {
        match done {
            Ok(Verdict::Done(_)) => {
                let last = self.records.get(segment.end.saturating_sub(1));
                Step::Committed(last.map_or(0, |r| r.sequence))
            }
            Ok(Verdict::Stale) => Step::Abandon,
            Ok(Verdict::Conflict(_)) => Step::Again(vec![segment]),
            Err(e) => {
                let error = ("StoreError".to_string(), e.to_string());
                self.retry_later(segment, status::RESULT_INTERNAL, error, None, false)
            }
        }
    }

    /// A successful invocation of a mapping with ReportBatchItemFailures.
    fn partial(
        &self,
        response: Response,
        writes: Option<Writes>,
        progress: Progress,
        segment: Segment,
        delivered: &[&SourceRecord],
    ) -> Step {
        let failed = &response.failed_sequence_numbers;
        if failed.is_empty() {
            return self.settle(self.commit_alone(writes, progress), segment);
        }
        let format = self.poller.source.format();
        let mut first_failed = None;
        for text in failed {
            let found = format
                .parse(text)
                .and_then(|seq| delivered.iter().find(|r| r.sequence == seq))
                .map(|r| r.sequence);
            match found {
                Some(seq) => first_failed = Some(first_failed.map_or(seq, |f: u64| f.min(seq))),
                None => {
                    let e = InvocationError::Handler {
                        error_type: "InvalidBatchItemFailure".into(),
                        message: format!(
                            "batchItemFailures names '{text}', which is not a sequence number of this batch"
                        ),
                    };
                    return self.failed(segment, delivered, &e, progress.invoked_ms);
                }
            }
        }
        let Some(at) =
            first_failed.and_then(|seq| self.records.iter().position(|r| r.sequence == seq))
        else {
            return Step::Again(vec![segment]);
        };
        let error = (
            "BatchItemFailure".to_string(),
            format!("the function reported {} failed record(s)", failed.len()),
        );
        self.record_failure(
            status::RESULT_FUNCTION_FAILED,
            error.clone(),
            progress.invoked_ms,
        );
        // The prefix before the first failure is re-invoked at once; the rest
        // is a retry from the failed record.
        let prefix = Segment {
            end: at,
            ..segment.clone()
        };
        let rest = Segment {
            start: at,
            retries: segment.retries.saturating_add(1),
            failures: segment.failures.saturating_add(1),
            delay: true,
            last_error: Some(error),
            ..segment
        };
        Step::Again(vec![prefix, rest])
    }

    /// The function failed on `segment`: bisect it, or retry it later.
    fn failed(
        &self,
        mut segment: Segment,
        delivered: &[&SourceRecord],
        error: &InvocationError,
        invoked_ms: Option<u64>,
    ) -> Step {
        let pair = (error.error_type().to_string(), error.to_string());
        if self.poller.mapping.bisect_on_error && delivered.len() >= 2 {
            self.record_failure(status::RESULT_FUNCTION_FAILED, pair.clone(), invoked_ms);
            let middle = delivered.get(delivered.len() / 2).map(|r| r.sequence);
            let Some(mid) =
                middle.and_then(|seq| self.records.iter().position(|r| r.sequence == seq))
            else {
                return Step::Again(vec![segment]);
            };
            segment.last_error = Some(pair);
            let first = Segment {
                end: mid,
                ..segment.clone()
            };
            let second = Segment {
                start: mid,
                ..segment
            };
            return Step::Again(vec![first, second]);
        }
        self.retry_later(
            segment,
            status::RESULT_FUNCTION_FAILED,
            pair,
            invoked_ms,
            true,
        )
    }

    /// Records the failure and queues the segment again after a backoff;
    /// `counts` when it consumes a retry.
    fn retry_later(
        &self,
        mut segment: Segment,
        result: &'static str,
        error: (String, String),
        invoked_ms: Option<u64>,
        counts: bool,
    ) -> Step {
        self.record_failure(result, error.clone(), invoked_ms);
        if counts {
            segment.retries = segment.retries.saturating_add(1);
        }
        segment.failures = segment.failures.saturating_add(1);
        segment.delay = true;
        segment.last_error = Some(error);
        Step::Again(vec![segment])
    }

    /// Skips `slice`, describing it to the on-failure destination, in one commit.
    fn give_up(&self, slice: &[SourceRecord], segment: Segment, condition: Condition) -> Step {
        let poller = self.poller;
        let now = poller.store.now_ms();
        let give_up = GiveUp {
            condition,
            invoke_count: segment.invokes,
            request_id: segment.last_request.clone(),
            version: segment.last_version,
        };
        let record = failure_record(&poller.function_arn, &poller.source, slice, &give_up, now);
        let why = segment
            .last_error
            .as_ref()
            .map(|(t, m)| format!("; last error: {t}: {m}"))
            .unwrap_or_default();
        let mut progress = self.progress(slice, None);
        progress.given_up = poller.mapping.on_failure.clone().map(|to| (to, record));
        progress.error = Some((
            match condition {
                Condition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
                Condition::RecordAgeExceeded => "RecordAgeExceeded",
            }
            .to_string(),
            format!(
                "gave up on {} record(s) after {} invocation(s){why}",
                slice.len(),
                segment.invokes
            ),
        ));
        self.settle(self.commit_alone(None, progress), segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_10_ms_to_at_most_1_s() {
        assert_eq!(backoff(0), Duration::from_millis(10));
        assert_eq!(backoff(1), Duration::from_millis(10));
        assert_eq!(backoff(2), Duration::from_millis(20));
        assert_eq!(backoff(5), Duration::from_millis(160));
        assert_eq!(backoff(8), Duration::from_secs(1));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
    }
}
