//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem.
//!
//! Each write exists twice: `*_in(ctx, request)` runs inside a caller's write
//! job (trigger handlers commit their writes with their checkpoint), and the
//! Store-level function wraps it in its own `store.write`. Every `*_in` is the
//! `images::plan_*` of the write (all checks: input, table, key, condition,
//! size) followed by storing the planned image, so an error leaves nothing
//! behind and the WASM overlay plans with the very same code.

use redb::ReadableTable;
use serde_json::{Map, Value};

use super::changes;
use super::images::{InWrite, plan_delete, plan_put, plan_update, store_planned};
use super::key::{key_from_param, key_of_item};
use super::meta::{TableMeta, load_read, lookup_in};
use crate::error::{Result, StoreError};
use crate::expressions::{Condition, ExpressionContext, Projection, Update};
use crate::schema::ITEMS;
use crate::store::Store;
use crate::value::Item;
use crate::value::codec::{decode_item, encode_item};
use crate::value::size::{MAX_ITEM_BYTES, check_item_depth, check_item_size, item_size};
use crate::writer::WriteCtx;

/// What a write returns (ReturnValues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnValues {
    #[default]
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    /// Parses the wire name, with DynamoDB's message for unknown names.
    pub fn parse(text: &str) -> Result<ReturnValues> {
        Ok(match text {
            "NONE" => ReturnValues::None,
            "ALL_OLD" => ReturnValues::AllOld,
            "UPDATED_OLD" => ReturnValues::UpdatedOld,
            "ALL_NEW" => ReturnValues::AllNew,
            "UPDATED_NEW" => ReturnValues::UpdatedNew,
            other => {
                return Err(StoreError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
                )));
            }
        })
    }

    /// PutItem and DeleteItem return only NONE or ALL_OLD.
    pub(crate) fn check_old_only(self) -> Result<()> {
        match self {
            ReturnValues::None | ReturnValues::AllOld => Ok(()),
            _ => Err(StoreError::Validation(
                "ReturnValues can only be ALL_OLD or NONE".into(),
            )),
        }
    }
}

/// ExpressionAttributeNames and ExpressionAttributeValues of a request, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpressionMaps {
    pub names: Option<Map<String, Value>>,
    pub values: Option<Map<String, Value>>,
}

impl ExpressionMaps {
    pub(crate) fn context(&self) -> Result<ExpressionContext> {
        ExpressionContext::new(self.names.as_ref(), self.values.as_ref())
    }

    /// The context of these names with `values` as the
    /// ExpressionAttributeValues, parsed already (`self.values` is ignored):
    /// see `images::plan_update_with`.
    pub(crate) fn context_with(&self, values: Option<Item>) -> Result<ExpressionContext> {
        match values {
            Some(values) => ExpressionContext::with_values(self.names.as_ref(), values),
            None => self.context(),
        }
    }
}

/// PutItem's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutItemRequest {
    pub table: String,
    pub item: Item,
    pub condition: Option<String>,
    pub expressions: ExpressionMaps,
    pub return_values: ReturnValues,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub return_old_on_failure: bool,
}

/// GetItem's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetItemRequest {
    pub table: String,
    pub key: Item,
    pub projection: Option<String>,
    pub expressions: ExpressionMaps,
}

/// UpdateItem's input. Without an update expression a missing item is created
/// holding only its key, as DynamoDB does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateItemRequest {
    pub table: String,
    pub key: Item,
    pub update: Option<String>,
    pub condition: Option<String>,
    pub expressions: ExpressionMaps,
    pub return_values: ReturnValues,
    pub return_old_on_failure: bool,
}

/// DeleteItem's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteItemRequest {
    pub table: String,
    pub key: Item,
    pub condition: Option<String>,
    pub expressions: ExpressionMaps,
    pub return_values: ReturnValues,
    pub return_old_on_failure: bool,
}

/// "Requested resource not found" (what item operations say of a missing table).
pub fn item_table_not_found(_name: &str) -> StoreError {
    StoreError::ResourceNotFound("Requested resource not found".into())
}

/// PutItem in its own write job. Returns the Attributes to return, if any.
///
/// Every write waits on the one writer thread, so it does only what must see
/// the transaction: what needs no table (ReturnValues, the item's size and
/// nesting, the condition's syntax, the item's encoding) is done here on the
/// caller's thread first, and the request comes back to be freed here too.
/// Errors keep `plan_put`'s order: these checks come before the table's.
pub fn put_item(store: &Store, request: PutItemRequest) -> Result<Option<Item>> {
    let prepared = PreparedPut::new(request)?;
    let (returned, _prepared) = store.write(move |ctx| prepared.run(ctx))?;
    Ok(returned)
}

