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
use super::key::{key_from_param, key_names, key_of_item};
use super::meta::{TableMeta, load_read, lookup_in};
use crate::error::{Result, StoreError};
use crate::schema::ITEMS;
use crate::store::Store;
use crate::value::Item;
use crate::value::codec::decode_item;
use crate::value::size::{MAX_ITEM_BYTES, check_item_depth, check_item_size, item_size};
use crate::writer::WriteCtx;
use redb::ReadableTable;
use std::borrow::Cow;
use std::sync::Arc;

/// Where a planned write reads its table and the current image of an item from.
pub trait ImageSource {
    /// The table `name`, or DynamoDB's "Requested resource not found"
    /// (shared: a writer planning many items keeps one copy).
    fn table(&mut self, name: &str) -> Result<Arc<TableMeta>>;
    /// The item under the encoded `key` of `meta`'s table as the writer sees it
    /// now (`None` when there is none). Borrowed when the source holds it
    /// already (an overlay's buffered image): a plan copies an image only to
    /// change it, which for the WASM aggregator's one UpdateItem per record
    /// saved a copy of the item per call.
    fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Cow<'_, Item>>>;
}

/// A write worked out but not stored: `old` → `new` for the item with `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The table written to.
    pub meta: Arc<TableMeta>,
    /// The encoded primary key (the ITEMS key's byte half).
    pub key: Vec<u8>,
    /// The image the write was based on.
    pub old: Option<Item>,
    /// The image after the write (`None`: deleted).
    pub new: Option<Item>,
    /// What ReturnValues asked for.
    pub returned: Option<Item>,
}

/// A `Planned` that still borrows from its request and source: what a caller
/// that keeps the images itself (an invocation's overlay) takes, so the base
/// image and the key are not copied for every write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'a> {
    /// The table written to.
    pub meta: Arc<TableMeta>,
    /// The encoded primary key (the ITEMS key's byte half).
    pub key: Vec<u8>,
    /// The image the write was based on.
    pub old: Option<Cow<'a, Item>>,
    /// The image after the write (`None`: deleted).
    pub new: Option<Item>,
    /// What ReturnValues asked for.
    pub returned: Option<Item>,
}

impl Plan<'_> {
    /// The plan with its own copies of what it borrowed.
    pub fn into_planned(self) -> Planned {
        Planned {
            meta: self.meta,
            key: self.key,
            old: self.old.map(Cow::into_owned),
            new: self.new,
            returned: self.returned,
        }
    }
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
    ImageSnapshot::open(store)?.image(table_id, key)
}

/// One read snapshot of the items, for a caller that reads many (an
/// invocation's overlay reads every item it touches from one, rather than
/// opening a transaction per item). It pins the snapshot's pages until dropped.
pub struct ImageSnapshot {
    items: redb::ReadOnlyTable<(u64, &'static [u8]), &'static [u8]>,
}

impl ImageSnapshot {
    /// A snapshot of the store as committed now.
    pub fn open(store: &Store) -> Result<ImageSnapshot> {
        let txn = store.read()?;
        Ok(ImageSnapshot {
            items: txn.open_table(ITEMS)?,
        })
    }

    /// The item under `key` of table `table_id` in this snapshot.
    pub fn image(&self, table_id: u64, key: &[u8]) -> Result<Option<Item>> {
        let found = self.items.get((table_id, key))?;
        found.map(|bytes| decode_item(bytes.value())).transpose()
    }

    /// The item under `key` of table `table_id` in this snapshot, with its
    /// stored bytes: a commit can then check that it is unchanged with
    /// `image_unchanged_in`, comparing bytes rather than decoding it again on
    /// the writer thread.
    pub fn image_and_bytes(&self, table_id: u64, key: &[u8]) -> Result<Option<(Item, Vec<u8>)>> {
        let Some(found) = self.items.get((table_id, key))? else {
            return Ok(None);
        };
        let bytes = found.value();
        Ok(Some((decode_item(bytes)?, bytes.to_vec())))
    }
}

/// True when the item stored under `key` of table `table_id`, as this write
/// sees it, still has exactly the bytes `base` (from `image_and_bytes`;
/// `None`: there was no item). Equal bytes are an equal item; unequal bytes
/// are treated as a change, which at worst makes an optimistic writer re-run.
pub fn image_unchanged_in(
    ctx: &WriteCtx<'_>,
    table_id: u64,
    key: &[u8],
    base: Option<&[u8]>,
) -> Result<bool> {
    ctx.with_items(|items| {
        let found = items.get((table_id, key))?;
        Ok(found.as_ref().map(|bytes| bytes.value()) == base)
    })
}

/// PutItem's checks and result, against `source`'s image of the item.
pub fn plan_put(request: &PutItemRequest, source: &mut dyn ImageSource) -> Result<Planned> {
    plan_put_ref(request, source).map(Plan::into_planned)
}

/// `plan_put`, borrowing the images it did not change.
pub fn plan_put_ref<'a>(
    request: &'a PutItemRequest,
    source: &'a mut dyn ImageSource,
) -> Result<Plan<'a>> {
    request.return_values.check_old_only()?;
    check_item_size(&request.item)?;
    check_item_depth(&request.item)?;
    let condition = parse_condition(&request.expressions, request.condition.as_deref())?;
    let meta = source.table(&request.table)?;
    let key = key_of_item(&meta, &request.item)?;
    let old = source.image(&meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_deref(),
        request.return_old_on_failure,
    )?;
    let returned = all_old(request.return_values, &old);
    Ok(Plan {
        meta,
        key,
        old,
        new: Some(request.item.clone()),
        returned,
    })
}

