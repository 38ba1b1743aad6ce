//! eddy-api: the control plane. One dispatcher takes an AWS operation name
//! (`Kinesis_20131202.PutRecord`, `DynamoDB_20120810.UpdateItem`,
//! `DynamoDBStreams_20120810.GetRecords`, ...) and its JSON request, exactly as the
//! AWS API references shape them, and returns the JSON response or an AWS-named
//! error. The CLI, the HTTP server, the console and the tests all come through here.

pub mod dynamodb;
pub mod dynamodb_streams;
pub mod eddy;
pub mod error;
pub mod http;
pub mod kinesis;
pub mod lambda;
pub mod logs;
pub mod metrics;
mod request;
mod response;
mod services;

use std::future::Future;
use std::pin::Pin;

use eddy_store::Store;
use serde_json::Value;

pub use error::ApiError;
pub use response::Response;
pub use services::Api;

/// The services the dispatcher speaks, by their X-Amz-Target prefix.
pub const KINESIS: &str = "Kinesis_20131202";
pub const DYNAMODB: &str = "DynamoDB_20120810";
pub const DYNAMODB_STREAMS: &str = "DynamoDBStreams_20120810";
/// Lambda (a REST-JSON service on the wire; named like the others here).
pub const LAMBDA: &str = "Lambda_20150331";
/// CloudWatch Logs.
pub const LOGS: &str = "Logs_20140328";
/// CloudWatch (metrics), by its JSON-protocol target prefix.
pub const CLOUDWATCH: &str = "GraniteServiceVersion20100801";
/// eddy's own operations (roles, blueprints).
pub const EDDY: &str = "Eddy_20261124";

/// Runs one data-plane operation (Kinesis, DynamoDB, DynamoDB Streams) on
/// `store`. `Api::dispatch` takes every operation; this is its data-plane part,
/// for callers that hold only a store.
pub fn dispatch(store: &Store, operation: &str, request: &Value) -> Result<Value, ApiError> {
    respond(store, operation, request)?.into_value()
}

/// `dispatch`, its answer as it goes on the wire: pages of items stay the
/// JSON text they were rendered to (see `Response`).
pub fn respond(store: &Store, operation: &str, request: &Value) -> Result<Response, ApiError> {
    let (service, name) = split(operation, request)?;
    match service {
        KINESIS => kinesis::dispatch(store, name, request).map(Response::Value),
        DYNAMODB => dynamodb::dispatch(store, name, request),
        DYNAMODB_STREAMS => dynamodb_streams::dispatch(store, name, request).map(Response::Value),
        _ => Err(ApiError::unknown_operation(operation)),
    }
}

/// An operation under way without a thread of its own (see `dispatch_async`).
pub type Dispatching = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send>>;

/// The data-plane writes — PutItem, UpdateItem, DeleteItem, BatchWriteItem,
/// PutRecord, PutRecords — as futures: the same requests, checks, results and
/// errors as `dispatch`, but waiting for the group commit holds no thread, so
/// an async server keeps many in flight on one or two threads (64 requests
/// parked on 64 threads spent half the CPU switching between them). Any other
/// operation may wait on disk or run a function, so its request is handed
/// back (`Err`) for the caller to `dispatch` on a thread that may block.
pub fn dispatch_async(
    store: &Store,
    operation: &str,
    request: Value,
) -> Result<Dispatching, Value> {
    let runs_async = match operation.split_once('.') {
        Some((KINESIS, name)) => kinesis::ASYNC_WRITES.contains(&name),
        Some((DYNAMODB, name)) => dynamodb::ASYNC_WRITES.contains(&name),
        _ => false,
    };
    if !runs_async {
        return Err(request);
    }
    let store = store.clone();
    let operation = operation.to_string();
    Ok(Box::pin(async move {
        let (service, name) = split(&operation, &request)?;
        match service {
            KINESIS => kinesis::dispatch_write(&store, name, &request).await,
            _ => dynamodb::dispatch_write(&store, name, &request).await,
        }
    }))
}

/// `Api::respond`: every service.
fn route(api: &Api, operation: &str, request: &Value) -> Result<Response, ApiError> {
    let (service, name) = split(operation, request)?;
    let value = match service {
        LAMBDA => lambda::dispatch(api, name, request),
        LOGS => logs::dispatch(api, name, request),
        CLOUDWATCH => metrics::dispatch(api, name, request),
        EDDY => eddy::dispatch(api, name, request),
        _ => return respond(api.store(), operation, request),
    };
    value.map(Response::Value)
}

/// `<Service_Version>.<Operation>` split in two; a bare operation name is
/// refused, so a typo never reaches the wrong service.
fn split<'a>(operation: &'a str, request: &Value) -> Result<(&'a str, &'a str), ApiError> {
    let Some((service, name)) = operation.split_once('.') else {
        return Err(ApiError::unknown_operation(operation));
    };
    if !request.is_object() {
        return Err(ApiError::serialization(
            "the request body must be a JSON object",
        ));
    }
    Ok((service, name))
}
