//! BatchWriteItem and BatchGetItem.
//!
//! A BatchWriteItem runs as ONE write job: every request of every table is
//! checked (table exists, key valid, item size, no key twice) before anything
//! is written, so the batch applies whole or not at all, and UnprocessedItems is
//! always empty. BatchGetItem reads every key from one snapshot.

use std::collections::BTreeSet;

use super::items::{
    ExpressionMaps, item_table_not_found, parse_projection, project, read_item_in, store_change,
};
use super::key::{key_from_param, key_of_item};
use super::meta::{TableMeta, load_in, load_read};
use crate::error::{Result, StoreError};
use crate::schema::ITEMS;
use crate::store::Store;
use crate::value::Item;
use crate::value::codec::decode_item;
use crate::value::size::{check_item_depth, check_item_size};
use crate::writer::WriteCtx;

/// The most requests one BatchWriteItem may carry, over all tables.
pub const MAX_BATCH_WRITES: usize = 25;
/// The most keys one BatchGetItem may ask for, over all tables.
pub const MAX_BATCH_GETS: usize = 100;

/// One request of a BatchWriteItem.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteRequest {
    /// PutRequest: store this item.
    Put(Item),
    /// DeleteRequest: delete the item with this key.
    Delete(Item),
}

/// The requests of a BatchWriteItem for one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableWrites {
    pub table: String,
    pub requests: Vec<WriteRequest>,
}

/// The keys of a BatchGetItem for one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableGets {
    pub table: String,
    pub keys: Vec<Item>,
    pub projection: Option<String>,
    pub expressions: ExpressionMaps,
}

fn invalid(message: &str) -> StoreError {
    StoreError::Validation(message.to_string())
}

fn duplicates() -> StoreError {
    invalid("Provided list of item keys contains duplicates")
}

/// BatchWriteItem in its own write job.
pub fn batch_write_item(store: &Store, tables: Vec<TableWrites>) -> Result<()> {
    store.write(move |ctx| batch_write_item_in(ctx, &tables))
}

/// `batch_write_item` for async callers (see `Store::submit`).
pub async fn batch_write_item_async(store: &Store, tables: Vec<TableWrites>) -> Result<()> {
    store
        .submit(move |ctx| batch_write_item_in(ctx, &tables))
        .await
}

/// BatchWriteItem inside the caller's write job.
pub fn batch_write_item_in(ctx: &mut WriteCtx<'_>, tables: &[TableWrites]) -> Result<()> {
    let total: usize = tables.iter().map(|t| t.requests.len()).sum();
    if total > MAX_BATCH_WRITES {
        return Err(invalid(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    if total == 0 || tables.iter().any(|t| t.requests.is_empty()) {
        return Err(invalid(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        ));
    }
    let mut metas: Vec<TableMeta> = Vec::with_capacity(tables.len());
    let mut planned = Vec::with_capacity(total);
    let mut seen = BTreeSet::new();
    for writes in tables {
        let meta = load_in(ctx, &writes.table, item_table_not_found)?;
        for request in &writes.requests {
            let (key, new) = match request {
                WriteRequest::Put(item) => {
                    check_item_size(item)?;
                    check_item_depth(item)?;
                    (key_of_item(&meta, item)?, Some(item))
                }
                WriteRequest::Delete(key) => (key_from_param(&meta, key)?, None),
            };
            if !seen.insert((meta.id, key.clone())) {
                return Err(duplicates());
            }
            planned.push((metas.len(), key, new));
        }
        metas.push(meta);
    }
    // Everything is checked: only now write.
    for (table, key, new) in planned {
        let Some(meta) = metas.get(table) else {
            continue;
        };
        let old = read_item_in(ctx, meta.id, &key)?;
        store_change(ctx, meta, &key, old.as_ref(), new)?;
    }
    Ok(())
}

/// BatchGetItem: for each table, the items found (projected), in request order.
pub fn batch_get_item(store: &Store, tables: &[TableGets]) -> Result<Vec<(String, Vec<Item>)>> {
    let total: usize = tables.iter().map(|t| t.keys.len()).sum();
    if total > MAX_BATCH_GETS {
        return Err(invalid(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    if total == 0 || tables.iter().any(|t| t.keys.is_empty()) {
        return Err(invalid(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 100, Member must have length greater than or equal to 1]",
        ));
    }
    let projections = tables
        .iter()
        .map(|t| parse_projection(&t.expressions, t.projection.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    let txn = store.read()?;
    let items = txn.open_table(ITEMS)?;
    let mut out = Vec::with_capacity(tables.len());
    for (gets, projection) in tables.iter().zip(&projections) {
        let meta = load_read(&txn, &gets.table, item_table_not_found)?;
        let mut seen = BTreeSet::new();
        let mut found = Vec::new();
        for key in &gets.keys {
            let key = key_from_param(&meta, key)?;
            if !seen.insert(key.clone()) {
                return Err(duplicates());
            }
            if let Some(bytes) = items.get((meta.id, key.as_slice()))? {
                found.push(project(projection.as_ref(), decode_item(bytes.value())?));
            }
        }
        out.push((gets.table.clone(), found));
    }
    Ok(out)
}
