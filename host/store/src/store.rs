//! `Store`: the one owner of a data directory. Opens (and on first use creates)
//! the redb file, starts the group-commit writer, and hands out read transactions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable};

use crate::clock::Clock;
use crate::data_file::DataFile;
use crate::error::{Result, StoreError};
use crate::maintenance::Maintenance;
use crate::notify::Notifier;
use crate::schema::{self, FORMAT_VERSION, META, OLDEST_FORMAT};
use crate::writer::{Durability, WriteCtx, WriteFuture, Writer};

/// The file inside a data directory that holds everything.
pub const DATA_FILE: &str = "eddy.redb";

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub durability: Durability,
    pub clock: Clock,
    /// The region and account that appear in ARNs ("us-east-1", "000000000000").
    pub region: String,
    pub account: String,
    /// redb's page cache. Bounded, so reading a large table (a full Scan) keeps
    /// memory flat instead of growing with the table.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Durable,
            clock: Clock::System,
            region: "us-east-1".into(),
            account: "000000000000".into(),
            cache_bytes: 64 << 20,
        }
    }
}

/// A handle on an open data directory. Cheap to clone; the directory closes when
/// the last clone drops (after the writer has committed what it holds).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    // Field order matters: upkeep stops first, then the writer, then the database.
    maintenance: std::sync::Mutex<Option<Maintenance>>,
    writer: Writer,
    db: Arc<redb::Database>,
    dir: PathBuf,
    options: StoreOptions,
    notifier: Notifier,
}

impl Store {
    /// Opens the data directory `dir`, creating it if needed. A second process on
    /// the same directory gets `StoreError::DirectoryLocked`.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Storage(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DATA_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .and_then(DataFile::new)
            .map_err(|e| StoreError::Storage(format!("cannot open {}: {e}", path.display())))?;
        let db = match redb::Database::builder()
            .set_cache_size(options.cache_bytes)
            .create_with_backend(file)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::DirectoryLocked(dir.display().to_string()));
            }
            Err(e) => {
                return Err(StoreError::Storage(format!(
                    "cannot open {}: {e}",
                    path.display()
                )));
            }
        };
        let db = Arc::new(db);
        init_schema(&db)?;
        let notifier = Notifier::default();
        let writer = Writer::start(
            db.clone(),
            options.durability,
            options.clock.clone(),
            notifier.clone(),
        );
        let store = Store {
            inner: Arc::new(Inner {
                maintenance: std::sync::Mutex::new(None),
                writer,
                db,
                dir: dir.to_path_buf(),
                options,
                notifier,
            }),
        };
        let upkeep = Maintenance::start(Arc::downgrade(&store.inner));
        if let Ok(mut slot) = store.inner.maintenance.lock() {
            *slot = Some(upkeep);
        }
        Ok(store)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Store {
        Store { inner }
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    pub fn now_ms(&self) -> u64 {
        self.inner.options.clock.now_ms()
    }

    /// Wakes waiters after every commit that appended stream or change records.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.notifier
    }

    /// A consistent snapshot for reading. Never waits for the writer.
    pub(crate) fn read(&self) -> Result<redb::ReadTransaction> {
        Ok(self.inner.db.begin_read()?)
    }

    /// Runs `f` in the next group commit (see `writer`): `f` must check before it
    /// writes, so that an `Err` leaves nothing behind.
    pub fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.write(f)
    }

    /// `write` for async callers: queues `f` for the next group commit now and
    /// resolves to its result once that commit is acknowledged, without
    /// holding a thread meanwhile (see `Writer::submit`).
    pub fn submit<R, F>(&self, f: F) -> WriteFuture<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.submit(f)
    }

    /// The ARN prefix for a service: `arn:aws:SERVICE:REGION:ACCOUNT:`.
    pub fn arn_prefix(&self, service: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:",
            self.inner.options.region, self.inner.options.account
        )
    }
}

/// Creates every table on first open and checks the format version.
fn init_schema(db: &redb::Database) -> Result<()> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("format")?.map(|v| v.value());
        match found {
            None => {
                meta.insert("format", FORMAT_VERSION)?;
            }
            Some(v) if v == FORMAT_VERSION => {}
            Some(v) if (OLDEST_FORMAT..FORMAT_VERSION).contains(&v) => {
                meta.insert("format", FORMAT_VERSION)?;
            }
            Some(v) => {
                return Err(StoreError::Storage(format!(
                    "data directory format {v} is not supported by this eddy (format {FORMAT_VERSION})"
                )));
            }
        }
        txn.open_table(schema::STREAMS)?;
        txn.open_table(schema::TABLES)?;
        txn.open_table(schema::ITEMS)?;
        txn.open_table(schema::TABLE_STATS)?;
        txn.open_table(schema::RECORDS)?;
        txn.open_table(schema::LOG_HEADS)?;
        txn.open_table(schema::DELETED_TABLES)?;
        txn.open_table(schema::CHECKPOINTS)?;
        txn.open_table(schema::FUNCTIONS)?;
        txn.open_table(schema::FUNCTION_CODE)?;
        txn.open_table(schema::ROLES)?;
        txn.open_table(schema::MAPPINGS)?;
        txn.open_table(schema::MAPPING_STATUS)?;
        crate::functions::seed_roles(&txn)?;
    }
    txn.commit()?;
    Ok(())
}

/// Allocates a resource id that is never reused, even after deletes.
pub(crate) fn next_id(ctx: &WriteCtx<'_>) -> Result<u64> {
    let mut meta = ctx.txn().open_table(META)?;
    let id = meta.get("next_id")?.map(|v| v.value()).unwrap_or(1);
    meta.insert("next_id", id + 1)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets the data directory's stored format, as another eddy would have.
    fn set_format(dir: &Path, format: u64) {
        let db = redb::Database::open(dir.join(DATA_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("format", format)
            .unwrap();
        txn.commit().unwrap();
    }

    fn stored_format(store: &Store) -> Option<u64> {
        let txn = store.read().unwrap();
        let meta = txn.open_table(META).unwrap();
        meta.get("format").unwrap().map(|v| v.value())
    }

    #[test]
    fn older_formats_are_upgraded_on_open_and_newer_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
        set_format(dir.path(), OLDEST_FORMAT);
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(stored_format(&store), Some(FORMAT_VERSION));
        drop(store);
        set_format(dir.path(), FORMAT_VERSION + 1);
        let refused = Store::open(dir.path(), StoreOptions::default()).err();
        let message = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("is not supported by this eddy"),
            "{message}"
        );
    }
}
