//! Logs stored as blocks of lines read back exactly as one row per line did:
//! by (timestamp, sequence), in pages with stable cursors, across blocks that
//! overlap in time, with whole blocks trimmed by retention.

use super::*;
use crate::telemetry::log_block::{MAX_BLOCK_SPAN_MS, event_size};

fn cursor(event: &LogEvent) -> LogCursor {
    (event.timestamp_ms, event.sequence)
}

/// Every page of `query` (its `after` is where the first starts), following
/// `next`, as one list; checks each `next` is the page's last event.
fn all_pages(store: &Store, function: &str, query: &LogQuery) -> Vec<LogEvent> {
    let mut query = query.clone();
    let mut events = Vec::new();
    loop {
        let page = read_logs(store, function, &query).unwrap();
        assert!(page.events.len() <= query.limit);
        let Some(next) = page.next else {
            events.extend(page.events);
            return events;
        };
        assert_eq!(Some(next), page.events.last().map(cursor));
        events.extend(page.events);
        query.after = Some(next);
    }
}

fn texts(events: &[LogEvent]) -> Vec<&str> {
    events.iter().map(|e| e.message.as_str()).collect()
}

fn backward(limit: usize) -> LogQuery {
    LogQuery {
        backward: true,
        ..query(limit)
    }
}

#[test]
fn a_block_of_many_lines_reads_page_by_page_with_stable_cursors() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    // Ten lines per millisecond, one invocation's worth in one block.
    let names: Vec<String> = (0..1000).map(|i| format!("l{i}")).collect();
    let lines: Vec<(u64, &str)> = (0..1000u64)
        .zip(&names)
        .map(|(i, name)| (T0 + i / 10, name.as_str()))
        .collect();
    let mut batch = TelemetryBatch::default();
    batch.logs.push(block("f", 1, &lines));
    write(&store, batch);
    let all = read_logs(&store, "f", &query(10_000)).unwrap();
    assert_eq!(texts(&all.events), names);
    assert_eq!(all.next, None);
    assert!(all.events.windows(2).all(|w| cursor(&w[0]) < cursor(&w[1])));
    assert_eq!(all_pages(&store, "f", &query(7)), all.events);
    let mut newest_first = all.events.clone();
    newest_first.reverse();
    assert_eq!(all_pages(&store, "f", &backward(7)), newest_first);
    // A cursor handed out earlier reads the same page after more is logged
    // (before the cursor, and after the page).
    let first = read_logs(&store, "f", &query(300)).unwrap();
    let after = LogQuery {
        after: first.next,
        ..query(300)
    };
    let before_more = read_logs(&store, "f", &after).unwrap();
    let mut batch = TelemetryBatch::default();
    batch
        .logs
        .push(block("f", 1, &[(T0 + 20, "late"), (T0 + 500, "new")]));
    write(&store, batch);
    let again = read_logs(&store, "f", &after).unwrap();
    assert_eq!(texts(&again.events), texts(&before_more.events));
    let back = read_logs(&store, "f", &backward(3)).unwrap();
    assert_eq!(texts(&back.events), ["new", "l999", "l998"]);
    // The line logged late for T0+20 comes after that millisecond's others.
    let around = LogQuery {
        start_ms: Some(T0 + 20),
        end_ms: Some(T0 + 21),
        ..query(100)
    };
    let ms20 = read_logs(&store, "f", &around).unwrap();
    assert_eq!(ms20.events.len(), 11);
    assert_eq!(ms20.events.last().map(|e| e.message.as_str()), Some("late"));
}

/// Two runs of one function at once (A from 100 to 300, B from 150 to 200,
/// B recorded first), and C starting with A, as version 2.
fn overlapping(store: &Store) {
    let at = |ms: u64| T0 + ms;
    for logged in [
        block(
            "f",
            1,
            &[
                (at(150), "B start"),
                (at(150), "B line"),
                (at(200), "B end"),
            ],
        ),
        block(
            "f",
            1,
            &[
                (at(100), "A start"),
                (at(100), "A line"),
                (at(300), "A end"),
            ],
        ),
        block("f", 2, &[(at(100), "C start")]),
    ] {
        let mut batch = TelemetryBatch::default();
        batch.logs.push(logged);
        write(store, batch);
    }
}

