//! Functions' log events, as CloudWatch Logs keeps Lambda's: one log group per
//! function (`/aws/lambda/<name>`), created by its first logged invocation,
//! with timestamped events (START, what the guest printed, END, REPORT).
//!
//! Events are stored in blocks of lines (see `log_block`) and read back one
//! by one in (timestamp, sequence) order (see `log_read`).
//!
//! Retention, per function, whichever trims first: events older than
//! `LOG_RETENTION_MS` (7 days) and, past `LOG_RETENTION_BYTES` (16 MiB, sized
//! as CloudWatch sizes events: message bytes + 26), the oldest events. Both
//! trim whole blocks (see `trim`). Trimming runs when the function next
//! writes logs (in bounded steps); reads never return an event past the age
//! limit.

use std::collections::BTreeMap;

use redb::ReadableTable;

use super::log_block::{self, Line};
use super::log_read::{Bounds, Merge};
use super::open_for_read;
use crate::error::{Result, StoreError};
use crate::schema::{LOG_BLOCKS, LOG_GROUPS, LogBlock};
use crate::store::Store;
use crate::writer::WriteCtx;

/// How long log events are kept.
pub const LOG_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;
/// How many bytes of log events a function keeps at most.
pub const LOG_RETENTION_BYTES: u64 = 16 << 20;
/// CloudWatch Logs' per-event overhead in its size accounting.
pub const EVENT_OVERHEAD: u64 = 26;
/// Old blocks looked at per write at most, so one write never runs long.
const TRIM_BATCH: usize = 4096;

/// A line to append: its time and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogLine {
    pub timestamp_ms: u64,
    pub message: String,
}

/// Lines of one function version to append together, e.g. one invocation's,
/// in the order they were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogBlock {
    pub function: String,
    pub version: u32,
    pub lines: Vec<NewLogLine>,
}

/// A stored log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: u64,
    /// Orders events of the same millisecond; unique within the function:
    /// the event's block sequence, shifted, and its line in the block (see
    /// `log_block`).
    pub sequence: u64,
    /// When the event was written to the store.
    pub ingestion_ms: u64,
    pub version: u32,
    pub message: String,
}

/// Where a page of events ends: the next page starts after it.
pub type LogCursor = (u64, u64);

/// Which events of a function to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Events at or after this time (ms).
    pub start_ms: Option<u64>,
    /// Events before this time (ms), as CloudWatch's exclusive endTime.
    pub end_ms: Option<u64>,
    /// Only events of this function version (one log stream).
    pub version: Option<u32>,
    /// Continue after this event (a previous page's `next`); with
    /// `backward`, before it.
    pub after: Option<LogCursor>,
    /// Newest first: the page holds the newest matching events before `after`.
    pub backward: bool,
    /// The most events returned.
    pub limit: usize,
}

/// A page of events, oldest first (newest first when read `backward`);
/// `next` is set when more may follow.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub events: Vec<LogEvent>,
    pub next: Option<LogCursor>,
}

/// A function's log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub function: String,
    pub created_ms: u64,
    pub stored_bytes: u64,
}

/// Appends `blocks` (any functions, any order), creating log groups as
/// needed, then trims each function written past retention.
///
/// Per function, its lines of each version are stored in as few blocks as
/// fit (see `log_block`): one call costs O(1) B-tree operations per function
/// written, not one per line.
pub fn append_logs_in(ctx: &WriteCtx<'_>, blocks: &[NewLogBlock]) -> Result<()> {
    plan_logs_in(ctx, blocks)?.write_in(ctx)
}

/// The rows `append_logs_in` writes, packed and numbered; everything that
/// can refuse an append happens while planning, so a refused append has
/// written nothing.
pub(crate) struct PlannedLogs<'b> {
    groups: Vec<PlannedGroup<'b>>,
}

struct PlannedGroup<'b> {
    function: &'b str,
    created: u64,
    next: u64,
    bytes: u64,
    blocks: Vec<(u32, log_block::Packed)>,
}

/// Plans `append_logs_in` without writing.
pub(crate) fn plan_logs_in<'b>(
    ctx: &WriteCtx<'_>,
    blocks: &'b [NewLogBlock],
) -> Result<PlannedLogs<'b>> {
    if blocks.is_empty() {
        // Nothing to open: most commits carry no log lines.
        return Ok(PlannedLogs { groups: Vec::new() });
    }
    let groups_table = ctx.txn().open_table(LOG_GROUPS)?;
    let mut groups = Vec::new();
    for (function, versions) in by_function(blocks) {
        let (created, mut next, mut bytes) = groups_table
            .get(function)?
            .map_or((ctx.now_ms, 0, 0), |g| g.value());
        let first = next;
        let mut packed_blocks = Vec::new();
        for (version, mut lines) in versions {
            // Stable: lines of the same millisecond keep their recorded order.
            lines.sort_by_key(|line| line.timestamp_ms);
            for run in log_block::split(&lines) {
                if next > log_block::MAX_BLOCK_SEQUENCE {
                    return Err(StoreError::LimitExceeded(format!(
                        "the log group of {function} has run out of event sequence numbers"
                    )));
                }
                let packed = log_block::pack(run)?;
                next = next.saturating_add(1);
                bytes = bytes.saturating_add(packed.bytes);
                packed_blocks.push((version, packed));
            }
        }
        groups.push(PlannedGroup {
            function,
            created,
            next: first,
            bytes,
            blocks: packed_blocks,
        });
    }
    Ok(PlannedLogs { groups })
}

