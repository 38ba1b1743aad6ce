//! Exactly-once trigger effects across crashes: the lab's aggregator
//! (GameScoreRecords' change stream → AggregateScoresByUser →
//! GameScoresByUser) runs in a durable `eddy serve` while writer threads
//! PutItem scores over HTTP; the server is SIGKILLed at random moments and
//! restarted on the same directory, several times. Afterwards every
//! acknowledged score is stored, the trigger has read the whole change
//! stream, and each user's total is exactly the sum of that user's stored
//! scores: no effect lost, none applied twice.
//!
//! The kill moments and the scores come from one seed, printed on stderr (the
//! test shows it when it fails); `EDDY_TEST_SEED=N` replays a run's choices
//! (the machine's timing still varies).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy_store::mappings::{self, Source};
use eddy_store::{Durability, Store, StoreOptions, checkpoints, tables};
use eddy_tests::{Eddy, try_http};
use serde_json::{Value, json};

const RECORDS: &str = "GameScoreRecords";
const TOTALS: &str = "GameScoresByUser";
const USERS: [&str; 5] = ["Jane Doe", "John Roe", "Ana", "Bo", "Chen"];
const WRITERS: u64 = 4;
const CRASHES: u32 = 6;
/// Acknowledged writes each server takes before its kill can come, so every
/// life of the server is under load.
const ACKS_PER_LIFE: u64 = 25;
/// The longest random wait before a kill, after those acks.
const MAX_KILL_DELAY_MS: u64 = 1500;
/// A guard against a hang, not a measure of speed.
const DEADLINE: Duration = Duration::from_secs(60);

/// splitmix64: a small seeded generator, so a failing run's choices can be
/// replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("EDDY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map(|d| d.as_nanos() as u64).unwrap_or(1)
        })
}

/// A score whose PutItem was answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acked {
    record_id: u64,
    user: String,
    score: u64,
}

/// What the writers share with the test: where the server is now (`None`
/// between a kill and the next start), when to stop, and how many writes
/// were acknowledged so far.
#[derive(Default)]
struct Target {
    addr: Mutex<Option<SocketAddr>>,
    stop: AtomicBool,
    acks: AtomicU64,
}

impl Target {
    fn addr(&self) -> Option<SocketAddr> {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn point_at(&self, addr: Option<SocketAddr>) {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner()) = addr;
    }
}

/// What one writer thread saw.
#[derive(Debug, Default)]
struct Written {
    acked: Vec<Acked>,
    /// The RecordIDs of writes that got no whole answer (the server died):
    /// stored or not, unknown.
    unknown: Vec<u64>,
    /// Answers other than 200: none are expected.
    refused: Vec<String>,
}