/// DeleteItem's checks and result, against `source`'s image of the item.
pub fn plan_delete(request: &DeleteItemRequest, source: &mut dyn ImageSource) -> Result<Planned> {
    plan_delete_ref(request, source).map(Plan::into_planned)
}

/// `plan_delete`, borrowing the images it did not change.
pub fn plan_delete_ref<'a>(
    request: &'a DeleteItemRequest,
    source: &'a mut dyn ImageSource,
) -> Result<Plan<'a>> {
    request.return_values.check_old_only()?;
    let condition = parse_condition(&request.expressions, request.condition.as_deref())?;
    let meta = source.table(&request.table)?;
    let key = key_from_param(&meta, &request.key)?;
    let old = source.image(&meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_deref(),
        request.return_old_on_failure,
    )?;
    let returned = all_old(request.return_values, &old);
    Ok(Plan {
        meta,
        key,
        old,
        new: None,
        returned,
    })
}

/// UpdateItem's checks and result, against `source`'s image of the item. A
/// missing item is created from its key and what the update writes.
pub fn plan_update(request: &UpdateItemRequest, source: &mut dyn ImageSource) -> Result<Planned> {
    plan_update_with(request, None, source).map(Plan::into_planned)
}

/// `plan_update`, borrowing the images it did not change, with the ExpressionAttributeValues given parsed
/// (`Some`; `request.expressions.values` is then ignored): a function's plain
/// values parse from their text straight into attribute values instead of
/// through a JSON tree (that tree was ~5% of a trigger lane's CPU).
pub fn plan_update_with<'a>(
    request: &'a UpdateItemRequest,
    values: Option<Item>,
    source: &'a mut dyn ImageSource,
) -> Result<Plan<'a>> {
    let mut cx = request.expressions.context_with(values)?;
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
    let meta = source.table(&request.table)?;
    let key = key_from_param(&meta, &request.key)?;
    let old = source.image(&meta, &key)?;
    check_condition(
        condition.as_ref(),
        old.as_deref(),
        request.return_old_on_failure,
    )?;
    let mut new = match &update {
        Some(update) => update.apply_item(old.as_deref(), &key_names(&meta))?,
        None => old.as_deref().cloned().unwrap_or_default(),
    };
    // The key attributes, copied only where the image lacks them (an item
    // being created): an existing item holds them already, equal.
    for (name, value) in &request.key {
        if new.get(name) != Some(value) {
            new.insert(name.clone(), value.clone());
        }
    }
    if item_size(&new) > MAX_ITEM_BYTES {
        return Err(StoreError::Validation(
            "Item size to update has exceeded the maximum allowed size".into(),
        ));
    }
    check_item_depth(&new)?;
    // Cloning the images is only worth it when the caller asked for them.
    let returned = match request.return_values {
        ReturnValues::None => None,
        asked => updated_values(asked, update.as_ref(), old.as_deref().cloned(), new.clone()),
    };
    Ok(Plan {
        meta,
        key,
        old,
        new: Some(new),
        returned,
    })
}

/// The old image when ReturnValues is ALL_OLD (cloned only then).
fn all_old(return_values: ReturnValues, old: &Option<Cow<'_, Item>>) -> Option<Item> {
    match return_values {
        ReturnValues::AllOld => old.as_deref().cloned(),
        _ => None,
    }
}

/// Stores a planned write (item, statistics, change record) in the caller's job
/// and returns what ReturnValues asked for.
pub fn store_planned(ctx: &mut WriteCtx<'_>, planned: Planned) -> Result<Option<Item>> {
    let Planned {
        meta,
        key,
        old,
        new,
        returned,
    } = planned;
    store_change(ctx, &meta, &key, old.as_ref(), new.as_ref())?;
    Ok(returned)
}

