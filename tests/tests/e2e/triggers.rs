//! Triggers run by `eddy serve`, seen as a user sees them: several mappings
//! on one source each get every record; `eddy trigger list` and `eddy logs`
//! say why a trigger fired, failed or skipped records; a batch given up goes
//! to the on-failure destination, described.
//!
//! Each test waits on a condition with a generous deadline (never a sleep),
//! then stops the server and checks the stopped directory, where nothing moves
//! any more: every mapping's checkpoint is at its source's last record.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eddy_store::mappings::{self, Source};
use eddy_store::{Durability, Store, StoreOptions, checkpoints, tables};
use eddy_tests::{Eddy, Server};
use serde_json::{Value, json};

/// A guard against a hang, not a measure of speed.
const DEADLINE: Duration = Duration::from_secs(60);
/// What the count-records guest needs.
const COUNTER_GRANTS: [&str; 6] = [
    "--allow",
    "write:table/Counts",
    "--allow",
    "read:table/Counts",
    "--allow",
    "read:table/Control",
];

/// Waits until `check` holds, failing the test after DEADLINE.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The built test guest `name` (e.g. `test_count_records`).
fn guest(name: &str) -> &'static str {
    eddy_runtime::guests::path(name).unwrap_or_else(|| panic!("guest {name} was not built"))
}

/// Creates function `name` from the count-records test guest: it adds 1 to
/// `Seen` of `Counts` item `{"Id": <record id>}` and of `{"Id": "total"}`
/// per record (the record id is a stream record's data, a table change's
/// sequence number).
fn counter(eddy: &Eddy, name: &str) {
    let mut args = vec![
        "function",
        "create",
        name,
        "--wasm",
        guest("test_count_records"),
    ];
    args.extend(COUNTER_GRANTS);
    eddy.ok(&args);
}

/// Creates function `name` from the fail-records test guest: it logs
/// `record <sequence number>: ok` per record and fails the invocation on a
/// record containing `throw`.
fn judge(eddy: &Eddy, name: &str) {
    eddy.ok(&[
        "function",
        "create",
        name,
        "--wasm",
        guest("test_fail_records"),
    ]);
}

/// `eddy trigger create FUNCTION --source SOURCE --starting-position
/// trim-horizon EXTRA...`; returns the UUID.
fn trigger(eddy: &Eddy, function: &str, source: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "trigger",
        "create",
        function,
        "--source",
        source,
        "--starting-position",
        "trim-horizon",
    ];
    args.extend(extra);
    let created = eddy.ok(&args).json();
    created["UUID"].as_str().expect("a UUID").to_string()
}

/// `Seen` of the Counts item `id` (0 when there is none).
fn seen(eddy: &Eddy, id: &str) -> u64 {
    let key = json!({"Id": {"S": id}}).to_string();
    let got = eddy.ok(&["table", "get", "Counts", &key]);
    if got.stdout.trim().is_empty() {
        return 0;
    }
    let item = got.json();
    item["Seen"]["N"].as_str().map_or(0, |n| n.parse().unwrap())
}

/// `eddy stream put STREAM --partition-key KEY --data DATA`; the sequence number.
fn put(eddy: &Eddy, stream: &str, key: &str, data: &str) -> String {
    let put = eddy.ok(&[
        "stream",
        "put",
        stream,
        "--partition-key",
        key,
        "--data",
        data,
    ]);
    put.json()["SequenceNumber"]
        .as_str()
        .expect("a SequenceNumber")
        .to_string()
}

