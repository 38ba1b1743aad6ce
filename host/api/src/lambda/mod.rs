//! The Lambda API (`Lambda_20150331.*`), in the shapes of the Lambda API
//! reference: functions and their versions, Invoke, and event source mappings.
//! (Lambda's wire protocol is REST-JSON; the HTTP server maps its routes onto
//! these operation names.)

mod functions;
mod invoke;
mod mappings;

pub use functions::RUNTIME;

use serde_json::Value;

use crate::{Api, ApiError};

/// Runs one Lambda operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    match operation {
        "CreateFunction" => functions::create_function(api, request),
        "GetFunction" => functions::get_function(api, request),
        "GetFunctionConfiguration" => functions::get_function_configuration(api, request),
        "ListFunctions" => functions::list_functions(api, request),
        "UpdateFunctionCode" => functions::update_function_code(api, request),
        "ListVersionsByFunction" => functions::list_versions_by_function(api, request),
        "DeleteFunction" => functions::delete_function(api, request),
        "Invoke" => invoke::invoke(api, request),
        "CreateEventSourceMapping" => mappings::create(api, request),
        "GetEventSourceMapping" => mappings::get(api, request),
        "ListEventSourceMappings" => mappings::list(api, request),
        "UpdateEventSourceMapping" => mappings::update(api, request),
        "DeleteEventSourceMapping" => mappings::delete(api, request),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::LAMBDA
        ))),
    }
}
