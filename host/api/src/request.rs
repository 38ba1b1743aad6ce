//! Reading fields out of AWS JSON requests with the errors AWS gives for them.

use serde_json::{Map, Value};

use crate::ApiError;

/// A request body, with typed accessors that name the offending member on error.
pub(crate) struct Request<'a> {
    body: &'a Map<String, Value>,
    /// The error type for bad members: ValidationException (DynamoDB) or
    /// InvalidArgumentException / ValidationException (Kinesis).
    error_type: &'static str,
}

impl<'a> Request<'a> {
    pub(crate) fn new(body: &'a Value, error_type: &'static str) -> Request<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        Request {
            body: body
                .as_object()
                .unwrap_or_else(|| EMPTY.get_or_init(Map::new)),
            error_type,
        }
    }

    /// The whole body (an empty object when the request was not one).
    pub(crate) fn body(&self) -> &'a Map<String, Value> {
        self.body
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ApiError {
        ApiError::new(self.error_type, message)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    fn missing(&self, name: &str) -> ApiError {
        self.error(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    }

    fn wrong_type(&self, name: &str, expected: &str) -> ApiError {
        ApiError::serialization(format!("{name} must be {expected}"))
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a str, ApiError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(name, "a string")),
        }
    }

    pub(crate) fn opt_u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, "a non-negative integer")),
        }
    }

    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(name, "a boolean")),
        }
    }

    pub(crate) fn opt_object(
        &self,
        name: &str,
    ) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.wrong_type(name, "an object")),
        }
    }

    pub(crate) fn object(&self, name: &str) -> Result<&'a Map<String, Value>, ApiError> {
        self.opt_object(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(self.wrong_type(name, "a list")),
        }
    }

    pub(crate) fn array(&self, name: &str) -> Result<&'a Vec<Value>, ApiError> {
        self.opt_array(name)?.ok_or_else(|| self.missing(name))
    }
}

/// "TableName" → "tableName", as AWS names members in validation messages.
pub(crate) fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
