//! Errors as the AWS JSON protocols carry them: a type name and a message.

use eddy_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct ApiError {
    /// The AWS error type, e.g. "ResourceNotFoundException".
    pub error_type: String,
    pub message: String,
    /// The HTTP status a server sends with it (400 for client errors, 500 otherwise).
    pub status: u16,
    /// Extra members some errors carry (ConditionalCheckFailedException's Item).
    pub extra: Option<Box<Value>>,
}

impl ApiError {
    pub fn new(error_type: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            error_type: error_type.to_string(),
            message: message.into(),
            status: 400,
            extra: None,
        }
    }

    pub fn unknown_operation(operation: &str) -> ApiError {
        ApiError::new(
            "UnknownOperationException",
            format!(
                "unknown operation {operation:?}; expected <Service_Version>.<Operation>, e.g. DynamoDB_20120810.GetItem"
            ),
        )
    }

    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new("SerializationException", message)
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidArgumentException", message)
    }

    /// The error as the AWS JSON protocol body: {"__type": ..., "message": ...}.
    pub fn to_json(&self) -> Value {
        let mut body = json!({ "__type": self.error_type, "message": self.message });
        if let (Some(Value::Object(extra)), Some(map)) =
            (self.extra.as_deref(), body.as_object_mut())
        {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        let status = if e.is_client_error() { 400 } else { 500 };
        let extra = match &e {
            StoreError::ConditionalCheckFailed { item: Some(item) } => Some(Box::new(
                json!({ "Item": eddy_store::value::json::item_to_json(item) }),
            )),
            _ => None,
        };
        ApiError {
            error_type: e.aws_type().to_string(),
            message: e.to_string(),
            status,
            extra,
        }
    }
}
