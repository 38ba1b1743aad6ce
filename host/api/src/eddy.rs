//! eddy's own operations (`Eddy_20261124.*`): what has no AWS API of its own —
//! roles as bundles of grants, and the built-in blueprints.

use serde_json::Value;

use crate::{Api, ApiError};

/// Runs one eddy operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let _ = (api, request);
    Err(ApiError::unknown_operation(&format!(
        "{}.{operation}",
        crate::EDDY
    )))
}
