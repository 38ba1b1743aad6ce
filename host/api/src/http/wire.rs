//! The AWS JSON protocol's envelope, shared by the server and the client: the
//! headers, the content types, and errors in and out of their wire shape.

use hyper::HeaderMap;
use hyper::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::ApiError;

/// Names the operation: `<Service_Version>.<Operation>`.
pub const TARGET: &str = "x-amz-target";
/// The error type of an error response (also in the body's `__type`).
pub const ERROR_TYPE: &str = "x-amzn-errortype";
/// An id per request, as AWS sends it; botocore reports it in ResponseMetadata.
pub const REQUEST_ID: &str = "x-amzn-requestid";
/// DynamoDB's (and the default) content type. Kinesis, Logs and CloudWatch
/// clients send 1.1; the server answers in whichever the request used.
pub const JSON_1_0: &str = "application/x-amz-json-1.0";
pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// The content type to answer with: the request's own AWS JSON version, or
/// 1.0 for a request that named none (curl, a test).
pub fn response_content_type(headers: &HeaderMap) -> &'static str {
    let sent = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match sent {
        Some(ct) if ct.trim_start().starts_with(JSON_1_1) => JSON_1_1,
        _ => JSON_1_0,
    }
}

/// The operation the request names in `X-Amz-Target`.
pub fn target(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get(TARGET).ok_or_else(|| {
        ApiError::new(
            "UnknownOperationException",
            "the request has no X-Amz-Target header; send X-Amz-Target: <Service_Version>.<Operation>, e.g. DynamoDB_20120810.GetItem",
        )
    })?;
    let target = value.to_str().map_err(|_| {
        ApiError::new(
            "UnknownOperationException",
            "the X-Amz-Target header is not ASCII text",
        )
    })?;
    Ok(target.trim().to_string())
}

/// The request body as JSON. An empty body is `{}`: the SDKs send `{}` for an
/// operation without input, and a bare `curl -X POST` means the same.
pub fn parse_request(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("the request body is not valid JSON: {e}")))
}

/// Reads an error response back into the `ApiError` the server sent: the type
/// from `__type` (without a `namespace#` prefix, as botocore strips it) or
/// from the `x-amzn-ErrorType` header, the message from `message`/`Message`,
/// and any other members (ConditionalCheckFailedException's Item) as extras.
pub fn decode_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let mut fields = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let from_body = fields
        .remove("__type")
        .and_then(|t| t.as_str().map(str::to_string));
    let from_header = headers
        .get(ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw_type = from_body
        .or(from_header)
        .unwrap_or_else(|| fallback_type(status));
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| fields.remove(*k))
        .and_then(|m| m.as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let mut error = ApiError::new(clean_type(&raw_type), message);
    error.status = status;
    if !fields.is_empty() {
        error.extra = Some(Box::new(Value::Object(fields)));
    }
    error
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ResourceNotFoundException:http://...` both name ResourceNotFoundException.
fn clean_type(raw: &str) -> &str {
    let name = raw.rsplit_once('#').map_or(raw, |(_, name)| name);
    name.split_once(':').map_or(name, |(name, _)| name).trim()
}

fn fallback_type(status: u16) -> String {
    if status >= 500 {
        "InternalFailure".to_string()
    } else {
        "UnknownError".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn error_types_lose_their_namespace_and_header_suffix() {
        assert_eq!(
            clean_type("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            clean_type("ValidationException:http://internal.amazon.com/"),
            "ValidationException"
        );
        assert_eq!(
            clean_type("SerializationException"),
            "SerializationException"
        );
    }

    #[test]
    fn an_error_round_trips_through_its_wire_shape() {
        let mut sent = ApiError::new("ConditionalCheckFailedException", "no");
        sent.extra = Some(Box::new(json!({"Item": {"k": {"S": "v"}}})));
        let body = serde_json::to_vec(&sent.to_json()).unwrap();
        let got = decode_error(400, &HeaderMap::new(), &body);
        assert_eq!(got, sent);
    }

    #[test]
    fn an_error_without_a_json_body_takes_its_type_from_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_TYPE, HeaderValue::from_static("ThrottlingException"));
        let got = decode_error(400, &headers, b"slow down");
        assert_eq!(got.error_type, "ThrottlingException");
        assert_eq!(got.message, "slow down");
        assert_eq!(
            decode_error(502, &HeaderMap::new(), b"").error_type,
            "InternalFailure"
        );
    }

    #[test]
    fn empty_bodies_are_empty_requests_and_bad_json_is_a_serialization_error() {
        assert_eq!(parse_request(b"").unwrap(), json!({}));
        assert_eq!(parse_request(b" \n").unwrap(), json!({}));
        let err = parse_request(b"{nope").unwrap_err();
        assert_eq!(err.error_type, "SerializationException");
    }

    #[test]
    fn the_answer_uses_the_requests_json_version() {
        let mut headers = HeaderMap::new();
        assert_eq!(response_content_type(&headers), JSON_1_0);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
        assert_eq!(response_content_type(&headers), JSON_1_1);
    }
}
