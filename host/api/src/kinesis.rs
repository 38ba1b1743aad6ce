//! (being written)

use eddy_store::Store;
use serde_json::Value;

use crate::ApiError;

pub fn dispatch(_store: &Store, operation: &str, _request: &Value) -> Result<Value, ApiError> {
    Err(ApiError::unknown_operation(operation))
}
