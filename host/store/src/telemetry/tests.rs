use super::logs::{LOG_RETENTION_BYTES, LOG_RETENTION_MS};
use super::metrics::METRIC_RETENTION_MS;
use super::*;
use crate::clock::Clock;
use crate::store::{Store, StoreOptions};

mod blocks;

const T0: u64 = 1_800_000_000_000;

fn open(clock: &Clock) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        clock: clock.clone(),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    (dir, store)
}

/// A block of one line.
fn event(function: &str, version: u32, timestamp_ms: u64, message: &str) -> NewLogBlock {
    block(function, version, &[(timestamp_ms, message)])
}

fn block(function: &str, version: u32, lines: &[(u64, &str)]) -> NewLogBlock {
    NewLogBlock {
        function: function.into(),
        version,
        lines: lines
            .iter()
            .map(|&(timestamp_ms, message)| NewLogLine {
                timestamp_ms,
                message: message.into(),
            })
            .collect(),
    }
}

fn write(store: &Store, batch: TelemetryBatch) {
    store.write(move |ctx| write_batch_in(ctx, &batch)).unwrap();
}

fn messages(page: &LogPage) -> Vec<&str> {
    page.events.iter().map(|e| e.message.as_str()).collect()
}

fn query(limit: usize) -> LogQuery {
    LogQuery {
        limit,
        ..LogQuery::default()
    }
}

#[test]
fn nothing_logged_reads_as_empty_and_has_no_group() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    assert!(
        read_logs(&store, "f", &query(10))
            .unwrap()
            .events
            .is_empty()
    );
    assert_eq!(log_group(&store, "f").unwrap(), None);
    assert!(list_log_groups(&store, "", None, 50).unwrap().is_empty());
    assert!(read_buckets(&store, "f", 0, u64::MAX).unwrap().is_empty());
}

#[test]
fn events_page_in_time_order_with_a_cursor() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut batch = TelemetryBatch::default();
    // Two events in the same millisecond keep the order they were recorded in.
    for (i, ts) in [T0 + 5, T0 + 1, T0 + 1, T0 + 9].into_iter().enumerate() {
        batch.logs.push(event("f", 1, ts, &format!("m{i}")));
    }
    batch.logs.push(event("other", 1, T0 + 2, "not mine"));
    write(&store, batch);
    let first = read_logs(&store, "f", &query(2)).unwrap();
    assert_eq!(messages(&first), ["m1", "m2"]);
    let next = read_logs(
        &store,
        "f",
        &LogQuery {
            after: first.next,
            ..query(2)
        },
    )
    .unwrap();
    assert_eq!(messages(&next), ["m0", "m3"]);
    assert_eq!(next.next, None);
    assert!(next.events.iter().all(|e| e.ingestion_ms == T0));
    let newest = LogQuery {
        backward: true,
        ..query(3)
    };
    let back = read_logs(&store, "f", &newest).unwrap();
    assert_eq!(messages(&back), ["m3", "m0", "m2"]);
    let rest = LogQuery {
        after: back.next,
        ..newest
    };
    assert_eq!(messages(&read_logs(&store, "f", &rest).unwrap()), ["m1"]);
}

#[test]
fn a_time_range_and_a_version_narrow_the_events() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut batch = TelemetryBatch::default();
    for (i, ts) in (0..10u64).map(|i| (i, T0 + i * 10)) {
        batch
            .logs
            .push(event("f", 1 + (i % 2) as u32, ts, &i.to_string()));
    }
    write(&store, batch);
    let ranged = LogQuery {
        start_ms: Some(T0 + 20),
        end_ms: Some(T0 + 60),
        ..query(100)
    };
    assert_eq!(
        messages(&read_logs(&store, "f", &ranged).unwrap()),
        ["2", "3", "4", "5"]
    );
    let version = LogQuery {
        version: Some(2),
        ..ranged
    };
    assert_eq!(
        messages(&read_logs(&store, "f", &version).unwrap()),
        ["3", "5"]
    );
}

#[test]
fn log_groups_are_created_on_first_write_and_listed_by_prefix() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut batch = TelemetryBatch::default();
    for name in ["beta", "alpha", "alphabet"] {
        batch.logs.push(event(name, 1, T0, "hello"));
    }
    write(&store, batch);
    let group = log_group(&store, "alpha").unwrap().unwrap();
    assert_eq!(group.created_ms, T0);
    assert_eq!(group.stored_bytes, 5 + logs::EVENT_OVERHEAD);
    let names =
        |groups: Vec<LogGroup>| -> Vec<String> { groups.into_iter().map(|g| g.function).collect() };
    assert_eq!(
        names(list_log_groups(&store, "alp", None, 50).unwrap()),
        ["alpha", "alphabet"]
    );
    assert_eq!(
        names(list_log_groups(&store, "", Some("alpha"), 1).unwrap()),
        ["alphabet"]
    );
}

#[test]
fn old_events_expire_and_the_oldest_go_past_the_byte_limit() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut batch = TelemetryBatch::default();
    batch.logs.push(event("f", 1, T0, "old"));
    write(&store, batch);
    clock.advance_ms(LOG_RETENTION_MS + 1);
    // Expired events are not read even before a write trims them.
    assert!(
        read_logs(&store, "f", &query(10))
            .unwrap()
            .events
            .is_empty()
    );
    let now = clock.now_ms();
    let line = "x".repeat(1 << 20);
    let mut batch = TelemetryBatch::default();
    for i in 0..20u64 {
        batch.logs.push(event("f", 1, now + i, &line));
    }
    write(&store, batch);
    let group = log_group(&store, "f").unwrap().unwrap();
    assert!(group.stored_bytes <= LOG_RETENTION_BYTES);
    let kept = read_logs(&store, "f", &query(100)).unwrap();
    assert_eq!(kept.events.len(), 15);
    assert_eq!(kept.events.first().map(|e| e.timestamp_ms), Some(now + 5));
}

