//! Helpers on the event, response and error types of the WIT world.

use serde_json::Value;
use serde_json::value::RawValue;

use crate::json_text::{self, Dynamodb};
use crate::{ChangeKind, ChangeRecord, Event, HandlerError, Response, StoreError, StreamRecord};

impl Event {
    /// The direct-invoke payload parsed as JSON; `None` for trigger events and
    /// for a payload that is not valid JSON.
    pub fn invoke_json(&self) -> Option<Value> {
        match self {
            Event::Invoke(payload) => serde_json::from_str(payload).ok(),
            Event::StreamBatch(_) | Event::ChangeBatch(_) => None,
        }
    }
}

impl Response {
    /// Success with no payload and no failed records.
    pub fn ok() -> Self {
        Response {
            payload: None,
            failed_sequence_numbers: Vec::new(),
        }
    }

    /// Success returning `text` as a JSON string, like a Lambda handler that
    /// returns a string (`"Successfully processed 1 records."`).
    pub fn message(text: &str) -> Self {
        Self::json(&Value::String(text.to_owned()))
    }

    /// Success returning `value` as the JSON payload.
    pub fn json(value: &Value) -> Self {
        Response {
            payload: Some(value.to_string()),
            failed_sequence_numbers: Vec::new(),
        }
    }

    /// Reports these records as failed (Lambda's batchItemFailures): with
    /// ReportBatchItemFailures the trigger retries from the first of them.
    pub fn with_failures(mut self, sequence_numbers: Vec<String>) -> Self {
        self.failed_sequence_numbers = sequence_numbers;
        self
    }
}

impl HandlerError {
    /// An error of type `error_type` (Lambda's errorType) with a message.
    pub fn new(error_type: &str, message: impl Into<String>) -> Self {
        HandlerError {
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }

    /// The function was invoked with an event it does not handle.
    pub fn unsupported(what: &str) -> Self {
        Self::new(
            "UnsupportedEvent",
            format!("this function does not handle {what}"),
        )
    }
}

impl From<StoreError> for HandlerError {
    /// A store error fails the invocation under its AWS exception name, as an
    /// uncaught AWS SDK error fails a Lambda function.
    fn from(error: StoreError) -> Self {
        Self::new(error.exception_name(), error.message())
    }
}

impl From<serde_json::Error> for HandlerError {
    fn from(error: serde_json::Error) -> Self {
        Self::new("InvalidJson", error.to_string())
    }
}

impl StreamRecord {
    /// The payload as UTF-8 text (Python's `.decode('utf-8')`).
    pub fn data_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.data)
    }
}

impl ChangeKind {
    /// The eventName Lambda uses: `INSERT`, `MODIFY` or `REMOVE`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
            ChangeKind::Remove => "REMOVE",
        }
    }
}

impl ChangeRecord {
    /// The item's primary key, parsed (DynamoDB JSON: `{"Username":{"S":"Jane"}}`).
    pub fn keys_json(&self) -> Result<Value, HandlerError> {
        parse("Keys", &self.keys)
    }

    /// The item after the change, parsed; `None` when the stream's view type
    /// leaves it out or the item was removed.
    pub fn new_image_json(&self) -> Result<Option<Value>, HandlerError> {
        self.new_image
            .as_deref()
            .map(|image| parse("NewImage", image))
            .transpose()
    }

    /// The item before the change, parsed; `None` when the stream's view type
    /// leaves it out or the item is new.
    pub fn old_image_json(&self) -> Result<Option<Value>, HandlerError> {
        self.old_image
            .as_deref()
            .map(|image| parse("OldImage", image))
            .transpose()
    }

    /// The raw JSON of the new image's top-level attributes `names`, in the
    /// order asked (`[Some({"S":"Jane Doe"}), Some({"N":"100"})]`), read in
    /// one pass without building a `Value`: all `None` when there is no new
    /// image (or it is not an object), `None` for an attribute it lacks.
    /// Errors like [`ChangeRecord::new_image_json`] when the image is not
    /// valid JSON.
    pub fn new_image_attributes<const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<[Option<&RawValue>; N], HandlerError> {
        match self.new_image.as_deref() {
            Some(image) => json_text::top_level(image, names).map_err(|e| invalid("NewImage", e)),
            None => Ok([None; N]),
        }
    }