/// Plans against the write transaction itself: what the `*_in` item operations
/// of `items` use.
pub(crate) struct InWrite<'a, 't>(pub(crate) &'a WriteCtx<'t>);

impl ImageSource for InWrite<'_, '_> {
    fn table(&mut self, name: &str) -> Result<Arc<TableMeta>> {
        lookup_in(self.0, name)?.ok_or_else(|| item_table_not_found(name))
    }

    fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Cow<'_, Item>>> {
        Ok(read_item_in(self.0, meta.id, key)?.map(Cow::Owned))
    }
}

/// The table `name` as this write sees it; `None` if it does not exist.
pub fn table_meta_in(ctx: &WriteCtx<'_>, name: &str) -> Result<Option<TableMeta>> {
    Ok(lookup_in(ctx, name)?.map(|meta| TableMeta::clone(&meta)))
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
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<()> {
    store_change(ctx, meta, key, old, new)
}

/// Whether the stream `name` exists, as this write sees it (so a commit job
/// can check every buffered put before it appends any).
pub fn stream_exists_in(ctx: &WriteCtx<'_>, name: &str) -> Result<bool> {
    let streams = ctx.txn().open_table(crate::schema::STREAMS)?;
    Ok(crate::streams::meta::lookup(&streams, name)?.is_some())
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
        fn table(&mut self, name: &str) -> Result<Arc<TableMeta>> {
            table_meta(self.0, name).map(Arc::new)
        }

        fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Cow<'_, Item>>> {
            Ok(read_image(self.0, meta.id, key)?.map(Cow::Owned))
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
        let planned = plan_update(&request, &mut Snapshot(&store)).unwrap();
        assert_eq!(planned.old, None);
        assert_eq!(planned.returned, planned.new);
        let encoded = encode_key(&meta, &key("jane")).unwrap();
        assert_eq!(read_image(&store, meta.id, &encoded).unwrap(), None);
        let p = planned.clone();
        store
            .write(move |ctx| {
                let meta = table_meta_in(ctx, "Users")?.unwrap();
                let current = read_image_in(ctx, meta.id, &p.key)?;
                write_image_in(ctx, &meta, &p.key, current.as_ref(), p.new.as_ref())
            })
            .unwrap();
        assert_eq!(read_image(&store, meta.id, &encoded).unwrap(), planned.new);
    }

    #[test]
    fn stored_bytes_tell_an_unchanged_image_from_a_changed_one() {
        let (_dir, store) = store_with_table();
        let meta = table_meta(&store, "Users").unwrap();
        let encoded = encode_key(&meta, &key("jane")).unwrap();
        let unchanged = |base: Option<Vec<u8>>| {
            let encoded = encoded.clone();
            store
                .write(move |ctx| image_unchanged_in(ctx, meta.id, &encoded, base.as_deref()))
                .unwrap()
        };
        let snapshot = ImageSnapshot::open(&store).unwrap();
        assert_eq!(snapshot.image_and_bytes(meta.id, &encoded).unwrap(), None);
        assert!(unchanged(None));
        let put = |score: &str| {
            let mut item = key("jane");
            item.insert("Score".into(), AttributeValue::N(score.parse().unwrap()));
            let request = PutItemRequest {
                table: "Users".into(),
                item,
                ..PutItemRequest::default()
            };
            crate::tables::put_item(&store, request).unwrap();
        };
        put("1");
        assert!(!unchanged(None));
        let snapshot = ImageSnapshot::open(&store).unwrap();
        let (item, bytes) = snapshot
            .image_and_bytes(meta.id, &encoded)
            .unwrap()
            .unwrap();
        assert_eq!(Some(item), read_image(&store, meta.id, &encoded).unwrap());
        assert_eq!(bytes, crate::value::codec::encode_item(&item_of(&store)));
        assert!(unchanged(Some(bytes.clone())));
        put("2");
        assert!(!unchanged(Some(bytes)));
    }

    fn item_of(store: &Store) -> Item {
        let meta = table_meta(store, "Users").unwrap();
        let encoded = encode_key(&meta, &key("jane")).unwrap();
        read_image(store, meta.id, &encoded).unwrap().unwrap()
    }

    #[test]
    fn a_failed_condition_plans_nothing() {
        let (_dir, store) = store_with_table();
        let request = DeleteItemRequest {
            table: "Users".into(),
            key: key("nobody"),
            condition: Some("attribute_exists(Score)".into()),
            ..DeleteItemRequest::default()
        };
        let err = plan_delete(&request, &mut Snapshot(&store)).unwrap_err();
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
