//! Pipelining a shard's batches: batch N+1 is read and invoked while batch
//! N's commit runs on the store's writer thread, so the poller and the writer
//! work at the same time instead of taking turns.
//!
//! A poller runs two lanes (threads). Exactly one of them drives: it reads,
//! invokes and commits as a lone poller would. When the driver is about to
//! commit the final segment of an invocation's batch, it hands the other lane
//! a `Spec` — the checkpoint that commit will set, the commit's writes, and a
//! channel for its verdict — and then commits. The other lane reads the
//! records after that checkpoint and invokes the function with its overlay
//! stacked on those writes (`overlay::on_top_of`), so the invocation sees
//! batch N's effects as if they were committed. Before it writes anything
//! (its commit, or a failure in the status), it waits at its `Gate` for the
//! verdict:
//! - N committed: the lane commits N+1 (in order: after N, expecting N's
//!   checkpoint) and is the driver from then on; the old driver, whose batch
//!   is done, waits to be handed a `Spec` in turn;
//! - N did not commit (conflict, store error, stale checkpoint, a panic): the
//!   speculative run is discarded without writing anything and the lane
//!   waits again; the driver goes on with N (re-run, retry, ...) as a lone
//!   poller would.
//!
//! Exactly-once and order do not rest on this dance alone: every commit also
//! checks that the checkpoint is still the one its batch was read after, and
//! every item it based a write on is unchanged (so a run stacked on writes
//! that did not land conflicts, and is re-run on the committed state).
//!
//! Reading ahead: as soon as a lane has read its batch it tells the other
//! lane where that batch ends (`Handoff::Ahead`), and the other lane, idle
//! until the `Spec` comes, reads the records after it and builds their event
//! then (`Prefetched`), so the next invocation starts without waiting for
//! the read and the event (a fifth of a poller's time, measured). Records
//! after a sequence do not change once appended, so reading them early
//! reads what a later read would; a prefetch whose start is not the `Spec`'s
//! checkpoint (the batch ended otherwise: a failure, a bisect) is dropped.
//!
//! Not pipelined (a lone lane): mappings with a batching window (the next
//! batch is gathered by waiting) and with ReportBatchItemFailures (their
//! commit follows the response, not the invocation).

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use eddy_runtime::bindgen::Event;
use eddy_runtime::overlay::Writes;

use crate::source::SourceRecord;

/// What one lane sends the other.
pub(crate) enum Handoff {
    /// The batch being processed ends at this sequence: read the records
    /// after it now, ahead of the `Spec` that should follow.
    Ahead(u64),
    /// Start the next batch on top of a pending commit.
    Spec(Spec),
}

/// A batch read ahead (see the module docs).
pub(crate) struct Prefetched {
    /// The sequence the records were read after.
    pub after: u64,
    pub records: Vec<SourceRecord>,
    /// The event of all of `records`, when every one of them is delivered.
    pub event: Option<Event>,
}

/// A speculative start handed from the driving lane to the other.
pub(crate) struct Spec {
    /// The checkpoint the driver's pending commit sets: the next batch is
    /// read after it, and its commit expects it.
    pub checkpoint: u64,
    /// The pending commit's writes, which the next invocation stacks on.
    pub parent: Arc<Writes>,
    /// `true` once the pending commit landed; `false` (or a dropped sender)
    /// when it did not.
    pub verdict: Receiver<bool>,
}

/// Waits, once, for the verdict of the commit a speculative batch stacks on.
#[derive(Default)]
pub(crate) struct Gate {
    verdict: Option<Receiver<bool>>,
    passed: Cell<Option<bool>>,
}

impl Gate {
    /// A gate that opens when `verdict` says the predecessor committed.
    pub(crate) fn after(verdict: Receiver<bool>) -> Gate {
        Gate {
            verdict: Some(verdict),
            passed: Cell::new(None),
        }
    }

    /// True when the predecessor committed (always, with none); blocks until
    /// it is known. The predecessor is in its commit when the gate is made,
    /// so the wait is at most that commit.
    pub(crate) fn pass(&self) -> bool {
        if let Some(passed) = self.passed.get() {
            return passed;
        }
        let passed = self
            .verdict
            .as_ref()
            .is_none_or(|verdict| verdict.recv().unwrap_or(false));
        self.passed.set(Some(passed));
        passed
    }

    /// True once the gate is known to be shut (never blocks).
    pub(crate) fn shut(&self) -> bool {
        self.passed.get() == Some(false)
    }
}

/// How one batch takes part in the pipeline.
#[derive(Default)]
pub(crate) struct Pipeline<'a> {
    /// Where to hand the next batch while this one's final commit runs
    /// (`None`: not pipelined).
    pub relay: Option<&'a Sender<Handoff>>,
    /// The predecessor's verdict, awaited before anything is written.
    pub gate: Gate,
    /// The predecessor's writes, for this batch's first invocation only (a
    /// re-run reads the committed state).
    pub parent: RefCell<Option<Arc<Writes>>>,
    /// Set when this batch's final commit landed after handing the next
    /// batch to the other lane, which now drives.
    pub handed_off: Cell<bool>,
    /// The event of the whole batch, built ahead, for its first attempt.
    pub event: RefCell<Option<Event>>,
}

impl<'a> Pipeline<'a> {
    /// A driving lane's batch, handing on to `relay`.
    pub(crate) fn driver(relay: Option<&'a Sender<Handoff>>) -> Pipeline<'a> {
        Pipeline {
            relay,
            ..Pipeline::default()
        }
    }

    /// A speculative batch started from `spec`.
    pub(crate) fn speculative(
        relay: &'a Sender<Handoff>,
        spec: Spec,
        event: Option<Event>,
    ) -> Pipeline<'a> {
        Pipeline {
            relay: Some(relay),
            gate: Gate::after(spec.verdict),
            parent: RefCell::new(Some(spec.parent)),
            handed_off: Cell::new(false),
            event: RefCell::new(event),
        }
    }

    /// Tells the other lane that this batch ends at `last` (nobody listens
    /// to a lone lane).
    pub(crate) fn read_ahead(&self, last: u64) {
        if let Some(relay) = self.relay {
            let _ = relay.send(Handoff::Ahead(last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_gate_opens_only_on_a_landed_commit_and_remembers() {
        assert!(Gate::default().pass());
        let (tx, rx) = mpsc::channel();
        let gate = Gate::after(rx);
        assert!(!gate.shut());
        tx.send(true).unwrap();
        assert!(gate.pass());
        assert!(gate.pass());
        let (tx, rx) = mpsc::channel();
        let gate = Gate::after(rx);
        tx.send(false).unwrap();
        assert!(!gate.pass());
        assert!(gate.shut());
        let (tx, rx) = mpsc::channel::<bool>();
        drop(tx);
        assert!(!Gate::after(rx).pass(), "a lost predecessor shuts the gate");
    }

    #[test]
    fn a_batch_tells_the_other_lane_where_it_ends() {
        let (relay, other) = mpsc::channel();
        Pipeline::driver(Some(&relay)).read_ahead(42);
        assert!(matches!(other.try_recv(), Ok(Handoff::Ahead(42))));
        // A lone lane has nobody to tell.
        Pipeline::driver(None).read_ahead(43);
        drop(other);
        Pipeline::driver(Some(&relay)).read_ahead(44);
    }
}
