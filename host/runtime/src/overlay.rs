//! The writes of one invocation, buffered until it ends.
//!
//! Host calls read through the overlay (a function reads its own writes) and
//! write into it. When the invocation succeeds its writes are committed in ONE
//! store write job (`Writes::commit_in`, so a trigger can add its checkpoint to
//! the same job); when it fails they are dropped.
//!
//! Concurrency is optimistic: the overlay remembers each item's image as first
//! read from the store (its base), and the commit re-reads every touched item
//! and refuses with `Conflict` (writing nothing) if any changed meanwhile; the
//! caller then re-runs the invocation. Query results are read from the
//! committed state with this invocation's own writes applied to the items
//! returned; items the invocation inserted are not added to a query, and query
//! ranges are not re-validated at commit.
//!
//! An overlay can be stacked on another invocation's writes that are still
//! being committed (`on_top_of`: a trigger reads and runs batch N+1 while
//! batch N commits). Items the parent touched are read from the parent's
//! final images, with the bytes the parent's commit will store as the base,
//! so the commit check passes only if the parent's commit landed first and
//! nothing changed since. A query cannot see the parent's pending writes,
//! so an invocation that queries on top of a parent always conflicts (and is
//! re-run on the committed state, without a parent).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;

use eddy_store::streams::{self, PutRecordEntry};
use eddy_store::tables::images::{self, ImageSnapshot, ImageSource, Plan};
use eddy_store::tables::{
    DeleteItemRequest, Page, PutItemRequest, QueryRequest, TableMeta, UpdateItemRequest,
};
use eddy_store::value::codec::encode_item;
use eddy_store::{Item, Store, StoreError, WriteCtx};

/// The most items and records one invocation may buffer.
pub const MAX_BUFFERED: usize = 10_000;

/// One touched item: what the store held when first read, and the image now.
#[derive(Debug, Clone)]
struct Entry {
    table_id: u64,
    /// Shared (`Arc`) so that an overlay stacked on this one's writes takes
    /// its base without copying the item: in the pipelined trigger phase
    /// nearly every item a batch touches was touched by the batch before.
    base: Option<Arc<Item>>,
    /// `base` as stored: the commit compares bytes, cheaper than decoding
    /// the item again on the store's one writer thread.
    base_bytes: Stored,
    /// The image after this invocation's writes, once written; while only
    /// read the image is `base` (not copied: see `image`).
    current: Option<Arc<Item>>,
    /// Whether the invocation wrote the item (else it only read it).
    written: bool,
}

impl Entry {
    /// The item as this invocation sees it now.
    fn image(&self) -> Option<&Arc<Item>> {
        if self.written {
            self.current.as_ref()
        } else {
            self.base.as_ref()
        }
    }

    /// What the commit of this entry leaves stored, as `base_bytes` are.
    fn final_bytes(&self) -> Stored {
        if self.written {
            // Encoded by the commit that checks them (see `Stored`).
            Stored::Encoding(self.current.clone())
        } else {
            // Only read: the commit leaves the bytes it read.
            self.base_bytes.clone()
        }
    }
}

/// The bytes an item's commit expects to find stored (`None`: no item).
#[derive(Debug, Clone)]
enum Stored {
    /// As read from the store.
    Read(Option<Vec<u8>>),
    /// What encoding this image gives (`write_image_in` encodes the same
    /// way): a parent's written image, encoded only by the commit job that
    /// compares it, on the writer thread, rather than on the poller lane
    /// that stacks on it (`encode_item` was ~4% of the lanes' samples).
    Encoding(Option<Arc<Item>>),
}

impl Stored {
    /// Whether the store holds these bytes for the item now.
    fn unchanged_in(
        &self,
        ctx: &WriteCtx<'_>,
        table_id: u64,
        key: &[u8],
    ) -> Result<bool, StoreError> {
        match self {
            Stored::Read(bytes) => images::image_unchanged_in(ctx, table_id, key, bytes.as_deref()),
            Stored::Encoding(item) => {
                let bytes = item.as_deref().map(encode_item);
                images::image_unchanged_in(ctx, table_id, key, bytes.as_deref())
            }
        }
    }
}

