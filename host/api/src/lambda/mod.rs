//! The Lambda API (`Lambda_20150331.*`), in the shapes of the Lambda API
//! reference: functions and their versions, Invoke, and event source mappings.
//! (Lambda's wire protocol is REST-JSON; the HTTP server maps its routes onto
//! these operation names.)

use serde_json::Value;

use crate::{Api, ApiError};

/// Runs one Lambda operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let _ = (api, request);
    Err(ApiError::unknown_operation(&format!(
        "{}.{operation}",
        crate::LAMBDA
    )))
}
