//! Reading a function's events from its log blocks (see `log_block`) in
//! (timestamp, sequence) order, forward or backward.
//!
//! Blocks of one function may overlap in time (two invocations running at
//! once each write a block spanning their run), so a read merges them: it
//! walks the rows in key order (by first timestamp), decodes a block only
//! when its next event could be the next one read, and returns an event only
//! when no block not yet decoded can hold an earlier one. Going forward, a
//! row not yet reached holds nothing before its key; going backward, nothing
//! after its first timestamp + `MAX_BLOCK_SPAN_MS`, so a read looks that far
//! past its range's ends for overlapping blocks, reading only their keys and
//! headers until they are needed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::log_block::{Lines, MAX_BLOCK_SPAN_MS, sequence, sequences};
use super::logs::{LogCursor, LogEvent};
use crate::error::Result;
use crate::schema::LogBlock;

/// LOG_BLOCKS opened for reading.
pub(crate) type BlockTable = redb::ReadOnlyTable<(&'static str, u64, u64), LogBlock>;

/// Which events a read returns.
pub(crate) struct Bounds {
    /// The first event that may be returned.
    pub low: LogCursor,
    /// Events before this one (exclusive).
    pub high: LogCursor,
    pub version: Option<u32>,
    /// Newest first.
    pub backward: bool,
}

/// What a block's row tells before its lines are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Header {
    first_ms: u64,
    block: u64,
    last_ms: u64,
    version: u32,
}

type Rows = Box<dyn Iterator<Item = Result<Header>>>;

/// The events of one function within `Bounds`, in reading order.
pub(crate) struct Merge<'t> {
    table: &'t BlockTable,
    function: &'t str,
    bounds: Bounds,
    /// Rows not yet looked at, in reading order of their keys.
    rows: Rows,
    /// The next of `rows`, read ahead.
    peeked: Option<Header>,
    /// Blocks in bounds not yet decoded, by the rank of their earliest
    /// possible event.
    pending: BinaryHeap<Reverse<(u128, Header)>>,
    /// Decoded blocks' remaining events, the next one last.
    open: Vec<Vec<LogEvent>>,
    /// The rank of each open block's next event.
    heads: BinaryHeap<Reverse<(u128, usize)>>,
}

impl<'t> Merge<'t> {
    /// A read of `function`'s events within `bounds`.
    pub(crate) fn new(table: &'t BlockTable, function: &'t str, bounds: Bounds) -> Result<Self> {
        let from = bounds.low.0.saturating_sub(MAX_BLOCK_SPAN_MS);
        let range = table.range((function, from, 0)..=(function, bounds.high.0, u64::MAX))?;
        let rows = range.map(|entry| {
            let (key, value) = entry?;
            let (_, first_ms, block) = key.value();
            let (_, version, last_ms, _, _) = value.value();
            Ok(Header {
                first_ms,
                block,
                last_ms,
                version,
            })
        });
        let mut rows: Rows = if bounds.backward {
            Box::new(rows.rev())
        } else {
            Box::new(rows)
        };
        let peeked = rows.next().transpose()?;
        Ok(Merge {
            table,
            function,
            bounds,
            rows,
            peeked,
            pending: BinaryHeap::new(),
            open: Vec::new(),
            heads: BinaryHeap::new(),
        })
    }

    /// Where (timestamp, sequence) comes in reading order: lower is sooner.
    fn rank(&self, timestamp_ms: u64, sequence: u64) -> u128 {
        let rank = (u128::from(timestamp_ms) << 64) | u128::from(sequence);
        if self.bounds.backward { !rank } else { rank }
    }

    /// The soonest an event of `header`'s block can come.
    fn block_bound(&self, header: &Header) -> u128 {
        let (first_seq, last_seq) = sequences(header.block);
        if self.bounds.backward {
            self.rank(header.last_ms, last_seq)
        } else {
            self.rank(header.first_ms, first_seq)
        }
    }

    /// The soonest an event of `peeked`'s block or of any row after it can
    /// come: rows come by first timestamp, and a block spans at most
    /// `MAX_BLOCK_SPAN_MS`.
    fn unread_bound(&self, peeked: &Header) -> u128 {
        if self.bounds.backward {
            let latest = peeked.first_ms.saturating_add(MAX_BLOCK_SPAN_MS);
            self.rank(latest, u64::MAX)
        } else {
            self.block_bound(peeked)
        }
    }

    /// The next event in reading order, if any.
    pub(crate) fn next_event(&mut self) -> Result<Option<LogEvent>> {
        loop {
            let unread = self.peeked.as_ref().map(|h| self.unread_bound(h));
            let pending = self.pending.peek().map(|Reverse((rank, _))| *rank);
            let head = self.heads.peek().map(|Reverse((rank, _))| *rank);
            let undecoded = match (unread, pending) {
                (Some(u), Some(p)) => Some(u.min(p)),
                (u, p) => u.or(p),
            };
            if let Some(head) = head
                && undecoded.is_none_or(|u| head < u)
            {
                return Ok(self.pop_head());
            }
            match (unread, pending) {
                (None, None) => return Ok(None),
                (Some(u), p) if p.is_none_or(|p| u <= p) => self.read_row()?,
                _ => self.decode_pending()?,
            }
        }
    }

    /// Moves the peeked row to `pending` if its block may hold events in bounds.
    fn read_row(&mut self) -> Result<()> {
        if let Some(header) = self.peeked.take() {
            let wanted = self.bounds.version.is_none_or(|v| v == header.version)
                && header.last_ms >= self.bounds.low.0;
            if wanted {
                let bound = self.block_bound(&header);
                self.pending.push(Reverse((bound, header)));
            }
        }
        self.peeked = self.rows.next().transpose()?;
        Ok(())
    }

    /// Decodes the pending block that may hold the soonest event.
    fn decode_pending(&mut self) -> Result<()> {
        let Some(Reverse((_, header))) = self.pending.pop() else {
            return Ok(());
        };
        let key = (self.function, header.first_ms, header.block);
        let Some(row) = self.table.get(key)? else {
            return Ok(());
        };
        let (ingestion_ms, version, _, _, packed) = row.value();
        let mut events = Vec::new();
        for (index, line) in Lines::new(header.first_ms, packed).enumerate() {
            let (timestamp_ms, message) = line?;
            let cursor = (timestamp_ms, sequence(header.block, index));
            if cursor < self.bounds.low || cursor >= self.bounds.high {
                continue;
            }
            events.push(LogEvent {
                timestamp_ms,
                sequence: cursor.1,
                ingestion_ms,
                version,
                message: message.to_string(),
            });
        }
        // Lines are stored oldest first; the next event goes last.
        if !self.bounds.backward {
            events.reverse();
        }
        if let Some(next) = events.last() {
            let rank = self.rank(next.timestamp_ms, next.sequence);
            self.heads.push(Reverse((rank, self.open.len())));
            self.open.push(events);
        }
        Ok(())
    }

    /// Takes the soonest open event.
    fn pop_head(&mut self) -> Option<LogEvent> {
        let Reverse((_, index)) = self.heads.pop()?;
        let events = self.open.get_mut(index)?;
        let event = events.pop()?;
        let next = events.last().map(|e| (e.timestamp_ms, e.sequence));
        if let Some((timestamp_ms, sequence)) = next {
            let rank = self.rank(timestamp_ms, sequence);
            self.heads.push(Reverse((rank, index)));
        }
        Some(event)
    }
}