    /// The record's `dynamodb` object as Lambda shows it (what the lab logs
    /// with `console.log("DynamoDB Record: %j", record.dynamodb)`), as JSON
    /// text. See [`ChangeRecord::write_dynamodb_json`].
    pub fn dynamodb_json(&self, view_type: &str) -> String {
        let mut out = String::new();
        self.write_dynamodb_json(view_type, &mut out);
        out
    }

    /// Appends the record's `dynamodb` object to `out`, so a loop can reuse
    /// one buffer: joined from the event's JSON strings, not parsed
    /// ([`Dynamodb::write`]).
    pub fn write_dynamodb_json(&self, view_type: &str, out: &mut String) {
        let fields = Dynamodb {
            approximate_creation_time: self.approximate_creation_time,
            keys: &self.keys,
            new_image: self.new_image.as_deref(),
            old_image: self.old_image.as_deref(),
            sequence_number: &self.sequence_number,
            size_bytes: self.size_bytes,
            view_type,
        };
        fields.write(out);
    }
}

/// Parses a DynamoDB JSON string eddy handed over; a failure is an eddy bug,
/// reported as an error rather than a trap so the message reaches the log.
fn parse(what: &str, json: &str) -> Result<Value, HandlerError> {
    serde_json::from_str(json).map_err(|e| invalid(what, e))
}

fn invalid(what: &str, error: serde_json::Error) -> HandlerError {
    HandlerError::new("InvalidJson", format!("{what} is not valid JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(new_image: Option<&str>) -> ChangeRecord {
        ChangeRecord {
            event_id: "e1".into(),
            kind: ChangeKind::Insert,
            keys: r#"{"RecordID":{"N":"1"}}"#.into(),
            new_image: new_image.map(str::to_owned),
            old_image: None,
            sequence_number: "100".into(),
            size_bytes: 26,
            approximate_creation_time: 1_700_000_000,
        }
    }

    #[test]
    fn message_is_a_json_string() {
        let response = Response::message("Successfully processed 1 records.");
        assert_eq!(
            response.payload.as_deref(),
            Some(r#""Successfully processed 1 records.""#)
        );
        assert!(response.failed_sequence_numbers.is_empty());
    }

    #[test]
    fn write_dynamodb_json_appends() {
        let mut out = String::from("DynamoDB Record: ");
        record(None).write_dynamodb_json("KEYS_ONLY", &mut out);
        assert!(out.starts_with("DynamoDB Record: {\"ApproximateCreationDateTime\""));
        assert!(out.ends_with(r#""StreamViewType":"KEYS_ONLY"}"#), "{out}");
    }

    #[test]
    fn new_image_attributes_are_read_verbatim_or_absent() {
        let image = r#"{"RecordID":{"N":"2"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}"#;
        let found = record(Some(image));
        let [user, score, nick] = found
            .new_image_attributes(["Username", "Score", "Nickname"])
            .unwrap();
        assert_eq!(user.map(RawValue::get), Some(r#"{"S":"Jane Doe"}"#));
        assert_eq!(score.map(RawValue::get), Some(r#"{"N":"100"}"#));
        assert!(nick.is_none());
        let no_image = record(None);
        assert!(no_image.new_image_attributes(["Username"]).unwrap()[0].is_none());
        let error = record(Some("{not json"))
            .new_image_attributes(["Username"])
            .unwrap_err();
        assert_eq!(error.error_type, "InvalidJson");
        assert!(
            error.message.starts_with("NewImage is not valid JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn malformed_image_is_an_error_not_a_panic() {
        let error = record(Some("{not json")).new_image_json().unwrap_err();
        assert_eq!(error.error_type, "InvalidJson");
        assert!(error.message.starts_with("NewImage"), "{}", error.message);
        assert_eq!(record(None).new_image_json().unwrap(), None);
    }

    #[test]
    fn store_errors_become_aws_named_handler_errors() {
        let error = HandlerError::from(StoreError::ConditionalCheckFailed("no".into()));
        assert_eq!(error.error_type, "ConditionalCheckFailedException");
        assert_eq!(error.message, "no");
    }

    #[test]
    fn invoke_json_only_for_valid_invoke_payloads() {
        assert_eq!(
            Event::Invoke(r#"{"a":1}"#.into()).invoke_json(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(Event::Invoke("not json".into()).invoke_json(), None);
    }
}
