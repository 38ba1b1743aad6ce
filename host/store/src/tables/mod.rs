//! DynamoDB-style tables and their change streams.
//!
//! - `meta`: TableMeta and CreateTable / DescribeTable / ListTables /
//!   UpdateTable / DeleteTable;
//! - `key`: primary-key validation and encoding;
//! - `items`: PutItem / GetItem / UpdateItem / DeleteItem (and `*_in` forms that
//!   run inside a caller's write job);
//! - `changes`: the change record every item change appends, in the same job;
//! - `change_format`: how a change record is stored, and rendered for readers;
//! - `change_streams`: the DynamoDB Streams read side, retention, and access
//!   for trigger pollers;
//! - `query`: Query and Scan pages streamed from range iterators;
//! - `batch`: BatchWriteItem (one write job) and BatchGetItem (one snapshot);
//!
//! Items live in ITEMS under (table id, encoded key); TABLE_STATS keeps each
//! table's exact item count and size. A change stream is a record log with one
//! shard, sequence numbers in `SequenceFormat::DynamoDb`.

pub mod batch;
pub mod change_format;
pub mod change_streams;
pub mod changes;
pub mod images;
pub mod items;
mod key;
pub mod meta;
#[cfg(test)]
mod model_tests;
pub mod query;
#[cfg(test)]
mod tests;

pub use batch::{
    TableGets, TableWrites, WriteRequest, batch_get_item, batch_write_item, batch_write_item_async,
    batch_write_item_in,
};
pub use change_streams::{ChangeLog, ChangeRecord, change_log, read_changes, trim_expired};
pub use changes::{CHANGE_SHARD, EventName};
pub use items::{
    DeleteItemRequest, ExpressionMaps, GetItemRequest, PutItemRequest, ReturnValues,
    UpdateItemRequest, delete_item, delete_item_async, delete_item_in, get_item, put_item,
    put_item_async, put_item_in, update_item, update_item_async, update_item_in,
};
pub use meta::{
    BillingMode, ChangeStream, CreateTable, KeyAttr, StreamChange, StreamViewType,
    TableDescription, TableMeta, create_table, delete_table, describe_table, list_tables,
    update_table,
};
pub use query::{Page, QueryRequest, ScanRequest, Select, query, scan};
