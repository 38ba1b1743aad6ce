//! Functions' log events, as CloudWatch Logs keeps Lambda's: one log group per
//! function (`/aws/lambda/<name>`), created by its first logged invocation,
//! with timestamped events (START, what the guest printed, END, REPORT).
//!
//! Retention, per function, whichever trims first: events older than
//! `LOG_RETENTION_MS` (7 days) and, past `LOG_RETENTION_BYTES` (16 MiB, sized
//! as CloudWatch sizes events: message bytes + 26), the oldest events. Trimming
//! runs when the function next writes logs (in bounded steps); reads never
//! return an event past the age limit.

use redb::ReadableTable;

use super::open_for_read;
use crate::error::Result;
use crate::schema::{LOG_EVENTS, LOG_GROUPS};
use crate::store::Store;
use crate::writer::WriteCtx;

/// How long log events are kept.
pub const LOG_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;
/// How many bytes of log events a function keeps at most.
pub const LOG_RETENTION_BYTES: u64 = 16 << 20;
/// CloudWatch Logs' per-event overhead in its size accounting.
pub const EVENT_OVERHEAD: u64 = 26;
/// Old events removed per write at most, so one write never runs long.
const TRIM_BATCH: usize = 4096;

/// A log event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEvent {
    pub function: String,
    pub version: u32,
    pub timestamp_ms: u64,
    pub message: String,
}

/// A stored log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: u64,
    /// Orders events of the same millisecond; unique within the function.
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

fn event_size(message: &str) -> u64 {
    u64::try_from(message.len())
        .unwrap_or(u64::MAX)
        .saturating_add(EVENT_OVERHEAD)
}

/// Appends `events` (any functions, any order), creating log groups as needed,
/// then trims each function written past retention.
pub fn append_logs_in(ctx: &WriteCtx<'_>, events: &[NewLogEvent]) -> Result<()> {
    let mut groups = ctx.txn().open_table(LOG_GROUPS)?;
    let mut table = ctx.txn().open_table(LOG_EVENTS)?;
    let mut written: Vec<&str> = Vec::new();
    for event in events {
        let name = event.function.as_str();
        let (created, seq, bytes) = groups.get(name)?.map_or((ctx.now_ms, 0, 0), |g| g.value());
        table.insert(
            (name, event.timestamp_ms, seq),
            (ctx.now_ms, event.version, event.message.as_str()),
        )?;
        let bytes = bytes.saturating_add(event_size(&event.message));
        groups.insert(name, (created, seq.saturating_add(1), bytes))?;
        if !written.contains(&name) {
            written.push(name);
        }
    }
    for name in written {
        trim(ctx.now_ms, &mut groups, &mut table, name)?;
    }
    Ok(())
}

/// Removes `name`'s events past the age limit, then its oldest past the byte limit.
fn trim(
    now_ms: u64,
    groups: &mut redb::Table<&str, (u64, u64, u64)>,
    table: &mut redb::Table<(&str, u64, u64), (u64, u32, &str)>,
    name: &str,
) -> Result<()> {
    let Some((created, seq, mut bytes)) = groups.get(name)?.map(|g| g.value()) else {
        return Ok(());
    };
    let horizon = now_ms.saturating_sub(LOG_RETENTION_MS);
    let mut doomed = Vec::new();
    for entry in table
        .range((name, 0, 0)..=(name, u64::MAX, u64::MAX))?
        .take(TRIM_BATCH)
    {
        let (key, value) = entry?;
        let (_, ts, s) = key.value();
        if ts >= horizon && bytes <= LOG_RETENTION_BYTES {
            break;
        }
        bytes = bytes.saturating_sub(event_size(value.value().2));
        doomed.push((ts, s));
    }
    for (ts, s) in &doomed {
        table.remove((name, *ts, *s))?;
    }
    if !doomed.is_empty() {
        groups.insert(name, (created, seq, bytes))?;
    }
    Ok(())
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
    let Some(table) = open_for_read(&txn, LOG_EVENTS)? else {
        return Ok(page);
    };
    let range = table.range((function, low.0, low.1)..(function, high.0, high.1))?;
    let entries: Box<dyn Iterator<Item = _>> = if query.backward {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    for entry in entries {
        let (key, value) = entry?;
        let (_, timestamp_ms, sequence) = key.value();
        let (ingestion_ms, version, message) = value.value();
        if query.version.is_some_and(|v| v != version) {
            continue;
        }
        if page.events.len() == query.limit {
            page.next = page.events.last().map(|e| (e.timestamp_ms, e.sequence));
            break;
        }
        page.events.push(LogEvent {
            timestamp_ms,
            sequence,
            ingestion_ms,
            version,
            message: message.to_string(),
        });
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
