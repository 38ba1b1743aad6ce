//! `eddy function`, `eddy invoke`, `eddy blueprints`, `eddy role`: the lab's
//! Task 3 (Kinesis blueprint) and Task 5 (score aggregator) through the CLI,
//! least-privilege roles, and refused code leaving the old version serving.

use std::path::PathBuf;

use eddy_tests::{Eddy, Run};
use serde_json::json;

const JANE: &str = r#"{"Username":{"S":"Jane Doe"}}"#;

/// The lab's `score` test event, verbatim.
fn score_event() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/events/score.json");
    path.to_string_lossy().into_owned()
}

/// The framed log: START ... Version: N, END and a REPORT line with every field.
fn assert_framed(run: &Run, version: u32) {
    let start = format!("Version: {version}");
    run.says(&[
        "START RequestId: ",
        &start,
        "END RequestId: ",
        "REPORT RequestId: ",
    ]);
    let report = run
        .stderr
        .lines()
        .find(|l| l.starts_with("REPORT"))
        .unwrap();
    for field in [
        "Duration: ",
        "Billed Duration: ",
        "Memory Size: 128 MB",
        "Max Memory Used: ",
        "Fuel Used: ",
    ] {
        assert!(report.contains(field), "REPORT lacks {field:?}: {report}");
    }
}

#[test]
fn the_kinesis_blueprint_logs_the_decoded_test_record() {
    let eddy = Eddy::new();
    let listed = eddy.ok(&["blueprints"]).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["kinesis-process-record", "dynamodb-aggregate-scores"]
    );
    let created = eddy
        .ok(&[
            "function",
            "create",
            "ProcessKinesisRecords",
            "--blueprint",
            "kinesis-process-record",
        ])
        .json();
    assert_eq!(created["timeout"], 3);
    assert_eq!(created["memory_mib"], 128);
    let run = eddy.ok(&["invoke", "ProcessKinesisRecords", "--template", "kinesis"]);
    assert_eq!(run.json(), json!("Successfully processed 1 records."));
    run.says(&["Decoded payload: Hello, this is a test 123."]);
    assert_framed(&run, 1);
}

#[test]
fn the_score_event_adds_janes_score_with_the_dynamodb_role() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    eddy.create_aggregator(Some("lambda_basic_execution_dynamodb"));
    let run = eddy.ok(&["invoke", "AggregateScoresByUser", "--event", &score_event()]);
    assert_eq!(run.json(), json!("Successfully processed 1 records."));
    assert_framed(&run, 1);
    let item = eddy.ok(&["table", "get", "GameScoresByUser", JANE]).json();
    assert_eq!(
        item,
        json!({"Username": {"S": "Jane Doe"}, "Score": {"N": "100"}})
    );
}

#[test]
fn the_basic_role_is_denied_and_writes_nothing() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    eddy.create_aggregator(Some("lambda_basic_execution"));
    let run = eddy.fails(&["invoke", "AggregateScoresByUser", "--event", &score_event()]);
    run.says(&["AccessDeniedException", "write:table/GameScoresByUser"]);
    assert_framed(&run, 1);
    let after = eddy.ok(&["table", "get", "GameScoresByUser", JANE]);
    assert_eq!(after.stdout, "", "a denied invocation must write nothing");
}

#[test]
fn refused_code_leaves_the_old_version_serving() {
    let eddy = Eddy::new();
    eddy.ok(&[
        "function",
        "create",
        "kl",
        "--blueprint",
        "kinesis-process-record",
    ]);
    let junk = eddy.scratch("not.wasm");
    std::fs::write(&junk, b"this is not WebAssembly").unwrap();
    let junk = junk.to_string_lossy().into_owned();
    eddy.fails(&["function", "update-code", "kl", "--wasm", &junk])
        .says(&["invalid function code"]);
    let versions = eddy.ok(&["function", "versions", "kl"]).json();
    assert_eq!(versions.as_array().unwrap().len(), 1);
    let run = eddy.ok(&["invoke", "kl", "--template", "kinesis"]);
    run.says(&["Decoded payload: Hello, this is a test 123."]);
    assert_framed(&run, 1);
}

