//! Kinesis-style streams: `put_record(stream, partition_key, data)` appends a
//! record, committed with the invocation. Calls without a `write:stream/NAME`
//! grant return [`StoreError::AccessDenied`](crate::StoreError).

pub use crate::bindings::eddy::trigger::streams::{PutResult, put_record};
