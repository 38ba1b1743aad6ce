//! One module per command group, and `Ctx`, the way every command reaches the
//! data: an AWS-shaped request through `eddy_api::Api::dispatch`, in this
//! process, or over HTTP when `eddy serve` holds the directory. Commands never touch
//! the store themselves.

pub mod bench;
pub mod blueprints;
pub mod call;
pub mod function;
pub mod invoke;
pub mod lab;
pub mod logs;
pub mod metrics;
pub mod role;
pub mod serve;
pub mod stream;
pub mod table;
pub mod trigger;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use eddy_api::Api;
use eddy_api::http::{Client, ClientError};
use eddy_store::{Durability, Store, StoreError, StoreOptions};
use serde_json::Value;

use crate::remote;

/// What a command runs against: the data directory, opened on the first request.
///
/// Opening lazily means a command checks all of its arguments before the
/// directory is created or locked, and opens it at most once.
///
/// When `eddy serve` holds the directory (its record, `server.json`, is
/// live), operations go to it over HTTP instead, with the same requests and
/// the same errors; a starting server is waited for (see `crate::remote`).
/// The server's own `--durability` then applies, not this command's.
pub struct Ctx {
    data_dir: PathBuf,
    durability: Durability,
    route: OnceCell<Route>,
}

/// Where a command's operations run.
enum Route {
    /// In this process, which holds the directory.
    Local(Api),
    /// In the `eddy serve` that holds it.
    Remote(Client),
}

impl Ctx {
    /// A context on `data_dir`; nothing is opened until the first request.
    pub fn new(data_dir: PathBuf, durability: Durability) -> Ctx {
        Ctx {
            data_dir,
            durability,
            route: OnceCell::new(),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// How writes are made durable.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The store's error, saying which directory.
    fn open_error(&self, e: StoreError) -> anyhow::Error {
        let dir = self.data_dir.display();
        anyhow::Error::new(e).context(format!("cannot open the data directory {dir}"))
    }

    /// Opens the store in this process.
    fn open(&self) -> Result<Store, StoreError> {
        let options = StoreOptions {
            durability: self.durability,
            ..StoreOptions::default()
        };
        Store::open(&self.data_dir, options)
    }

    /// Runs one dispatcher operation, e.g. `call("DynamoDB_20120810.GetItem", req)`.
    /// An AWS error comes back as the error itself, so the user sees
    /// `ResourceNotFoundException: ...` first.
    pub fn call(&self, operation: &str, request: &Value) -> Result<Value> {
        match self.route()? {
            Route::Local(api) => Ok(api.dispatch(operation, request)?),
            Route::Remote(client) => match client.call(operation, request) {
                Ok(response) => Ok(response),
                Err(ClientError::Api(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Runs the trigger engine in this process for as long as the returned
    /// handle lives, unless a server holds the directory (it runs its own).
    pub fn start_triggers(&self) -> Result<Option<eddy_triggers::Triggers>> {
        match self.route()? {
            Route::Local(api) => Ok(Some(eddy_triggers::Triggers::start(api.functions()?))),
            Route::Remote(_) => Ok(None),
        }
    }

    /// The server that holds the directory, else the dispatcher here.
    ///
    /// While another process holds the directory without a server record
    /// (another command; a server claiming it; a server closing its store
    /// after removing its record) this waits up to `remote::STARTUP_WAIT`,
    /// looking for a server again each time, rather than failing at once.
    fn route(&self) -> Result<&Route> {
        if let Some(route) = self.route.get() {
            return Ok(route);
        }
        let deadline = Instant::now() + remote::STARTUP_WAIT;
        let route = loop {
            if let Some(client) = remote::find_server(&self.data_dir)? {
                break Route::Remote(client);
            }
            match self.open() {
                Ok(store) => break Route::Local(Api::new(store)),
                Err(StoreError::DirectoryLocked(_)) if Instant::now() < deadline => {
                    std::thread::sleep(remote::POLL);
                }
                Err(e) => return Err(self.open_error(e)),
            }
        };
        Ok(self.route.get_or_init(|| route))
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

    /// `call` for a Lambda operation (functions, Invoke, event source mappings).
    pub fn lambda(&self, operation: &str, request: &Value) -> Result<Value> {
        self.call(&format!("{}.{operation}", eddy_api::LAMBDA), request)
    }

    /// `call` for one of eddy's own operations (roles, blueprints).
    pub fn eddy(&self, operation: &str, request: &Value) -> Result<Value> {
        self.call(&format!("{}.{operation}", eddy_api::EDDY), request)
    }
}

/// The AWS error type of a dispatcher error (anywhere in its chain), if it is one.
pub(crate) fn aws_error_type(e: &anyhow::Error) -> Option<&str> {
    e.chain()
        .find_map(|cause| cause.downcast_ref::<eddy_api::ApiError>())
        .map(|api| api.error_type.as_str())
}
