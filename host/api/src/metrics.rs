//! The CloudWatch metrics API (`GraniteServiceVersion20100801.*`, CloudWatch's
//! JSON protocol target) over functions' one-minute metrics, namespace AWS/Lambda.

use serde_json::Value;

use crate::{Api, ApiError};

/// Runs one CloudWatch operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let _ = (api, request);
    Err(ApiError::unknown_operation(&format!(
        "{}.{operation}",
        crate::CLOUDWATCH
    )))
}
