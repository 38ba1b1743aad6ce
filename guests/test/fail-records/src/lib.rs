//! Test guest for triggers: partial batch failures and retries.
//!
//! - A record whose data (stream) or keys/images (table change) contain
//!   `fail` is reported in `failed-sequence-numbers` (Lambda's
//!   batchItemFailures); the others succeed.
//! - A record, or a direct-invoke payload, that contains `throw` fails the
//!   whole invocation with a `RequestedFailure` handler error.
//!
//! It prints `record <sequence-number>: ok|fail` for each record, so tests can
//! read from the log which records were delivered, in which order, how often.
//! Returns `{"processed": N, "failed": [...]}`.

use eddy_guest::serde_json::json;
use eddy_guest::{ChangeBatch, Context, Handler, HandlerError, Response, StreamBatch};

/// Marks a record as failed (reported, not thrown).
const FAIL: &str = "fail";
/// Fails the whole invocation.
const THROW: &str = "throw";

struct FailRecords;

impl Handler for FailRecords {
    fn stream_batch(batch: StreamBatch, _context: &Context) -> Result<Response, HandlerError> {
        let records = batch.records.iter().map(|record| {
            let text = String::from_utf8_lossy(&record.data);
            (record.sequence_number.as_str(), text.into_owned())
        });
        judge(records)
    }

    fn change_batch(batch: ChangeBatch, _context: &Context) -> Result<Response, HandlerError> {
        let records = batch.records.iter().map(|record| {
            let text = [
                Some(record.keys.as_str()),
                record.new_image.as_deref(),
                record.old_image.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            (record.sequence_number.as_str(), text)
        });
        judge(records)
    }

    fn invoke(payload: String, _context: &Context) -> Result<Response, HandlerError> {
        if payload.contains(THROW) {
            return Err(thrown("the invoke payload"));
        }
        Ok(Response::json(&json!({ "processed": 0, "failed": [] })))
    }
}

/// Goes through `(sequence number, searchable text)` pairs in order.
fn judge<'a>(records: impl Iterator<Item = (&'a str, String)>) -> Result<Response, HandlerError> {
    let mut processed = 0_u64;
    let mut failed = Vec::new();
    for (sequence_number, text) in records {
        if text.contains(THROW) {
            println!("record {sequence_number}: throw");
            return Err(thrown(&format!("record {sequence_number}")));
        }
        processed += 1;
        if text.contains(FAIL) {
            println!("record {sequence_number}: fail");
            failed.push(sequence_number.to_owned());
        } else {
            println!("record {sequence_number}: ok");
        }
    }
    Ok(Response::json(&json!({ "processed": processed, "failed": failed })).with_failures(failed))
}

fn thrown(what: &str) -> HandlerError {
    HandlerError::new("RequestedFailure", format!("{what} contains \"{THROW}\""))
}

eddy_guest::export_handler!(FailRecords);
