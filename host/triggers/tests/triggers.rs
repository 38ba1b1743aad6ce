//! The trigger engine against a real store and real guests: mappings created
//! through the registry run by themselves; every test waits on conditions
//! with a generous deadline, never on a sleep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_runtime::deployed::Functions;
use eddy_runtime::guests;
use eddy_runtime::invoke::RuntimeOptions;
use eddy_store::functions::{FunctionSpec, create_function, delete_function};
use eddy_store::mappings::{
    self, Destination, EventSourceMapping, MappingSpec, MappingState, ShardStatus, Source,
    StartingPosition,
};
use eddy_store::streams::{self, IteratorStart, PutRecordEntry, PutResult};
use eddy_store::tables::{
    self, BillingMode, CreateTable, DeleteItemRequest, GetItemRequest, KeyAttr, PutItemRequest,
    StreamViewType,
};
use eddy_store::value::keys::KeyType;
use eddy_store::{AttributeValue, Clock, Durability, Item, Store, StoreOptions, checkpoints};
use eddy_triggers::Triggers;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const COUNTER_GRANTS: [&str; 3] = [
    "write:table/Counts",
    "read:table/Counts",
    "read:table/Control",
];

struct Lab {
    _dir: tempfile::TempDir,
    store: Store,
    functions: Arc<Functions>,
    triggers: Option<Triggers>,
}

fn lab_with(clock: Clock) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        durability: Durability::Relaxed,
        clock,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    let functions = Arc::new(Functions::new(store.clone(), RuntimeOptions::default()).unwrap());
    let lab = Lab {
        _dir: dir,
        store,
        functions,
        triggers: None,
    };
    lab.table("Counts", "Id", None);
    lab.table("Control", "Id", None);
    lab
}

fn lab() -> Lab {
    let mut lab = lab_with(Clock::System);
    lab.start();
    lab
}

/// Waits until `check` holds, failing the test after DEADLINE.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.into())
}

impl Lab {
    fn start(&mut self) {
        self.triggers = Some(Triggers::start(self.functions.clone()));
    }

    fn stop(&mut self) {
        if let Some(triggers) = self.triggers.take() {
            triggers.stop();
        }
    }

    fn deploy(&self, name: &str, guest: &str, grants: &[&str]) {
        let path = guests::path(guest).unwrap_or_else(|| panic!("guest {guest} was not built"));
        let spec = FunctionSpec {
            name: name.into(),
            description: String::new(),
            timeout_secs: 10,
            memory_mib: 128,
            fuel: 1_000_000_000,
            grants: grants.iter().map(|g| g.to_string()).collect(),
            env: Default::default(),
            role: None,
        };
        create_function(&self.store, spec, std::fs::read(path).unwrap()).unwrap();
    }

