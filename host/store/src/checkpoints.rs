//! Durable consumer checkpoints: the last sequence a consumer (a trigger mapping,
//! later) has processed in a shard of a log. Written through the same `WriteCtx`
//! as the consumer's own table writes, so both commit in one transaction.

use redb::ReadableTable;

use crate::error::Result;
use crate::schema::CHECKPOINTS;
use crate::store::Store;
use crate::writer::WriteCtx;

/// Records that `consumer` has processed `log`/`shard` up to and including `sequence`.
pub fn save(ctx: &WriteCtx<'_>, consumer: &str, log: u64, shard: u32, sequence: u64) -> Result<()> {
    let mut table = ctx.txn().open_table(CHECKPOINTS)?;
    table.insert((consumer, log, shard), sequence)?;
    Ok(())
}

/// Forgets every checkpoint of `consumer`.
pub fn remove_consumer(ctx: &WriteCtx<'_>, consumer: &str) -> Result<()> {
    let mut table = ctx.txn().open_table(CHECKPOINTS)?;
    table.retain_in((consumer, 0, 0)..=(consumer, u64::MAX, u32::MAX), |_, _| {
        false
    })?;
    Ok(())
}

/// The checkpoint of `consumer` in `log`/`shard`, if it has one.
pub fn load(store: &Store, consumer: &str, log: u64, shard: u32) -> Result<Option<u64>> {
    let txn = store.read()?;
    let table = txn.open_table(CHECKPOINTS)?;
    Ok(table.get((consumer, log, shard))?.map(|v| v.value()))
}

/// The checkpoint as seen inside a write (reads the transaction's own writes).
pub fn load_in(ctx: &WriteCtx<'_>, consumer: &str, log: u64, shard: u32) -> Result<Option<u64>> {
    let table = ctx.txn().open_table(CHECKPOINTS)?;
    Ok(table.get((consumer, log, shard))?.map(|v| v.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn checkpoints_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store.write(|ctx| save(ctx, "mapping-1", 3, 0, 17)).unwrap();
            assert_eq!(load(&store, "mapping-1", 3, 0).unwrap(), Some(17));
            assert_eq!(load(&store, "mapping-1", 3, 1).unwrap(), None);
        }
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(load(&store, "mapping-1", 3, 0).unwrap(), Some(17));
        store
            .write(|ctx| remove_consumer(ctx, "mapping-1"))
            .unwrap();
        assert_eq!(load(&store, "mapping-1", 3, 0).unwrap(), None);
    }
}
