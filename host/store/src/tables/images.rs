//! Item images for writers that buffer their changes outside the writer thread
//! (the WASM runtime's per-invocation overlay) and commit them later in one job.
//!
//! The split: `plan_put` / `plan_update` / `plan_delete` run PutItem /
//! UpdateItem / DeleteItem's checks and arithmetic against an item image that
//! a caller-supplied `ImageSource` provides (its own buffered write, or the
//! store's snapshot), and return the new image without writing anything. At
//! commit, `read_image_in` lets the caller re-check the images it based its
//! writes on (optimistic validation), and `write_image_in` stores each final
//! image with its statistics and change record, exactly as the `*_in` item
//! operations do.

use super::items::{
    DeleteItemRequest, PutItemRequest, ReturnValues, UpdateItemRequest, check_condition,
    item_table_not_found, parse_condition, read_item_in, store_change, updated_values,
};
use super::key::{key_attrs_of, key_from_param, key_names, key_of_item};
use super::meta::{TableMeta, load_read, lookup};
use crate::error::{Result, StoreError};
use crate::schema::{ITEMS, TABLES};
use crate::store::Store;
use crate::value::Item;
use crate::value::codec::decode_item;
use crate::value::size::{MAX_ITEM_BYTES, check_item_depth, check_item_size, item_size};
use crate::writer::WriteCtx;

/// Where a planned write reads the current image of an item from.
pub trait ImageSource {
    /// The item under the encoded `key` of `meta`'s table as the writer sees it
    /// now (`None` when there is none).
    fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Item>>;
}

/// A write worked out but not stored: `old` → `new` for the item with `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The encoded primary key (the ITEMS key's byte half).
    pub key: Vec<u8>,
    /// The primary-key attributes of the item.
    pub keys: Item,
    /// The image the write was based on.
    pub old: Option<Item>,
    /// The image after the write (`None`: deleted).
    pub new: Option<Item>,
    /// What ReturnValues asked for.
    pub returned: Option<Item>,
}

/// The table `name` in a fresh snapshot, or DynamoDB's "Requested resource not
/// found".
pub fn table_meta(store: &Store, name: &str) -> Result<TableMeta> {
    let txn = store.read()?;
    load_read(&txn, name, item_table_not_found)
}

/// Validates a `Key` parameter against the table's key schema and encodes it.
pub fn encode_key(meta: &TableMeta, key: &Item) -> Result<Vec<u8>> {
    key_from_param(meta, key)
}

/// The committed item under `key` of table `table_id`, in a fresh snapshot.
pub fn read_image(store: &Store, table_id: u64, key: &[u8]) -> Result<Option<Item>> {
    let txn = store.read()?;
    let items = txn.open_table(ITEMS)?;
    let found = items.get((table_id, key))?;
    found.map(|bytes| decode_item(bytes.value())).transpose()
}

/// PutItem's checks and result, against `source`'s image of the item.
pub fn plan_put(
    meta: &TableMeta,
    request: &PutItemRequest,
    source: &mut dyn ImageSource,
) -> Result<Planned> {
    check_old_only(request.return_values)?;
    check_item_size(&request.item)?;
    check_item_depth(&request.item)?;
    let condition = parse_condition(&request.expressions, request.condition.as_deref())?;
    let key = key_of_item(meta, &request.item)?;
    let old = source.image(meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_ref(),
        request.return_old_on_failure,
    )?;
    let returned = old
        .clone()
        .filter(|_| request.return_values == ReturnValues::AllOld);
    Ok(Planned {
        keys: key_attrs_of(meta, &request.item),
        key,
        old,
        new: Some(request.item.clone()),
        returned,
    })
}

/// DeleteItem's checks and result, against `source`'s image of the item.
pub fn plan_delete(
    meta: &TableMeta,
    request: &DeleteItemRequest,
    source: &mut dyn ImageSource,
) -> Result<Planned> {
    check_old_only(request.return_values)?;
    let condition = parse_condition(&request.expressions, request.condition.as_deref())?;
    let key = key_from_param(meta, &request.key)?;
    let old = source.image(meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_ref(),
        request.return_old_on_failure,
    )?;
    let returned = old
        .clone()
        .filter(|_| request.return_values == ReturnValues::AllOld);
    Ok(Planned {
        key,
        keys: request.key.clone(),
        old,
        new: None,
        returned,
    })
}

/// UpdateItem's checks and result, against `source`'s image of the item. A
/// missing item is created from its key and what the update writes.
pub fn plan_update(
    meta: &TableMeta,
    request: &UpdateItemRequest,
    source: &mut dyn ImageSource,
) -> Result<Planned> {
    let mut cx = request.expressions.context()?;
    let update = request
        .update
        .as_deref()
        .map(|text| cx.parse_update(text))
        .transpose()?;
    let condition = request
        .condition
        .as_deref()
        .map(|text| cx.parse_condition(text, "ConditionExpression"))
        .transpose()?;
    cx.finish()?;
    let key = key_from_param(meta, &request.key)?;
    let old = source.image(meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_ref(),
        request.return_old_on_failure,
    )?;
    let mut new = match &update {
        Some(update) => update.apply(old.as_ref(), &key_names(meta))?.0,
        None => old.clone().unwrap_or_default(),
    };
    new.extend(request.key.clone());
    if item_size(&new) > MAX_ITEM_BYTES {
        return Err(StoreError::Validation(
            "Item size to update has exceeded the maximum allowed size".into(),
        ));
    }
    check_item_depth(&new)?;
    let returned = updated_values(
        request.return_values,
        update.as_ref(),
        old.clone(),
        new.clone(),
    );
    Ok(Planned {
        key,
        keys: request.key.clone(),
        old,
        new: Some(new),
        returned,
    })
}

