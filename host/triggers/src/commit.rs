//! The one commit of a batch: the function's writes, the new checkpoint, the
//! poller's status, and (for a given-up batch) its on-failure description, in
//! ONE store write job — so a record's effects are applied exactly once, and
//! a failed or abandoned batch leaves nothing behind.
//!
//! The job first checks that the checkpoint is still the one the batch was
//! read after; if another poller (a duplicate after a mapping update) or a
//! delete moved it, the batch is stale and nothing is written.

use std::sync::Arc;

use eddy_runtime::overlay::{Committed, Writes};
use eddy_runtime::telemetry::Telemetry;
use eddy_store::mappings::{Destination, status};
use eddy_store::{Store, StoreError, WriteCtx, checkpoints};
use serde_json::Value;

use crate::destination;

/// Which checkpoint a commit moves, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub uuid: String,
    pub log: u64,
    pub shard: u32,
    /// The checkpoint the batch was read after (`None`: the shard had none).
    pub expected: Option<u64>,
}

/// What a commit records besides the writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Progress {
    pub position: Position,
    /// The last sequence the commit covers (the new checkpoint).
    pub checkpoint: u64,
    /// Records the commit covers (delivered, filtered out or given up).
    pub records: u64,
    /// The arrival time of the last record covered (for the iterator age).
    pub last_arrival_ms: u64,
    /// Set when the commit follows a successful invocation (at this time).
    pub invoked_ms: Option<u64>,
    /// A given-up batch: the description and where it goes, plus the error
    /// the status keeps (type, message).
    pub given_up: Option<(Destination, Value)>,
    pub error: Option<(String, String)>,
}

/// How a commit went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Everything was written.
    Done(Committed),
    /// The checkpoint moved since the batch was read: nothing was written.
    Stale,
    /// Something the function read changed: nothing was written; run again.
    Conflict(String),
}

/// Commits `writes` (if any) with `progress` in one write job, with the
/// invocation telemetry buffered so far (logs and metrics ride along with the
/// checkpoint instead of costing a commit of their own).
pub(crate) fn commit(
    store: &Store,
    telemetry: &Arc<Telemetry>,
    writes: Option<Arc<Writes>>,
    progress: Progress,
) -> Result<Verdict, StoreError> {
    let account = store.options().account.clone();
    let telemetry = telemetry.clone();
    // The writes are freed here (or by the batch stacked on them), after the
    // job, not on the store's one writer thread, which every commit waits for.
    let job_writes = writes.clone();
    store.write(move |ctx| {
        let verdict = commit_in(ctx, &account, job_writes.as_deref(), &progress)?;
        if matches!(verdict, Verdict::Done(_)) {
            // Last, after everything that can refuse. A failure keeps the
            // telemetry buffered for the flusher; the batch is not held up.
            let _ = telemetry.write_pending(ctx);
        }
        Ok(verdict)
    })
}

fn commit_in(
    ctx: &mut WriteCtx<'_>,
    account: &str,
    writes: Option<&Writes>,
    progress: &Progress,
) -> Result<Verdict, StoreError> {
    let Position {
        uuid,
        log,
        shard,
        expected,
    } = &progress.position;
    if checkpoints::load_in(ctx, uuid, *log, *shard)? != *expected {
        return Ok(Verdict::Stale);
    }
    // Everything that can refuse is checked before anything is written: a job
    // that returns Err must leave the shared transaction untouched.
    let mut delivery_problem = None;
    if let Some((to, _)) = &progress.given_up
        && let Err(e) = destination::check_in(ctx, to)
    {
        delivery_problem = Some(e.to_string());
    }
    let mut status = status::load_status_in(ctx, uuid, *log, *shard)?;
    let committed = match writes {
        Some(writes) => match writes.commit_in(ctx)? {
            Ok(done) => done,
            Err(conflict) => return Ok(Verdict::Conflict(conflict.0)),
        },
        None => Committed::default(),
    };
    if let (Some((to, record)), None) = (&progress.given_up, &delivery_problem)
        && let Err(e) = destination::deliver_in(ctx, account, to, uuid, record, ctx.now_ms)
    {
        // Refused before writing (e.g. a table keyed otherwise): the batch is
        // still skipped, and the status says why it went undescribed.
        delivery_problem = Some(e.to_string());
    }
    checkpoints::save(ctx, uuid, *log, *shard, progress.checkpoint)?;
    record_progress(&mut status, progress, ctx.now_ms, delivery_problem);
    status::save_status_in(ctx, uuid, &status)?;
    Ok(Verdict::Done(committed))
}

fn record_progress(
    status: &mut status::ShardStatus,
    progress: &Progress,
    now_ms: u64,
    delivery_problem: Option<String>,
) {
    status.records_processed = status.records_processed.saturating_add(progress.records);
    status.iterator_age_ms = now_ms.saturating_sub(progress.last_arrival_ms);
    if let Some(at) = progress.invoked_ms {
        status.invocations = status.invocations.saturating_add(1);
        status.last_invoke_ms = Some(at);
    }
    match (&progress.error, delivery_problem) {
        (_, Some(problem)) => {
            status.last_result = status::RESULT_FUNCTION_FAILED.into();
            status.last_error_type = Some("DestinationDeliveryFailed".into());
            status.last_error_message = Some(format!(
                "the batch was given up but could not be described: {problem}"
            ));
        }
        (Some((error_type, message)), None) => {
            status.last_result = status::RESULT_FUNCTION_FAILED.into();
            status.last_error_type = Some(error_type.clone());
            status.last_error_message = Some(message.clone());
        }
        (None, None) => {
            status.last_result = status::RESULT_OK.into();
            status.last_error_type = None;
            status.last_error_message = None;
        }
    }
}

/// Records a failure in the status alone (nothing else is written):
/// `invoked_ms` when an invocation was made and failed.
pub(crate) fn record_failure(
    store: &Store,
    position: &Position,
    result: &'static str,
    error: (String, String),
    invoked_ms: Option<u64>,
) -> Result<(), StoreError> {
    let Position {
        uuid, log, shard, ..
    } = position.clone();
    store.write(move |ctx| {
        let mut status = status::load_status_in(ctx, &uuid, log, shard)?;
        status.last_result = result.into();
        status.last_error_type = Some(error.0);
        status.last_error_message = Some(error.1);
        if let Some(at) = invoked_ms {
            status.invocations = status.invocations.saturating_add(1);
            status.last_invoke_ms = Some(at);
        }
        status::save_status_in(ctx, &uuid, &status)
    })
}
