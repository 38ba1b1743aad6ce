//! Retention: how long a stream keeps records (24 h by default, up to 8760 h),
//! and `trim_expired`, which deletes what has aged out. Reads skip expired
//! records even before trimming reaches them (see `get`), so trimming late
//! never shows a reader anything it should not see.

use super::meta::{self, StreamMeta};
use super::validate;
use crate::error::{Result, StoreError};
use crate::records;
use crate::schema::{RECORDS, STREAMS};
use crate::store::Store;

/// The shortest retention AWS allows, in hours.
pub const MIN_RETENTION_HOURS: u32 = 24;
/// The longest retention AWS allows, in hours (365 days).
pub const MAX_RETENTION_HOURS: u32 = 8760;
/// Records one trimming write job deletes at most, so it holds the writer briefly.
pub const TRIM_BATCH: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Increase,
    Decrease,
}

/// IncreaseStreamRetentionPeriod: `hours` must be 24..=8760 and not below the
/// current retention. Records already trimmed do not come back.
pub fn increase_retention_period(store: &Store, stream: &str, hours: u32) -> Result<StreamMeta> {
    set_retention(store, stream, hours, Direction::Increase)
}

/// DecreaseStreamRetentionPeriod: `hours` must be 24..=8760 and not above the
/// current retention. Records older than the new period become unreadable at once.
pub fn decrease_retention_period(store: &Store, stream: &str, hours: u32) -> Result<StreamMeta> {
    set_retention(store, stream, hours, Direction::Decrease)
}

fn set_retention(
    store: &Store,
    stream: &str,
    hours: u32,
    direction: Direction,
) -> Result<StreamMeta> {
    validate::check(validate::name(stream, "streamName"))?;
    let account = store.options().account.clone();
    let stream = stream.to_string();
    store.write(move |ctx| {
        let mut meta = meta::load_in(ctx, &account, &stream)?;
        check_hours(&meta, hours, direction)?;
        meta.retention_hours = hours;
        meta::save_in(ctx, &meta)?;
        Ok(meta)
    })
}

/// AWS's checks, in AWS's order and words.
fn check_hours(meta: &StreamMeta, hours: u32, direction: Direction) -> Result<()> {
    if hours < MIN_RETENTION_HOURS {
        return Err(StoreError::InvalidArgument(format!(
            "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested \
             retention period ({hours} hours) is too short."
        )));
    }
    if hours > MAX_RETENTION_HOURS {
        return Err(StoreError::InvalidArgument(format!(
            "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested \
             retention period ({hours} hours) is too long."
        )));
    }
    let (current, name) = (meta.retention_hours, &meta.name);
    match direction {
        Direction::Increase if hours < current => Err(StoreError::InvalidArgument(format!(
            "Requested retention period ({hours} hours) for stream {name} can not be shorter \
             than existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
        ))),
        Direction::Decrease if hours > current => Err(StoreError::InvalidArgument(format!(
            "Requested retention period ({hours} hours) for stream {name} can not be longer \
             than existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
        ))),
        _ => Ok(()),
    }
}

/// Deletes every record older than its stream's retention; returns how many.
/// Works shard by shard in write jobs of at most TRIM_BATCH deletions, and only
/// submits a job where a read shows something to trim, so an idle pass costs
/// no commits. Meant to run from a background thread every minute or so.
pub fn trim_expired(store: &Store) -> Result<u64> {
    let streams = all_streams(store)?;
    let mut total = 0;
    for stream in streams {
        for shard in 0..stream.shard_count {
            total += trim_shard(store, &stream, shard)?;
        }
    }
    Ok(total)
}

fn all_streams(store: &Store) -> Result<Vec<StreamMeta>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = meta::list_streams(store, after.as_deref(), 1000)?;
        after = page.last().map(|m| m.name.clone());
        out.extend(page);
        if !more {
            return Ok(out);
        }
    }
}

fn trim_shard(store: &Store, stream: &StreamMeta, shard: u32) -> Result<u64> {
    let mut total = 0;
    while oldest_is_expired(store, stream, shard)? {
        let (name, id) = (stream.name.clone(), stream.id);
        let deleted = store.write(move |ctx| {
            // Re-read the stream: it may have been deleted, or its retention changed.
            let table = ctx.txn().open_table(STREAMS)?;
            let Some(meta) = meta::lookup(&table, &name)?.filter(|m| m.id == id) else {
                return Ok(0);
            };
            drop(table);
            let cutoff = ctx.now_ms.saturating_sub(meta.retention_ms());
            records::trim_at_most(ctx, id, shard, cutoff, TRIM_BATCH)
        })?;
        total += deleted;
        if deleted < TRIM_BATCH as u64 {
            break;
        }
    }
    Ok(total)
}

/// Whether the oldest record of the shard is past retention by the store clock.
fn oldest_is_expired(store: &Store, stream: &StreamMeta, shard: u32) -> Result<bool> {
    let cutoff = store.now_ms().saturating_sub(stream.retention_ms());
    let txn = store.read()?;
    let table = txn.open_table(RECORDS)?;
    Ok(records::first(&table, stream.id, shard)?.is_some_and(|r| r.arrival_ms < cutoff))
}
