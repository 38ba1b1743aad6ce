//! Event source mappings (triggers): which function reads which stream or
//! table change stream, with which batching, retry and filter settings. Stored
//! as JSON in the MAPPINGS table; the pollers of eddy-triggers run them, and
//! their consumer checkpoints live in `checkpoints` under the mapping's UUID.
//!
//! - `config`: the mapping, its spec and changes, and Lambda's bounds;
//! - `registry`: create / get / list / update / set_state / delete;
//! - `sources`: the record log and shards a source reads;
//! - `status`: each poller's last result (written by the pollers);
//! - `poll`: the pollers' reads of stream shards.
//!
//! Checkpoint convention (shared with the pollers): a consumer's checkpoint in
//! a shard is the last sequence it has processed; a shard with no checkpoint
//! is read from its oldest retained record. `create` writes the starting
//! checkpoints (TRIM_HORIZON: none; LATEST: the log head; AT_TIMESTAMP: just
//! before the first record at or after the time) in the same write as the
//! mapping, so no record slips between creation and the first poll.

mod config;
pub mod poll;
mod registry;
mod sources;
pub mod status;
mod uuid;

pub use config::{
    Destination, EventSourceMapping, MappingChanges, MappingSpec, MappingState, Source,
    StartingPosition, limits,
};
pub use poll::{StreamPage, read_stream};
pub use registry::{create, delete, get, list, list_for, set_state, update};
pub use sources::{ResolvedSource, resolve_source};
pub use status::ShardStatus;

/// True for the UUID shape Lambda accepts for a mapping (8-4-4-4-12 hex).
pub fn is_uuid(text: &str) -> bool {
    uuid::is_uuid(text)
}

#[cfg(test)]
mod tests;
