//! CloudWatch Logs reads through the dispatcher at the edges of a time range:
//! FilterLogEvents keeps an event at exactly endTime (GetLogEvents does not),
//! and a GetLogEvents forward token from an empty page does not skip the
//! function's very first log line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_api::Api;
use eddy_runtime::events::KINESIS_TEST_EVENT;
use eddy_runtime::guests;
use eddy_store::Clock;
use serde_json::{Value, json};

mod common;

const T0: u64 = 1_700_000_000_500;
const GROUP: &str = "/aws/lambda/kl";

fn api() -> (tempfile::TempDir, Api) {
    let (dir, store) = common::temp_store(Clock::manual(T0));
    let api = Api::new(store);
    let code = STANDARD.encode(guests::KINESIS_LOGGER);
    let create = json!({"FunctionName": "kl", "Code": {"ZipFile": code}});
    api.dispatch("Lambda_20150331.CreateFunction", &create)
        .unwrap();
    let invoke = json!({"FunctionName": "kl", "Payload": KINESIS_TEST_EVENT});
    api.dispatch("Lambda_20150331.Invoke", &invoke).unwrap();
    (dir, api)
}

fn logs(api: &Api, op: &str, request: Value) -> Value {
    api.dispatch(&format!("Logs_20140328.{op}"), &request)
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn messages(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn filter_log_events_keeps_an_event_at_exactly_end_time() {
    let (_dir, api) = api();
    let all = logs(&api, "FilterLogEvents", json!({"logGroupName": GROUP}));
    let events = all["events"].as_array().unwrap();
    let last = events.last().unwrap();
    let end = last["timestamp"].as_u64().unwrap();
    let upto = logs(
        &api,
        "FilterLogEvents",
        json!({"logGroupName": GROUP, "endTime": end}),
    );
    assert_eq!(messages(&upto), messages(&all));
    let stream = last["logStreamName"].as_str().unwrap();
    let get = logs(
        &api,
        "GetLogEvents",
        json!({"logGroupName": GROUP, "logStreamName": stream, "endTime": end, "startFromHead": true}),
    );
    let before: Vec<String> = events
        .iter()
        .filter(|e| e["timestamp"].as_u64().unwrap() < end)
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(messages(&get), before, "GetLogEvents' endTime is exclusive");
}

#[test]
fn a_forward_token_from_an_empty_page_keeps_the_first_line() {
    let (_dir, api) = api();
    let all = logs(&api, "FilterLogEvents", json!({"logGroupName": GROUP}));
    let first = &all["events"][0];
    assert!(first["message"].as_str().unwrap().starts_with("START"));
    let (start, stream) = (
        first["timestamp"].as_u64().unwrap(),
        first["logStreamName"].as_str().unwrap(),
    );
    // Nothing before the first line: an empty page, and its forward token.
    let empty = logs(
        &api,
        "GetLogEvents",
        json!({"logGroupName": GROUP, "logStreamName": stream,
               "startTime": start, "endTime": start, "startFromHead": true}),
    );
    assert!(messages(&empty).is_empty());
    let token = empty["nextForwardToken"].as_str().unwrap();
    let next = logs(
        &api,
        "GetLogEvents",
        json!({"logGroupName": GROUP, "logStreamName": stream, "nextToken": token}),
    );
    assert_eq!(messages(&next), messages(&all));
}
