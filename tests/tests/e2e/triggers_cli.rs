//! `eddy trigger`: creating, listing, showing, updating, enabling, disabling
//! and deleting event source mappings through the CLI, and what it refuses
//! (leaving nothing behind).

use eddy_tests::Eddy;
use serde_json::Value;

/// A data directory with the lab's Kinesis function and a 2-shard stream `S`.
fn with_stream_and_function() -> Eddy {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "S", "--shards", "2"]);
    eddy.ok(&[
        "function",
        "create",
        "ProcessKinesisRecords",
        "--blueprint",
        "kinesis-process-record",
    ]);
    eddy
}

fn listed(eddy: &Eddy) -> Vec<Value> {
    let all = eddy.ok(&["trigger", "list", "--json"]).json();
    all.as_array().unwrap().clone()
}

#[test]
fn a_trigger_lives_through_every_command() {
    let eddy = with_stream_and_function();
    let created = eddy
        .ok(&[
            "trigger",
            "create",
            "ProcessKinesisRecords",
            "--source",
            "stream/S",
            "--batch-size",
            "25",
            "--batching-window",
            "1500",
            "--max-retries",
            "2",
            "--max-record-age",
            "-1",
            "--bisect-on-error",
            "--on-failure",
            "stream/S",
            "--filter",
            r#"{"data":{"kind":["score"]}}"#,
            "--report-batch-item-failures",
        ])
        .json();
    let uuid = created["UUID"].as_str().unwrap().to_string();
    assert_eq!(created["State"], "Enabled");
    assert_eq!(created["StartingPosition"], "LATEST", "the CLI's default");
    assert_eq!(created["BatchSize"], 25);
    assert_eq!(created["MaximumBatchingWindowInSeconds"], 1.5);
    assert_eq!(created["MaximumRetryAttempts"], 2);
    assert_eq!(created["MaximumRecordAgeInSeconds"], -1);
    assert_eq!(created["BisectBatchOnFunctionError"], true);
    assert_eq!(
        created["EventSourceArn"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/S"
    );
    assert_eq!(
        created["DestinationConfig"]["OnFailure"]["Destination"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/S"
    );
    assert_eq!(
        created["FilterCriteria"]["Filters"][0]["Pattern"],
        r#"{"data":{"kind":["score"]}}"#
    );
    assert_eq!(
        created["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );

    let table = eddy.ok(&["trigger", "list"]).stdout;
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for column in [
        "UUID",
        "FUNCTION",
        "SOURCE",
        "STATE",
        "LAST RESULT",
        "ITERATOR AGE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = lines.next().unwrap();
    for cell in [
        uuid.as_str(),
        "ProcessKinesisRecords",
        "stream/S",
        "Enabled",
        "No records processed",
    ] {
        assert!(row.contains(cell), "{row}");
    }
    assert!(row.trim_end().ends_with('-'), "no iterator age yet: {row}");
    assert_eq!(lines.next(), None);

    let got = eddy.ok(&["trigger", "get", &uuid]).json();
    assert_eq!(got["UUID"], created["UUID"]);
    assert_eq!(got["BatchSize"], 25);

    let updated = eddy
        .ok(&[
            "trigger",
            "update",
            &uuid,
            "--batch-size",
            "7",
            "--on-failure",
            "none",
            "--clear-filters",
            "--report-batch-item-failures",
            "false",
        ])
        .json();
    assert_eq!(updated["BatchSize"], 7);
    assert!(
        updated["DestinationConfig"]["OnFailure"]
            .get("Destination")
            .is_none()
    );
    assert!(updated.get("FilterCriteria").is_none());
    assert_eq!(updated["FunctionResponseTypes"], serde_json::json!([]));
    assert_eq!(updated["MaximumRetryAttempts"], 2, "untouched");

    let disabled = eddy.ok(&["trigger", "disable", &uuid]).json();
    assert_eq!(disabled["State"], "Disabled");
    assert_eq!(listed(&eddy)[0]["State"], "Disabled");
    let enabled = eddy.ok(&["trigger", "enable", &uuid]).json();
    assert_eq!(enabled["State"], "Enabled");

    let deleted = eddy.ok(&["trigger", "delete", &uuid]).json();
    assert_eq!(deleted["State"], "Deleting");
    assert!(listed(&eddy).is_empty());
    eddy.fails(&["trigger", "get", &uuid])
        .says(&["ResourceNotFoundException"]);
    eddy.fails(&["trigger", "delete", &uuid])
        .says(&["ResourceNotFoundException"]);
}

#[test]
fn a_table_trigger_reads_the_tables_change_stream() {
    let eddy = Eddy::new();
    let created = eddy.create_lab_aggregator_trigger(None);
    assert_eq!(created["StartingPosition"], "TRIM_HORIZON");
    let arn = created["EventSourceArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/GameScoreRecords/stream/"),
        "{arn}"
    );
    let row = eddy.ok(&["trigger", "list"]).stdout;
    assert!(row.contains("table/GameScoreRecords"), "{row}");
    // A table without a change stream cannot be a source.
    eddy.fails(&[
        "trigger",
        "create",
        "AggregateScoresByUser",
        "--source",
        "table/GameScoresByUser",
    ])
    .says(&["InvalidParameterValueException", "has no enabled stream"]);
}

#[test]
fn refused_triggers_leave_nothing_behind() {
    let eddy = with_stream_and_function();
    let refusals: [(&[&str], &[&str]); 7] = [
        (
            &["trigger", "create", "Nope", "--source", "stream/S"],
            &["ResourceNotFoundException", "Function not found"],
        ),
        (
            &[
                "trigger",
                "create",
                "ProcessKinesisRecords",
                "--source",
                "stream/Missing",
            ],
            &["InvalidParameterValueException", "Stream not found"],
        ),
        (
            &[
                "trigger",
                "create",
                "ProcessKinesisRecords",
                "--source",
                "stream/S",
                "--starting-position",
                "oldest",
            ],
            &["trim-horizon, latest or at-timestamp"],
        ),
        (
            &[
                "trigger",
                "create",
                "ProcessKinesisRecords",
                "--source",
                "stream/S",
                "--filter",
                r#"{"data": "score"}"#,
            ],
            &[
                "InvalidParameterValueException",
                "Invalid filter pattern definition.",
            ],
        ),
        (
            &[
                "trigger",
                "create",
                "ProcessKinesisRecords",
                "--source",
                "stream/S",
                "--batch-size",
                "0",
            ],
            &["ValidationException", "batchSize"],
        ),
        (
            &[
                "trigger",
                "create",
                "ProcessKinesisRecords",
                "--source",
                "stream/S",
                "--max-record-age",
                "10",
            ],
            &[
                "InvalidParameterValueException",
                "MaximumRecordAgeInSeconds",
            ],
        ),
        (
            &[
                "trigger",
                "update",
                "00000000-0000-4000-8000-000000000000",
                "--batch-size",
                "5",
            ],
            &["ResourceNotFoundException"],
        ),
    ];
    for (args, says) in refusals {
        eddy.fails(args).says(says);
    }
    assert!(listed(&eddy).is_empty());
    // The same function may read a source only once; another function may too.
    eddy.ok(&[
        "trigger",
        "create",
        "ProcessKinesisRecords",
        "--source",
        "stream/S",
    ]);
    eddy.fails(&[
        "trigger",
        "create",
        "ProcessKinesisRecords",
        "--source",
        "stream/S",
    ])
    .says(&[
        "ResourceConflictException",
        "Please update or delete the existing mapping",
    ]);
    assert_eq!(listed(&eddy).len(), 1);
}

#[test]
fn at_timestamp_takes_an_rfc3339_time() {
    let eddy = with_stream_and_function();
    let created = eddy
        .ok(&[
            "trigger",
            "create",
            "ProcessKinesisRecords",
            "--source",
            "stream/S",
            "--starting-position",
            "at-timestamp:2023-11-14T22:13:20Z",
        ])
        .json();
    assert_eq!(created["StartingPosition"], "AT_TIMESTAMP");
    assert_eq!(created["StartingPositionTimestamp"], 1_700_000_000.0);
}
