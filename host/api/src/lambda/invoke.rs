//! Invoke: runs one version of a function on an event, through `Functions`
//! (the one path invocations take, which also records logs and metrics).
//!
//! Request: FunctionName, Qualifier (a version number or `$LATEST`),
//! InvocationType (RequestResponse, Event, DryRun), LogType (None, Tail) and
//! Payload: the event JSON as text (the bytes Lambda's HTTP body carries); a
//! JSON value that is not a string is taken as the event itself, and no
//! Payload is `{}`. ClientContext is accepted and not passed on (the WIT
//! context has no place for it).
//!
//! Response: StatusCode, ExecutedVersion, Payload (the result JSON as text),
//! FunctionError `Unhandled` with a `{"errorType","errorMessage"}` payload when
//! the handler or the sandbox failed, and with LogType Tail, LogResult: the
//! last 4 KB of the START / log / END / REPORT lines, base64-encoded.
//!
//! eddy has no asynchronous queue: an `Event` invocation runs before the call
//! returns (StatusCode 202, no payload); its outcome is in the function's logs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_runtime::bindgen::Event;
use eddy_runtime::error::InvocationError;
use eddy_runtime::events::{event_from_json, response_to_json};
use eddy_runtime::invoke::InvocationOutcome;
use eddy_runtime::telemetry::{error_message, log_lines};
use serde_json::{Map, Value, json};

use super::functions::{invalid_member, lambda_error, runtime_error, target};
use crate::request::Request;
use crate::{Api, ApiError};

/// Lambda's limit on a synchronous invocation's payload (6 MB).
const MAX_PAYLOAD_BYTES: usize = 6_291_456;
/// How much of the log LogResult carries (Lambda: the last 4 KB).
const LOG_RESULT_BYTES: usize = 4 * 1024;

/// What the caller waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

fn invocation_type(req: &Request) -> Result<InvocationType, ApiError> {
    match req.opt_str("InvocationType")? {
        None | Some("RequestResponse") => Ok(InvocationType::RequestResponse),
        Some("Event") => Ok(InvocationType::Event),
        Some("DryRun") => Ok(InvocationType::DryRun),
        Some(other) => Err(invalid_member(
            other,
            "invocationType",
            "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        )),
    }
}

/// True for LogType Tail.
fn wants_log(req: &Request) -> Result<bool, ApiError> {
    match req.opt_str("LogType")? {
        None | Some("None") => Ok(false),
        Some("Tail") => Ok(true),
        Some(other) => Err(invalid_member(
            other,
            "logType",
            "Member must satisfy enum value set: [None, Tail]",
        )),
    }
}

/// The event the Payload carries, as the handler's WIT event.
fn event(req: &Request) -> Result<Event, ApiError> {
    let text = match req.get("Payload") {
        None => "{}".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
    };
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(lambda_error(
            "RequestTooLargeException",
            413,
            format!(
                "Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            ),
        ));
    }
    event_from_json(&text).map_err(|e| {
        let message = match e {
            InvocationError::InvalidEvent(m) => m,
            other => other.to_string(),
        };
        lambda_error(
            "InvalidRequestContentException",
            400,
            format!("Could not parse request body into json: {message}"),
        )
    })
}

/// Invoke (see the module docs).
pub(crate) fn invoke(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = Request::new(request, "ValidationException");
    let target = target(store, &req, true)?;
    let kind = invocation_type(&req)?;
    let tail = wants_log(&req)?;
    let event = event(&req)?;
    req.opt_str("ClientContext")?;
    let functions = api.functions()?;
    let deployed = functions
        .resolve(&target.name, target.version)
        .map_err(runtime_error)?;
    let version = deployed.version.to_string();
    if kind == InvocationType::DryRun {
        return Ok(json!({ "StatusCode": 204, "ExecutedVersion": version }));
    }
    // Its logs and metrics are buffered: written by the telemetry flusher
    // within ~200 ms, before any read of logs or metrics, and when the
    // process's `Api` drops (a one-shot CLI command).
    let outcome = functions.invoke(&deployed, event);
    if kind == InvocationType::Event {
        return Ok(json!({ "StatusCode": 202 }));
    }
    let mut out = Map::new();
    out.insert("StatusCode".into(), json!(200));
    out.insert("ExecutedVersion".into(), json!(version));
    out.insert("Payload".into(), json!(payload(&outcome).to_string()));
    if outcome.result.is_err() {
        out.insert("FunctionError".into(), json!("Unhandled"));
    }
    if tail {
        let log = log_lines(&outcome, deployed.version, deployed.config.memory_mib).join("\n");
        out.insert("LogResult".into(), json!(log_result(&log)));
    }
    Ok(Value::Object(out))
}

/// The result JSON, or Lambda's error document when the invocation failed.
fn payload(outcome: &InvocationOutcome) -> Value {
    match &outcome.result {
        Ok(response) => response_to_json(response),
        Err(e) => json!({ "errorType": e.error_type(), "errorMessage": error_message(e) }),
    }
}

/// The last 4 KB of `log` (from a character boundary), base64-encoded.
fn log_result(log: &str) -> String {
    let mut start = log.len().saturating_sub(LOG_RESULT_BYTES);
    while !log.is_char_boundary(start) {
        start = start.saturating_add(1);
    }
    STANDARD.encode(log.get(start..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_result_keeps_the_last_4_kb_whole_characters() {
        let short = "START\nEND";
        assert_eq!(
            STANDARD.decode(log_result(short)).unwrap(),
            short.as_bytes()
        );
        let long = format!("{}{}", "é".repeat(3000), "REPORT");
        let tail = String::from_utf8(STANDARD.decode(log_result(&long)).unwrap()).unwrap();
        assert!(tail.ends_with("REPORT"));
        assert!(tail.len() <= LOG_RESULT_BYTES && tail.len() >= LOG_RESULT_BYTES - 1);
    }

    #[test]
    fn a_handler_error_keeps_its_own_type_and_message() {
        let e = InvocationError::Handler {
            error_type: "AccessDeniedException".into(),
            message: "no grant".into(),
        };
        assert_eq!(error_message(&e), "no grant");
        assert_eq!(
            error_message(&InvocationError::FuelExhausted),
            "fuel exhausted"
        );
    }
}