/// The items an invocation touched, by table name and encoded key: nested so
/// that a lookup borrows the name and key instead of building a tuple.
/// Hashed (looked up two or three times per write), and iterated — so
/// committed — table by table in the order the invocation first touched
/// them, each table's items likewise.
#[derive(Debug, Clone, Default)]
struct Touched {
    tables: IndexMap<String, IndexMap<Vec<u8>, Entry, Hasher>, Hasher>,
    len: usize,
}

/// Hashes keys that a function (not an attacker over the network) chooses,
/// for this invocation only: a fast keyed hash is enough.
type Hasher = foldhash::fast::RandomState;

impl Touched {
    fn get(&self, table: &str, key: &[u8]) -> Option<&Entry> {
        self.tables.get(table)?.get(key)
    }

    fn get_mut(&mut self, table: &str, key: &[u8]) -> Option<&mut Entry> {
        self.tables.get_mut(table)?.get_mut(key)
    }

    /// Inserts `entry`, returning it (`None` cannot happen).
    fn insert(&mut self, table: &str, key: &[u8], entry: Entry) -> Option<&Entry> {
        if !self.tables.contains_key(table) {
            self.tables.insert(table.to_string(), IndexMap::default());
        }
        let keys = self.tables.get_mut(table)?;
        Some(match keys.entry(key.to_vec()) {
            indexmap::map::Entry::Vacant(slot) => {
                self.len += 1;
                slot.insert(entry)
            }
            indexmap::map::Entry::Occupied(mut slot) => {
                slot.insert(entry);
                slot.into_mut()
            }
        })
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>, &Entry)> {
        self.tables
            .iter()
            .flat_map(|(table, keys)| keys.iter().map(move |(key, entry)| (table, key, entry)))
    }
}

/// The buffered writes (and read set) of an invocation, ready to commit.
#[derive(Debug, Clone, Default)]
pub struct Writes {
    items: Touched,
    records: Vec<(String, PutRecordEntry)>,
    account: String,
    /// Set when the invocation queried on top of a parent's pending writes,
    /// which its query results could not include: the commit conflicts.
    queried_on_parent: bool,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// Items written (put, updated or deleted).
    pub items: usize,
    /// Stream records appended.
    pub records: usize,
}

/// Why a commit refused to apply anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict(pub String);

impl Writes {
    /// True when the invocation wrote nothing (and its commit cannot
    /// conflict for having queried on top of a parent).
    pub fn is_empty(&self) -> bool {
        !self.queried_on_parent
            && self.records.is_empty()
            && self.items.iter().all(|(_, _, e)| !e.written)
    }

    /// Applies every buffered write inside the caller's write job, after
    /// checking that nothing the invocation read or wrote has changed. On
    /// `Ok(Err(Conflict))` and on `Err` nothing was written.
    pub fn commit_in(
        &self,
        ctx: &mut WriteCtx<'_>,
    ) -> Result<Result<Committed, Conflict>, StoreError> {
        if self.queried_on_parent {
            return Ok(Err(Conflict(
                "the invocation queried before the previous batch's writes were committed".into(),
            )));
        }
        let mut metas: HashMap<&str, TableMeta> = HashMap::new();
        for (table, key, entry) in self.items.iter() {
            // Each table is looked up once, however many of its items the
            // invocation touched.
            let known = metas.get(table.as_str()).map(|m| m.id);
            let id = match known {
                Some(id) => Some(id),
                None => images::table_meta_in(ctx, table)?.map(|meta| {
                    let id = meta.id;
                    metas.insert(table, meta);
                    id
                }),
            };
            if id != Some(entry.table_id) {
                return Ok(Err(Conflict(format!(
                    "table {table} was deleted or re-created during the invocation"
                ))));
            }
            if !entry.base_bytes.unchanged_in(ctx, entry.table_id, key)? {
                return Ok(Err(Conflict(format!(
                    "an item of table {table} changed during the invocation"
                ))));
            }
        }
        for (stream, _) in &self.records {
            if !images::stream_exists_in(ctx, stream)? {
                return Err(StoreError::ResourceNotFound(format!(
                    "Stream {stream} under account {} not found.",
                    self.account
                )));
            }
        }
        let mut done = Committed::default();
        for (table, key, entry) in self.items.iter() {
            let (true, Some(meta)) = (entry.written, metas.get(table.as_str())) else {
                continue;
            };
            images::write_image_in(
                ctx,
                meta,
                key,
                entry.base.as_deref(),
                entry.current.as_deref(),
            )?;
            done.items += 1;
        }
        for (stream, record) in &self.records {
            streams::put_record_in(ctx, &self.account, stream, record)?;
            done.records += 1;
        }
        Ok(Ok(done))
    }
}

