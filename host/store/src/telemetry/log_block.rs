//! The stored form of function logs: blocks of lines, one `LOG_BLOCKS` row
//! per block instead of one row per line, so storing an invocation's lines
//! costs O(1) B-tree operations however many lines it printed. The lab's
//! aggregator prints one line per record: in `eddy bench lab`'s trigger
//! phase, storing logs took 37-49% of the store writer's samples with one
//! row per line, ~9% with blocks (perf, same machine, back to back).
//!
//! A row: key (function, first line's timestamp ms, block sequence), value
//! (ingestion ms, version, last line's timestamp ms, CloudWatch bytes,
//! packed lines). Packed lines, each: timestamp − the first line's (u32 LE),
//! message length (u32 LE), message (UTF-8). A block's lines are in
//! timestamp order (ties in the order they were recorded); line `i` of block
//! `b` is the event with sequence `b << INDEX_BITS | i`, so (timestamp,
//! sequence) is unique within the function and orders events as one row per
//! line did: by timestamp, then by the append that wrote them, then as
//! recorded (except that one append's lines of two versions of a function
//! logged in the same millisecond come in version order).
//!
//! A block spans at most `MAX_BLOCK_SPAN_MS` (readers rely on it to find the
//! blocks that may hold an event at a given time) and holds at most
//! `MAX_BLOCK_BYTES` unless a single line is bigger.

use super::logs::EVENT_OVERHEAD;
use crate::error::{Result, StoreError};

/// Bits of an event's sequence that number its line within its block.
pub(crate) const INDEX_BITS: u32 = 20;
/// The highest block sequence whose events' sequences fit in 64 bits.
pub(crate) const MAX_BLOCK_SEQUENCE: u64 = u64::MAX >> INDEX_BITS;
/// CloudWatch bytes per block at most (a single bigger line makes its own
/// block): the granularity of the byte retention limit, and the most a read
/// decodes to return one event. 64 KiB rather than 256 KiB: as fast to write
/// in `eddy bench lab` (its invocations log ~250 KiB), less to zero-fill
/// and re-read when the oldest block is trimmed.
const MAX_BLOCK_BYTES: u64 = 64 << 10;
// Every line counts at least EVENT_OVERHEAD bytes, so its index fits.
const _: () = assert!(MAX_BLOCK_BYTES / EVENT_OVERHEAD < 1 << INDEX_BITS);
/// Time between a block's first and last line at most. Lambda's longest
/// timeout is 15 min, so an invocation's lines (START at its start, END and
/// REPORT at its end) fit one block; a longer spread is split.
pub(crate) const MAX_BLOCK_SPAN_MS: u64 = 16 * 60 * 1000;
/// Bytes of a packed line besides its message.
const LINE_HEADER: usize = 8;

/// A line to store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub timestamp_ms: u64,
    pub message: &'a str,
}

/// A message's size as CloudWatch Logs counts it.
pub(crate) fn event_size(message: &str) -> u64 {
    u64::try_from(message.len())
        .unwrap_or(u64::MAX)
        .saturating_add(EVENT_OVERHEAD)
}

/// The sequence of line `index` of block `block`.
pub(crate) fn sequence(block: u64, index: usize) -> u64 {
    let index = u64::try_from(index).unwrap_or(u64::MAX) & ((1 << INDEX_BITS) - 1);
    (block << INDEX_BITS) | index
}

/// The sequences of block `block`'s lines, from its first to past its last.
pub(crate) fn sequences(block: u64) -> (u64, u64) {
    (
        block << INDEX_BITS,
        (block << INDEX_BITS) | ((1 << INDEX_BITS) - 1),
    )
}

/// Splits `lines` (in timestamp order) into runs that each fit one block.
pub(crate) fn split<'a, 'l>(mut lines: &'a [Line<'l>]) -> impl Iterator<Item = &'a [Line<'l>]> {
    std::iter::from_fn(move || {
        let first = lines.first()?.timestamp_ms;
        let mut bytes = 0u64;
        let end = lines
            .iter()
            .enumerate()
            .position(|(i, line)| {
                bytes = bytes.saturating_add(event_size(line.message));
                (i > 0 && bytes > MAX_BLOCK_BYTES)
                    || line.timestamp_ms.saturating_sub(first) > MAX_BLOCK_SPAN_MS
            })
            .unwrap_or(lines.len());
        // The first line always fits: a run is never empty.
        let (run, rest) = lines.split_at(end.max(1));
        lines = rest;
        Some(run)
    })
}

/// A run of lines (from `split`) in stored form.
pub(crate) struct Packed {
    pub first_ms: u64,
    pub last_ms: u64,
    /// CloudWatch bytes of the lines.
    pub bytes: u64,
    pub lines: Vec<u8>,
}

