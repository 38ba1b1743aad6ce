//! The one `bindgen!` site: Rust types and traits for the WIT world `handler`
//! (package eddy:trigger@0.1.0), synchronous (eddy uses no component-model
//! async). Host imports return `store-error` values; they never trap on
//! anything the guest passed.

wasmtime::component::bindgen!({
    world: "handler",
    path: "../../wit",
});

pub use eddy::trigger::events::{ChangeBatch, ChangeKind, ChangeRecord, StreamBatch, StreamRecord};
pub use eddy::trigger::log::Level;
pub use eddy::trigger::streams::PutResult;
pub use eddy::trigger::tables::{QueryPage, QueryRequest};
pub use eddy::trigger::types::{ExpressionAttributes, ReturnValues, StoreError};
