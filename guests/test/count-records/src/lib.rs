//! Test guest for triggers: exactly-once effects under retries.
//!
//! For every record it adds 1 to `Seen` of the item `{"Id": <record id>}` in
//! the table `Counts`, and 1 to `Seen` of the item `{"Id": "total"}` (so
//! concurrent shards contend on one item and must be re-run on conflict). The
//! record id is the record's data as text (stream) or its sequence number
//! (table change).
//!
//! It also appends each record's sequence number to the list `Seqs` of the
//! item `{"Id": "order/<shard id>"}` (`order/change` for table changes), so a
//! test can check that every shard was delivered in order.
//!
//! While the table `Control` holds the item `{"Id": "fail"}`, after making
//! those writes it fails the whole invocation with `RequestedFailure` if a
//! record's text contains `throw`, and reports the records whose text
//! contains `partial` in `failed-sequence-numbers` (batchItemFailures). A
//! test deletes that item to let the batch succeed. If the writes of a failed
//! invocation ever leaked, or a retried record were applied twice, some
//! `Seen` would be above 1.
//!
//! Needs `write:table/Counts`, `read:table/Counts` and `read:table/Control`.

use eddy_guest::serde_json::json;
use eddy_guest::{ChangeBatch, Context, Handler, HandlerError, Response, StreamBatch, tables};

const COUNTS: &str = "Counts";
const CONTROL: &str = "Control";
const THROW: &str = "throw";
const PARTIAL: &str = "partial";

struct CountRecords;

impl Handler for CountRecords {
    fn stream_batch(batch: StreamBatch, _context: &Context) -> Result<Response, HandlerError> {
        let records = batch.records.iter().map(|record| {
            let text = String::from_utf8_lossy(&record.data).into_owned();
            (text.clone(), record.sequence_number.clone(), text)
        });
        count(&format!("order/{}", batch.shard_id), records)
    }

    fn change_batch(batch: ChangeBatch, _context: &Context) -> Result<Response, HandlerError> {
        let records = batch.records.iter().map(|record| {
            let text = record.new_image.clone().unwrap_or_default();
            let sequence = record.sequence_number.clone();
            (sequence.clone(), sequence, text)
        });
        count("order/change", records)
    }
}

/// Counts `(record id, sequence number, searchable text)` triples, then
/// fails if told to.
fn count(
    order: &str,
    records: impl Iterator<Item = (String, String, String)>,
) -> Result<Response, HandlerError> {
    let mut seen = 0_u64;
    let mut throw = false;
    let mut partial = Vec::new();
    let mut sequences = Vec::new();
    for (id, sequence, text) in records {
        add_one(&id)?;
        add_one("total")?;
        throw |= text.contains(THROW);
        if text.contains(PARTIAL) {
            partial.push(sequence.clone());
        }
        sequences.push(json!({ "S": sequence }));
        seen += 1;
    }
    tables::update_item(
        COUNTS,
        &json!({ "Id": { "S": order } }),
        "SET Seqs = list_append(if_not_exists(Seqs, :empty), :seqs)",
    )
    .value(":empty", json!({ "L": [] }))
    .value(":seqs", json!({ "L": sequences }))
    .send()?;
    let told = (throw || !partial.is_empty())
        && tables::get(CONTROL, &json!({ "Id": { "S": "fail" } }))?.is_some();
    if told && throw {
        println!("failing a batch of {seen} after writing");
        return Err(HandlerError::new(
            "RequestedFailure",
            "a record contains \"throw\" and Control holds \"fail\"",
        ));
    }
    let failed = if told { partial } else { Vec::new() };
    Ok(Response::json(&json!({ "counted": seen, "failed": failed })).with_failures(failed))
}

fn add_one(id: &str) -> Result<(), HandlerError> {
    tables::update_item(COUNTS, &json!({ "Id": { "S": id } }), "ADD Seen :one")
        .value(":one", json!({ "N": "1" }))
        .send()?;
    Ok(())
}

eddy_guest::export_handler!(CountRecords);
