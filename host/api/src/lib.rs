//! eddy-api: the control plane. One dispatcher takes an AWS operation name
//! (`Kinesis_20131202.PutRecord`, `DynamoDB_20120810.UpdateItem`,
//! `DynamoDBStreams_20120810.GetRecords`, ...) and its JSON request, exactly as the
//! AWS API references shape them, and returns the JSON response or an AWS-named
//! error. The CLI, the HTTP server, the console and the tests all come through here.

pub mod dynamodb;
pub mod dynamodb_streams;
pub mod error;
pub mod kinesis;
mod request;

use eddy_store::Store;
use serde_json::Value;

pub use error::ApiError;

/// The services the dispatcher speaks, by their X-Amz-Target prefix.
pub const KINESIS: &str = "Kinesis_20131202";
pub const DYNAMODB: &str = "DynamoDB_20120810";
pub const DYNAMODB_STREAMS: &str = "DynamoDBStreams_20120810";

/// Runs one operation. `operation` is `<Service_Version>.<Operation>`; a bare
/// operation name is refused, so a typo never reaches the wrong service.
pub fn dispatch(store: &Store, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let Some((service, name)) = operation.split_once('.') else {
        return Err(ApiError::unknown_operation(operation));
    };
    if !request.is_object() {
        return Err(ApiError::serialization(
            "the request body must be a JSON object",
        ));
    }
    match service {
        KINESIS => kinesis::dispatch(store, name, request),
        DYNAMODB => dynamodb::dispatch(store, name, request),
        DYNAMODB_STREAMS => dynamodb_streams::dispatch(store, name, request),
        _ => Err(ApiError::unknown_operation(operation)),
    }
}
