//! One error type for the data plane. Each variant is named after the AWS error a
//! client expects, so the dispatcher maps it to the wire without guessing.

use crate::value::Item;

/// What went wrong in a store operation. Messages are written for the user: they
/// say what was wrong with the input and, where it helps, what to do instead.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Bad input to a DynamoDB-style operation (ValidationException).
    #[error("{0}")]
    Validation(String),
    /// A request value of the wrong JSON shape, e.g. a number where DynamoDB JSON
    /// wants a string (SerializationException).
    #[error("{0}")]
    Serialization(String),
    /// Bad input to a Kinesis-style operation (InvalidArgumentException).
    #[error("{0}")]
    InvalidArgument(String),
    /// The named stream, table or shard does not exist (ResourceNotFoundException).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The name is taken, or the resource is busy (ResourceInUseException).
    #[error("{0}")]
    ResourceInUse(String),
    /// A ConditionExpression evaluated to false; nothing was written.
    /// `item` is the old item when the caller asked for it
    /// (ReturnValuesOnConditionCheckFailure=ALL_OLD).
    #[error("The conditional request failed")]
    ConditionalCheckFailed { item: Option<Box<Item>> },
    /// A shard iterator older than five minutes (ExpiredIteratorException).
    #[error("{0}")]
    ExpiredIterator(String),
    /// A table stream read reached records already trimmed past the 24-hour
    /// retention (DynamoDB Streams' TrimmedDataAccessException).
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// An account-level limit was hit (LimitExceededException).
    #[error("{0}")]
    LimitExceeded(String),
    /// Another eddy process holds the data directory.
    #[error(
        "the data directory {0} is in use by another eddy process; stop it, or send requests to the `eddy serve` running on it"
    )]
    DirectoryLocked(String),
    /// The storage engine failed (disk full, I/O error, corrupt file). Nothing in the
    /// failed request was committed.
    #[error("storage error: {0}")]
    Storage(String),
}

impl StoreError {
    /// The AWS error type name a client sees for this error.
    pub fn aws_type(&self) -> &'static str {
        match self {
            StoreError::Validation(_) => "ValidationException",
            StoreError::InvalidArgument(_) => "InvalidArgumentException",
            StoreError::Serialization(_) => "SerializationException",
            StoreError::ResourceNotFound(_) => "ResourceNotFoundException",
            StoreError::ResourceInUse(_) => "ResourceInUseException",
            StoreError::ConditionalCheckFailed { .. } => "ConditionalCheckFailedException",
            StoreError::ExpiredIterator(_) => "ExpiredIteratorException",
            StoreError::TrimmedDataAccess(_) => "TrimmedDataAccessException",
            StoreError::LimitExceeded(_) => "LimitExceededException",
            StoreError::DirectoryLocked(_) | StoreError::Storage(_) => "InternalFailure",
        }
    }

    /// True for errors caused by the request rather than by the server.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            StoreError::DirectoryLocked(_) | StoreError::Storage(_)
        )
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(e.to_string())
            }
        }
    )*};
}
storage_from!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