/// `put_item` for async callers (see `Store::submit`).
pub async fn put_item_async(store: &Store, request: PutItemRequest) -> Result<Option<Item>> {
    let prepared = PreparedPut::new(request)?;
    let (returned, _prepared) = store.submit(move |ctx| prepared.run(ctx)).await?;
    Ok(returned)
}

/// A PutItem checked and encoded on the caller's thread (see `put_item`).
struct PreparedPut {
    request: PutItemRequest,
    condition: Option<Condition>,
    /// The item as ITEMS stores it, and its size.
    encoded: Vec<u8>,
    size: usize,
}

impl PreparedPut {
    /// The checks of `plan_put` that need no table, in its order.
    fn new(request: PutItemRequest) -> Result<PreparedPut> {
        request.return_values.check_old_only()?;
        let size = item_size(&request.item);
        if size > MAX_ITEM_BYTES {
            // check_item_size's error, without sizing the item twice.
            check_item_size(&request.item)?;
        }
        check_item_depth(&request.item)?;
        let condition = parse_condition(&request.expressions, request.condition.as_deref())?;
        let encoded = encode_item(&request.item);
        Ok(PreparedPut {
            request,
            condition,
            encoded,
            size,
        })
    }

    /// The rest of `plan_put` and the store, in the writer's job: the table,
    /// the key, the condition against the stored item, then the write.
    /// Returns itself so that the caller, not the writer, frees the request.
    fn run(self, ctx: &mut WriteCtx<'_>) -> Result<(Option<Item>, PreparedPut)> {
        let meta = lookup_in(ctx, &self.request.table)?
            .ok_or_else(|| item_table_not_found(&self.request.table))?;
        let key = key_of_item(&meta, &self.request.item)?;
        let old = read_item_in(ctx, meta.id, &key)?;
        let request = &self.request;
        check_condition(
            self.condition.as_ref(),
            old.as_ref(),
            request.return_old_on_failure,
        )?;
        if old.as_ref() != Some(&request.item) {
            let old_size = old.as_ref().map(item_size);
            write_item(
                ctx,
                meta.id,
                &key,
                old_size,
                Some((&self.encoded, self.size)),
            )?;
            let new = (&request.item, (self.encoded.as_slice(), self.size));
            changes::record_change(ctx, &meta, old.as_ref(), Some(new))?;
        }
        let returned = old.filter(|_| request.return_values == ReturnValues::AllOld);
        Ok((returned, self))
    }
}

/// PutItem inside the caller's write job.
pub fn put_item_in(ctx: &mut WriteCtx<'_>, request: &PutItemRequest) -> Result<Option<Item>> {
    let planned = plan_put(request, &mut InWrite(ctx))?;
    store_planned(ctx, planned)
}

/// DeleteItem in its own write job.
pub fn delete_item(store: &Store, request: DeleteItemRequest) -> Result<Option<Item>> {
    store.write(move |ctx| delete_item_in(ctx, &request))
}

/// `delete_item` for async callers (see `Store::submit`).
pub async fn delete_item_async(store: &Store, request: DeleteItemRequest) -> Result<Option<Item>> {
    store.submit(move |ctx| delete_item_in(ctx, &request)).await
}

/// DeleteItem inside the caller's write job. Deleting a missing item succeeds
/// and changes nothing (no change record).
pub fn delete_item_in(ctx: &mut WriteCtx<'_>, request: &DeleteItemRequest) -> Result<Option<Item>> {
    let planned = plan_delete(request, &mut InWrite(ctx))?;
    store_planned(ctx, planned)
}

/// UpdateItem in its own write job.
pub fn update_item(store: &Store, request: UpdateItemRequest) -> Result<Option<Item>> {
    store.write(move |ctx| update_item_in(ctx, &request))
}

/// `update_item` for async callers (see `Store::submit`).
pub async fn update_item_async(store: &Store, request: UpdateItemRequest) -> Result<Option<Item>> {
    store.submit(move |ctx| update_item_in(ctx, &request)).await
}