    fn table(&self, name: &str, key: &str, stream: Option<StreamViewType>) {
        let create = CreateTable {
            name: name.into(),
            partition_key: KeyAttr {
                name: key.into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream,
        };
        tables::create_table(&self.store, create).unwrap();
    }

    fn map(
        &self,
        function: &str,
        source: Source,
        tune: impl FnOnce(&mut MappingSpec),
    ) -> EventSourceMapping {
        let mut spec = MappingSpec::new(function, source);
        spec.starting_position = StartingPosition::TrimHorizon;
        tune(&mut spec);
        mappings::create(&self.store, spec).unwrap()
    }

    fn put(&self, stream: &str, key: &str, data: &str) -> PutResult {
        streams::put_record(
            &self.store,
            stream,
            PutRecordEntry::new(key, data.as_bytes().to_vec()),
        )
        .unwrap()
    }

    fn get(&self, table: &str, key: &str, value: &str) -> Option<Item> {
        let request = GetItemRequest {
            table: table.into(),
            key: Item::from([(key.to_string(), s(value))]),
            ..GetItemRequest::default()
        };
        tables::get_item(&self.store, &request).unwrap()
    }

    /// How often the counter saw the record `id` (0 when never).
    fn seen(&self, id: &str) -> u64 {
        match self
            .get("Counts", "Id", id)
            .and_then(|item| item.get("Seen").cloned())
        {
            Some(AttributeValue::N(n)) => n.to_string().parse().unwrap(),
            _ => 0,
        }
    }

    /// The sequence numbers the counter saw for `order` ("order/shardId-...").
    fn order(&self, order: &str) -> Vec<String> {
        match self
            .get("Counts", "Id", order)
            .and_then(|item| item.get("Seqs").cloned())
        {
            Some(AttributeValue::L(list)) => list
                .into_iter()
                .map(|v| match v {
                    AttributeValue::S(text) => text,
                    other => panic!("not a string: {other:?}"),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn set_failing(&self, failing: bool) {
        let key = Item::from([("Id".to_string(), s("fail"))]);
        if failing {
            let request = PutItemRequest {
                table: "Control".into(),
                item: key,
                ..PutItemRequest::default()
            };
            tables::put_item(&self.store, request).unwrap();
        } else {
            let request = DeleteItemRequest {
                table: "Control".into(),
                key,
                ..DeleteItemRequest::default()
            };
            tables::delete_item(&self.store, request).unwrap();
        }
    }

    /// How many pollers the engine runs for `mapping`.
    fn running(&self, mapping: &EventSourceMapping) -> usize {
        let pollers = self
            .triggers
            .as_ref()
            .map(Triggers::pollers)
            .unwrap_or_default();
        pollers.iter().filter(|p| p.uuid == mapping.uuid).count()
    }

    fn status(&self, mapping: &EventSourceMapping) -> Vec<ShardStatus> {
        mappings::status::status(&self.store, &mapping.uuid).unwrap()
    }

    fn processed(&self, mapping: &EventSourceMapping) -> u64 {
        self.status(mapping)
            .iter()
            .map(|s| s.records_processed)
            .sum()
    }

    fn checkpoint(&self, mapping: &EventSourceMapping, shard: u32) -> Option<u64> {
        let log = mappings::resolve_source(&self.store, &mapping.source)
            .unwrap()
            .log;
        checkpoints::load(&self.store, &mapping.uuid, log, shard).unwrap()
    }

    /// Every record of a one-shard stream, as JSON.
    fn records_of(&self, stream: &str) -> Vec<Value> {
        let iterator = streams::get_shard_iterator(
            &self.store,
            stream,
            "shardId-000000000000",
            IteratorStart::TrimHorizon,
        )
        .unwrap();
        streams::get_records(&self.store, &iterator, None)
            .unwrap()
            .records
            .iter()
            .map(|r| serde_json::from_slice(&r.data).unwrap())
            .collect()
    }
}

#[test]
fn a_stream_trigger_fires_on_commit_and_counts_each_record_once() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    let mapping = lab.map("counter", Source::Stream("events".into()), |_| {});
    for i in 0..20 {
        lab.put("events", "k", &format!("r{i}"));
    }
    wait_for("20 records counted", || lab.seen("total") == 20);
    for i in 0..20 {
        assert_eq!(lab.seen(&format!("r{i}")), 1, "r{i}");
    }
    wait_for("the status to catch up", || lab.processed(&mapping) == 20);
    let status = &lab.status(&mapping)[0];
    assert_eq!(status.last_result, "OK");
    assert!(status.invocations >= 1 && status.last_invoke_ms.is_some());
}

#[test]
fn a_table_trigger_runs_the_lab_aggregator() {
    let lab = lab();
    lab.table(
        "GameScoreRecords",
        "RecordID",
        Some(StreamViewType::NewImage),
    );
    lab.table("GameScoresByUser", "Username", None);
    lab.deploy(
        "aggregate",
        "score_aggregator",
        &[
            "write:table/GameScoresByUser",
            "read:table/GameScoresByUser",
        ],
    );
    lab.map(
        "aggregate",
        Source::Table("GameScoreRecords".into()),
        |_| {},
    );
    for (id, user, score) in [("1", "Jane", "10"), ("2", "Jane", "5"), ("3", "Bob", "7")] {
        let item = Item::from([
            ("RecordID".to_string(), s(id)),
            ("Username".to_string(), s(user)),
            (
                "Score".to_string(),
                AttributeValue::N(score.parse().unwrap()),
            ),
        ]);
        let request = PutItemRequest {
            table: "GameScoreRecords".into(),
            item,
            ..PutItemRequest::default()
        };
        tables::put_item(&lab.store, request).unwrap();
    }
    let score = |user: &str| {
        lab.get("GameScoresByUser", "Username", user)
            .and_then(|item| item.get("Score").cloned())
            .map(|n| format!("{n:?}"))
    };
    wait_for("Jane's total", || {
        score("Jane").is_some_and(|t| t.contains("15"))
    });
    wait_for("Bob's total", || {
        score("Bob").is_some_and(|t| t.contains('7'))
    });
}

#[test]
fn several_mappings_on_one_source_each_receive_every_record() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.deploy("judge", "test_fail_records", &[]);
    let a = lab.map("counter", Source::Stream("events".into()), |_| {});
    let b = lab.map("judge", Source::Stream("events".into()), |_| {});
    let mut last = 0;
    for i in 0..10 {
        last = lab.put("events", "k", &format!("r{i}")).sequence;
    }
    wait_for("both mappings to finish", || {
        lab.checkpoint(&a, 0) == Some(last) && lab.checkpoint(&b, 0) == Some(last)
    });
    assert_eq!((lab.processed(&a), lab.processed(&b)), (10, 10));
    assert_eq!(lab.seen("total"), 10);
}

#[test]
fn shards_are_delivered_in_order_and_conflicts_are_rerun() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 3).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.map("counter", Source::Stream("events".into()), |m| {
        m.batch_size = 3
    });
    let mut expected: Vec<Vec<String>> = vec![Vec::new(); 3];
    for i in 0..60 {
        let put = lab.put("events", &format!("key-{}", i % 7), &format!("r{i}"));
        expected[put.shard as usize].push(put.sequence_number);
    }
    // All shards add to one "total" item: concurrent batches conflict and
    // must be re-run, never applied twice.
    wait_for("60 records counted", || lab.seen("total") == 60);
    for (shard, sequences) in expected.iter().enumerate() {
        assert_eq!(&lab.order(&format!("order/shardId-{shard:012}")), sequences);
    }
}

#[test]
fn a_backlog_is_pipelined_in_order_and_exactly_once() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 3).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    // A backlog first, so each shard's lanes stack batch after batch on the
    // previous one's pending writes; every batch of every shard adds to one
    // "total" item, so a stacked batch often finds its base changed by
    // another shard (or its predecessor conflicting) and must be discarded
    // or re-run — never applied twice, never out of order.
    let mut expected: Vec<Vec<String>> = vec![Vec::new(); 3];
    for i in 0..300 {
        let put = lab.put("events", &format!("key-{}", i % 11), &format!("r{i}"));
        expected[put.shard as usize].push(put.sequence_number);
    }
    let mapping = lab.map("counter", Source::Stream("events".into()), |m| {
        m.batch_size = 7
    });
    wait_for("300 records counted", || lab.seen("total") == 300);
    for (shard, sequences) in expected.iter().enumerate() {
        assert_eq!(&lab.order(&format!("order/shardId-{shard:012}")), sequences);
        assert!(lab.checkpoint(&mapping, shard as u32).is_some());
    }
    wait_for("every record processed", || lab.processed(&mapping) == 300);
    assert_eq!(lab.seen("total"), 300);
}