/// The sequence numbers of a table's change records, oldest first.
fn change_sequences(eddy: &Eddy, table: &str) -> Vec<String> {
    let changes = eddy.ok(&["table", "changes", table]).lines();
    changes
        .iter()
        .map(|c| {
            c["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The messages of `eddy logs FUNCTION` (each line without its timestamp).
fn log_messages(eddy: &Eddy, function: &str) -> Vec<String> {
    let log = eddy.ok(&["logs", function]).stdout;
    log.lines()
        .map(|l| {
            l.split_once(' ')
                .map_or(l, |(_, message)| message)
                .to_string()
        })
        .collect()
}

/// How often each message of `function`'s log that starts with `prefix`
/// appears, by the rest of the message.
fn tally(eddy: &Eddy, function: &str, prefix: &str) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for message in log_messages(eddy, function) {
        if let Some(rest) = message.strip_prefix(prefix) {
            *tally.entry(rest.to_string()).or_default() += 1;
        }
    }
    tally
}

/// `eddy trigger get UUID`.
fn mapping(eddy: &Eddy, uuid: &str) -> Value {
    eddy.ok(&["trigger", "get", uuid]).json()
}

/// The row of `eddy trigger list` (the table a user reads) for `uuid`.
fn list_row(eddy: &Eddy, uuid: &str) -> String {
    let list = eddy.ok(&["trigger", "list"]).stdout;
    let row = list.lines().find(|l| l.starts_with(uuid));
    row.unwrap_or_else(|| panic!("{uuid} is not listed:\n{list}"))
        .to_string()
}

/// Stops the server (SIGTERM, so the last logs are written) and checks that
/// every mapping has read its whole source: its checkpoint on each shard is
/// at the shard's last record.
fn stop_caught_up(eddy: &Eddy, server: Server) {
    let (code, said) = server.terminate();
    assert_eq!(code, Some(0), "{said}");
    let options = StoreOptions {
        durability: Durability::Durable,
        ..StoreOptions::default()
    };
    let store = Store::open(&eddy.data_dir(), options).expect("the store reopens");
    for m in mappings::list(&store).unwrap() {
        let source = mappings::resolve_source(&store, &m.source).unwrap();
        for shard in source.shards {
            let checkpoint = checkpoints::load(&store, &m.uuid, source.log, shard).unwrap();
            let after = checkpoint.unwrap_or(0);
            let unread = match &m.source {
                Source::Stream(name) => {
                    let page = mappings::read_stream(&store, name, shard, after, 10, 1 << 20);
                    page.unwrap().records.len()
                }
                Source::Table(_) => tables::read_changes(&store, source.log, after, 10)
                    .unwrap()
                    .len(),
            };
            assert_eq!(
                unread, 0,
                "{} ({:?}) left records unread on shard {shard} after {checkpoint:?}",
                m.uuid, m.source
            );
        }
    }
}

/// Counts and Control (the counter's tables), Events (with a change stream)
/// and the stream S.
fn sources(eddy: &Eddy, shards: &str) {
    for table in ["Counts", "Control"] {
        eddy.ok(&["table", "create", table, "--partition-key", "Id:S"]);
    }
    eddy.ok(&[
        "table",
        "create",
        "Events",
        "--partition-key",
        "Id:S",
        "--stream",
        "new-image",
    ]);
    eddy.ok(&["stream", "create", "S", "--shards", shards]);
}

/// Two counters, a judge and the lab's Kinesis logger on one Kinesis stream
/// (2 shards), and the counters and the judge on one table change stream:
/// seven mappings, each of which must deliver every record exactly once.
#[test]
fn every_mapping_of_one_source_gets_every_record_once() {
    let eddy = Eddy::new();
    let server = eddy.serve();
    sources(&eddy, "2");
    counter(&eddy, "counterA");
    counter(&eddy, "counterB");
    judge(&eddy, "judge");
    eddy.ok(&[
        "function",
        "create",
        "logger",
        "--blueprint",
        "kinesis-process-record",
    ]);
    for function in ["counterA", "counterB", "judge"] {
        trigger(&eddy, function, "stream/S", &[]);
        trigger(&eddy, function, "table/Events", &[]);
    }
    trigger(&eddy, "logger", "stream/S", &[]);

    let mut sequences = Vec::new();
    let stream_ids: Vec<String> = (0..12).map(|n| format!("k{n}")).collect();
    for (n, id) in stream_ids.iter().enumerate() {
        sequences.push(put(&eddy, "S", &format!("p{n}"), id));
    }
    for n in 0..8 {
        let item = json!({"Id": {"S": format!("i{n}")}, "n": {"N": n.to_string()}});
        eddy.ok(&["table", "put", "Events", &item.to_string()]);
    }
    let changes = change_sequences(&eddy, "Events");
    assert_eq!(changes.len(), 8);
    sequences.extend(changes.iter().cloned());

    // Two counters, each reading both sources.
    wait_for("every record counted twice", || seen(&eddy, "total") == 40);
    stop_caught_up(&eddy, server);

    assert_eq!(seen(&eddy, "total"), 40, "no record counted again later");
    for id in stream_ids.iter().chain(&changes) {
        assert_eq!(seen(&eddy, id), 2, "record {id}: once per counter");
    }
    // The judge's log names each record it was given, once.
    let judged = tally(&eddy, "judge", "record ");
    let expected: BTreeMap<String, usize> =
        sequences.iter().map(|s| (format!("{s}: ok"), 1)).collect();
    assert_eq!(judged, expected);
    // The logger decoded each stream record, once.
    let decoded = tally(&eddy, "logger", "Decoded payload: ");
    let expected: BTreeMap<String, usize> = stream_ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(decoded, expected);
}

/// The failure records a stream holds, parsed.
fn stream_failures(eddy: &Eddy, stream: &str) -> Vec<Value> {
    let records = eddy.ok(&["stream", "read", stream, "--from", "trim-horizon"]);
    records
        .lines()
        .iter()
        .map(|r| serde_json::from_str(r["Data"].as_str().expect("text data")).expect("JSON"))
        .collect()
}

/// A function failing on a record, as a user finds out: `trigger list` shows
/// the problem, `eddy logs` the record and the error; with its retries spent
/// the batch is given up, described on the on-failure destination (a stream
/// for a Kinesis source, a table for a table's change stream), and the
/// trigger goes on with the next records.
#[test]
fn a_failing_batch_is_shown_logged_and_given_up_to_the_destination() {
    let eddy = Eddy::new();
    let server = eddy.serve();
    sources(&eddy, "1");
    eddy.ok(&["stream", "create", "Failures", "--shards", "1"]);
    eddy.ok(&[
        "table",
        "create",
        "FailedBatches",
        "--partition-key",
        "Id:S",
    ]);
    judge(&eddy, "judge");
    let from_stream = trigger(
        &eddy,
        "judge",
        "stream/S",
        &["--max-retries", "1", "--on-failure", "stream/Failures"],
    );
    let from_table = trigger(
        &eddy,
        "judge",
        "table/Events",
        &["--max-retries", "0", "--on-failure", "table/FailedBatches"],
    );

    // One PutRecords: the three records are one batch.
    let records = json!({"StreamName": "S", "Records": [
        {"PartitionKey": "p", "Data": "YQ=="},           // "a"
        {"PartitionKey": "p", "Data": "YiB0aHJvdw=="},   // "b throw"
        {"PartitionKey": "p", "Data": "Yw=="},           // "c"
    ]});
    let putting = eddy.ok(&["call", "Kinesis_20131202.PutRecords", &records.to_string()]);
    let puts = putting.json();
    let seq = |i: usize| {
        puts["Records"][i]["SequenceNumber"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let items = json!({"RequestItems": {"Events": [
        {"PutRequest": {"Item": {"Id": {"S": "x throw"}}}},
        {"PutRequest": {"Item": {"Id": {"S": "y"}}}},
    ]}});
    eddy.ok(&[
        "call",
        "DynamoDB_20120810.BatchWriteItem",
        &items.to_string(),
    ]);
    let changes = change_sequences(&eddy, "Events");

    wait_for("the stream batch's description", || {
        !stream_failures(&eddy, "Failures").is_empty()
    });
    wait_for("the table batch's description", || {
        !eddy
            .ok(&["table", "scan", "FailedBatches"])
            .lines()
            .is_empty()
    });
    // `trigger list` says why these triggers did not get through.
    for uuid in [&from_stream, &from_table] {
        let row = list_row(&eddy, uuid);
        assert!(row.contains("PROBLEM: Function call failed"), "{row}");
        assert_eq!(
            mapping(&eddy, uuid)["LastProcessingResult"],
            "PROBLEM: Function call failed"
        );
    }

    // The Kinesis batch: invoked twice (one retry), then given up whole.
    let failures = stream_failures(&eddy, "Failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = &failures[0];
    assert_eq!(
        failure["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(failure["requestContext"]["approximateInvokeCount"], 2);
    assert!(
        failure["requestContext"]["functionArn"]
            .as_str()
            .unwrap()
            .ends_with(":function:judge")
    );
    let info = &failure["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 3);
    assert_eq!(info["startSequenceNumber"], seq(0));
    assert_eq!(info["endSequenceNumber"], seq(2));
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert!(info["streamArn"].as_str().unwrap().ends_with(":stream/S"));

    // The table batch: no retry, given up after its one invocation.
    let described = eddy.ok(&["table", "scan", "FailedBatches"]).lines();
    assert_eq!(described.len(), 1, "{described:?}");
    let context = &described[0]["requestContext"]["M"];
    assert_eq!(context["condition"]["S"], "RetryAttemptsExhausted");
    assert_eq!(context["approximateInvokeCount"]["N"], "1");
    let info = &described[0]["DDBStreamBatchInfo"]["M"];
    assert_eq!(info["batchSize"]["N"], "2");
    assert_eq!(info["startSequenceNumber"]["S"], changes[0].as_str());
    assert_eq!(info["endSequenceNumber"]["S"], changes[1].as_str());

    // The log shows each failing record and the error, once per invocation:
    // two for the stream, one for the table.
    let thrown = tally(&eddy, "judge", "record ");
    assert_eq!(thrown.get(&format!("{}: ok", seq(0))), Some(&2));
    assert_eq!(thrown.get(&format!("{}: throw", seq(1))), Some(&2));
    assert_eq!(thrown.get(&format!("{}: throw", changes[0])), Some(&1));
    let errors: Vec<String> = log_messages(&eddy, "judge")
        .into_iter()
        .filter(|m| m.starts_with("ERROR RequestId: "))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for error in &errors {
        assert!(
            error.contains(
                r#"Invoke Error {"errorType":"RequestedFailure","errorMessage":"record "#
            ),
            "{error}"
        );
    }

    // Given up, the batch is behind the trigger: the next record goes through.
    let next = put(&eddy, "S", "p", "d");
    wait_for("the next record", || {
        tally(&eddy, "judge", "record ").contains_key(&format!("{next}: ok"))
    });
    wait_for("an OK result", || {
        mapping(&eddy, &from_stream)["LastProcessingResult"] == "OK"
    });
    stop_caught_up(&eddy, server);
}

/// A filter that matches none of the records: the function is not invoked,
/// `trigger list` still says no records were processed (with an iterator
/// age: the poller read them), there is no log, and the trigger's place
/// moves past the records. A matching record then runs the function once.
#[test]
fn filtered_out_records_invoke_nothing_and_are_checkpointed_past() {
    let eddy = Eddy::new();
    let server = eddy.serve();
    sources(&eddy, "1");
    counter(&eddy, "counter");
    let uuid = trigger(
        &eddy,
        "counter",
        "stream/S",
        &["--filter", r#"{"data": {"keep": [true]}}"#],
    );
    // One PutRecords: the poller reads the three at once.
    let records = json!({"StreamName": "S", "Records": [
        {"PartitionKey": "p", "Data": "eyJrZWVwIjpmYWxzZX0="}, // {"keep":false}
        {"PartitionKey": "p", "Data": "bm90IGpzb24="},         // not json
        {"PartitionKey": "p", "Data": "eyJpZCI6M30="},         // {"id":3}
    ]});
    eddy.ok(&["call", "Kinesis_20131202.PutRecords", &records.to_string()]);
    wait_for("the poller to pass the records", || {
        mapping(&eddy, &uuid)
            .get("IteratorAgeMilliseconds")
            .is_some()
    });
    let row = list_row(&eddy, &uuid);
    assert!(row.contains("No records processed"), "{row}");
    assert!(row.trim_end().ends_with(" ms"), "an iterator age: {row}");
    // Never invoked, the function has no log group yet (as in Lambda).
    eddy.fails(&["logs", "counter"])
        .says(&["ResourceNotFoundException", "log group does not exist"]);
    assert_eq!(seen(&eddy, "total"), 0);

    let keep = put(&eddy, "S", "p", r#"{"keep":true}"#);
    wait_for("the matching record", || seen(&eddy, "total") == 1);
    assert_eq!(seen(&eddy, r#"{"keep":true}"#), 1);
    assert_eq!(mapping(&eddy, &uuid)["LastProcessingResult"], "OK");
    stop_caught_up(&eddy, server);
    let starts: Vec<String> = log_messages(&eddy, "counter")
        .into_iter()
        .filter(|m| m.starts_with("START RequestId: "))
        .collect();
    assert_eq!(starts.len(), 1, "one invocation, for {keep}: {starts:?}");
}
