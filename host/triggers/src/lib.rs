//! eddy-triggers: event source mappings. One poller per (mapping, shard) reads
//! the records after the mapping's checkpoint, filters them, builds the
//! Lambda-shaped event, invokes the function, and commits the function's
//! writes together with the new checkpoint in one store transaction, so every
//! record's effect on eddy's tables happens exactly once.
//!
//! - `engine`: `Triggers`, the RAII engine (a supervisor and its pollers);
//! - `poller`: one (mapping, shard) loop: wait on commits, read, batch;
//! - `batch`: invoke, retry, bisect, partial failures, give up;
//! - `pipeline`: reading and invoking a batch while the previous one commits;
//! - `commit`: the one write job of a batch (writes + checkpoint + status);
//! - `destination`: on-failure records; `event`: Lambda-shaped events;
//! - `source`: reading a shard; `filters`: Lambda's filter patterns;
//! - `handler`: component or native handler; `latency`: trigger latency.

mod batch;
mod commit;
mod destination;
mod engine;
mod event;
pub mod filters;
mod handler;
mod latency;
mod pipeline;
mod poller;
mod source;
mod stop;

pub use batch::{FIRST_BACKOFF, MAX_BACKOFF};
pub use engine::{PollerId, RESCAN, Triggers};
pub use handler::{NativeHandler, NativeHandlers};
pub use latency::Latency;