#[test]
fn retried_batches_apply_their_effects_exactly_once() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    let mapping = lab.map("counter", Source::Stream("events".into()), |_| {});
    lab.set_failing(true);
    lab.put("events", "k", "a");
    lab.put("events", "k", "b throw");
    lab.put("events", "k", "c");
    wait_for("failed invocations", || {
        lab.status(&mapping)
            .first()
            .is_some_and(|s| s.invocations >= 3 && s.last_result == "PROBLEM: Function call failed")
    });
    // The failed invocations wrote before failing: none of it may show.
    assert_eq!(lab.seen("total"), 0);
    assert_eq!(lab.checkpoint(&mapping, 0), None);
    lab.set_failing(false);
    wait_for("the batch to succeed", || lab.seen("total") == 3);
    for id in ["a", "b throw", "c"] {
        assert_eq!(lab.seen(id), 1, "{id}");
    }
    wait_for("an OK status", || {
        lab.status(&mapping)[0].last_result == "OK"
    });
    assert_eq!(lab.status(&mapping)[0].last_error_type, None);
}

#[test]
fn bisect_isolates_a_bad_record_and_gives_it_up_to_the_destination() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    streams::create_stream(&lab.store, "failures", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.set_failing(true);
    let entries: Vec<_> = (0..8)
        .map(|i| {
            let data = if i == 5 {
                "r5 throw".to_string()
            } else {
                format!("r{i}")
            };
            PutRecordEntry::new("k", data.into_bytes())
        })
        .collect();
    let puts = streams::put_records(&lab.store, "events", entries).unwrap();
    let bad = puts[5].as_ref().unwrap().sequence_number.clone();
    let mapping = lab.map("counter", Source::Stream("events".into()), |m| {
        m.bisect_on_error = true;
        m.max_retries = Some(1);
        m.on_failure = Some(Destination::Stream("failures".into()));
    });
    wait_for("a failure record", || {
        !lab.records_of("failures").is_empty()
    });
    wait_for("the batch to be done", || lab.processed(&mapping) == 8);
    for i in [0, 1, 2, 3, 4, 6, 7] {
        assert_eq!(lab.seen(&format!("r{i}")), 1, "r{i}");
    }
    assert_eq!(lab.seen("r5 throw"), 0);
    let failures = lab.records_of("failures");
    assert_eq!(failures.len(), 1);
    let record = &failures[0];
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    // Invocations that included r5: the batch of 8, then halves of 4 and 2,
    // then r5 alone and its one retry (bisecting consumed no retries).
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 5);
    assert_eq!(record["version"], "1.0");
    let info = &record["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], bad.as_str());
    assert_eq!(info["endSequenceNumber"], bad.as_str());
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert!(
        info["streamArn"]
            .as_str()
            .unwrap()
            .ends_with(":stream/events")
    );
    // r6 and r7 were processed after r5 was given up: the shard is healthy.
    assert_eq!(lab.status(&mapping)[0].last_result, "OK");
}