/// The table `name` as this write sees it; `None` if it does not exist.
pub fn table_meta_in(ctx: &WriteCtx<'_>, name: &str) -> Result<Option<TableMeta>> {
    let tables = ctx.txn().open_table(TABLES)?;
    lookup(&tables, name)
}

/// The stored item under `key` of table `table_id`, as this write sees it.
pub fn read_image_in(ctx: &WriteCtx<'_>, table_id: u64, key: &[u8]) -> Result<Option<Item>> {
    read_item_in(ctx, table_id, key)
}

/// Stores `old` → `new` for one item (`new = None` deletes it), with the
/// table's statistics and change record. `old` must be the image stored now
/// (read with `read_image_in` in the same job); nothing happens if
/// `old == new`.
pub fn write_image_in(
    ctx: &mut WriteCtx<'_>,
    meta: &TableMeta,
    key: &[u8],
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<()> {
    store_change(ctx, meta, key, keys, old, new)
}

/// Whether the stream `name` exists, as this write sees it (so a commit job
/// can check every buffered put before it appends any).
pub fn stream_exists_in(ctx: &WriteCtx<'_>, name: &str) -> Result<bool> {
    let streams = ctx.txn().open_table(crate::schema::STREAMS)?;
    Ok(crate::streams::meta::lookup(&streams, name)?.is_some())
}

/// PutItem and DeleteItem return only NONE or ALL_OLD.
fn check_old_only(return_values: ReturnValues) -> Result<()> {
    match return_values {
        ReturnValues::None | ReturnValues::AllOld => Ok(()),
        _ => Err(StoreError::Validation(
            "ReturnValues can only be ALL_OLD or NONE".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttributeValue;
    use crate::store::StoreOptions;
    use crate::tables::meta::{BillingMode, CreateTable, KeyAttr, create_table};
    use crate::value::keys::KeyType;

    struct Snapshot<'a>(&'a Store);

    impl ImageSource for Snapshot<'_> {
        fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Item>> {
            read_image(self.0, meta.id, key)
        }
    }

    fn store_with_table() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        create_table(
            &store,
            CreateTable {
                name: "Users".into(),
                partition_key: KeyAttr {
                    name: "User".into(),
                    key_type: KeyType::S,
                },
                sort_key: None,
                billing: BillingMode::PayPerRequest,
                stream: None,
            },
        )
        .unwrap();
        (dir, store)
    }

    fn key(user: &str) -> Item {
        Item::from([("User".to_string(), AttributeValue::S(user.into()))])
    }

    #[test]
    fn planned_update_is_written_only_by_write_image_in() {
        let (_dir, store) = store_with_table();
        let meta = table_meta(&store, "Users").unwrap();
        let mut values = serde_json::Map::new();
        values.insert(":v".into(), serde_json::json!({"N": "5"}));
        let request = UpdateItemRequest {
            table: "Users".into(),
            key: key("jane"),
            update: Some("ADD Score :v".into()),
            expressions: crate::tables::ExpressionMaps {
                names: None,
                values: Some(values),
            },
            return_values: ReturnValues::AllNew,
            ..UpdateItemRequest::default()
        };
        let planned = plan_update(&meta, &request, &mut Snapshot(&store)).unwrap();
        assert_eq!(planned.old, None);
        assert_eq!(planned.returned, planned.new);
        let encoded = encode_key(&meta, &key("jane")).unwrap();
        assert_eq!(read_image(&store, meta.id, &encoded).unwrap(), None);
        let p = planned.clone();
        store
            .write(move |ctx| {
                let meta = table_meta_in(ctx, "Users")?.unwrap();
                let current = read_image_in(ctx, meta.id, &p.key)?;
                write_image_in(
                    ctx,
                    &meta,
                    &p.key,
                    &p.keys,
                    current.as_ref(),
                    p.new.as_ref(),
                )
            })
            .unwrap();
        assert_eq!(read_image(&store, meta.id, &encoded).unwrap(), planned.new);
    }

    #[test]
    fn a_failed_condition_plans_nothing() {
        let (_dir, store) = store_with_table();
        let meta = table_meta(&store, "Users").unwrap();
        let request = DeleteItemRequest {
            table: "Users".into(),
            key: key("nobody"),
            condition: Some("attribute_exists(Score)".into()),
            ..DeleteItemRequest::default()
        };
        let err = plan_delete(&meta, &request, &mut Snapshot(&store)).unwrap_err();
        assert!(matches!(err, StoreError::ConditionalCheckFailed { .. }));
    }

    #[test]
    fn missing_tables_and_streams_are_reported() {
        let (_dir, store) = store_with_table();
        assert!(matches!(
            table_meta(&store, "Nope"),
            Err(StoreError::ResourceNotFound(_))
        ));
        let found = store
            .write(|ctx| Ok((table_meta_in(ctx, "Nope")?, stream_exists_in(ctx, "s")?)))
            .unwrap();
        assert_eq!(found, (None, false));
    }
}