/// UpdateItem inside the caller's write job. An update of a missing item
/// creates it (key + what the update writes).
pub fn update_item_in(ctx: &mut WriteCtx<'_>, request: &UpdateItemRequest) -> Result<Option<Item>> {
    let planned = plan_update(request, &mut InWrite(ctx))?;
    store_planned(ctx, planned)
}

/// The Attributes UpdateItem returns. UPDATED_* return exactly the paths the
/// update wrote; nothing is returned rather than an empty map.
pub(crate) fn updated_values(
    return_values: ReturnValues,
    update: Option<&Update>,
    old: Option<Item>,
    new: Item,
) -> Option<Item> {
    let updated = |item: &Item| update.map(|u| u.updated_paths().apply(item));
    let out = match return_values {
        ReturnValues::None => None,
        ReturnValues::AllOld => old,
        ReturnValues::AllNew => Some(new),
        ReturnValues::UpdatedOld => old.as_ref().and_then(updated),
        ReturnValues::UpdatedNew => updated(&new),
    };
    out.filter(|item| !item.is_empty())
}

/// GetItem: the item (projected), or `None` when there is none.
pub fn get_item(store: &Store, request: &GetItemRequest) -> Result<Option<Item>> {
    let projection = parse_projection(&request.expressions, request.projection.as_deref())?;
    let txn = store.read()?;
    let meta = load_read(&txn, &request.table, item_table_not_found)?;
    let key = key_from_param(&meta, &request.key)?;
    let items = txn.open_table(ITEMS)?;
    let item = match items.get((meta.id, key.as_slice()))? {
        Some(bytes) => decode_item(bytes.value())?,
        None => return Ok(None),
    };
    Ok(Some(project(projection.as_ref(), item)))
}

/// Applies an optional projection.
pub(crate) fn project(projection: Option<&Projection>, item: Item) -> Item {
    match projection {
        Some(p) => p.apply(&item),
        None => item,
    }
}

/// Parses an optional ProjectionExpression and checks every placeholder was used.
pub(crate) fn parse_projection(
    maps: &ExpressionMaps,
    text: Option<&str>,
) -> Result<Option<Projection>> {
    let mut cx = maps.context()?;
    let projection = text.map(|t| cx.parse_projection(t)).transpose()?;
    cx.finish()?;
    Ok(projection)
}

/// Parses an optional ConditionExpression and checks every placeholder was used.
pub(crate) fn parse_condition(
    maps: &ExpressionMaps,
    text: Option<&str>,
) -> Result<Option<Condition>> {
    if text.is_none() && maps.names.is_none() && maps.values.is_none() {
        // Nothing to parse or to find unused (the common unconditional write).
        return Ok(None);
    }
    let mut cx = maps.context()?;
    let condition = text
        .map(|t| cx.parse_condition(t, "ConditionExpression"))
        .transpose()?;
    cx.finish()?;
    Ok(condition)
}

/// ConditionalCheckFailed (with the old item if asked for) when the condition
/// does not hold.
pub(crate) fn check_condition(
    condition: Option<&Condition>,
    old: Option<&Item>,
    return_old: bool,
) -> Result<()> {
    match condition {
        Some(c) if !c.evaluate(old)? => Err(StoreError::ConditionalCheckFailed {
            item: old.filter(|_| return_old).cloned().map(Box::new),
        }),
        _ => Ok(()),
    }
}

/// The stored item under `key` of table `id`, as seen inside a write.
pub(crate) fn read_item_in(ctx: &WriteCtx<'_>, id: u64, key: &[u8]) -> Result<Option<Item>> {
    ctx.with_items(|items| {
        let found = items.get((id, key))?;
        found.map(|bytes| decode_item(bytes.value())).transpose()
    })
}

/// Stores `old` → `new` for one item: the item itself, the table's statistics
/// and, if the table's stream is enabled, the change record. Nothing at all
/// happens when `old == new` (a no-op write leaves no change record).
pub(crate) fn store_change(
    ctx: &mut WriteCtx<'_>,
    meta: &TableMeta,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let encoded = new.map(|item| (encode_item(item), item_size(item)));
    let new_stored = encoded
        .as_ref()
        .map(|(bytes, size)| (bytes.as_slice(), *size));
    write_item(ctx, meta.id, key, old.map(item_size), new_stored)?;
    changes::record_change(ctx, meta, old, new.zip(new_stored))?;
    Ok(())
}