#[test]
fn overlapping_blocks_read_in_timestamp_order() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    overlapping(&store);
    let order = [
        "A start", "A line", "C start", "B start", "B line", "B end", "A end",
    ];
    for limit in [1, 2, 3, 100] {
        assert_eq!(texts(&all_pages(&store, "f", &query(limit))), order);
        let back = all_pages(&store, "f", &backward(limit));
        let reversed: Vec<&str> = order.iter().rev().copied().collect();
        assert_eq!(texts(&back), reversed);
    }
    // A's block starts before the range but holds a line within it.
    let from_150 = LogQuery {
        start_ms: Some(T0 + 150),
        ..query(2)
    };
    let read = all_pages(&store, "f", &from_150);
    assert_eq!(texts(&read), ["B start", "B line", "B end", "A end"]);
    let upto_300 = LogQuery {
        start_ms: Some(T0 + 101),
        end_ms: Some(T0 + 300),
        ..backward(2)
    };
    let read = all_pages(&store, "f", &upto_300);
    assert_eq!(texts(&read), ["B end", "B line", "B start"]);
    let v2 = LogQuery {
        version: Some(2),
        ..query(10)
    };
    assert_eq!(texts(&all_pages(&store, "f", &v2)), ["C start"]);
    let v1 = LogQuery {
        version: Some(1),
        start_ms: Some(T0 + 100),
        end_ms: Some(T0 + 151),
        ..backward(1)
    };
    let read = all_pages(&store, "f", &v1);
    assert_eq!(texts(&read), ["B line", "B start", "A line", "A start"]);
}

#[test]
fn a_range_can_start_and_end_inside_a_block() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let names: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let lines: Vec<(u64, &str)> = (0..10u64)
        .zip(&names)
        .map(|(i, n)| (T0 + i, n.as_str()))
        .collect();
    let mut batch = TelemetryBatch::default();
    batch.logs.push(block("f", 1, &lines));
    write(&store, batch);
    let middle = LogQuery {
        start_ms: Some(T0 + 3),
        end_ms: Some(T0 + 7),
        ..query(2)
    };
    assert_eq!(
        texts(&all_pages(&store, "f", &middle)),
        ["3", "4", "5", "6"]
    );
    let middle_back = LogQuery {
        backward: true,
        ..middle
    };
    assert_eq!(
        texts(&all_pages(&store, "f", &middle_back)),
        ["6", "5", "4", "3"]
    );
}

#[test]
fn the_byte_limit_trims_whole_oldest_blocks() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    // 15 KiB lines: four fill a block (of 64 KiB), 1,200 pass the limit.
    let line = "x".repeat(15 << 10);
    let lines: Vec<(u64, &str)> = (0..1200u64).map(|i| (T0 + i, line.as_str())).collect();
    let mut batch = TelemetryBatch::default();
    batch.logs.push(block("f", 1, &lines));
    write(&store, batch);
    let kept = all_pages(&store, "f", &query(10_000));
    let block_bytes = 4 * event_size(&line);
    let stored = log_group(&store, "f").unwrap().unwrap().stored_bytes;
    assert_eq!(
        stored,
        kept.iter().map(|e| event_size(&e.message)).sum::<u64>()
    );
    assert!(stored <= LOG_RETENTION_BYTES);
    assert!(stored + block_bytes > LOG_RETENTION_BYTES);
    assert_eq!(kept.len() % 4, 0, "whole blocks are trimmed");
    // The newest are kept.
    let first_kept = T0 + 1200 - kept.len() as u64;
    assert_eq!(kept.first().map(|e| e.timestamp_ms), Some(first_kept));
    assert_eq!(kept.last().map(|e| e.timestamp_ms), Some(T0 + 1199));
}

