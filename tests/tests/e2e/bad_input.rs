//! Bad input: each is a clear error and a non-zero exit, and changes nothing
//! (checked afterwards with get, scan or read).

use eddy_tests::Eddy;
use serde_json::json;

const JANE: &str = r#"{"Username":{"S":"Jane Doe"}}"#;

fn users_table(eddy: &Eddy) {
    eddy.ok(&[
        "table",
        "create",
        "Users",
        "--partition-key",
        "Username:S",
        "--stream",
        "new-image",
    ]);
    eddy.ok(&[
        "table",
        "put",
        "Users",
        r#"{"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}"#,
    ]);
}

/// The table still holds exactly Jane with 100, and no change beyond her insert.
fn unchanged(eddy: &Eddy) {
    let items = eddy.ok(&["table", "scan", "Users"]).lines();
    assert_eq!(
        items,
        [json!({"Username": {"S": "Jane Doe"}, "Score": {"N": "100"}})]
    );
    let changes = eddy.ok(&["table", "changes", "Users"]).lines();
    assert_eq!(changes.len(), 1, "{changes:?}");
}

#[test]
fn malformed_json_arguments_are_named_and_nothing_is_sent() {
    let eddy = Eddy::new();
    // Refused before the data directory is even opened.
    eddy.fails(&["table", "put", "Users", "{not json"])
        .says(&["ITEM_JSON is not valid JSON"]);
    assert!(
        !eddy.data_dir().exists(),
        "a refused argument must not create the data directory"
    );

    users_table(&eddy);
    eddy.fails(&["table", "get", "Users", "[1,2]"])
        .says(&["KEY_JSON must be a JSON object"]);
    eddy.fails(&[
        "table",
        "update",
        "Users",
        JANE,
        "--update-expression",
        "ADD Score :v",
        "--values",
        "{\":v\":",
    ])
    .says(&["--values is not valid JSON"]);
    eddy.fails(&[
        "table",
        "update",
        "Users",
        JANE,
        "--update-expression",
        "SET #s = :v",
        "--names",
        "[]",
        "--values",
        r#"{":v":{"N":"1"}}"#,
    ])
    .says(&["--names must be a JSON object"]);
    eddy.fails(&["call", "DynamoDB_20120810.PutItem", "{\"TableName\":"])
        .says(&["REQUEST_JSON is not valid JSON"]);
    unchanged(&eddy);
}

