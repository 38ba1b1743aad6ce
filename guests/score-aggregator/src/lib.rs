//! Blueprint `dynamodb-aggregate-scores`: the lab's AggregateScoresByUser in
//! Rust. For each change record it logs `DynamoDB Record: <record.dynamodb>`,
//! then adds the new image's Score to the user's total:
//! UpdateItem on GameScoresByUser, Key {Username}, `ADD Score :attrValue`.
//! Returns `"Successfully processed N records."`.
//!
//! A failed UpdateItem fails the invocation (the Node.js original only logged
//! it and never completed, so Lambda timed it out; failing fast is the same
//! outcome, sooner, with the reason).
//!
//! It runs on every change of a busy table, so it does no more per record
//! than the original's work requires (`eddy bench invoke` holds it to 1.3×
//! the same handler in native Rust):
//! - the logged object is joined from the JSON strings the event carries,
//!   never parsed and re-serialised;
//! - the new image is read once, for Username and Score only, and their JSON
//!   is pasted into the key and the attribute value as is;
//! - buffers are reused from record to record;
//! - log lines reach stdout in chunks of about 4 KiB rather than one write
//!   per line (each write is several WASI calls). The log holds the same
//!   lines in the same order, flushed before the handler returns, error or
//!   not; only if the invocation is killed (timeout, fuel, memory) can the
//!   last chunk's lines, up to 4 KiB, be missing from it.

use std::io::{self, StdoutLock, Write as _};

use eddy_guest::serde_json::value::RawValue;
use eddy_guest::tables::text;
use eddy_guest::{
    ChangeBatch, ChangeRecord, Context, ExpressionAttributes, Handler, HandlerError, Response,
    ReturnValues,
};

/// The table the totals are kept in, as in the lab.
const TOTALS_TABLE: &str = "GameScoresByUser";
/// The lab's UpdateExpression.
const ADD_SCORE: &str = "ADD Score :attrValue";
/// Log output is written to stdout once this much is pending: one WASI
/// stream write takes up to 4096 bytes.
const LOG_CHUNK: usize = 4096;

struct AggregateScoresByUser;

impl Handler for AggregateScoresByUser {
    fn change_batch(batch: ChangeBatch, _context: &Context) -> Result<Response, HandlerError> {
        let mut log = Log::new();
        let aggregated = aggregate(&batch, &mut log);
        // The lines of the records handled so far are logged even when one
        // failed, as the original's console.log had printed them.
        let flushed = log.flush();
        aggregated.and(flushed)?;
        Ok(Response::message(&format!(
            "Successfully processed {} records.",
            batch.records.len()
        )))
    }
}

fn aggregate(batch: &ChangeBatch, log: &mut Log) -> Result<(), HandlerError> {
    let mut update = Update::new();
    for record in &batch.records {
        // The original reads NewImage.Username and NewImage.Score and
        // lets DynamoDB reject what is missing: a missing one is sent as
        // null, and the store's ValidationException fails the invocation.
        let [username, score] = record.new_image_attributes(["Username", "Score"])?;
        log.record(record, &batch.view_type)?;
        update.add_score(username, score)?;
    }
    Ok(())
}

/// Log lines not yet written to stdout (eddy's log capture).
struct Log {
    pending: String,
    stdout: StdoutLock<'static>,
}

impl Log {
    fn new() -> Log {
        Log {
            pending: String::new(),
            stdout: io::stdout().lock(),
        }
    }

    /// `DynamoDB Record: <record.dynamodb as JSON>`, as the original's
    /// `console.log("DynamoDB Record: %j", record.dynamodb)`.
    fn record(&mut self, record: &ChangeRecord, view_type: &str) -> Result<(), HandlerError> {
        self.pending.push_str("DynamoDB Record: ");
        record.write_dynamodb_json(view_type, &mut self.pending);
        self.pending.push('\n');
        if self.pending.len() >= LOG_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// stdout is eddy's log capture, which accepts every write; should it
    /// ever refuse one, the invocation fails rather than lose lines silently.
    fn flush(&mut self) -> Result<(), HandlerError> {
        self.stdout
            .write_all(self.pending.as_bytes())
            .and_then(|()| self.stdout.flush())
            .map_err(|e| {
                HandlerError::new("LogWriteFailed", format!("writing the log failed: {e}"))
            })?;
        self.pending.clear();
        Ok(())
    }
}

/// The text of each UpdateItem's key and attribute values, reused.
struct Update {
    key: String,
    attributes: ExpressionAttributes,
}

impl Update {
    fn new() -> Update {
        Update {
            key: String::new(),
            attributes: ExpressionAttributes {
                names: None,
                values: Some(String::new()),
            },
        }
    }

    /// UpdateItem `ADD Score :attrValue` on the user's total, with
    /// Key `{"Username": <username>}` and `:attrValue` = `<score>`.
    fn add_score(
        &mut self,
        username: Option<&RawValue>,
        score: Option<&RawValue>,
    ) -> Result<(), HandlerError> {
        self.key.clear();
        self.key.push_str("{\"Username\":");
        self.key.push_str(raw_or_null(username));
        self.key.push('}');
        let values = self.attributes.values.get_or_insert_with(String::new);
        values.clear();
        values.push_str("{\":attrValue\":");
        values.push_str(raw_or_null(score));
        values.push('}');
        text::update(
            TOTALS_TABLE,
            &self.key,
            ADD_SCORE,
            None,
            &self.attributes,
            ReturnValues::None,
        )?;
        Ok(())
    }
}

/// An attribute's JSON, or `null` for one the image lacks (what reading a
/// missing property gives the original, and what its request then carries).
fn raw_or_null(value: Option<&RawValue>) -> &str {
    value.map_or("null", RawValue::get)
}

eddy_guest::export_handler!(AggregateScoresByUser);
