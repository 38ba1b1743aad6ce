//! Test guest: writes one item, then panics. The panic traps the invocation,
//! so the host must discard the write: the item must not appear in the table.
//!
//! Direct invoke payload (all optional):
//! `{"table": "GameScoresByUser", "item": {"Username": {"S": "trap-after-write"}}}`.
//! If the write itself fails the guest returns that error instead of
//! panicking, so a test cannot pass because nothing was ever written.

use eddy_guest::serde_json::{Value, json};
use eddy_guest::{Context, Event, Handler, HandlerError, Response, tables};

struct TrapAfterWrite;

impl Handler for TrapAfterWrite {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        let request = event.invoke_json().unwrap_or_default();
        let table = request
            .get("table")
            .and_then(Value::as_str)
            .unwrap_or("GameScoresByUser");
        let item = request.get("item").cloned().unwrap_or_else(
            || json!({ "Username": { "S": "trap-after-write" }, "Score": { "N": "1" } }),
        );
        tables::put(table, &item)?;
        println!("wrote an item to {table}; now panicking");
        panic!("trap after write: this invocation's write must be discarded");
    }
}

eddy_guest::export_handler!(TrapAfterWrite);
