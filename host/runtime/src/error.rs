//! Errors of the runtime: loading code (`RuntimeError`) and running it
//! (`InvocationError`, whose `Display` is the named error users see in logs).

use std::time::Duration;

/// Loading or preparing a function failed. Nothing was stored or changed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    /// The code is not something eddy can run; the message names what is wrong.
    #[error("invalid function code: {0}")]
    InvalidCode(String),
    /// The engine could not be configured or started.
    #[error("WASM engine error: {0}")]
    Engine(String),
    /// A grant was not written as `read:table/T`, `write:table/T` or `write:stream/S`.
    #[error("{0}")]
    InvalidGrant(String),
    /// The component cache could not be read or written.
    #[error("component cache error: {0}")]
    Cache(String),
    /// The store refused or failed (e.g. no such function or version).
    #[error(transparent)]
    Store(#[from] eddy_store::StoreError),
}

/// Why an invocation failed. `Display` is the name the logs and metrics use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvocationError {
    /// The handler returned its own error (Lambda's errorType / errorMessage).
    #[error("{error_type}: {message}")]
    Handler { error_type: String, message: String },
    /// The invocation used its whole fuel budget.
    #[error("fuel exhausted")]
    FuelExhausted,
    /// The guest tried to grow memory past the function's cap.
    #[error("memory limit exceeded")]
    MemoryLimitExceeded,
    /// The wall-clock timeout passed.
    #[error("timed out after {:.2} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The guest trapped; the text has the trap and its wasm backtrace.
    #[error("trap: {0}")]
    Trap(String),
    /// Another writer changed an item this invocation read or wrote before it
    /// committed; none of its writes were applied. Retry the invocation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The invocation's writes could not be committed (storage failure).
    #[error("commit failed: {0}")]
    Commit(String),
    /// The event could not be turned into the handler's input.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The function could not be instantiated.
    #[error("cannot start the function: {0}")]
    Instantiate(String),
}

impl InvocationError {
    /// Lambda's errorType for this failure.
    pub fn error_type(&self) -> &str {
        match self {
            InvocationError::Handler { error_type, .. } => error_type,
            InvocationError::FuelExhausted => "FuelExhausted",
            InvocationError::MemoryLimitExceeded => "Runtime.OutOfMemory",
            InvocationError::TimedOut(_) => "Sandbox.Timedout",
            InvocationError::Trap(_) => "Runtime.Trap",
            InvocationError::Conflict(_) => "Conflict",
            InvocationError::Commit(_) => "CommitFailed",
            InvocationError::InvalidEvent(_) => "InvalidEvent",
            InvocationError::Instantiate(_) => "Runtime.InitError",
        }
    }

    /// True when the instance that ran this must not be reused (a limit or a
    /// trap left it in an unknown state).
    pub fn poisons_instance(&self) -> bool {
        matches!(
            self,
            InvocationError::FuelExhausted
                | InvocationError::MemoryLimitExceeded
                | InvocationError::TimedOut(_)
                | InvocationError::Trap(_)
                | InvocationError::Instantiate(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_errors_have_their_names() {
        assert_eq!(InvocationError::FuelExhausted.to_string(), "fuel exhausted");
        assert_eq!(
            InvocationError::MemoryLimitExceeded.to_string(),
            "memory limit exceeded"
        );
        assert_eq!(
            InvocationError::TimedOut(Duration::from_secs(3)).to_string(),
            "timed out after 3.00 s"
        );
        assert!(InvocationError::Trap("x".into()).poisons_instance());
        assert!(!InvocationError::Conflict("x".into()).poisons_instance());
    }
}
