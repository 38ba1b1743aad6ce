//! eddy-store: the data plane. Kinesis-style streams, DynamoDB-style tables with
//! change streams, and consumer checkpoints, all in one redb file per data
//! directory, written through one group-commit writer.
//!
//! Sync API, typed errors; no async runtime, no WASM, no HTTP.

pub mod checkpoints;
pub mod clock;
mod data_file;
pub mod error;
pub mod expressions;
pub mod functions;
pub mod maintenance;
pub mod mappings;
pub mod notify;
pub mod records;
mod schema;
pub mod store;
pub mod streams;
pub mod tables;
pub mod telemetry;
pub mod timefmt;
pub mod value;
pub mod writer;

pub use clock::Clock;
pub use error::{Result, StoreError};
pub use store::{Store, StoreOptions};
pub use value::{AttributeValue, Item, Number};
pub use writer::{Durability, WriteCtx, WriteFuture};