#[test]
fn partial_batch_failures_commit_the_records_before_the_first_failure() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.set_failing(true);
    let entries: Vec<_> = ["r0", "r1", "r2 partial", "r3", "r4 partial"]
        .into_iter()
        .map(|d| PutRecordEntry::new("k", d.as_bytes().to_vec()))
        .collect();
    let puts = streams::put_records(&lab.store, "events", entries).unwrap();
    let sequence = |i: usize| puts[i].as_ref().unwrap().sequence;
    let mapping = lab.map("counter", Source::Stream("events".into()), |m| {
        m.report_batch_item_failures = true;
    });
    wait_for("the prefix to commit", || {
        lab.checkpoint(&mapping, 0) == Some(sequence(1))
    });
    wait_for("a reported failure", || {
        lab.status(&mapping)[0].last_error_type.as_deref() == Some("BatchItemFailure")
    });
    assert_eq!(
        (lab.seen("r0"), lab.seen("r1"), lab.seen("total")),
        (1, 1, 2)
    );
    lab.set_failing(false);
    wait_for("the rest", || {
        lab.checkpoint(&mapping, 0) == Some(sequence(4))
    });
    for id in ["r0", "r1", "r2 partial", "r3", "r4 partial"] {
        assert_eq!(lab.seen(id), 1, "{id}");
    }
    assert_eq!(lab.seen("total"), 5);
}

