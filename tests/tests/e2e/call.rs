//! `eddy call`: any operation, raw, with the request inline, from stdin or a file.

use eddy_tests::Eddy;
use serde_json::json;

#[test]
fn raw_operations_round_trip_through_every_input_form() {
    let eddy = Eddy::new();
    let create = json!({
        "TableName": "Music",
        "KeySchema": [{"AttributeName": "Artist", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "Artist", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let out = eddy
        .ok(&["call", "DynamoDB_20120810.CreateTable", &create.to_string()])
        .json();
    assert_eq!(out["TableDescription"]["TableName"], "Music");

    let put =
        json!({"TableName": "Music", "Item": {"Artist": {"S": "Acme Band"}, "Plays": {"N": "3"}}});
    let run = eddy.run_with_stdin(
        &["call", "DynamoDB_20120810.PutItem", "-"],
        Some(put.to_string().as_bytes()),
    );
    assert!(run.success, "{}", run.stderr);

    let file = eddy.scratch("get.json");
    std::fs::write(
        &file,
        json!({"TableName": "Music", "Key": {"Artist": {"S": "Acme Band"}}}).to_string(),
    )
    .unwrap();
    let got = eddy
        .ok(&[
            "call",
            "DynamoDB_20120810.GetItem",
            &format!("@{}", file.display()),
        ])
        .json();
    assert_eq!(got["Item"]["Plays"], json!({"N": "3"}));

    // The CLI's own commands see what `call` wrote: there is one way through.
    let item = eddy
        .ok(&["table", "get", "Music", r#"{"Artist":{"S":"Acme Band"}}"#])
        .json();
    assert_eq!(item["Plays"], json!({"N": "3"}));

    let streams = eddy
        .ok(&["call", "Kinesis_20131202.ListStreams", "{}"])
        .json();
    assert_eq!(streams["StreamNames"], json!([]));
}

#[test]
fn unknown_operations_are_refused_by_name() {
    let eddy = Eddy::new();
    eddy.fails(&["call", "DynamoDB_20120810.Frobnicate", "{}"])
        .says(&["Frobnicate"]);
    eddy.fails(&["call", "GetItem", "{}"])
        .says(&["UnknownOperationException"]);
}
