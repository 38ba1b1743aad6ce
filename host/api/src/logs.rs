//! The CloudWatch Logs API (`Logs_20140328.*`) over functions' logs: log group
//! `/aws/lambda/<function>`.

use serde_json::Value;

use crate::{Api, ApiError};

/// Runs one CloudWatch Logs operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let _ = (api, request);
    Err(ApiError::unknown_operation(&format!(
        "{}.{operation}",
        crate::LOGS
    )))
}