#[test]
fn filtered_out_records_are_skipped_and_checkpointed_past() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    let mapping = lab.map("counter", Source::Stream("events".into()), |m| {
        m.filters = vec![r#"{"data": {"keep": [true]}}"#.into()];
    });
    lab.put("events", "k", r#"{"id":1,"keep":true}"#);
    lab.put("events", "k", r#"{"id":2,"keep":false}"#);
    let last = lab.put("events", "k", "not json").sequence;
    wait_for("the checkpoint past every record", || {
        lab.checkpoint(&mapping, 0) == Some(last)
    });
    assert_eq!(lab.seen(r#"{"id":1,"keep":true}"#), 1);
    assert_eq!(lab.seen("total"), 1);
    wait_for("the status", || lab.processed(&mapping) == 3);
}

#[test]
fn records_older_than_the_maximum_age_are_given_up_to_a_table() {
    let mut lab = lab_with(Clock::manual(1_700_000_000_000));
    lab.start();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.table("Failures", "Id", None);
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.set_failing(true);
    let mapping = lab.map("counter", Source::Stream("events".into()), |m| {
        m.max_record_age_secs = Some(60);
        m.on_failure = Some(Destination::Table("Failures".into()));
    });
    let put = lab.put("events", "k", "old throw");
    wait_for("a failed invocation", || {
        lab.status(&mapping)
            .first()
            .is_some_and(|s| s.invocations >= 1)
    });
    lab.store.options().clock.advance_ms(61_000);
    wait_for("the record to be given up", || {
        lab.checkpoint(&mapping, 0) == Some(put.sequence)
    });
    let id = format!(
        "{}/shardId-000000000000/{}",
        mapping.uuid, put.sequence_number
    );
    let item = lab.get("Failures", "Id", &id).expect("the failure item");
    let context = format!("{:?}", item.get("requestContext"));
    assert!(context.contains("RecordAgeExceeded"), "{context}");
    assert!(item.contains_key("KinesisBatchInfo"));
    assert_eq!(lab.seen("total"), 0);
}

#[test]
fn a_disabled_mapping_stops_and_resumes_from_its_checkpoint() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.deploy("judge", "test_fail_records", &[]);
    let counter = lab.map("counter", Source::Stream("events".into()), |_| {});
    let witness = lab.map("judge", Source::Stream("events".into()), |_| {});
    let first = lab.put("events", "k", "r0").sequence;
    wait_for("r0", || lab.seen("r0") == 1);
    mappings::set_state(&lab.store, &counter.uuid, MappingState::Disabled).unwrap();
    wait_for("the counter's poller to be stopped", || {
        lab.running(&counter) == 0
    });
    // Once the witness has read r1, the counter would have had it too.
    let second = lab.put("events", "k", "r1").sequence;
    wait_for("the witness", || {
        lab.checkpoint(&witness, 0) == Some(second)
    });
    assert_eq!(lab.seen("r1"), 0);
    assert_eq!(lab.checkpoint(&counter, 0), Some(first));
    assert_eq!(lab.running(&witness), 1);
    mappings::set_state(&lab.store, &counter.uuid, MappingState::Enabled).unwrap();
    wait_for("r1 after enabling", || lab.seen("r1") == 1);
    assert_eq!(lab.seen("total"), 2);
}

#[test]
fn stopping_the_engine_leaves_consistent_checkpoints() {
    let mut lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    lab.set_failing(true);
    // Both records are there before the mapping starts (at TRIM_HORIZON), so
    // they form one batch and "a" cannot commit on its own first.
    lab.put("events", "k", "a");
    lab.put("events", "k", "b throw");
    let mapping = lab.map("counter", Source::Stream("events".into()), |_| {});
    wait_for("a failing retry loop", || {
        lab.status(&mapping)
            .first()
            .is_some_and(|s| s.invocations >= 2)
    });
    lab.stop();
    // Nothing of the failing batch was applied, and the checkpoint has not
    // moved past any record that was not committed.
    assert_eq!(lab.running(&mapping), 0);
    assert_eq!(lab.seen("total"), 0);
    assert_eq!(lab.checkpoint(&mapping, 0), None);
    lab.set_failing(false);
    lab.start();
    wait_for("the batch after a restart", || lab.seen("total") == 2);
    assert_eq!((lab.seen("a"), lab.seen("b throw")), (1, 1));
}

#[test]
fn a_deleted_function_is_reported_and_the_poller_survives() {
    let lab = lab();
    streams::create_stream(&lab.store, "events", 1).unwrap();
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    let mapping = lab.map("counter", Source::Stream("events".into()), |_| {});
    delete_function(&lab.store, "counter").unwrap();
    lab.put("events", "k", "a");
    wait_for("the problem in the status", || {
        lab.status(&mapping)
            .first()
            .is_some_and(|s| s.last_result == "PROBLEM: Function does not exist")
    });
    lab.deploy("counter", "test_count_records", &COUNTER_GRANTS);
    wait_for("the record once the function is back", || {
        lab.seen("a") == 1
    });
}
