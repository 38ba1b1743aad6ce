//! Blueprint `dynamodb-aggregate-scores`: the lab's AggregateScoresByUser in
//! Rust. For each change record it logs `DynamoDB Record: <record.dynamodb>`,
//! then adds the new image's Score to the user's total:
//! UpdateItem on GameScoresByUser, Key {Username}, `ADD Score :attrValue`.
//! Returns `"Successfully processed N records."`.
//!
//! A failed UpdateItem fails the invocation (the Node.js original only logged
//! it and never completed, so Lambda timed it out; failing fast is the same
//! outcome, sooner, with the reason).

use eddy_guest::serde_json::{Value, json};
use eddy_guest::{ChangeBatch, ChangeRecord, Context, Handler, HandlerError, Response, tables};

/// The table the totals are kept in, as in the lab.
const TOTALS_TABLE: &str = "GameScoresByUser";

struct AggregateScoresByUser;

impl Handler for AggregateScoresByUser {
    fn change_batch(batch: ChangeBatch, _context: &Context) -> Result<Response, HandlerError> {
        for record in &batch.records {
            println!(
                "DynamoDB Record: {}",
                record.dynamodb_json(&batch.view_type)?
            );
            add_score(record)?;
        }
        Ok(Response::message(&format!(
            "Successfully processed {} records.",
            batch.records.len()
        )))
    }
}

fn add_score(record: &ChangeRecord) -> Result<(), HandlerError> {
    // The original reads NewImage.Username and NewImage.Score and lets
    // DynamoDB reject what is missing; do the same, with the same error.
    let image = record.new_image_json()?.unwrap_or(Value::Null);
    let username = image.get("Username").cloned().unwrap_or(Value::Null);
    let score = image.get("Score").cloned().unwrap_or(Value::Null);
    tables::update_item(
        TOTALS_TABLE,
        &json!({ "Username": username }),
        "ADD Score :attrValue",
    )
    .value(":attrValue", score)
    .send()?;
    Ok(())
}

eddy_guest::export_handler!(AggregateScoresByUser);
