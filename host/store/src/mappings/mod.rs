//! Event source mappings (triggers): which function reads which stream or
//! table change stream, with which batching, retry and filter settings. Stored
//! as JSON in the MAPPINGS table; the pollers of eddy-triggers run them, and
//! their consumer checkpoints live in `checkpoints` under the mapping's UUID.

mod config;

pub use config::{Destination, EventSourceMapping, MappingState, Source, StartingPosition};