#[test]
fn update_code_publishes_a_new_version_and_keeps_the_old_one() {
    let eddy = Eddy::new();
    eddy.ok(&[
        "function",
        "create",
        "f",
        "--blueprint",
        "kinesis-process-record",
    ]);
    let exported = eddy.scratch("agg.wasm");
    let exported = exported.to_string_lossy().into_owned();
    eddy.ok(&[
        "blueprints",
        "export",
        "dynamodb-aggregate-scores",
        "--output",
        &exported,
    ]);
    let updated = eddy
        .ok(&["function", "update-code", "f", "--wasm", &exported])
        .json();
    assert_eq!(updated["version"], 2);
    // Version 1 (the Kinesis logger) still answers the Kinesis event.
    let v1 = eddy.ok(&["invoke", "f", "--template", "kinesis", "--version", "1"]);
    v1.says(&["Decoded payload: Hello, this is a test 123."]);
    eddy.fails(&["invoke", "f", "--template", "kinesis", "--version", "3"])
        .says(&["ResourceNotFoundException"]);
    eddy.ok(&["function", "delete", "f"]);
    assert_eq!(eddy.ok(&["function", "list"]).json(), json!([]));
}

#[test]
fn roles_list_the_labs_two_and_bad_grants_are_refused() {
    let eddy = Eddy::new();
    let roles = eddy.ok(&["role", "list"]).json();
    assert_eq!(
        roles[0],
        json!({"name": "lambda_basic_execution", "grants": []})
    );
    assert_eq!(roles[1]["name"], "lambda_basic_execution_dynamodb");
    eddy.ok(&[
        "role",
        "create",
        "scores-writer",
        "--allow",
        "write:table/GameScoresByUser",
    ]);
    eddy.fails(&["role", "create", "bad", "--allow", "delete:everything"]);
    assert_eq!(
        eddy.ok(&["role", "list"]).json().as_array().unwrap().len(),
        3
    );
    eddy.fails(&[
        "function",
        "create",
        "g",
        "--blueprint",
        "kinesis-process-record",
        "--role",
        "nope",
    ])
    .says(&["InvalidParameterValueException", "cannot be assumed"]);
    assert_eq!(eddy.ok(&["function", "list"]).json(), json!([]));
}

#[test]
fn function_commands_and_raw_lambda_calls_share_the_dispatcher() {
    let eddy = Eddy::new();
    eddy.ok(&[
        "function",
        "create",
        "starved",
        "--blueprint",
        "kinesis-process-record",
        "--role",
        "lambda_basic_execution",
        "--env",
        "STAGE=lab",
        "--fuel",
        "1000",
    ]);
    let got = eddy.ok(&["function", "get", "starved"]).json();
    assert_eq!(got["role"], "lambda_basic_execution");
    assert_eq!(got["env"], json!({"STAGE": "lab"}));
    assert_eq!(got["fuel"], 1000);
    assert_eq!(got["versions"][0]["version"], 1);
    let raw = eddy
        .ok(&[
            "call",
            "Lambda_20150331.GetFunctionConfiguration",
            r#"{"FunctionName": "starved"}"#,
        ])
        .json();
    assert_eq!(raw["Runtime"], "wasm32-wasip2");
    assert_eq!(
        raw["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:starved"
    );
    // A sandbox failure: Lambda's error document on stdout, the framed log
    // and the named error on stderr, and a failing exit.
    let run = eddy.fails(&["invoke", "starved", "--template", "kinesis"]);
    assert_eq!(
        run.json(),
        json!({"errorType": "FuelExhausted", "errorMessage": "fuel exhausted"})
    );
    run.says(&["FuelExhausted: fuel exhausted"]);
    assert_framed(&run, 1);
    eddy.fails(&[
        "function",
        "create",
        "starved",
        "--blueprint",
        "kinesis-process-record",
    ])
    .says(&[
        "ResourceConflictException",
        "Function already exist: starved",
    ]);
}