#[test]
fn the_age_limit_trims_blocks_whose_newest_line_expired() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let ten_min = 10 * 60 * 1000;
    assert!(ten_min < MAX_BLOCK_SPAN_MS);
    let mut batch = TelemetryBatch::default();
    batch
        .logs
        .push(block("f", 1, &[(T0, "x first"), (T0 + ten_min, "x last")]));
    write(&store, batch);
    let mut batch = TelemetryBatch::default();
    batch.logs.push(event("f", 1, T0 + 1, "y"));
    write(&store, batch);
    clock.advance_ms(LOG_RETENTION_MS + ten_min / 2);
    let now = clock.now_ms();
    let mut batch = TelemetryBatch::default();
    batch.logs.push(event("f", 1, now, "new"));
    write(&store, batch);
    // X is kept whole, its expired line unread; Y is gone.
    let read = all_pages(&store, "f", &query(10));
    assert_eq!(texts(&read), ["x last", "new"]);
    let sizes = |messages: &[&str]| messages.iter().map(|m| event_size(m)).sum::<u64>();
    let stored = |store: &Store| log_group(store, "f").unwrap().unwrap().stored_bytes;
    assert_eq!(stored(&store), sizes(&["x first", "x last", "new"]));
    clock.advance_ms(ten_min);
    let mut batch = TelemetryBatch::default();
    batch.logs.push(event("f", 1, clock.now_ms(), "newer"));
    write(&store, batch);
    assert_eq!(texts(&all_pages(&store, "f", &query(10))), ["new", "newer"]);
    assert_eq!(stored(&store), sizes(&["new", "newer"]));
}

/// A deterministic pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_overlapping_blocks_read_as_one_sorted_log() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut rng = Rng(11);
    // (timestamp, version, message) of every line of "f", as written.
    let mut written = Vec::new();
    for append in 0..12 {
        let mut batch = TelemetryBatch::default();
        for run in 0..1 + rng.below(4) {
            let function = if rng.below(4) == 0 { "g" } else { "f" };
            let version = 1 + rng.below(2) as u32;
            // Runs spread over 40 min, some longer than a block may span.
            let start = T0 + rng.below(40 * 60_000);
            let mut lines = Vec::new();
            for line in 0..rng.below(30) {
                let ts = start + rng.below(3) * rng.below(12 * 60_000);
                lines.push((ts, format!("a{append} r{run} l{line}")));
            }
            if function == "f" {
                written.extend(lines.iter().map(|(ts, m)| (*ts, version, m.clone())));
            }
            let lines: Vec<(u64, &str)> = lines.iter().map(|(t, m)| (*t, m.as_str())).collect();
            batch.logs.push(block(function, version, &lines));
        }
        write(&store, batch);
    }
    let all = all_pages(&store, "f", &query(10_000));
    assert!(all.windows(2).all(|w| cursor(&w[0]) < cursor(&w[1])));
    let mut got: Vec<(u64, u32, String)> = all
        .iter()
        .map(|e| (e.timestamp_ms, e.version, e.message.clone()))
        .collect();
    got.sort();
    written.sort();
    assert_eq!(got, written);
    let mut newest_first = all.clone();
    newest_first.reverse();
    for limit in [1, 3, 17] {
        assert_eq!(all_pages(&store, "f", &query(limit)), all);
        assert_eq!(all_pages(&store, "f", &backward(limit)), newest_first);
    }
    for _ in 0..40 {
        let start = T0 + rng.below(50 * 60_000);
        let end = start + rng.below(20 * 60_000);
        let version = if rng.below(2) == 0 { None } else { Some(1) };
        let expected: Vec<LogEvent> = all
            .iter()
            .filter(|e| (start..end).contains(&e.timestamp_ms))
            .filter(|e| version.is_none_or(|v| v == e.version))
            .cloned()
            .collect();
        let ranged = LogQuery {
            start_ms: Some(start),
            end_ms: Some(end),
            version,
            ..query(1 + rng.below(9) as usize)
        };
        assert_eq!(all_pages(&store, "f", &ranged), expected);
        let mut reversed = expected;
        reversed.reverse();
        let ranged_back = LogQuery {
            backward: true,
            ..ranged
        };
        assert_eq!(all_pages(&store, "f", &ranged_back), reversed);
    }
}
