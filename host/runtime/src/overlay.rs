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

use std::collections::{BTreeMap, HashMap};

use eddy_store::streams::{self, PutRecordEntry};
use eddy_store::tables::images::{self, ImageSnapshot, ImageSource, Planned};
use eddy_store::tables::{
    DeleteItemRequest, Page, PutItemRequest, QueryRequest, TableMeta, UpdateItemRequest,
};
use eddy_store::{Item, Store, StoreError, WriteCtx};

/// The most items and records one invocation may buffer.
pub const MAX_BUFFERED: usize = 10_000;

/// One touched item: what the store held when first read, and the image now.
#[derive(Debug, Clone)]
struct Entry {
    table_id: u64,
    base: Option<Item>,
    current: Option<Item>,
    /// The key attributes, once written (`None` while only read).
    keys: Option<Item>,
}

/// The buffered writes (and read set) of an invocation, ready to commit.
#[derive(Debug, Clone, Default)]
pub struct Writes {
    items: BTreeMap<(String, Vec<u8>), Entry>,
    records: Vec<(String, PutRecordEntry)>,
    account: String,
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
    /// True when the invocation wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.items.values().all(|e| e.keys.is_none())
    }

    /// Applies every buffered write inside the caller's write job, after
    /// checking that nothing the invocation read or wrote has changed. On
    /// `Ok(Err(Conflict))` and on `Err` nothing was written.
    pub fn commit_in(
        &self,
        ctx: &mut WriteCtx<'_>,
    ) -> Result<Result<Committed, Conflict>, StoreError> {
        let mut metas: HashMap<&str, TableMeta> = HashMap::new();
        for ((table, key), entry) in &self.items {
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
            if images::read_image_in(ctx, entry.table_id, key)? != entry.base {
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
        for ((table, key), entry) in &self.items {
            let (Some(keys), Some(meta)) = (&entry.keys, metas.get(table.as_str())) else {
                continue;
            };
            images::write_image_in(
                ctx,
                meta,
                key,
                keys,
                entry.base.as_ref(),
                entry.current.as_ref(),
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
    metas: HashMap<String, TableMeta>,
    /// The snapshot items are first read from, opened at the first read: one
    /// per invocation rather than a transaction per item (the commit
    /// re-checks every base anyway).
    snapshot: Option<ImageSnapshot>,
    writes: Writes,
}

/// Reads images through the overlay, remembering each item's base.
struct Source<'a> {
    store: &'a Store,
    metas: &'a mut HashMap<String, TableMeta>,
    snapshot: &'a mut Option<ImageSnapshot>,
    items: &'a mut BTreeMap<(String, Vec<u8>), Entry>,
}

impl ImageSource for Source<'_> {
    fn table(&mut self, name: &str) -> Result<TableMeta, StoreError> {
        if let Some(meta) = self.metas.get(name) {
            return Ok(meta.clone());
        }
        let meta = images::table_meta(self.store, name)?;
        self.metas.insert(name.to_string(), meta.clone());
        Ok(meta)
    }

    fn image(&mut self, meta: &TableMeta, key: &[u8]) -> Result<Option<Item>, StoreError> {
        let slot = (meta.name.clone(), key.to_vec());
        if let Some(entry) = self.items.get(&slot) {
            return Ok(entry.current.clone());
        }
        if self.items.len() >= MAX_BUFFERED {
            return Err(too_many());
        }
        let snapshot = match self.snapshot {
            Some(snapshot) => snapshot,
            None => self.snapshot.insert(ImageSnapshot::open(self.store)?),
        };
        let base = snapshot.image(meta.id, key)?;
        let entry = Entry {
            table_id: meta.id,
            base: base.clone(),
            current: base.clone(),
            keys: None,
        };
        self.items.insert(slot, entry);
        Ok(base)
    }
}

fn too_many() -> StoreError {
    StoreError::LimitExceeded(format!(
        "an invocation may touch at most {MAX_BUFFERED} items and records"
    ))
}

impl Overlay {
    /// An empty overlay over `store`.
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
        }
    }

    /// The buffered writes, to commit in a caller's job.
    pub fn into_writes(self) -> Writes {
        self.writes
    }

    fn meta(&mut self, table: &str) -> Result<TableMeta, StoreError> {
        self.source().table(table)
    }

    fn source(&mut self) -> Source<'_> {
        Source {
            store: &self.store,
            metas: &mut self.metas,
            snapshot: &mut self.snapshot,
            items: &mut self.writes.items,
        }
    }

    /// GetItem through the overlay.
    pub fn get(&mut self, table: &str, key: &Item) -> Result<Option<Item>, StoreError> {
        let meta = self.meta(table)?;
        let key = images::encode_key(&meta, key)?;
        self.source().image(&meta, &key)
    }

    /// PutItem into the overlay; returns what ReturnValues asked for.
    pub fn put(&mut self, request: &PutItemRequest) -> Result<Option<Item>, StoreError> {
        let planned = images::plan_put(request, &mut self.source())?;
        self.apply(planned)
    }

    /// UpdateItem into the overlay.
    pub fn update(&mut self, request: &UpdateItemRequest) -> Result<Option<Item>, StoreError> {
        let planned = images::plan_update(request, &mut self.source())?;
        self.apply(planned)
    }

    /// DeleteItem into the overlay.
    pub fn delete(&mut self, request: &DeleteItemRequest) -> Result<Option<Item>, StoreError> {
        let planned = images::plan_delete(request, &mut self.source())?;
        self.apply(planned)
    }

    fn apply(&mut self, planned: Planned) -> Result<Option<Item>, StoreError> {
        let slot = (planned.meta.name, planned.key);
        let entry = self.writes.items.get_mut(&slot).ok_or_else(|| {
            StoreError::Storage("internal error: planned write lost its item".into())
        })?;
        entry.current = planned.new;
        entry.keys = Some(planned.keys);
        Ok(planned.returned)
    }

    /// Query the committed state, with this invocation's writes applied to
    /// the items returned (see the module doc for what is not covered).
    pub fn query(&mut self, request: &QueryRequest) -> Result<Page, StoreError> {
        let meta = self.meta(&request.table)?;
        let mut page = eddy_store::tables::query(&self.store, request)?;
        if self.writes.items.is_empty() {
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
                .and_then(|key| self.writes.items.get(&(meta.name.clone(), key)))
                .filter(|e| e.keys.is_some());
            match own {
                Some(entry) => items.extend(entry.current.clone()),
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

    #[test]
    fn reads_own_writes_and_refuses_a_stale_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), eddy_store::StoreOptions::default()).unwrap();
        let key_attr = KeyAttr {
            name: "U".into(),
            key_type: KeyType::S,
        };
        let create = CreateTable {
            name: "Tab".into(),
            partition_key: key_attr,
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream: None,
        };
        eddy_store::tables::create_table(&store, create).unwrap();
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
