//! Test guest: writes megabytes of log output; the host must bound what it
//! keeps per invocation (and mark the truncation), then carry on.
//!
//! Direct invoke payload (all optional): `{"bytes": 8388608, "via": "stdout"}`,
//! where `via` is `stdout`, `stderr` or `log` (the log interface). Returns how
//! many bytes it wrote.

use std::io::Write;

use eddy_guest::serde_json::{Value, json};
use eddy_guest::{Context, Event, Handler, HandlerError, Response, log};

/// 8 MiB: far past any sensible per-invocation log budget.
const DEFAULT_BYTES: u64 = 8 << 20;
/// Each line is this long, newline included.
const LINE_BYTES: u64 = 1024;

struct LogFlood;

impl Handler for LogFlood {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        let request = event.invoke_json().unwrap_or_default();
        let bytes = request
            .get("bytes")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_BYTES);
        let via = request
            .get("via")
            .and_then(Value::as_str)
            .unwrap_or("stdout");
        let line = "x".repeat((LINE_BYTES - 1) as usize);
        let lines = bytes / LINE_BYTES;
        for _ in 0..lines {
            match via {
                "stdout" => writeln!(std::io::stdout(), "{line}").map_err(io_error)?,
                "stderr" => writeln!(std::io::stderr(), "{line}").map_err(io_error)?,
                "log" => log::info(&line),
                other => {
                    return Err(HandlerError::new(
                        "InvalidRequest",
                        format!("unknown `via`: {other} (stdout, stderr or log)"),
                    ));
                }
            }
        }
        Ok(Response::json(
            &json!({ "bytes": lines * LINE_BYTES, "via": via }),
        ))
    }
}

fn io_error(error: std::io::Error) -> HandlerError {
    HandlerError::new("IoError", error.to_string())
}

eddy_guest::export_handler!(LogFlood);
