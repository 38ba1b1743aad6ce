//! Test guest: calls a table and a stream it was given no grant for and
//! returns what each call gave back, proving access-denied is a value the
//! guest sees, not a trap. Returns (success) e.g.
//! `{"put":{"error":"access-denied","message":"..."},"get":{...},"put-record":{...}}`,
//! with `{"ok":true}` for any call that unexpectedly succeeded.
//!
//! Direct invoke payload (all optional):
//! `{"table": "GameScoresByUser", "stream": "Lab-Stream"}`.

use eddy_guest::serde_json::{Value, json};
use eddy_guest::{Context, Event, Handler, HandlerError, Response, StoreError, streams, tables};

struct UngrantedTable;

impl Handler for UngrantedTable {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        let request = event.invoke_json().unwrap_or_default();
        let table = request
            .get("table")
            .and_then(Value::as_str)
            .unwrap_or("GameScoresByUser");
        let stream = request
            .get("stream")
            .and_then(Value::as_str)
            .unwrap_or("Lab-Stream");
        let key = json!({ "Username": { "S": "ungranted" } });
        let item = json!({ "Username": { "S": "ungranted" }, "Score": { "N": "1" } });
        let put = tables::put(table, &item);
        let get = tables::get(table, &key);
        let put_record = streams::put_record(stream, "ungranted", b"ungranted");
        Ok(Response::json(&json!({
            "put": outcome(&put),
            "get": outcome(&get),
            "put-record": outcome(&put_record),
        })))
    }
}

fn outcome<T>(result: &Result<T, StoreError>) -> Value {
    match result {
        Ok(_) => json!({ "ok": true }),
        Err(error) => json!({ "error": error.case(), "message": error.message() }),
    }
}

eddy_guest::export_handler!(UngrantedTable);
