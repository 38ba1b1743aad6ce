//! Test guest: recurses until the wasm stack overflows, which wasmtime turns
//! into a trap (`call stack exhausted`).
//!
//! A direct invoke of `{"depth": N}` stops at depth N and returns N, to check
//! that ordinary recursion works; without it there is no bottom.

use eddy_guest::serde_json::Value;
use eddy_guest::{Context, Event, Handler, HandlerError, Response};

struct DeepRecursion;

impl Handler for DeepRecursion {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        let bottom = event
            .invoke_json()
            .and_then(|options| options.get("depth").and_then(Value::as_u64));
        let depth = recurse(0, std::hint::black_box(bottom.unwrap_or(u64::MAX)));
        Ok(Response::json(&depth.into()))
    }
}

/// Returns `bottom` after that many nested calls. Not a tail call (the result
/// is combined after the call returns) and each frame holds a buffer, so every
/// level really uses stack.
#[inline(never)]
fn recurse(depth: u64, bottom: u64) -> u64 {
    if depth >= bottom {
        return depth;
    }
    let frame = std::hint::black_box([depth; 16]);
    let below = recurse(depth + 1, bottom);
    below.max(frame[0])
}

eddy_guest::export_handler!(DeepRecursion);
