//! Lambda's error names and HTTP statuses, for the store's and the runtime's
//! errors and for request members that fail a constraint.

use eddy_runtime::error::RuntimeError;
use eddy_store::StoreError;
use eddy_store::streams::validate::{failure, message};

use crate::ApiError;

/// A Lambda error with its HTTP status.
pub(crate) fn lambda_error(error_type: &str, status: u16, message: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(error_type, message);
    e.status = status;
    e
}

/// Lambda's InvalidParameterValueException (400).
pub(crate) fn invalid_parameter(message: impl Into<String>) -> ApiError {
    lambda_error("InvalidParameterValueException", 400, message)
}

/// Lambda's ValidationException for one member that failed a constraint.
pub(crate) fn invalid_member(value: &str, member: &str, why: &str) -> ApiError {
    ApiError::validation(message(&[failure(value, member, why)]))
}

/// A store error as Lambda names it: not found 404, a taken name
/// ResourceConflictException 409, storage failures ServiceException 500.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::ResourceNotFound(m) => lambda_error("ResourceNotFoundException", 404, m),
        StoreError::ResourceInUse(m) => lambda_error("ResourceConflictException", 409, m),
        StoreError::LimitExceeded(m) => lambda_error("CodeStorageExceededException", 400, m),
        e @ (StoreError::Storage(_) | StoreError::DirectoryLocked(_)) => {
            lambda_error("ServiceException", 500, e.to_string())
        }
        other => ApiError::from(other),
    }
}

/// A runtime error as Lambda names it: refused code or grants are the
/// caller's (InvalidParameterValueException); engine trouble is ours.
pub(crate) fn runtime_error(e: RuntimeError) -> ApiError {
    match e {
        RuntimeError::Store(e) => store_error(e),
        e @ (RuntimeError::InvalidCode(_) | RuntimeError::InvalidGrant(_)) => {
            invalid_parameter(e.to_string())
        }
        e @ (RuntimeError::Engine(_) | RuntimeError::Cache(_)) => {
            lambda_error("ServiceException", 500, e.to_string())
        }
    }
}
