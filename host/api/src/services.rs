//! `Api`: the dispatcher with everything behind it — the store for the data
//! plane, and (started on first use, since it builds a WASM engine) the
//! deployed functions for the Lambda, logs and metrics operations.

use std::sync::{Arc, Mutex};

use eddy_runtime::deployed::Functions;
use eddy_runtime::invoke::RuntimeOptions;
use eddy_store::Store;
use serde_json::Value;

use crate::ApiError;

/// The one dispatcher of a data directory. Share it (`Arc`) across threads.
pub struct Api {
    store: Store,
    functions: Mutex<Option<Arc<Functions>>>,
}

impl Api {
    /// The dispatcher over `store`; no WASM engine is built until a function
    /// operation needs one.
    pub fn new(store: Store) -> Api {
        Api {
            store,
            functions: Mutex::new(None),
        }
    }

    /// The store behind every operation.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The deployed functions (built on the first call).
    pub fn functions(&self) -> Result<Arc<Functions>, ApiError> {
        let mut slot = self
            .functions
            .lock()
            .map_err(|_| ApiError::new("ServiceException", "the function runtime failed"))?;
        if let Some(functions) = slot.as_ref() {
            return Ok(functions.clone());
        }
        let functions = Functions::new(self.store.clone(), RuntimeOptions::default())
            .map_err(|e| ApiError::new("ServiceException", e.to_string()))?;
        let functions = Arc::new(functions);
        *slot = Some(functions.clone());
        Ok(functions)
    }

    /// The deployed functions if something already started them (an Invoke,
    /// a trigger engine); reads of logs and metrics flush their telemetry
    /// without building a WASM engine just for that.
    pub fn started_functions(&self) -> Option<Arc<Functions>> {
        self.functions.lock().ok()?.clone()
    }

    /// Writes the logs and metrics buffered in this process, so a read sees
    /// every invocation recorded before it.
    pub fn flush_telemetry(&self) -> Result<(), ApiError> {
        if let Some(functions) = self.started_functions() {
            functions.telemetry().flush()?;
        }
        Ok(())
    }

    /// Runs one operation (`<Service_Version>.<Operation>`) on its JSON request.
    pub fn dispatch(&self, operation: &str, request: &Value) -> Result<Value, ApiError> {
        self.respond(operation, request)?.into_value()
    }

    /// `dispatch`, its answer as it goes on the wire: pages of items stay the
    /// JSON text they were rendered to (see `Response`).
    pub fn respond(&self, operation: &str, request: &Value) -> Result<crate::Response, ApiError> {
        crate::route(self, operation, request)
    }

    /// `crate::dispatch_async` on this API's store: the data-plane writes as
    /// futures; any other operation's request is handed back (`Err`) for
    /// `dispatch` on a thread that may block.
    pub fn dispatch_async(
        &self,
        operation: &str,
        request: Value,
    ) -> Result<crate::Dispatching, Value> {
        crate::dispatch_async(self.store(), operation, request)
    }
}
