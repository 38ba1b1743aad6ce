//! Blueprint `kinesis-process-record`: the lab's `kinesis-process-record-python`
//! in Rust. For each record it decodes the data as UTF-8 (eddy hands over bytes,
//! already base64-decoded) and prints `Decoded payload: <text>`; it returns
//! `"Successfully processed N records."`.
//!
//! It fails where the Python blueprint raises: a payload that is not UTF-8
//! (`UnicodeDecodeError`), an event without Kinesis records (`KeyError`).

use std::sync::atomic::{AtomicBool, Ordering};

use eddy_guest::{Context, Event, Handler, HandlerError, Response, StreamBatch};

/// Set once this instance has printed the blueprint's load message, which the
/// Python module prints at import: once per cold start, not per invocation.
static LOADED: AtomicBool = AtomicBool::new(false);

struct ProcessKinesisRecords;

impl Handler for ProcessKinesisRecords {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        if !LOADED.swap(true, Ordering::Relaxed) {
            println!("Loading function");
        }
        match event {
            Event::StreamBatch(batch) => process(&batch),
            Event::ChangeBatch(batch) if batch.records.is_empty() => Ok(processed(0)),
            Event::ChangeBatch(_) => Err(key_error("kinesis")),
            Event::Invoke(payload) => invoke(&payload),
        }
    }
}

fn process(batch: &StreamBatch) -> Result<Response, HandlerError> {
    for record in &batch.records {
        let payload = record.data_str().map_err(|e| {
            HandlerError::new(
                "UnicodeDecodeError",
                format!(
                    "'utf-8' codec can't decode record {}: {e}",
                    record.sequence_number
                ),
            )
        })?;
        println!("Decoded payload: {payload}");
    }
    Ok(processed(batch.records.len()))
}

/// A direct invoke that eddy did not recognise as a Kinesis event: like the
/// Python blueprint, an empty `Records` list succeeds and anything else is a
/// KeyError on the key that is missing.
fn invoke(payload: &str) -> Result<Response, HandlerError> {
    let event: eddy_guest::serde_json::Value = eddy_guest::serde_json::from_str(payload)?;
    match event.get("Records").and_then(|records| records.as_array()) {
        None => Err(key_error("Records")),
        Some(records) if records.is_empty() => Ok(processed(0)),
        Some(_) => Err(key_error("kinesis")),
    }
}

fn processed(count: usize) -> Response {
    Response::message(&format!("Successfully processed {count} records."))
}

fn key_error(key: &str) -> HandlerError {
    HandlerError::new("KeyError", format!("'{key}'"))
}

eddy_guest::export_handler!(ProcessKinesisRecords);