/// Stores the encoded item `new` (bytes, size) under `key` of table `id`, or
/// deletes the item when `new` is `None`, and counts the change for TABLE_STATS
/// (item count and total item bytes, added after the job: see
/// `WriteCtx::count_item`; `old_size`: the size of the item replaced).
fn write_item(
    ctx: &WriteCtx<'_>,
    id: u64,
    key: &[u8],
    old_size: Option<usize>,
    new: Option<(&[u8], usize)>,
) -> Result<()> {
    ctx.with_items(|items| {
        match new {
            Some((bytes, _)) => items.insert((id, key), bytes)?,
            None => items.remove((id, key))?,
        };
        Ok(())
    })?;
    ctx.count_item(id, old_size, new.map(|(_, size)| size));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttributeValue;
    use crate::tables::meta::{BillingMode, CreateTable, KeyAttr, create_table, describe_table};
    use crate::tables::tests::open;
    use crate::value::keys::KeyType;

    fn put(store: &Store, table: &str, attrs: &[(&str, &str)]) -> Result<Option<Item>> {
        let item = attrs
            .iter()
            .map(|(name, text)| (name.to_string(), AttributeValue::S(text.to_string())))
            .collect();
        let request = PutItemRequest {
            table: table.into(),
            item,
            return_values: ReturnValues::AllOld,
            ..PutItemRequest::default()
        };
        put_item(store, request)
    }

    /// The checks made on the caller's thread keep their place before the
    /// table's: an oversized item for a missing table is reported as too big.
    #[test]
    fn item_checks_come_before_the_table_lookup() {
        let (_dir, store) = open();
        let big = "x".repeat(400 * 1024);
        let err = put(&store, "nope", &[("pk", &big)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Item size has exceeded the maximum allowed size"
        );
        let err = put(&store, "nope", &[("pk", "a")]).unwrap_err();
        assert!(matches!(err, StoreError::ResourceNotFound(_)));
    }

    /// Creates table "tbl" (partition key pk:S); returns its id.
    fn create_tbl(store: &Store) -> u64 {
        let table = CreateTable {
            name: "tbl".into(),
            partition_key: KeyAttr {
                name: "pk".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream: None,
        };
        create_table(store, table).unwrap().meta.id
    }

    /// Replacing an item keeps the statistics exact and returns the old one.
    #[test]
    fn replacing_an_item_returns_it_and_keeps_sizes_exact() {
        let (_dir, store) = open();
        create_tbl(&store);
        assert_eq!(
            put(&store, "tbl", &[("pk", "a"), ("v", "long")]).unwrap(),
            None
        );
        let old = put(&store, "tbl", &[("pk", "a"), ("v", "x")]).unwrap();
        assert_eq!(
            old.and_then(|item| item.get("v").cloned()),
            Some(AttributeValue::S("long".into()))
        );
        let described = describe_table(&store, "tbl").unwrap();
        assert_eq!(
            (described.item_count, described.size_bytes),
            (1, 2 + 1 + 1 + 1)
        );
    }

    /// Statistics are added after each job, yet a job reading them sees its
    /// own writes before it, and the commit stores them.
    #[test]
    fn statistics_of_many_writes_in_one_job_are_exact_inside_and_after_it() {
        let (_dir, store) = open();
        let id = create_tbl(&store);
        let request = |pk: &str, v: &str| PutItemRequest {
            table: "tbl".into(),
            item: Item::from([
                ("pk".to_string(), AttributeValue::S(pk.into())),
                ("v".to_string(), AttributeValue::S(v.into())),
            ]),
            ..PutItemRequest::default()
        };
        let inside = store
            .write(move |ctx| {
                put_item_in(ctx, &request("a", "1234"))?;
                put_item_in(ctx, &request("b", "1"))?;
                put_item_in(ctx, &request("a", "12"))?;
                let delete = DeleteItemRequest {
                    table: "tbl".into(),
                    key: Item::from([("pk".to_string(), AttributeValue::S("b".into()))]),
                    ..DeleteItemRequest::default()
                };
                delete_item_in(ctx, &delete)?;
                put_item_in(ctx, &request("c", "123"))?;
                ctx.with_stats(|stats| Ok(stats.get(id)?.map(|v| v.value())))
            })
            .unwrap();
        // a: pk + "a" + v + "12" = 2 + 1 + 1 + 2; c: 2 + 1 + 1 + 3.
        assert_eq!(inside, Some((2, 6 + 7)));
        let described = describe_table(&store, "tbl").unwrap();
        assert_eq!((described.item_count, described.size_bytes), (2, 13));
    }
}