/// An invocation's view of the store: committed state plus its own writes.
pub struct Overlay {
    store: Store,
    metas: HashMap<String, Arc<TableMeta>>,
    /// The snapshot items are first read from, opened at the first read: one
    /// per invocation rather than a transaction per item (the commit
    /// re-checks every base anyway).
    snapshot: Option<ImageSnapshot>,
    writes: Writes,
    /// The pending writes this overlay is stacked on (see `on_top_of`).
    parent: Option<Arc<Writes>>,
}

thread_local! {
    /// The parent of the overlays created on this thread (see `on_top_of`).
    static PARENT: RefCell<Option<Arc<Writes>>> = const { RefCell::new(None) };
}

/// Runs `f` with every overlay created on this thread meanwhile stacked on
/// `parent`: the writes of an invocation whose commit is under way and will
/// land before theirs (or theirs will conflict and do nothing). A thread-local
/// because the overlay is created deep inside the runtime's invocation, on
/// the caller's thread.
pub fn on_top_of<R>(parent: Arc<Writes>, f: impl FnOnce() -> R) -> R {
    /// Restores the previous parent, even if `f` panics.
    struct Restore(Option<Arc<Writes>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            PARENT.with(|p| *p.borrow_mut() = previous);
        }
    }
    let previous = PARENT.with(|p| p.borrow_mut().replace(parent));
    let _restore = Restore(previous);
    f()
}

/// The owned parts of a plan: what the overlay keeps once the plan's borrows
/// of the overlay's images end.
struct Write {
    meta: Arc<TableMeta>,
    key: Vec<u8>,
    new: Option<Item>,
    returned: Option<Item>,
}

impl Write {
    fn of(planned: Plan<'_>) -> Write {
        Write {
            meta: planned.meta,
            key: planned.key,
            new: planned.new,
            returned: planned.returned,
        }
    }
}

/// Reads images through the overlay, remembering each item's base.
struct Source<'a> {
    store: &'a Store,
    parent: Option<&'a Writes>,
    metas: &'a mut HashMap<String, Arc<TableMeta>>,
    snapshot: &'a mut Option<ImageSnapshot>,
    items: &'a mut Touched,
}

impl ImageSource for Source<'_> {
    fn table(&mut self, name: &str) -> Result<Arc<TableMeta>, StoreError> {
        if let Some(meta) = self.metas.get(name) {
            return Ok(meta.clone());
        }
        let meta = Arc::new(images::table_meta(self.store, name)?);
        self.metas.insert(name.to_string(), meta.clone());
        Ok(meta)
    }

    fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Cow<'_, Item>>, StoreError> {
        // Looked up twice on a hit: returning the first borrow would keep
        // `items` borrowed through the insert below (a borrow checker limit).
        let entry = match self.items.get(&meta.name, key) {
            Some(_) => self.items.get(&meta.name, key),
            None => Some(self.load(meta, key)?),
        };
        Ok(entry
            .and_then(Entry::image)
            .map(|item| Cow::Borrowed(&**item)))
    }
}

impl Source<'_> {
    /// Reads an item the invocation has not touched yet from the parent's
    /// pending writes or the snapshot, and remembers it as its base.
    fn load(&mut self, meta: &TableMeta, key: &[u8]) -> Result<&Entry, StoreError> {
        if self.items.len >= MAX_BUFFERED {
            return Err(too_many());
        }
        let snapshot = match self.snapshot {
            Some(snapshot) => snapshot,
            None => self.snapshot.insert(ImageSnapshot::open(self.store)?),
        };
        let inherited = self
            .parent
            .and_then(|parent| parent.items.get(&meta.name, key))
            .filter(|entry| entry.table_id == meta.id);
        let (base, base_bytes) = match inherited {
            // What the parent's commit stores, or leaves as it was.
            Some(entry) => (entry.image().cloned(), entry.final_bytes()),
            None => match snapshot.image_and_bytes(meta.id, key)? {
                Some((item, bytes)) => (Some(Arc::new(item)), Stored::Read(Some(bytes))),
                None => (None, Stored::Read(None)),
            },
        };
        let entry = Entry {
            table_id: meta.id,
            base,
            base_bytes,
            current: None,
            written: false,
        };
        self.items
            .insert(&meta.name, key, entry)
            .ok_or_else(|| StoreError::Storage("internal error: a read item was lost".into()))
    }
}

