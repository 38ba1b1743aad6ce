//! Test guest: allocates (and touches) 1 MiB blocks and keeps them all until
//! the memory cap refuses to grow linear memory. The allocation failure then
//! aborts, i.e. traps; the host reports "memory limit exceeded".
//!
//! A direct invoke of `{"mib": N}` stops after N MiB and returns how many it
//! got, to check that memory under the cap is usable.

use eddy_guest::serde_json::{Value, json};
use eddy_guest::{Context, Event, Handler, HandlerError, Response};

const MIB: usize = 1 << 20;

struct MemoryBomb;

impl Handler for MemoryBomb {
    fn handle(event: Event, _context: Context) -> Result<Response, HandlerError> {
        let limit = event
            .invoke_json()
            .and_then(|options| options.get("mib").and_then(Value::as_u64))
            .and_then(|mib| usize::try_from(mib).ok());
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        while limit.is_none_or(|mib| blocks.len() < mib) {
            // Writing every page makes the memory real, not just reserved.
            let block = vec![blocks.len() as u8 | 1; MIB];
            blocks.push(std::hint::black_box(block));
        }
        Ok(Response::json(&json!({ "allocated_mib": blocks.len() })))
    }
}

eddy_guest::export_handler!(MemoryBomb);