impl PlannedLogs<'_> {
    /// Writes the planned blocks and group heads, trimming each group.
    pub(crate) fn write_in(self, ctx: &WriteCtx<'_>) -> Result<()> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let mut groups = ctx.txn().open_table(LOG_GROUPS)?;
        let mut table = ctx.txn().open_table(LOG_BLOCKS)?;
        for group in self.groups {
            let mut next = group.next;
            for (version, packed) in &group.blocks {
                let value = (
                    ctx.now_ms,
                    *version,
                    packed.last_ms,
                    packed.bytes,
                    packed.lines.as_slice(),
                );
                table.insert((group.function, packed.first_ms, next), value)?;
                next = next.saturating_add(1);
            }
            let bytes = trim(ctx.now_ms, &mut table, group.function, group.bytes)?;
            groups.insert(group.function, (group.created, next, bytes))?;
        }
        Ok(())
    }
}

/// `blocks`' lines grouped by function, then version.
fn by_function(blocks: &[NewLogBlock]) -> BTreeMap<&str, BTreeMap<u32, Vec<Line<'_>>>> {
    let mut grouped: BTreeMap<&str, BTreeMap<u32, Vec<Line<'_>>>> = BTreeMap::new();
    for block in blocks {
        let lines = grouped
            .entry(block.function.as_str())
            .or_default()
            .entry(block.version)
            .or_default();
        lines.extend(block.lines.iter().map(|line| Line {
            timestamp_ms: line.timestamp_ms,
            message: &line.message,
        }));
    }
    grouped
}

/// Removes `name`'s blocks whose every line is past the age limit, then its
/// oldest past the byte limit; returns the bytes left. Both limits apply to
/// whole blocks: a block is kept while its newest line is within the age
/// limit (reads skip its older lines), and the bytes kept may fall short of
/// the byte limit by up to one block.
fn trim(
    now_ms: u64,
    table: &mut redb::Table<(&str, u64, u64), LogBlock>,
    name: &str,
    mut bytes: u64,
) -> Result<u64> {
    let horizon = now_ms.saturating_sub(LOG_RETENTION_MS);
    let mut doomed = Vec::new();
    for entry in table
        .range((name, 0, 0)..=(name, u64::MAX, u64::MAX))?
        .take(TRIM_BATCH)
    {
        let (key, value) = entry?;
        let (_, first_ms, block) = key.value();
        if first_ms >= horizon && bytes <= LOG_RETENTION_BYTES {
            break;
        }
        let (_, _, last_ms, block_bytes, _) = value.value();
        if bytes > LOG_RETENTION_BYTES || last_ms < horizon {
            bytes = bytes.saturating_sub(block_bytes);
            doomed.push((first_ms, block));
        }
    }
    for (first_ms, block) in doomed {
        table.remove((name, first_ms, block))?;
    }
    Ok(bytes)
}

/// A page of `function`'s events matching `query`, oldest first. A function
/// that never logged has no events (see `log_group` to tell it apart).
pub fn read_logs(store: &Store, function: &str, query: &LogQuery) -> Result<LogPage> {
    let horizon = store.now_ms().saturating_sub(LOG_RETENTION_MS);
    let mut low = (query.start_ms.unwrap_or(0).max(horizon), 0);
    let mut high = (query.end_ms.unwrap_or(u64::MAX), 0);
    match query.after {
        Some(cursor) if query.backward => high = high.min(cursor),
        Some((ts, seq)) => low = low.max((ts, seq.saturating_add(1))),
        None => {}
    }
    let mut page = LogPage::default();
    if low >= high || query.limit == 0 {
        return Ok(page);
    }
    let txn = store.read()?;
    let Some(table) = open_for_read(&txn, LOG_BLOCKS)? else {
        return Ok(page);
    };
    let bounds = Bounds {
        low,
        high,
        version: query.version,
        backward: query.backward,
    };
    let mut events = Merge::new(&table, function, bounds)?;
    while let Some(event) = events.next_event()? {
        if page.events.len() == query.limit {
            page.next = page.events.last().map(|e| (e.timestamp_ms, e.sequence));
            break;
        }
        page.events.push(event);
    }
    Ok(page)
}

/// `function`'s log group, if it has ever logged.
pub fn log_group(store: &Store, function: &str) -> Result<Option<LogGroup>> {
    let txn = store.read()?;
    let Some(groups) = open_for_read(&txn, LOG_GROUPS)? else {
        return Ok(None);
    };
    let found = groups.get(function)?;
    Ok(found.map(|g| {
        let (created_ms, _, stored_bytes) = g.value();
        LogGroup {
            function: function.to_string(),
            created_ms,
            stored_bytes,
        }
    }))
}

/// Every log group whose function name starts with `prefix`, by name, starting
/// after `after`, at most `limit`.
pub fn list_log_groups(
    store: &Store,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<LogGroup>> {
    let txn = store.read()?;
    let Some(groups) = open_for_read(&txn, LOG_GROUPS)? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in groups.range(prefix..)? {
        let (name, value) = entry?;
        let name = name.value();
        if !name.starts_with(prefix) || found.len() >= limit {
            break;
        }
        if after.is_some_and(|a| name <= a) {
            continue;
        }
        let (created_ms, _, stored_bytes) = value.value();
        found.push(LogGroup {
            function: name.to_string(),
            created_ms,
            stored_bytes,
        });
    }
    Ok(found)
}
