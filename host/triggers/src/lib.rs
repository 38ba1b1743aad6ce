//! eddy-triggers: event source mappings. One poller per (mapping, shard) reads
//! the records after the mapping's checkpoint, filters them, builds the
//! Lambda-shaped event, invokes the function, and commits the function's
//! writes together with the new checkpoint in one store transaction, so every
//! record's effect on eddy's tables happens exactly once.

pub mod filters;
