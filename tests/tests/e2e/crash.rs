//! Crash durability: `crash_writer` PutItems from several threads and prints each
//! key once its put is acknowledged; it is SIGKILLed mid-stream, and the data
//! directory is reopened and checked. Durable: every acknowledged key is there.
//! Relaxed: what was acknowledged well before the kill is there (the window is
//! ~10 ms). Both modes: the store reopens cleanly, every item is whole, and each
//! writer thread's items form a prefix (a crash loses a suffix, never a hole).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eddy_store::{Durability, Store, StoreOptions};
use eddy_tests::crash;
use serde_json::{Value, json};

const THREADS: u32 = 4;

/// What one writer run acknowledged, and when the test read each ack.
struct Acks {
    keys: Vec<(String, Instant)>,
    killed_at: Instant,
}

/// Runs the writer until it has acknowledged at least `acks` puts and run for at
/// least `min_run`, SIGKILLs it, and returns every key it acknowledged (all it
/// printed before it died), each with the moment the test read it (at or after
/// the ack).
fn write_until_killed(
    dir: &Path,
    durability: &str,
    run: u32,
    acks: usize,
    min_run: Duration,
) -> Acks {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
        .arg(dir)
        .args([durability, &run.to_string(), &THREADS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("crash_writer starts");
    let started = Instant::now();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut keys = Vec::new();
    let mut line = String::new();
    while keys.len() < acks || started.elapsed() < min_run {
        line.clear();
        if stdout.read_line(&mut line).expect("reading acks") == 0 {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut stderr));
            panic!("crash_writer exited after {} acks: {stderr}", keys.len());
        }
        keys.push((line.trim_end().to_string(), Instant::now()));
    }
    child.kill().expect("SIGKILL crash_writer");
    let killed_at = Instant::now();
    child.wait().expect("reaping crash_writer");
    // Acks printed before the kill are still in the pipe; a torn last line is not
    // an ack (its newline never made it).
    loop {
        line.clear();
        if stdout.read_line(&mut line).expect("draining acks") == 0 || !line.ends_with('\n') {
            break;
        }
        keys.push((line.trim_end().to_string(), killed_at));
    }
    Acks { keys, killed_at }
}

/// Reopens the directory and returns every item in the crash table by key.
fn surviving_items(dir: &Path) -> BTreeMap<String, Value> {
    let options = StoreOptions {
        durability: Durability::Durable,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, options).expect("the store reopens after a crash");
    let mut items = BTreeMap::new();
    let mut request = json!({"TableName": crash::TABLE});
    loop {
        let page = eddy_api::dispatch(&store, "DynamoDB_20120810.Scan", &request).expect("Scan");
        for item in page["Items"].as_array().expect("Items") {
            let key = item["pk"]["S"].as_str().expect("pk").to_string();
            items.insert(key, item.clone());
        }
        match page.get("LastEvaluatedKey") {
            Some(last) if last.is_object() => request["ExclusiveStartKey"] = last.clone(),
            _ => return items,
        }
    }
}

/// Every item is whole, and each (run, thread)'s items are 0..n with no hole.
fn check_whole_and_prefix(items: &BTreeMap<String, Value>) {
    let mut by_writer: BTreeMap<(u32, u32), BTreeSet<u64>> = BTreeMap::new();
    for (key, item) in items {
        assert_eq!(item, &crash::item(key), "item {key} is not whole");
        let (run, thread, n) = crash::parse_key(key).expect("a crash_writer key");
        by_writer.entry((run, thread)).or_default().insert(n);
    }
    for ((run, thread), ns) in by_writer {
        let expected: BTreeSet<u64> = (0..ns.len() as u64).collect();
        assert_eq!(ns, expected, "run {run} thread {thread} has a hole");
    }
}

#[test]
fn durable_writes_survive_sigkill_three_times_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Vec::new();
    for run in 0..3 {
        // Kill at a different point each time: early, mid and later in the run.
        let acks = 300 + 1500 * run as usize;
        let run_acks = write_until_killed(dir.path(), "durable", run, acks, Duration::ZERO);
        acked.extend(run_acks.keys.into_iter().map(|(key, _)| key));
        let items = surviving_items(dir.path());
        let lost: Vec<&String> = acked.iter().filter(|k| !items.contains_key(*k)).collect();
        assert!(
            lost.is_empty(),
            "after crash {run}: {} of {} acknowledged puts lost, e.g. {:?}",
            lost.len(),
            acked.len(),
            lost.first()
        );
        check_whole_and_prefix(&items);
    }
}

/// Generous slack over the 10 ms relaxed window: the test reads acks late, and a
/// 2-core machine under a parallel test run schedules the writer late too.
const RELAXED_SLACK: Duration = Duration::from_millis(300);

#[test]
fn relaxed_writes_reopen_cleanly_and_lose_only_the_last_moments() {
    let dir = tempfile::tempdir().unwrap();
    // The table itself is created durably, so only the puts are at stake.
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        eddy_api::dispatch(
            &store,
            "DynamoDB_20120810.CreateTable",
            &crash::create_table(),
        )
        .unwrap();
    }
    for run in 0..2 {
        let acks = write_until_killed(dir.path(), "relaxed", run, 1000, Duration::from_secs(1));
        let items = surviving_items(dir.path());
        check_whole_and_prefix(&items);
        let old: Vec<&String> = acks
            .keys
            .iter()
            .filter(|(_, read_at)| *read_at + RELAXED_SLACK < acks.killed_at)
            .map(|(key, _)| key)
            .collect();
        assert!(
            !old.is_empty(),
            "run {run}: no ack older than {RELAXED_SLACK:?}"
        );
        let lost: Vec<&&String> = old.iter().filter(|k| !items.contains_key(**k)).collect();
        assert!(
            lost.is_empty(),
            "run {run}: {} puts acknowledged over {RELAXED_SLACK:?} before the kill were lost, e.g. {:?}",
            lost.len(),
            lost.first()
        );
    }
}