/// A batch the store refuses part-way (here: one function's log group has
/// run out of sequence numbers) writes nothing at all, so the runtime can
/// keep it and write it again later without duplicating a line or counting
/// an invocation twice.
#[test]
fn a_refused_batch_writes_nothing() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    store
        .write(|ctx| {
            let mut groups = ctx.txn().open_table(crate::schema::LOG_GROUPS)?;
            groups.insert("z-full", (T0, super::log_block::MAX_BLOCK_SEQUENCE + 1, 0))?;
            Ok(())
        })
        .unwrap();
    let batch = || {
        let mut batch = TelemetryBatch::default();
        batch.logs.push(event("a", 1, T0, "once"));
        batch.bucket("a", T0).invocations += 1;
        batch
    };
    let mut refused = batch();
    refused.logs.push(event("z-full", 1, T0, "no room"));
    let outcome = store.write(move |ctx| write_batch_in(ctx, &refused));
    assert!(
        matches!(outcome, Err(crate::StoreError::LimitExceeded(_))),
        "{outcome:?}"
    );
    assert!(
        read_logs(&store, "a", &query(10))
            .unwrap()
            .events
            .is_empty()
    );
    assert!(read_buckets(&store, "a", 0, u64::MAX).unwrap().is_empty());
    // Written again without the refused part: each line and count once.
    write(&store, batch());
    assert_eq!(
        messages(&read_logs(&store, "a", &query(10)).unwrap()),
        ["once"]
    );
    let buckets = read_buckets(&store, "a", 0, u64::MAX).unwrap();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].1.invocations, 1);
}

/// Two keys of one batch that fall in the same minute both count: planned
/// apart, each started from the same stored bucket and the last one won.
#[test]
fn keys_of_one_minute_in_one_batch_both_count() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    write(&store, {
        let mut batch = TelemetryBatch::default();
        batch.bucket("f", T0).invocations += 1;
        batch
    });
    let mut batch = TelemetryBatch::default();
    let minute = minute_of(T0);
    for at in [minute, minute + 5] {
        let bucket = MetricBucket {
            invocations: 1,
            ..MetricBucket::default()
        };
        batch.metrics.insert(("f".into(), at), bucket);
    }
    write(&store, batch);
    let buckets = read_buckets(&store, "f", 0, u64::MAX).unwrap();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].1.invocations, 3);
}

#[test]
fn buckets_merge_across_writes_and_read_by_minute() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let minute = minute_of(T0);
    for (duration, concurrent) in [(1_000u64, 1u64), (3_000, 4), (2_000, 2)] {
        let mut batch = TelemetryBatch::default();
        let bucket = batch.bucket("f", T0 + 1);
        bucket.invocations += 1;
        bucket.duration_us.record(duration);
        bucket.fuel.record(duration * 10);
        bucket.concurrent_max = concurrent;
        write(&store, batch);
    }
    let mut next = TelemetryBatch::default();
    next.bucket("f", T0 + MINUTE_MS).errors += 1;
    write(&store, next);
    let buckets = read_buckets(&store, "f", minute, minute + 2 * MINUTE_MS).unwrap();
    assert_eq!(buckets.len(), 2);
    let (start, first) = &buckets[0];
    assert_eq!(*start, minute);
    assert_eq!(first.invocations, 3);
    assert_eq!(first.concurrent_max, 4);
    assert_eq!(
        (
            first.duration_us.min,
            first.duration_us.max,
            first.duration_us.sum
        ),
        (1_000, 3_000, 6_000)
    );
    assert_eq!(first.fuel.count, 3);
    assert_eq!(buckets[1].1.errors, 1);
    // The end of the range is exclusive, by minute start.
    assert_eq!(
        read_buckets(&store, "f", minute, minute + 1).unwrap().len(),
        1
    );
    assert!(read_buckets(&store, "g", 0, u64::MAX).unwrap().is_empty());
}

#[test]
fn buckets_past_retention_are_neither_read_nor_kept() {
    let clock = Clock::manual(T0);
    let (_dir, store) = open(&clock);
    let mut batch = TelemetryBatch::default();
    batch.bucket("f", T0).invocations = 1;
    write(&store, batch);
    clock.advance_ms(METRIC_RETENTION_MS + MINUTE_MS);
    assert!(read_buckets(&store, "f", 0, u64::MAX).unwrap().is_empty());
    let mut batch = TelemetryBatch::default();
    batch.bucket("f", clock.now_ms()).invocations = 2;
    write(&store, batch);
    let all = read_buckets(&store, "f", 0, u64::MAX).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].1.invocations, 2);
}

#[test]
fn an_older_batch_goes_back_in_front() {
    let mut newer = TelemetryBatch::default();
    newer.logs.push(event("f", 1, T0 + 1, "new"));
    newer.bucket("f", T0).invocations = 1;
    let mut older = TelemetryBatch::default();
    older.logs.push(event("f", 1, T0, "old"));
    older.bucket("f", T0).invocations = 2;
    newer.absorb_older(older);
    let order: Vec<&str> = newer
        .logs
        .iter()
        .flat_map(|b| &b.lines)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(order, ["old", "new"]);
    assert_eq!(newer.bucket("f", T0).invocations, 3);
}
