//! One module per command group, and `Ctx`, the way every command reaches the
//! data: an AWS-shaped request through `eddy_api::dispatch`. Commands never touch
//! the store's tables themselves. The one exception, until Lambda-shaped
//! operations join the dispatcher, is the function and role registry, which
//! commands reach through its typed store API (`Ctx::store`).

pub mod bench;
pub mod blueprints;
pub mod call;
pub mod function;
pub mod invoke;
pub mod role;
pub mod stream;
pub mod table;

use std::cell::OnceCell;
use std::path::PathBuf;

use anyhow::{Context, Result};
use eddy_api::Api;
use eddy_store::{Durability, Store, StoreOptions};
use serde_json::Value;

/// What a command runs against: the data directory, opened on the first request.
///
/// Opening lazily means a command checks all of its arguments before the
/// directory is created or locked, and opens it at most once.
pub struct Ctx {
    data_dir: PathBuf,
    durability: Durability,
    store: OnceCell<Store>,
    api: OnceCell<Api>,
}

impl Ctx {
    /// A context on `data_dir`; nothing is opened until the first request.
    pub fn new(data_dir: PathBuf, durability: Durability) -> Ctx {
        Ctx {
            data_dir,
            durability,
            store: OnceCell::new(),
            api: OnceCell::new(),
        }
    }

    /// The store itself, for the registries that have a typed API and no
    /// AWS-shaped operation yet (functions, roles).
    pub(crate) fn store(&self) -> Result<&Store> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let options = StoreOptions {
            durability: self.durability,
            ..StoreOptions::default()
        };
        let store = Store::open(&self.data_dir, options).with_context(|| {
            format!("cannot open the data directory {}", self.data_dir.display())
        })?;
        Ok(self.store.get_or_init(|| store))
    }

    /// Runs one dispatcher operation, e.g. `call("DynamoDB_20120810.GetItem", req)`.
    /// An AWS error comes back as the error itself, so the user sees
    /// `ResourceNotFoundException: ...` first.
    pub fn call(&self, operation: &str, request: &Value) -> Result<Value> {
        Ok(self.api()?.dispatch(operation, request)?)
    }

    /// The dispatcher over this directory's store.
    fn api(&self) -> Result<&Api> {
        if let Some(api) = self.api.get() {
            return Ok(api);
        }
        let api = Api::new(self.store()?.clone());
        Ok(self.api.get_or_init(|| api))
    }

    /// `call` for a Kinesis operation (`kinesis("PutRecord", ...)`).
    pub fn kinesis(&self, operation: &str, request: &Value) -> Result<Value> {
        self.call(&format!("{}.{operation}", eddy_api::KINESIS), request)
    }

    /// `call` for a DynamoDB operation.
    pub fn dynamodb(&self, operation: &str, request: &Value) -> Result<Value> {
        self.call(&format!("{}.{operation}", eddy_api::DYNAMODB), request)
    }

    /// `call` for a DynamoDB Streams operation.
    pub fn dynamodb_streams(&self, operation: &str, request: &Value) -> Result<Value> {
        self.call(
            &format!("{}.{operation}", eddy_api::DYNAMODB_STREAMS),
            request,
        )
    }
}