#[test]
fn a_key_of_the_wrong_type_is_a_validation_error() {
    let eddy = Eddy::new();
    users_table(&eddy);
    eddy.fails(&[
        "table",
        "put",
        "Users",
        r#"{"Username":{"N":"7"},"Score":{"N":"1"}}"#,
    ])
    .says(&["ValidationException"]);
    eddy.fails(&["table", "put", "Users", r#"{"Score":{"N":"1"}}"#])
        .says(&["ValidationException"]);
    eddy.fails(&["table", "get", "Users", r#"{"Username":{"N":"7"}}"#])
        .says(&["ValidationException"]);
    unchanged(&eddy);
}

#[test]
fn unknown_tables_and_streams_are_resource_not_found() {
    let eddy = Eddy::new();
    users_table(&eddy);
    eddy.fails(&["table", "get", "Nope", JANE])
        .says(&["ResourceNotFoundException", "Requested resource not found"]);
    eddy.fails(&["table", "put", "Nope", JANE])
        .says(&["ResourceNotFoundException"]);
    eddy.fails(&["table", "describe", "Nope"])
        .says(&["ResourceNotFoundException"]);
    eddy.fails(&[
        "stream",
        "put",
        "Nope",
        "--partition-key",
        "k",
        "--data",
        "x",
    ])
    .says(&["ResourceNotFoundException", "Nope"]);
    eddy.fails(&["stream", "describe", "Nope"])
        .says(&["ResourceNotFoundException"]);
    eddy.fails(&["table", "create", "Users", "--partition-key", "Username:S"])
        .says(&["ResourceInUseException"]);
    unchanged(&eddy);
    assert_eq!(
        eddy.ok(&["stream", "list"]).json()["StreamNames"],
        json!([])
    );
}

#[test]
fn an_oversized_record_is_refused_and_not_stored() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "S", "--shards", "1"]);
    // 1 MiB + 1 bytes: one over Kinesis's limit. (A file: the kernel caps one
    // command-line argument at 128 KiB, so --data cannot carry it.)
    let file = eddy.scratch("big");
    std::fs::write(&file, "x".repeat((1 << 20) + 1)).unwrap();
    let run = eddy.fails(&[
        "stream",
        "put",
        "S",
        "--partition-key",
        "k",
        "--data-file",
        file.to_str().unwrap(),
    ]);
    assert!(
        run.stderr.contains("ValidationException")
            || run.stderr.contains("InvalidArgumentException"),
        "{}",
        run.stderr
    );
    // Data and partition key of exactly 1 MiB together fit.
    std::fs::write(&file, "x".repeat((1 << 20) - 1)).unwrap();
    eddy.ok(&[
        "stream",
        "put",
        "S",
        "--partition-key",
        "k",
        "--data-file",
        file.to_str().unwrap(),
    ]);
    let records = eddy
        .ok(&["stream", "read", "S", "--from", "trim-horizon"])
        .lines();
    assert_eq!(records.len(), 1, "only the record that fits is stored");
    assert_eq!(records[0]["Data"].as_str().unwrap().len(), (1 << 20) - 1);
}

#[test]
fn an_oversized_item_is_refused_and_not_stored() {
    let eddy = Eddy::new();
    users_table(&eddy);
    let item = json!({"Username": {"S": "Big"}, "blob": {"S": "x".repeat(400 * 1024 + 1)}});
    let file = eddy.scratch("item.json");
    std::fs::write(&file, item.to_string()).unwrap();
    eddy.fails(&["table", "put", "Users", &format!("@{}", file.display())])
        .says(&[
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        ]);
    assert_eq!(
        eddy.ok(&["table", "get", "Users", r#"{"Username":{"S":"Big"}}"#])
            .stdout,
        ""
    );
    unchanged(&eddy);
}

#[test]
fn invalid_expressions_are_validation_errors() {
    let eddy = Eddy::new();
    users_table(&eddy);
    eddy.fails(&[
        "table",
        "update",
        "Users",
        JANE,
        "--update-expression",
        "ADD Score",
    ])
    .says(&["ValidationException", "UpdateExpression"]);
    eddy.fails(&[
        "table",
        "update",
        "Users",
        JANE,
        "--update-expression",
        "SET Score = :missing",
    ])
    .says(&["ValidationException", ":missing"]);
    eddy.fails(&["table", "put", "Users", JANE, "--condition", "Score >"])
        .says(&["ValidationException", "ConditionExpression"]);
    eddy.fails(&[
        "table",
        "query",
        "Users",
        "--key-condition",
        "Nope = :v",
        "--values",
        r#"{":v":{"S":"x"}}"#,
    ])
    .says(&["ValidationException"]);
    unchanged(&eddy);
}

#[test]
fn bad_command_lines_are_usage_errors() {
    let eddy = Eddy::new();
    let run = eddy.run(&["stream", "read", "S", "--from", "oldest"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("trim-horizon"), "{}", run.stderr);
    let run = eddy.run(&["table", "create", "T", "--partition-key", "id:Q"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(!eddy.data_dir().exists());
}

#[test]
fn a_data_directory_in_use_is_reported_clearly() {
    let eddy = Eddy::new();
    let held =
        eddy_store::Store::open(&eddy.data_dir(), eddy_store::StoreOptions::default()).unwrap();
    eddy.fails(&["table", "list"])
        .says(&["in use by another eddy process"]);
    drop(held);
    eddy.ok(&["table", "list"]);
}