fn too_many() -> StoreError {
    StoreError::LimitExceeded(format!(
        "an invocation may touch at most {MAX_BUFFERED} items and records"
    ))
}

impl Overlay {
    /// An empty overlay over `store` (stacked on the thread's parent, if
    /// `on_top_of` set one).
    pub fn new(store: Store) -> Overlay {
        let account = store.options().account.clone();
        Overlay {
            store,
            metas: HashMap::new(),
            snapshot: None,
            writes: Writes {
                account,
                ..Writes::default()
            },
            parent: PARENT.with(|p| p.borrow().clone()),
        }
    }

    /// The buffered writes, to commit in a caller's job.
    pub fn into_writes(self) -> Writes {
        self.writes
    }

    fn meta(&mut self, table: &str) -> Result<Arc<TableMeta>, StoreError> {
        self.source().table(table)
    }

    fn source(&mut self) -> Source<'_> {
        Source {
            store: &self.store,
            parent: self.parent.as_deref(),
            metas: &mut self.metas,
            snapshot: &mut self.snapshot,
            items: &mut self.writes.items,
        }
    }

    /// GetItem through the overlay.
    pub fn get(&mut self, table: &str, key: &Item) -> Result<Option<Item>, StoreError> {
        let meta = self.meta(table)?;
        let key = images::encode_key(&meta, key)?;
        Ok(self.source().image(&meta, &key)?.map(Cow::into_owned))
    }

    /// PutItem into the overlay; returns what ReturnValues asked for.
    pub fn put(&mut self, request: &PutItemRequest) -> Result<Option<Item>, StoreError> {
        let mut source = self.source();
        let write = Write::of(images::plan_put_ref(request, &mut source)?);
        self.apply(write)
    }

    /// UpdateItem into the overlay.
    pub fn update(&mut self, request: &UpdateItemRequest) -> Result<Option<Item>, StoreError> {
        self.update_with(request, None)
    }

    /// UpdateItem with its ExpressionAttributeValues parsed already (see
    /// `images::plan_update_with`).
    pub fn update_with(
        &mut self,
        request: &UpdateItemRequest,
        values: Option<Item>,
    ) -> Result<Option<Item>, StoreError> {
        let mut source = self.source();
        let write = Write::of(images::plan_update_with(request, values, &mut source)?);
        self.apply(write)
    }

    /// DeleteItem into the overlay.
    pub fn delete(&mut self, request: &DeleteItemRequest) -> Result<Option<Item>, StoreError> {
        let mut source = self.source();
        let write = Write::of(images::plan_delete_ref(request, &mut source)?);
        self.apply(write)
    }

    /// Buffers a planned write.
    fn apply(&mut self, write: Write) -> Result<Option<Item>, StoreError> {
        let entry = self
            .writes
            .items
            .get_mut(&write.meta.name, &write.key)
            .ok_or_else(|| {
                StoreError::Storage("internal error: planned write lost its item".into())
            })?;
        entry.current = write.new.map(Arc::new);
        entry.written = true;
        Ok(write.returned)
    }

    /// Query the committed state, with this invocation's writes applied to
    /// the items returned (see the module doc for what is not covered).
    pub fn query(&mut self, request: &QueryRequest) -> Result<Page, StoreError> {
        let meta = self.meta(&request.table)?;
        if self.parent.is_some() {
            self.writes.queried_on_parent = true;
        }
        let mut page = eddy_store::tables::query(&self.store, request)?;
        if self.writes.items.len == 0 {
            return Ok(page);
        }
        let mut items = Vec::with_capacity(page.items.len());
        for item in page.items {
            let keys: Item = meta
                .key_attrs()
                .filter_map(|a| Some((a.name.clone(), item.get(&a.name)?.clone())))
                .collect();
            let own = images::encode_key(&meta, &keys)
                .ok()
                .and_then(|key| self.writes.items.get(&meta.name, &key))
                .filter(|e| e.written);
            match own {
                Some(entry) => items.extend(entry.current.as_deref().cloned()),
                None => items.push(item),
            }
        }
        page.count = items.len();
        page.items = items;
        Ok(page)
    }

    /// Checks and buffers a PutRecord; returns the shard it will land in.
    pub fn put_record(
        &mut self,
        stream: &str,
        entry: PutRecordEntry,
    ) -> Result<String, StoreError> {
        let mut failures = streams::validate::name(stream, "streamName");
        failures.extend(streams::validate::partition_key(
            &entry.partition_key,
            "partitionKey",
        ));
        failures.extend(streams::validate::data(entry.data.len(), "data"));
        streams::validate::check(failures)?;
        if self.writes.records.len() >= MAX_BUFFERED {
            return Err(too_many());
        }
        let meta = streams::describe_stream(&self.store, stream)?;
        let shard = streams::shards::route(
            meta.shard_count,
            streams::shards::hash_key(&entry.partition_key),
        );
        self.writes.records.push((stream.to_string(), entry));
        Ok(streams::shards::shard_id(shard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_store::AttributeValue;
    use eddy_store::tables::{BillingMode, CreateTable, KeyAttr};
    use eddy_store::value::keys::KeyType;

    fn item(user: &str, score: &str) -> Item {
        Item::from([
            ("U".to_string(), AttributeValue::S(user.into())),
            (
                "Score".to_string(),
                AttributeValue::N(score.parse().unwrap()),
            ),
        ])
    }

    fn put(table: &str, item: Item) -> PutItemRequest {
        PutItemRequest {
            table: table.into(),
            item,
            ..PutItemRequest::default()
        }
    }

    fn store_with_table() -> (tempfile::TempDir, Store) {
        store_with_table_streaming(None)
    }

    fn store_with_table_streaming(
        stream: Option<eddy_store::tables::StreamViewType>,
    ) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), eddy_store::StoreOptions::default()).unwrap();
        let create = CreateTable {
            name: "Tab".into(),
            partition_key: KeyAttr {
                name: "U".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream,
        };
        eddy_store::tables::create_table(&store, create).unwrap();
        (dir, store)
    }

    /// A store whose table "Tab" has a NEW_AND_OLD_IMAGES stream, and the
    /// stream's log id.
    fn streaming_table() -> (tempfile::TempDir, Store, u64) {
        let stream = Some(eddy_store::tables::StreamViewType::NewAndOldImages);
        let (dir, store) = store_with_table_streaming(stream);
        let log = eddy_store::tables::change_log(&store, "Tab").unwrap();
        (dir, store, log.unwrap().log)
    }

    fn delete(user: &str) -> DeleteItemRequest {
        DeleteItemRequest {
            table: "Tab".into(),
            key: Item::from([("U".to_string(), AttributeValue::S(user.into()))]),
            ..DeleteItemRequest::default()
        }
    }

    /// The items a committed invocation changed show in the table's change
    /// stream in the order it first touched them, each with its key
    /// attributes (taken from the image at commit) and its images.
    #[test]
    fn committed_writes_are_recorded_in_first_touch_order_with_their_keys() {
        let (_dir, store, log) = streaming_table();
        eddy_store::tables::put_item(&store, put("Tab", item("m", "1"))).unwrap();
        let mut overlay = Overlay::new(store.clone());
        for user in ["z", "m", "a"] {
            overlay.put(&put("Tab", item(user, "5"))).unwrap();
        }
        overlay.delete(&delete("m")).unwrap();
        let done = commit(&store, Arc::new(overlay.into_writes())).unwrap();
        assert_eq!(done.items, 3);
        let changes = eddy_store::tables::read_changes(&store, log, 1, 10).unwrap();
        let seen: Vec<(String, String)> = changes
            .iter()
            .map(|c| {
                let name = c.event["eventName"].as_str().unwrap().to_string();
                (
                    name,
                    c.event["dynamodb"]["Keys"]["U"]["S"]
                        .as_str()
                        .unwrap()
                        .into(),
                )
            })
            .collect();
        let expected = [("INSERT", "z"), ("REMOVE", "m"), ("INSERT", "a")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(e, u)| (e.to_string(), u.to_string()))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(changes[1].event["dynamodb"]["OldImage"]["Score"]["N"], "1");
    }

    /// Writes that end where they began leave the change stream untouched:
    /// deleting an item that does not exist, putting an item as it is, and
    /// creating then deleting one in the same invocation.
    #[test]
    fn writes_that_change_nothing_record_nothing() {
        let (_dir, store, log) = streaming_table();
        eddy_store::tables::put_item(&store, put("Tab", item("same", "1"))).unwrap();
        let mut overlay = Overlay::new(store.clone());
        overlay.delete(&delete("missing")).unwrap();
        overlay.put(&put("Tab", item("same", "1"))).unwrap();
        overlay.put(&put("Tab", item("brief", "2"))).unwrap();
        overlay.delete(&delete("brief")).unwrap();
        commit(&store, Arc::new(overlay.into_writes())).unwrap();
        let changes = eddy_store::tables::read_changes(&store, log, 1, 10).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
    }

    fn commit(store: &Store, writes: Arc<Writes>) -> Result<Committed, Conflict> {
        store.write(move |ctx| writes.commit_in(ctx)).unwrap()
    }

    #[test]
    fn a_stacked_overlay_sees_its_parent_and_commits_only_after_it() {
        let (_dir, store) = store_with_table();
        let key = Item::from([("U".to_string(), AttributeValue::S("a".into()))]);
        let mut parent = Overlay::new(store.clone());
        parent.put(&put("Tab", item("a", "1"))).unwrap();
        let parent = Arc::new(parent.into_writes());
        let child = |score: &str| {
            on_top_of(parent.clone(), || {
                let mut child = Overlay::new(store.clone());
                assert_eq!(child.get("Tab", &key).unwrap(), Some(item("a", "1")));
                child.put(&put("Tab", item("a", score))).unwrap();
                Arc::new(child.into_writes())
            })
        };
        // Not stacked outside `on_top_of`.
        assert_eq!(Overlay::new(store.clone()).get("Tab", &key).unwrap(), None);
        // Before the parent lands, the child's base is not the store's.
        assert!(commit(&store, child("2")).is_err());
        let child = child("3");
        assert_eq!(commit(&store, parent.clone()).map(|c| c.items), Ok(1));
        assert_eq!(commit(&store, child).map(|c| c.items), Ok(1));
        let mut fresh = Overlay::new(store.clone());
        assert_eq!(fresh.get("Tab", &key).unwrap(), Some(item("a", "3")));
    }

    fn add(score: &str, condition: Option<&str>) -> UpdateItemRequest {
        let values = serde_json::json!({":s": {"N": score}});
        UpdateItemRequest {
            table: "Tab".into(),
            key: Item::from([("U".to_string(), AttributeValue::S("a".into()))]),
            update: Some("ADD Score :s".into()),
            condition: condition.map(str::to_string),
            expressions: eddy_store::tables::ExpressionMaps {
                names: None,
                values: values.as_object().cloned(),
            },
            ..UpdateItemRequest::default()
        }
    }

    #[test]
    fn updates_read_their_own_writes_and_a_failed_one_changes_nothing() {
        let (_dir, store) = store_with_table();
        let key = Item::from([("U".to_string(), AttributeValue::S("a".into()))]);
        let mut overlay = Overlay::new(store.clone());
        overlay.update(&add("1", None)).unwrap();
        overlay.update(&add("2", None)).unwrap();
        let failed = overlay.update(&add("4", Some("attribute_not_exists(Score)")));
        assert!(matches!(
            failed,
            Err(StoreError::ConditionalCheckFailed { .. })
        ));
        assert_eq!(overlay.get("Tab", &key).unwrap(), Some(item("a", "3")));
        assert_eq!(
            commit(&store, Arc::new(overlay.into_writes())),
            Ok(Committed {
                items: 1,
                records: 0
            })
        );
        let mut fresh = Overlay::new(store.clone());
        assert_eq!(fresh.get("Tab", &key).unwrap(), Some(item("a", "3")));
    }

    #[test]
    fn values_given_parsed_update_as_their_json_does() {
        let (_dir, store) = store_with_table();
        let parsed = |request: &UpdateItemRequest| {
            let values = request
                .expressions
                .values
                .as_ref()
                .map(|v| eddy_store::value::json::item_from_object(v).unwrap());
            let request = UpdateItemRequest {
                expressions: eddy_store::tables::ExpressionMaps::default(),
                ..request.clone()
            };
            (request, values)
        };
        let mut general = Overlay::new(store.clone());
        let mut given = Overlay::new(store.clone());
        let mut unused = add("2", None);
        if let Some(values) = &mut unused.expressions.values {
            values.insert(":t".into(), serde_json::json!({"S": "t"}));
        }
        for request in [add("1", None), unused, add("3", Some("Score = :s"))] {
            let (bare, values) = parsed(&request);
            assert_eq!(
                general.update(&request).map_err(|e| e.to_string()),
                given.update_with(&bare, values).map_err(|e| e.to_string())
            );
        }
        let key = Item::from([("U".to_string(), AttributeValue::S("a".into()))]);
        assert_eq!(given.get("Tab", &key).unwrap(), Some(item("a", "1")));
        assert_eq!(
            general.get("Tab", &key).unwrap(),
            given.get("Tab", &key).unwrap()
        );
    }

    #[test]
    fn a_stacked_overlay_bases_an_item_its_parent_only_read_on_the_stored_bytes() {
        let (_dir, store) = store_with_table();
        eddy_store::tables::put_item(&store, put("Tab", item("a", "1"))).unwrap();
        let key = Item::from([("U".to_string(), AttributeValue::S("a".into()))]);
        let mut parent = Overlay::new(store.clone());
        assert_eq!(parent.get("Tab", &key).unwrap(), Some(item("a", "1")));
        let parent = Arc::new(parent.into_writes());
        let child = on_top_of(parent.clone(), || {
            let mut child = Overlay::new(store.clone());
            child.update(&add("5", None)).unwrap();
            Arc::new(child.into_writes())
        });
        assert_eq!(commit(&store, parent).map(|c| c.items), Ok(0));
        assert_eq!(commit(&store, child).map(|c| c.items), Ok(1));
        let mut fresh = Overlay::new(store.clone());
        assert_eq!(fresh.get("Tab", &key).unwrap(), Some(item("a", "6")));
    }

    #[test]
    fn a_stacked_overlay_that_queries_always_conflicts() {
        let (_dir, store) = store_with_table();
        let parent = Arc::new(Overlay::new(store.clone()).into_writes());
        let writes = on_top_of(parent.clone(), || {
            let mut child = Overlay::new(store.clone());
            let request = QueryRequest {
                table: "Tab".into(),
                key_condition: "U = :u".into(),
                forward: true,
                expressions: eddy_store::tables::ExpressionMaps {
                    names: None,
                    values: Some(
                        serde_json::json!({":u": {"S": "a"}})
                            .as_object()
                            .unwrap()
                            .clone(),
                    ),
                },
                ..QueryRequest::default()
            };
            child.query(&request).unwrap();
            child.into_writes()
        });
        assert!(!writes.is_empty());
        assert!(commit(&store, Arc::new(writes)).is_err());
    }

    #[test]
    fn reads_own_writes_and_refuses_a_stale_commit() {
        let (_dir, store) = store_with_table();
        let key = Item::from([("U".to_string(), AttributeValue::S("a".into()))]);
        let mut overlay = Overlay::new(store.clone());
        overlay.put(&put("Tab", item("a", "1"))).unwrap();
        assert_eq!(overlay.get("Tab", &key).unwrap(), Some(item("a", "1")));
        // Someone else writes the same item before this overlay commits.
        eddy_store::tables::put_item(&store, put("Tab", item("a", "9"))).unwrap();
        let writes = overlay.into_writes();
        let outcome = store.write(move |ctx| writes.commit_in(ctx)).unwrap();
        assert!(outcome.is_err(), "a stale base must conflict");
        let mut fresh = Overlay::new(store.clone());
        assert_eq!(fresh.get("Tab", &key).unwrap(), Some(item("a", "9")));
        fresh.put(&put("Tab", item("a", "2"))).unwrap();
        let writes = fresh.into_writes();
        let done = store.write(move |ctx| writes.commit_in(ctx)).unwrap();
        assert_eq!(
            done,
            Ok(Committed {
                items: 1,
                records: 0
            })
        );
    }
}
