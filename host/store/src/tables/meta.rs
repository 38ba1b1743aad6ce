//! Table metadata: what a table is (name, id, key schema, billing, change
//! streams) and the control-plane operations on it: create, describe, list,
//! update (enable / disable the change stream) and delete.
//!
//! A table's change streams are kept in its metadata, oldest first; at most the
//! last one is enabled. Disabling closes a stream (its records stay readable until
//! they age out); enabling again starts a new stream with a new label and log.
//! DeleteTable closes the table's change streams; as in DynamoDB they stay
//! listed and readable for 24 h (`DELETED_TABLES`), then trimming removes
//! them and their records.

use crate::timefmt::iso_ms;
use md5::{Digest, Md5};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::records;
use crate::schema::{TABLE_STATS, TABLES};
use crate::store::{Store, next_id};
use crate::streams::validate;
use crate::value::keys::KeyType;
use crate::writer::WriteCtx;

/// A key attribute of a table: its name and scalar type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    #[serde(with = "key_type_serde")]
    pub key_type: KeyType,
}

mod key_type_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::value::keys::KeyType;

    pub fn serialize<S: Serializer>(t: &KeyType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyType, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a change record carries besides the keys (StreamViewType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamViewType {
    /// The wire name, e.g. `NEW_AND_OLD_IMAGES`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamViewType::KeysOnly => "KEYS_ONLY",
            StreamViewType::NewImage => "NEW_IMAGE",
            StreamViewType::OldImage => "OLD_IMAGE",
            StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Parses the wire name, with DynamoDB's message for anything else.
    pub fn parse(text: &str) -> Result<StreamViewType> {
        match text {
            "KEYS_ONLY" => Ok(StreamViewType::KeysOnly),
            "NEW_IMAGE" => Ok(StreamViewType::NewImage),
            "OLD_IMAGE" => Ok(StreamViewType::OldImage),
            "NEW_AND_OLD_IMAGES" => Ok(StreamViewType::NewAndOldImages),
            other => Err(StoreError::Validation(validate::message(&[
                validate::failure(
                    other,
                    "streamSpecification.streamViewType",
                    "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]",
                ),
            ]))),
        }
    }

    /// Whether records carry the item as it is after the change.
    pub fn has_new(self) -> bool {
        matches!(
            self,
            StreamViewType::NewImage | StreamViewType::NewAndOldImages
        )
    }

    /// Whether records carry the item as it was before the change.
    pub fn has_old(self) -> bool {
        matches!(
            self,
            StreamViewType::OldImage | StreamViewType::NewAndOldImages
        )
    }
}

/// One change stream of a table: a record log with one shard (index 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeStream {
    /// The record log id (unique forever).
    pub log: u64,
    pub view_type: StreamViewType,
    pub created_ms: u64,
    /// When the stream was disabled; `None` while it is enabled.
    pub closed_ms: Option<u64>,
    /// The last sequence the stream holds when it was disabled (0: none).
    #[serde(default)]
    pub closed_at_sequence: u64,
}

impl ChangeStream {
    /// The stream label: its creation time in ISO 8601 with milliseconds
    /// (`2015-10-07T00:48:05.899`), as DynamoDB labels streams.
    pub fn label(&self) -> String {
        iso_ms(self.created_ms)
    }

    /// Whether the stream still receives records.
    pub fn is_enabled(&self) -> bool {
        self.closed_ms.is_none()
    }
}

/// How a table is billed. eddy has no throughput limits; the mode and the
/// provisioned units are kept so DescribeTable reports what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    #[serde(rename = "PROVISIONED")]
    Provisioned { read: u64, write: u64 },
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
}

impl BillingMode {
    /// The wire name: `PROVISIONED` or `PAY_PER_REQUEST`.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned { .. } => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// A table as stored in the TABLES table (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    /// The items' key prefix in ITEMS and the stats key (unique forever).
    pub id: u64,
    /// `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME`, fixed at creation.
    pub arn: String,
    /// The table's region (the one in its ARN; change records' awsRegion is
    /// read from their stream's ARN).
    pub region: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub created_ms: u64,
    pub billing: BillingMode,
    /// Change streams, oldest first; only the last can be enabled.
    #[serde(default)]
    pub streams: Vec<ChangeStream>,
}

