//! Who handles a mapping's batches: the function's WebAssembly component (the
//! product path, always), or a handler compiled into the host that a caller
//! registered for the function's name when starting the engine.
//!
//! Native handlers exist for measurement (`eddy bench lab` runs the lab's
//! aggregator natively to price the sandbox): they run on the very same path
//! as the component — same pollers, batches, event, invocation overlay, one
//! commit with the checkpoint, and telemetry — so the only difference
//! measured is the handler itself. Nothing in the control plane can register
//! one; the engine started by `eddy serve` or the CLI never has any.

use std::collections::HashMap;
use std::sync::Arc;

use std::time::Instant;

use eddy_runtime::bindgen::{Event, Response};
use eddy_runtime::deployed::{Deployed, Functions};
use eddy_runtime::error::InvocationError;
use eddy_runtime::invoke::InvocationOutcome;
use eddy_runtime::overlay::{Committed, Overlay, Writes};
use eddy_store::Store;

/// A trigger handler written in Rust and run in the host, unsandboxed.
pub trait NativeHandler: Send + Sync {
    /// Handles `event` as the function would: reads and writes through
    /// `overlay` (committed with the checkpoint when this returns `Ok`) and
    /// appends its log lines to `log`.
    fn handle(
        &self,
        event: &Event,
        overlay: &mut Overlay,
        log: &mut Vec<String>,
    ) -> Result<Response, InvocationError>;
}

/// Native handlers by function name.
pub type NativeHandlers = HashMap<String, Arc<dyn NativeHandler>>;

/// Runs `event` on `deployed` — natively when `natives` has a handler for the
/// function, as the component otherwise — and hands the writes to `commit`.
pub(crate) fn invoke_with_commit(
    functions: &Functions,
    natives: &NativeHandlers,
    deployed: &Deployed,
    event: Event,
    commit: impl FnOnce(Writes) -> Result<Committed, InvocationError>,
) -> InvocationOutcome {
    match natives.get(&deployed.config.name) {
        None => functions.invoke_with_commit(deployed, event, commit),
        Some(native) => {
            let request_id = functions.runtime().request_id();
            let outcome = run_native(
                functions.store(),
                native.as_ref(),
                &event,
                commit,
                request_id,
            );
            functions.record(deployed, &outcome);
            outcome
        }
    }
}

/// What `Runtime::invoke_with_commit` does around a guest call, for a native
/// handler: a fresh overlay, the call, the commit on success.
fn run_native(
    store: &Store,
    native: &dyn NativeHandler,
    event: &Event,
    commit: impl FnOnce(Writes) -> Result<Committed, InvocationError>,
    request_id: String,
) -> InvocationOutcome {
    let start = Instant::now();
    let mut overlay = Overlay::new(store.clone());
    let mut logs = Vec::new();
    let mut committed = Committed::default();
    let result = native
        .handle(event, &mut overlay, &mut logs)
        .and_then(|response| {
            committed = commit(overlay.into_writes())?;
            Ok(response)
        });
    InvocationOutcome {
        request_id,
        result,
        logs,
        duration: start.elapsed(),
        fuel_used: 0,
        max_memory_used: 0,
        cold_start: false,
        committed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_store::tables::{self, BillingMode, CreateTable, KeyAttr, PutItemRequest};
    use eddy_store::value::keys::KeyType;
    use eddy_store::{AttributeValue, Item, StoreOptions};

    /// Puts item `{"Id": "a"}` into table Tab, then fails when told to.
    struct PutThenMaybeFail(bool);

    impl NativeHandler for PutThenMaybeFail {
        fn handle(
            &self,
            _: &Event,
            overlay: &mut Overlay,
            log: &mut Vec<String>,
        ) -> Result<Response, InvocationError> {
            let item = Item::from([("Id".to_string(), AttributeValue::S("a".into()))]);
            let request = PutItemRequest {
                table: "Tab".into(),
                item,
                ..PutItemRequest::default()
            };
            overlay
                .put(&request)
                .map_err(|e| InvocationError::Commit(e.to_string()))?;
            log.push("put a".into());
            if self.0 {
                return Err(InvocationError::Handler {
                    error_type: "Boom".into(),
                    message: "told to fail".into(),
                });
            }
            Ok(Response {
                payload: None,
                failed_sequence_numbers: Vec::new(),
            })
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let create = CreateTable {
            name: "Tab".into(),
            partition_key: KeyAttr {
                name: "Id".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream: None,
        };
        tables::create_table(&store, create).unwrap();
        (dir, store)
    }

    #[test]
    fn a_native_handler_commits_its_overlay_only_when_it_succeeds() {
        let (_dir, store) = store();
        let event = Event::Invoke("{}".into());
        let commit_to = |store: &Store| {
            let store = store.clone();
            move |writes: Writes| match store.write(move |ctx| writes.commit_in(ctx)) {
                Ok(Ok(done)) => Ok(done),
                other => Err(InvocationError::Commit(format!("{other:?}"))),
            }
        };
        let failed = run_native(
            &store,
            &PutThenMaybeFail(true),
            &event,
            commit_to(&store),
            "r1".into(),
        );
        assert!(failed.result.is_err());
        assert_eq!(failed.committed, Committed::default());
        let done = run_native(
            &store,
            &PutThenMaybeFail(false),
            &event,
            commit_to(&store),
            "r2".into(),
        );
        assert!(done.result.is_ok());
        assert_eq!(done.committed.items, 1);
        assert_eq!(done.logs, ["put a"]);
        // The id comes from the runtime (`Runtime::request_id`, unique per process).
        assert_eq!(
            (failed.request_id.as_str(), done.request_id.as_str()),
            ("r1", "r2")
        );
    }
}