/// Writer `thread`: PutItems a fresh RecordID each attempt (never retried
/// with the same id: the aggregator would add a rewritten score again) to
/// whatever server is up, until told to stop.
fn writer(thread: u64, target: Arc<Target>, seed: u64) -> Written {
    let mut rng = Rng(seed ^ (thread + 1).wrapping_mul(0x5851_F42D_4C95_7F2D));
    let mut written = Written::default();
    for n in 0.. {
        if target.stop.load(Ordering::SeqCst) {
            break;
        }
        let Some(addr) = target.addr() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let record_id = thread * 1_000_000_000 + n;
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let score = 1 + rng.below(100);
        let body = json!({"TableName": RECORDS, "Item": {
            "RecordID": {"N": record_id.to_string()},
            "Username": {"S": user},
            "Score": {"N": score.to_string()},
        }});
        let headers = [("X-Amz-Target", "DynamoDB_20120810.PutItem")];
        match try_http(addr, "POST", "/", &headers, body.to_string().as_bytes()) {
            Ok(answer) if answer.status == 200 => {
                written.acked.push(Acked {
                    record_id,
                    user: user.to_string(),
                    score,
                });
                target.acks.fetch_add(1, Ordering::SeqCst);
            }
            Ok(answer) => written
                .refused
                .push(format!("{} {}", answer.status, answer.body)),
            Err(_) => {
                written.unknown.push(record_id);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    written
}

/// The lab's tables, the aggregator and its trigger (from the start of the
/// change stream); returns the trigger's UUID.
fn set_up_the_aggregator(eddy: &Eddy) -> String {
    let trigger = eddy.create_lab_aggregator_trigger(Some("lambda_basic_execution_dynamodb"));
    trigger["UUID"].as_str().expect("a UUID").to_string()
}

/// Waits until `check` holds; false if the deadline passed first.
fn wait_until(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !check() {
        if start.elapsed() > DEADLINE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Every item of `table`, following LastEvaluatedKey, through `call`.
fn scan_all(table: &str, mut call: impl FnMut(&Value) -> Value) -> Vec<Value> {
    let mut items = Vec::new();
    let mut request = json!({"TableName": table});
    loop {
        let page = call(&request);
        items.extend(page["Items"].as_array().cloned().unwrap_or_default());
        match page.get("LastEvaluatedKey") {
            Some(last) if last.is_object() => request["ExclusiveStartKey"] = last.clone(),
            _ => return items,
        }
    }
}

fn number(item: &Value, attribute: &str) -> u64 {
    let text = item[attribute]["N"].as_str();
    text.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{attribute} is not a whole number in {item}"))
}

fn text(item: &Value, attribute: &str) -> String {
    let text = item[attribute]["S"].as_str();
    text.unwrap_or_else(|| panic!("{attribute} is not a string in {item}"))
        .to_string()
}

/// The stored scores by RecordID, and each user's sum of them.
fn stored_scores(records: &[Value]) -> (BTreeMap<u64, (String, u64)>, BTreeMap<String, u64>) {
    let mut by_id = BTreeMap::new();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for item in records {
        let (user, score) = (text(item, "Username"), number(item, "Score"));
        *sums.entry(user.clone()).or_default() += score;
        by_id.insert(number(item, "RecordID"), (user, score));
    }
    (by_id, sums)
}

fn totals(items: &[Value]) -> BTreeMap<String, u64> {
    items
        .iter()
        .map(|item| (text(item, "Username"), number(item, "Score")))
        .collect()
}

/// Panics naming every user whose total is not `expected` (`what` says
/// where the expected sums come from).
fn assert_totals(expected: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>, what: &str) {
    let users: BTreeSet<&String> = expected.keys().chain(got.keys()).collect();
    let wrong: Vec<String> = users
        .into_iter()
        .filter(|u| expected.get(*u) != got.get(*u))
        .map(|u| format!("{u}: {what} {:?}, total {:?}", expected.get(u), got.get(u)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// Opens the data directory of a stopped (or killed) server.
fn open(eddy: &Eddy) -> Store {
    let options = StoreOptions {
        durability: Durability::Durable,
        ..StoreOptions::default()
    };
    Store::open(&eddy.data_dir(), options).expect("the store reopens")
}

fn scan_in(store: &Store, table: &str) -> Vec<Value> {
    scan_all(table, |request| {
        eddy_api::dispatch(store, "DynamoDB_20120810.Scan", request).expect("Scan")
    })
}

/// Where the trigger is in GameScoreRecords' change stream: the sum of the
/// scores per user of the change records up to its checkpoint (what it has
/// applied), and how many change records lie up to and after it.
#[derive(Debug, Default)]
struct Progress {
    applied: BTreeMap<String, u64>,
    read: usize,
    unread: usize,
}

fn progress(store: &Store, uuid: &str) -> Progress {
    let source = mappings::resolve_source(store, &Source::Table(RECORDS.into())).unwrap();
    let [shard] = source.shards[..] else {
        panic!("a table change stream has one shard: {:?}", source.shards)
    };
    let checkpoint = checkpoints::load(store, uuid, source.log, shard).unwrap();
    let mut progress = Progress::default();
    let mut after = 0;
    loop {
        let page = tables::read_changes(store, source.log, after, 1000).unwrap();
        let Some(last) = page.last() else {
            return progress;
        };
        after = last.sequence;
        for change in &page {
            if checkpoint.is_some_and(|c| change.sequence <= c) {
                let image = &change.event["dynamodb"]["NewImage"];
                let user = progress.applied.entry(text(image, "Username"));
                *user.or_default() += number(image, "Score");
                progress.read += 1;
            } else {
                progress.unread += 1;
            }
        }
    }
}

/// The exactly-once invariant, on a stopped directory: each user's total is
/// the sum of the scores of the change records up to the trigger's
/// checkpoint — effects and checkpoint were committed together, whenever the
/// server died.
fn assert_exactly_once(store: &Store, uuid: &str, when: &str) -> Progress {
    let progress = progress(store, uuid);
    let what = format!(
        "{when}: the {} change records up to the checkpoint sum to",
        progress.read
    );
    assert_totals(&progress.applied, &totals(&scan_in(store, TOTALS)), &what);
    progress
}

/// One life of the server after another, each under the writers' load and
/// SIGKILLed at a random moment, the invariant checked after each kill;
/// returns what the writers saw.
fn crash_repeatedly(eddy: &Eddy, uuid: &str, rng: &mut Rng, seed: u64) -> Vec<Written> {
    let target = Arc::new(Target::default());
    let writers: Vec<JoinHandle<Written>> = (0..WRITERS)
        .map(|thread| {
            let target = target.clone();
            std::thread::spawn(move || writer(thread, target, seed))
        })
        .collect();
    for life in 0..CRASHES {
        let mut server = eddy.serve();
        let before = target.acks.load(Ordering::SeqCst);
        target.point_at(Some(server.addr()));
        let loaded = wait_until(|| target.acks.load(Ordering::SeqCst) >= before + ACKS_PER_LIFE);
        assert!(loaded, "seed {seed}: life {life} took no writes");
        let delay = rng.below(MAX_KILL_DELAY_MS + 1);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill();
        target.point_at(None);
        let when = format!("seed {seed}, after kill {life}");
        let progress = assert_exactly_once(&open(eddy), uuid, &when);
        eprintln!(
            "life {life}: killed {delay} ms after {ACKS_PER_LIFE} acks; the trigger had read {} \
             change records, {} were unread",
            progress.read, progress.unread
        );
    }
    target.stop.store(true, Ordering::SeqCst);
    writers
        .into_iter()
        .map(|w| w.join().expect("a writer thread"))
        .collect()
}

#[test]
fn the_aggregator_applies_each_score_exactly_once_across_sigkills() {
    let seed = seed();
    eprintln!("serve_crash seed {seed} (replay with EDDY_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let eddy = Eddy::new();
    let uuid = set_up_the_aggregator(&eddy);
    let written = crash_repeatedly(&eddy, &uuid, &mut rng, seed);
    let refused: Vec<&String> = written.iter().flat_map(|w| &w.refused).collect();
    assert!(
        refused.is_empty(),
        "seed {seed}: refused writes: {refused:?}"
    );
    let acked: Vec<&Acked> = written.iter().flat_map(|w| &w.acked).collect();
    let unknown: BTreeSet<u64> = written.iter().flat_map(|w| w.unknown.clone()).collect();
    eprintln!(
        "{} writes acknowledged, {} unknown",
        acked.len(),
        unknown.len()
    );

    // The last life: the trigger catches up. Scores are positive, so the
    // totals only grow toward the stored sum; once they reach it, the
    // trigger has applied as much as is stored (more would be a double).
    let mut server = eddy.serve();
    let caught_up = wait_until(|| {
        let mut scan = |table: &str| {
            scan_all(table, |request| {
                let answer = server.post("DynamoDB_20120810.Scan", &request.to_string());
                assert_eq!(answer.status, 200, "{}", answer.body);
                answer.json()
            })
        };
        let stored: u64 = stored_scores(&scan(RECORDS)).1.values().sum();
        let applied: u64 = totals(&scan(TOTALS)).values().sum();
        applied >= stored
    });
    let (code, said) = server.terminate();
    assert_eq!(code, Some(0), "{said}");

    // Checked on the stopped directory, where nothing can move any more.
    let store = open(&eddy);
    let progress = assert_exactly_once(&store, &uuid, &format!("seed {seed}, at the end"));
    assert_eq!(
        progress.unread, 0,
        "seed {seed}: the trigger did not catch up"
    );
    let (stored, sums) = stored_scores(&scan_in(&store, RECORDS));
    let lost: Vec<&&Acked> = acked
        .iter()
        .filter(|a| stored.get(&a.record_id) != Some(&(a.user.clone(), a.score)))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: {} of {} acknowledged scores are not stored, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
    // Nothing is stored that was not written.
    let written_ids: BTreeSet<u64> = acked.iter().map(|a| a.record_id).collect();
    let phantoms: Vec<&u64> = stored
        .keys()
        .filter(|id| !written_ids.contains(id) && !unknown.contains(id))
        .collect();
    assert!(
        phantoms.is_empty(),
        "seed {seed}: never written: {phantoms:?}"
    );
    // The promise as a user states it: totals = sums of the stored scores.
    let what = format!("seed {seed}: the stored scores sum to");
    assert_totals(&sums, &totals(&scan_in(&store, TOTALS)), &what);
    assert!(
        caught_up,
        "seed {seed}: the totals took over {DEADLINE:?} to catch up"
    );
}