impl TableMeta {
    /// The enabled change stream, if any.
    pub fn enabled_stream(&self) -> Option<&ChangeStream> {
        self.streams.last().filter(|s| s.is_enabled())
    }

    /// The newest change stream, enabled or not (DescribeTable's LatestStreamArn).
    pub fn latest_stream(&self) -> Option<&ChangeStream> {
        self.streams.last()
    }

    /// The change stream with this label.
    pub fn stream_by_label(&self, label: &str) -> Option<&ChangeStream> {
        self.streams.iter().find(|s| s.label() == label)
    }

    /// `TABLE_ARN/stream/LABEL`.
    pub fn stream_arn(&self, stream: &ChangeStream) -> String {
        format!("{}/stream/{}", self.arn, stream.label())
    }

    /// TableId: a stable UUID-shaped id derived from the ARN and the unique id.
    pub fn table_id(&self) -> String {
        let mut hasher = Md5::new();
        hasher.update(self.arn.as_bytes());
        hasher.update(self.id.to_be_bytes());
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_string();
        format!(
            "{}-{}-{}-{}-{}",
            part(0..8),
            part(8..12),
            part(12..16),
            part(16..20),
            part(20..32)
        )
    }

    /// The key attributes: partition key, then sort key if any.
    pub fn key_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.partition_key).chain(self.sort_key.as_ref())
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<TableMeta> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt table metadata: {e}")))
    }

    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }
}

/// A table with its live statistics, as DescribeTable reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDescription {
    pub meta: TableMeta,
    pub item_count: u64,
    pub size_bytes: u64,
}

/// What CreateTable needs, already shaped (the API layer checks KeySchema
/// against AttributeDefinitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTable {
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub billing: BillingMode,
    /// `Some` to enable a change stream with this view type.
    pub stream: Option<StreamViewType>,
}

/// The change UpdateTable makes to a table's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamChange {
    Enable(StreamViewType),
    Disable,
}