/// Packs a run of lines from `split`.
pub(crate) fn pack(run: &[Line<'_>]) -> Result<Packed> {
    let first_ms = run.first().map_or(0, |l| l.timestamp_ms);
    let capacity = run.iter().map(|l| l.message.len() + LINE_HEADER).sum();
    let mut packed = Packed {
        first_ms,
        last_ms: first_ms,
        bytes: 0,
        lines: Vec::with_capacity(capacity),
    };
    for line in run {
        let too_big =
            |what: &str| StoreError::Validation(format!("a log line's {what} is too big"));
        let delta = u32::try_from(line.timestamp_ms.saturating_sub(first_ms))
            .map_err(|_| too_big("time span"))?;
        let len = u32::try_from(line.message.len()).map_err(|_| too_big("message"))?;
        packed.lines.extend_from_slice(&delta.to_le_bytes());
        packed.lines.extend_from_slice(&len.to_le_bytes());
        packed.lines.extend_from_slice(line.message.as_bytes());
        packed.last_ms = packed.last_ms.max(line.timestamp_ms);
        packed.bytes = packed.bytes.saturating_add(event_size(line.message));
    }
    Ok(packed)
}

/// The lines of a packed block, as (timestamp ms, message).
pub(crate) struct Lines<'a> {
    first_ms: u64,
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    /// Reads `packed`, the lines of a block whose first line is at `first_ms`.
    pub(crate) fn new(first_ms: u64, packed: &'a [u8]) -> Lines<'a> {
        Lines {
            first_ms,
            rest: packed,
        }
    }

    fn u32(&mut self) -> Option<u32> {
        let (bytes, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_le_bytes(*bytes))
    }

    fn line(&mut self) -> Option<(u64, &'a str)> {
        let delta = self.u32()?;
        let len = usize::try_from(self.u32()?).ok()?;
        let (message, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        let message = std::str::from_utf8(message).ok()?;
        Some((self.first_ms.saturating_add(u64::from(delta)), message))
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<(u64, &'a str)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let line = self.line();
        if line.is_none() {
            // Stop after reporting the damage once.
            self.rest = &[];
        }
        Some(line.ok_or_else(|| StoreError::Storage("corrupt log block".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(timestamp_ms: u64, message: &str) -> Line<'_> {
        Line {
            timestamp_ms,
            message,
        }
    }

    #[test]
    fn packed_lines_read_back() {
        let lines = [line(100, "START"), line(100, ""), line(105, "héllo")];
        let packed = pack(&lines).unwrap();
        assert_eq!((packed.first_ms, packed.last_ms), (100, 105));
        assert_eq!(packed.bytes, 11 + 3 * EVENT_OVERHEAD);
        let read: Vec<_> = Lines::new(100, &packed.lines).map(Result::unwrap).collect();
        assert_eq!(read, [(100, "START"), (100, ""), (105, "héllo")]);
    }

    #[test]
    fn damaged_blocks_are_an_error_not_a_panic() {
        let packed = pack(&[line(1, "hello")]).unwrap().lines;
        for cut in 1..packed.len() {
            let read: Vec<_> = Lines::new(1, &packed[..cut]).collect();
            assert_eq!(read.len(), 1);
            assert!(read[0].is_err(), "cut at {cut}");
        }
        let mut bad_utf8 = packed.clone();
        if let Some(last) = bad_utf8.last_mut() {
            *last = 0xff;
        }
        assert!(Lines::new(1, &bad_utf8).next().unwrap().is_err());
    }

    #[test]
    fn runs_are_split_by_span_size_and_count() {
        let big = "x".repeat((MAX_BLOCK_BYTES / 2) as usize);
        let lines = [
            line(0, "a"),
            line(MAX_BLOCK_SPAN_MS, "b"),
            line(MAX_BLOCK_SPAN_MS + 1, "c"),
            line(MAX_BLOCK_SPAN_MS + 2, &big),
            line(MAX_BLOCK_SPAN_MS + 3, &big),
        ];
        let runs: Vec<usize> = split(&lines).map(<[_]>::len).collect();
        assert_eq!(runs, [2, 2, 1]);
        // Empty lines count EVENT_OVERHEAD bytes each.
        let per_block = (MAX_BLOCK_BYTES / EVENT_OVERHEAD) as usize;
        let many = vec![line(0, ""); per_block + 1];
        let runs: Vec<usize> = split(&many).map(<[_]>::len).collect();
        assert_eq!(runs, [per_block, 1]);
        assert_eq!(split(&[]).count(), 0);
    }

    #[test]
    fn sequences_number_lines_within_their_block() {
        assert_eq!(sequence(0, 0), 0);
        assert_eq!(sequence(3, 5), (3 << INDEX_BITS) | 5);
        assert!(sequence(3, 1) < sequence(4, 0));
        assert_eq!(sequences(2), (sequence(2, 0), sequence(3, 0) - 1));
        assert_eq!(
            MAX_BLOCK_SEQUENCE << INDEX_BITS >> INDEX_BITS,
            MAX_BLOCK_SEQUENCE
        );
    }
}
