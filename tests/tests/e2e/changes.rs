//! `eddy table changes`: change records for inserts, modifies and removes.

use eddy_tests::Eddy;
use serde_json::json;

#[test]
fn inserts_modifies_and_removes_appear_in_order_with_their_images() {
    let eddy = Eddy::new();
    eddy.ok(&[
        "table",
        "create",
        "GameScoreRecords",
        "--partition-key",
        "RecordID:N",
        "--stream",
        "new-image",
    ]);
    let key = r#"{"RecordID":{"N":"1"}}"#;
    eddy.ok(&[
        "table",
        "put",
        "GameScoreRecords",
        r#"{"RecordID":{"N":"1"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}"#,
    ]);
    eddy.ok(&[
        "table",
        "update",
        "GameScoreRecords",
        key,
        "--update-expression",
        "SET Score = :s",
        "--values",
        r#"{":s":{"N":"150"}}"#,
    ]);
    eddy.ok(&["table", "delete-item", "GameScoreRecords", key]);

    let changes = eddy.ok(&["table", "changes", "GameScoreRecords"]).lines();
    let names: Vec<&str> = changes
        .iter()
        .map(|c| c["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    for change in &changes {
        assert_eq!(change["eventSource"], "aws:dynamodb");
        assert_eq!(change["dynamodb"]["Keys"], json!({"RecordID": {"N": "1"}}));
        assert_eq!(change["dynamodb"]["StreamViewType"], "NEW_IMAGE");
        assert!(change["dynamodb"].get("OldImage").is_none(), "{change}");
    }
    assert_eq!(
        changes[0]["dynamodb"]["NewImage"],
        json!({"RecordID": {"N": "1"}, "Username": {"S": "Jane Doe"}, "Score": {"N": "100"}})
    );
    assert_eq!(
        changes[1]["dynamodb"]["NewImage"]["Score"],
        json!({"N": "150"})
    );
    assert!(changes[2]["dynamodb"].get("NewImage").is_none());

    let first = eddy
        .ok(&["table", "changes", "GameScoreRecords", "--limit", "1"])
        .lines();
    assert_eq!(first.len(), 1);
    assert!(
        eddy.ok(&["table", "changes", "GameScoreRecords", "--from", "latest"])
            .lines()
            .is_empty()
    );
}

#[test]
fn a_table_without_a_stream_says_how_to_get_one() {
    let eddy = Eddy::new();
    eddy.ok(&["table", "create", "Plain", "--partition-key", "id:S"]);
    eddy.fails(&["table", "changes", "Plain"])
        .says(&["--stream"]);
}
