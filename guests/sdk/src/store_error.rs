//! Helpers on the error a host call returns.

use crate::StoreError;

impl StoreError {
    /// The AWS exception name of this error (`ConditionalCheckFailedException`, ...).
    pub fn exception_name(&self) -> &'static str {
        match self {
            StoreError::AccessDenied(_) => "AccessDeniedException",
            StoreError::ConditionalCheckFailed(_) => "ConditionalCheckFailedException",
            StoreError::Validation(_) => "ValidationException",
            StoreError::NotFound(_) => "ResourceNotFoundException",
            StoreError::LimitExceeded(_) => "LimitExceededException",
            StoreError::Internal(_) => "InternalServerError",
        }
    }

    /// The WIT case name (`access-denied`, `conditional-check-failed`, ...).
    pub fn case(&self) -> &'static str {
        match self {
            StoreError::AccessDenied(_) => "access-denied",
            StoreError::ConditionalCheckFailed(_) => "conditional-check-failed",
            StoreError::Validation(_) => "validation",
            StoreError::NotFound(_) => "not-found",
            StoreError::LimitExceeded(_) => "limit-exceeded",
            StoreError::Internal(_) => "internal",
        }
    }

    /// The human-readable message the error carries.
    pub fn message(&self) -> &str {
        match self {
            StoreError::AccessDenied(m)
            | StoreError::ConditionalCheckFailed(m)
            | StoreError::Validation(m)
            | StoreError::NotFound(m)
            | StoreError::LimitExceeded(m)
            | StoreError::Internal(m) => m,
        }
    }

    /// A host reply that is not the JSON the contract promises.
    pub(crate) fn malformed_reply(error: serde_json::Error) -> Self {
        StoreError::Internal(format!("eddy returned malformed JSON: {error}"))
    }
}
