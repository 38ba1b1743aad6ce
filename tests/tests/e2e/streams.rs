//! `eddy stream ...`: create, put, read in every --from form, list, describe, delete.

use std::cmp::Ordering;

use eddy_tests::Eddy;
use serde_json::Value;

use crate::seq_cmp;

fn put(eddy: &Eddy, stream: &str, key: &str, data: &str) -> Value {
    let out = eddy
        .ok(&[
            "stream",
            "put",
            stream,
            "--partition-key",
            key,
            "--data",
            data,
        ])
        .json();
    assert!(
        out["ShardId"].as_str().unwrap().starts_with("shardId-"),
        "{out}"
    );
    assert!(out["SequenceNumber"].is_string(), "{out}");
    assert_eq!(
        out.as_object().unwrap().len(),
        2,
        "only ShardId and SequenceNumber: {out}"
    );
    out
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

#[test]
fn put_then_read_from_trim_horizon_returns_every_record_decoded_in_order() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "Lab-Stream", "--shards", "1"]);
    let acks: Vec<Value> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|d| put(&eddy, "Lab-Stream", "user-1", d))
        .collect();
    let records = eddy
        .ok(&["stream", "read", "Lab-Stream", "--from", "trim-horizon"])
        .lines();
    assert_eq!(records.len(), 3, "{records:?}");
    for ((record, ack), data) in records.iter().zip(&acks).zip(["alpha", "beta", "gamma"]) {
        assert_eq!(record["Data"], data);
        assert_eq!(record["PartitionKey"], "user-1");
        assert_eq!(record["ShardId"], ack["ShardId"]);
        assert_eq!(record["SequenceNumber"], ack["SequenceNumber"]);
        assert!(
            record["ApproximateArrivalTimestamp"].is_number(),
            "{record}"
        );
        assert!(record.get("DataBase64").is_none());
    }
    let seqs: Vec<&str> = records
        .iter()
        .map(|r| str_of(r, "SequenceNumber"))
        .collect();
    assert!(
        seqs.windows(2)
            .all(|w| seq_cmp(w[0], w[1]) == Ordering::Less),
        "{seqs:?}"
    );
}

#[test]
fn at_after_latest_and_limit_start_where_they_say() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "S", "--shards", "1"]);
    let acks: Vec<Value> = (0..4)
        .map(|i| put(&eddy, "S", "k", &format!("r{i}")))
        .collect();
    let second = str_of(&acks[1], "SequenceNumber");
    let shard = str_of(&acks[1], "ShardId");
    let data = |run: eddy_tests::Run| -> Vec<String> {
        run.lines()
            .iter()
            .map(|r| str_of(r, "Data").to_string())
            .collect()
    };
    let at = format!("at:{second}");
    let after = format!("after:{second}");
    assert_eq!(
        data(eddy.ok(&["stream", "read", "S", "--from", &at])),
        ["r1", "r2", "r3"]
    );
    assert_eq!(
        data(eddy.ok(&["stream", "read", "S", "--from", &after])),
        ["r2", "r3"]
    );
    assert_eq!(
        data(eddy.ok(&[
            "stream", "read", "S", "--from", &at, "--shard", shard, "--limit", "2"
        ])),
        ["r1", "r2"]
    );
    assert_eq!(
        data(eddy.ok(&[
            "stream",
            "read",
            "S",
            "--from",
            "trim-horizon",
            "--limit",
            "1"
        ])),
        ["r0"]
    );
    // LATEST starts after the last record: nothing is there yet.
    assert!(
        eddy.ok(&["stream", "read", "S", "--from", "latest"])
            .lines()
            .is_empty()
    );
}

#[test]
fn several_shards_are_read_in_shard_order_and_by_shard() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "Multi", "--shards", "4"]);
    let acks: Vec<Value> = (0..40)
        .map(|i| put(&eddy, "Multi", &format!("key-{i}"), &format!("d{i}")))
        .collect();
    let records = eddy
        .ok(&["stream", "read", "Multi", "--from", "trim-horizon"])
        .lines();
    assert_eq!(records.len(), 40);
    let shards: Vec<&str> = records.iter().map(|r| str_of(r, "ShardId")).collect();
    assert!(
        shards.windows(2).all(|w| w[0] <= w[1]),
        "not in shard order: {shards:?}"
    );
    let distinct: std::collections::BTreeSet<&str> = shards.iter().copied().collect();
    assert!(
        distinct.len() > 1,
        "40 keys all hashed to one of 4 shards: {distinct:?}"
    );

    let shard = str_of(&acks[0], "ShardId");
    let one = eddy
        .ok(&[
            "stream",
            "read",
            "Multi",
            "--from",
            "trim-horizon",
            "--shard",
            shard,
        ])
        .lines();
    assert_eq!(one.len(), shards.iter().filter(|s| **s == shard).count());
    assert!(one.iter().all(|r| r["ShardId"] == shard));

    // A sequence number belongs to one shard: without --shard it is ambiguous.
    let at = format!("at:{}", str_of(&acks[0], "SequenceNumber"));
    eddy.fails(&["stream", "read", "Multi", "--from", &at])
        .says(&["--shard"]);
}

#[test]
fn binary_data_comes_back_as_base64() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "Bin", "--shards", "1"]);
    let file = eddy.scratch("blob");
    std::fs::write(&file, [0xffu8, 0x00, 0xfe]).unwrap();
    eddy.ok(&[
        "stream",
        "put",
        "Bin",
        "--partition-key",
        "k",
        "--data-file",
        file.to_str().unwrap(),
    ]);
    let records = eddy
        .ok(&["stream", "read", "Bin", "--from", "trim-horizon"])
        .lines();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["DataBase64"], "/wD+");
    assert!(records[0].get("Data").is_none());
}

#[test]
fn list_describe_and_delete() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "One", "--shards", "1"]);
    eddy.ok(&["stream", "create", "Two", "--shards", "3"]);
    let names = eddy.ok(&["stream", "list"]).json();
    assert_eq!(names["StreamNames"], serde_json::json!(["One", "Two"]));

    let description = eddy.ok(&["stream", "describe", "Two"]).json();
    let d = &description["StreamDescription"];
    assert_eq!(d["StreamName"], "Two");
    assert_eq!(d["Shards"].as_array().unwrap().len(), 3);
    assert!(str_of(d, "StreamARN").ends_with(":stream/Two"), "{d}");

    eddy.ok(&["stream", "delete", "One"]);
    let names = eddy.ok(&["stream", "list"]).json();
    assert_eq!(names["StreamNames"], serde_json::json!(["Two"]));
    eddy.fails(&["stream", "read", "One", "--from", "trim-horizon"])
        .says(&["ResourceNotFoundException"]);
}