/// "Requested resource not found: Table: NAME not found" (DescribeTable's words).
pub fn table_not_found(name: &str) -> StoreError {
    StoreError::ResourceNotFound(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

/// Checks a table name: `[a-zA-Z0-9_.-]+`, 3..=255 characters.
pub fn check_table_name(name: &str) -> Result<()> {
    validate::check(table_name_failures(name, "tableName"))
}

/// The constraint failures of a table name, for the member `member`.
pub fn table_name_failures(name: &str, member: &str) -> Vec<String> {
    let mut out = Vec::new();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !name.chars().all(allowed) {
        out.push(validate::failure(
            name,
            member,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    if name.chars().count() < 3 {
        out.push(validate::failure(
            name,
            member,
            "Member must have length greater than or equal to 3",
        ));
    }
    if name.chars().count() > 255 {
        out.push(validate::failure(
            name,
            member,
            "Member must have length less than or equal to 255",
        ));
    }
    out
}

/// Reads a table's metadata from any table handle (read or write transaction).
pub(crate) fn lookup<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    name: &str,
) -> Result<Option<TableMeta>> {
    match table.get(name)? {
        Some(v) => Ok(Some(TableMeta::decode(v.value())?)),
        None => Ok(None),
    }
}

/// The table `name` inside a write, or `not_found(name)`.
pub(crate) fn load_in(
    ctx: &WriteCtx<'_>,
    name: &str,
    not_found: fn(&str) -> StoreError,
) -> Result<TableMeta> {
    let meta = lookup_in(ctx, name)?.ok_or_else(|| not_found(name))?;
    Ok(TableMeta::clone(&meta))
}

/// The table `name` as this write sees it, from the writer's cache when an
/// earlier job read it (see `writer::TableCache`): PutItem-heavy commits
/// decode each table's metadata once, not once per item.
pub(crate) fn lookup_in(ctx: &WriteCtx<'_>, name: &str) -> Result<Option<Arc<TableMeta>>> {
    if let Some(meta) = ctx.table_cache().get(name) {
        return Ok(Some(meta));
    }
    let table = ctx.txn().open_table(TABLES)?;
    let Some(meta) = lookup(&table, name)? else {
        return Ok(None);
    };
    let meta = Arc::new(meta);
    ctx.table_cache().insert(meta.clone());
    Ok(Some(meta))
}

/// The table `name` in a read snapshot, or `not_found(name)`.
pub(crate) fn load_read(
    txn: &redb::ReadTransaction,
    name: &str,
    not_found: fn(&str) -> StoreError,
) -> Result<TableMeta> {
    let table = txn.open_table(TABLES)?;
    lookup(&table, name)?.ok_or_else(|| not_found(name))
}

fn save_in(ctx: &WriteCtx<'_>, meta: &TableMeta) -> Result<()> {
    ctx.table_cache().remove(&meta.name);
    let bytes = meta.encode()?;
    ctx.txn()
        .open_table(TABLES)?
        .insert(meta.name.as_str(), bytes.as_slice())?;
    Ok(())
}

/// CreateTable. Errors: Validation (bad name or key schema), ResourceInUse
/// ("Table already exists: NAME").
pub fn create_table(store: &Store, input: CreateTable) -> Result<TableDescription> {
    check_table_name(&input.name)?;
    if let Some(sk) = &input.sort_key
        && sk.name == input.partition_key.name
    {
        return Err(StoreError::Validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name"
                .into(),
        ));
    }
    let region = store.options().region.clone();
    let arn = format!("{}table/{}", store.arn_prefix("dynamodb"), input.name);
    store.write(move |ctx| {
        let tables = ctx.txn().open_table(TABLES)?;
        if tables.get(input.name.as_str())?.is_some() {
            return Err(StoreError::ResourceInUse(format!(
                "Table already exists: {}",
                input.name
            )));
        }
        drop(tables);
        let id = next_id(ctx)?;
        let mut meta = TableMeta {
            name: input.name,
            id,
            arn,
            region,
            partition_key: input.partition_key,
            sort_key: input.sort_key,
            created_ms: ctx.now_ms,
            billing: input.billing,
            streams: Vec::new(),
        };
        if let Some(view_type) = input.stream {
            let stream = new_stream(ctx, &meta, view_type)?;
            meta.streams.push(stream);
        }
        save_in(ctx, &meta)?;
        ctx.with_stats(|stats| Ok(stats.insert(id, (0, 0)).map(drop)?))?;
        Ok(TableDescription {
            meta,
            item_count: 0,
            size_bytes: 0,
        })
    })
}

/// A new enabled stream with a fresh log. Labels (creation times) have
/// millisecond resolution, so the label comes after every earlier stream of a
/// table of this name, its own and those of a deleted table still kept, so
/// that no two streams share an ARN.
fn new_stream(
    ctx: &WriteCtx<'_>,
    meta: &TableMeta,
    view_type: StreamViewType,
) -> Result<ChangeStream> {
    let deleted = deleted_tables(
        &ctx.txn().open_table(crate::schema::DELETED_TABLES)?,
        Some(&meta.name),
    )?;
    let latest = std::iter::once(meta)
        .chain(&deleted)
        .flat_map(|m| m.streams.iter().map(|s| s.created_ms))
        .max();
    let created_ms = match latest {
        Some(latest) => ctx.now_ms.max(latest.saturating_add(1)),
        None => ctx.now_ms,
    };
    Ok(ChangeStream {
        log: next_id(ctx)?,
        view_type,
        created_ms,
        closed_ms: None,
        closed_at_sequence: 0,
    })
}

/// The metadata of deleted tables (named `name`, if given) whose change
/// streams are still kept for 24 h (see `kept_streams`), oldest first.
pub(crate) fn deleted_tables<T: ReadableTable<u64, (u64, &'static [u8])>>(
    table: &T,
    name: Option<&str>,
) -> Result<Vec<TableMeta>> {
    let mut metas = Vec::new();
    for entry in table.iter()? {
        let meta = TableMeta::decode(entry?.1.value().1)?;
        if name.is_none_or(|name| name == meta.name) {
            metas.push(meta);
        }
    }
    Ok(metas)
}

/// DescribeTable: the table and its exact item count and size.
pub fn describe_table(store: &Store, name: &str) -> Result<TableDescription> {
    check_table_name(name)?;
    let txn = store.read()?;
    let meta = load_read(&txn, name, table_not_found)?;
    let stats = txn.open_table(TABLE_STATS)?;
    let (item_count, size_bytes) = stats.get(meta.id)?.map(|v| v.value()).unwrap_or((0, 0));
    Ok(TableDescription {
        meta,
        item_count,
        size_bytes,
    })
}

/// ListTables: up to `limit` (1..=100) names after `exclusive_start`, and the
/// last name returned when more follow (LastEvaluatedTableName).
pub fn list_tables(
    store: &Store,
    exclusive_start: Option<&str>,
    limit: usize,
) -> Result<(Vec<String>, Option<String>)> {
    let txn = store.read()?;
    let table = txn.open_table(TABLES)?;
    let range = match exclusive_start {
        Some(start) => {
            table.range::<&str>((std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded))?
        }
        None => table.range::<&str>(..)?,
    };
    let mut names = Vec::new();
    for entry in range {
        let (key, _) = entry?;
        if names.len() == limit {
            let last = names.last().cloned();
            return Ok((names, last));
        }
        names.push(key.value().to_string());
    }
    Ok((names, None))
}

/// How many tables exist.
pub fn table_count(store: &Store) -> Result<u64> {
    let txn = store.read()?;
    Ok(txn.open_table(TABLES)?.len()?)
}

/// UpdateTable: enables or disables the change stream (and, if given, records a
/// new billing mode). Enabling when a stream is enabled ("Table already has an
/// enabled stream: TableName: NAME"), or disabling when none is ("Table has no
/// stream to disable: TableName: NAME"), is a ValidationException as in DynamoDB.
pub fn update_table(
    store: &Store,
    name: &str,
    stream: Option<StreamChange>,
    billing: Option<BillingMode>,
) -> Result<TableDescription> {
    check_table_name(name)?;
    let name = name.to_string();
    store.write(move |ctx| {
        let mut meta = load_in(ctx, &name, table_not_found)?;
        match (stream, meta.enabled_stream().is_some()) {
            (Some(StreamChange::Enable(_)), true) => {
                return Err(StoreError::Validation(format!(
                    "Table already has an enabled stream: TableName: {name}"
                )));
            }
            (Some(StreamChange::Disable), false) => {
                return Err(StoreError::Validation(format!(
                    "Table has no stream to disable: TableName: {name}"
                )));
            }
            (Some(StreamChange::Enable(view_type)), false) => {
                let stream = new_stream(ctx, &meta, view_type)?;
                meta.streams.push(stream);
            }
            (Some(StreamChange::Disable), true) => {
                let now = ctx.now_ms;
                let heads = ctx.txn().open_table(crate::schema::LOG_HEADS)?;
                if let Some(last) = meta.streams.last_mut() {
                    last.closed_at_sequence = records::head(&heads, last.log)?;
                    last.closed_ms = Some(now);
                }
            }
            (None, _) => {}
        }
        if let Some(billing) = billing {
            meta.billing = billing;
        }
        save_in(ctx, &meta)?;
        let (item_count, size_bytes) =
            ctx.with_stats(|stats| Ok(stats.get(meta.id)?.map(|v| v.value()).unwrap_or((0, 0))))?;
        Ok(TableDescription {
            meta,
            item_count,
            size_bytes,
        })
    })
}

/// DeleteTable: removes the table, its items, its statistics and its change
/// streams' records in one commit, and returns the description it had.
pub fn delete_table(store: &Store, name: &str) -> Result<TableDescription> {
    check_table_name(name)?;
    let name = name.to_string();
    store.write(move |ctx| {
        let meta = load_in(ctx, &name, table_not_found)?;
        // Before anything is written: an Err must leave the table as it was.
        let kept = kept_streams(ctx, &meta)?;
        let (item_count, size_bytes) = ctx
            .with_stats(|stats| Ok(stats.remove(meta.id)?.map(|v| v.value()).unwrap_or((0, 0))))?;
        ctx.table_cache().remove(&name);
        ctx.txn().open_table(TABLES)?.remove(name.as_str())?;
        let end = meta.id.saturating_add(1);
        ctx.with_items(|items| {
            items.retain_in::<(u64, &[u8]), _>((meta.id, &[][..])..(end, &[][..]), |_, _| false)?;
            Ok(())
        })?;
        if let Some((id, encoded)) = &kept {
            ctx.txn()
                .open_table(crate::schema::DELETED_TABLES)?
                .insert(*id, (ctx.now_ms, encoded.as_slice()))?;
        }
        Ok(TableDescription {
            meta,
            item_count,
            size_bytes,
        })
    })
}

/// What DeleteTable keeps of `meta` so that its change streams stay readable
/// for 24 h: its id and its metadata with every stream closed at its last
/// record (`None` without streams).
fn kept_streams(ctx: &WriteCtx<'_>, meta: &TableMeta) -> Result<Option<(u64, Vec<u8>)>> {
    if meta.streams.is_empty() {
        return Ok(None);
    }
    let mut kept = meta.clone();
    let heads = ctx.txn().open_table(crate::schema::LOG_HEADS)?;
    for stream in kept.streams.iter_mut().filter(|s| s.is_enabled()) {
        stream.closed_at_sequence = records::head(&heads, stream.log)?;
        stream.closed_ms = Some(ctx.now_ms);
    }
    Ok(Some((kept.id, kept.encode()?)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tables::items::{PutItemRequest, put_item};
    use crate::tables::tests::{item, open};

    fn create(store: &Store, name: &str, stream: Option<StreamViewType>) -> TableDescription {
        create_table(
            store,
            CreateTable {
                name: name.into(),
                partition_key: KeyAttr {
                    name: "pk".into(),
                    key_type: KeyType::S,
                },
                sort_key: None,
                billing: BillingMode::PayPerRequest,
                stream,
            },
        )
        .unwrap()
    }

    fn put(store: &Store, table: &str, pk: &str) -> Result<Option<crate::Item>> {
        put_item(
            store,
            PutItemRequest {
                table: table.into(),
                item: item(json!({"pk": {"S": pk}})),
                ..Default::default()
            },
        )
    }

    fn changes(store: &Store, table: &str) -> usize {
        let log = crate::tables::change_log(store, table).unwrap().unwrap();
        crate::tables::read_changes(store, log.log, 0, 100)
            .unwrap()
            .len()
    }

    /// The writer caches table metadata between commits: a stream enabled by
    /// UpdateTable must still be seen by the very next PutItem.
    #[test]
    fn puts_see_a_stream_enabled_after_the_table_was_cached() {
        let (_dir, store) = open();
        create(&store, "Cached", None);
        put(&store, "Cached", "a").unwrap();
        update_table(
            &store,
            "Cached",
            Some(StreamChange::Enable(StreamViewType::KeysOnly)),
            None,
        )
        .unwrap();
        put(&store, "Cached", "b").unwrap();
        assert_eq!(changes(&store, "Cached"), 1);
    }

    /// A table deleted and created again under the same name is a new table
    /// (new id): cached metadata of the old one must not receive its items.
    #[test]
    fn puts_after_delete_and_recreate_go_to_the_new_table() {
        let (_dir, store) = open();
        let old = create(&store, "Again", None);
        put(&store, "Again", "a").unwrap();
        delete_table(&store, "Again").unwrap();
        assert!(matches!(
            put(&store, "Again", "b"),
            Err(StoreError::ResourceNotFound(_))
        ));
        let new = create(&store, "Again", None);
        assert_ne!(old.meta.id, new.meta.id);
        put(&store, "Again", "c").unwrap();
        assert_eq!(describe_table(&store, "Again").unwrap().item_count, 1);
    }

    /// A commit that fails must not leave its metadata in the cache: a table
    /// created by a job of a rolled-back commit does not exist afterwards.
    #[test]
    fn a_rolled_back_create_leaves_no_cached_table() {
        let (_dir, store) = open();
        // One job creates the table's metadata and reads it back (caching it),
        // then panics: the whole commit is rolled back.
        let outcome: Result<()> = store.write(move |ctx| {
            let meta = TableMeta {
                name: "Ghost".into(),
                id: 999,
                arn: "arn".into(),
                region: "r".into(),
                partition_key: KeyAttr {
                    name: "pk".into(),
                    key_type: KeyType::S,
                },
                sort_key: None,
                created_ms: 0,
                billing: BillingMode::PayPerRequest,
                streams: Vec::new(),
            };
            save_in(ctx, &meta)?;
            assert!(lookup_in(ctx, "Ghost")?.is_some());
            panic!("roll this commit back");
        });
        assert!(outcome.is_err());
        assert!(matches!(
            put(&store, "Ghost", "a"),
            Err(StoreError::ResourceNotFound(_))
        ));
    }
}
