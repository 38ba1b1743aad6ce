//! `eddy table ...`: the lab's tables, item writes and reads, query, scan, admin.

use eddy_tests::Eddy;
use serde_json::{Value, json};

const JANE: &str = r#"{"Username":{"S":"Jane Doe"}}"#;

#[test]
fn the_labs_aggregation_by_hand_adds_up_to_200() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    eddy.ok(&[
        "table", "put", "GameScoreRecords",
        r#"{"RecordID":{"N":"2"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"},"Nickname":{"S":"JaneD"}}"#,
    ]);
    for _ in 0..2 {
        eddy.ok(&[
            "table",
            "update",
            "GameScoresByUser",
            JANE,
            "--update-expression",
            "ADD Score :attrValue",
            "--values",
            r#"{":attrValue":{"N":"100"}}"#,
        ]);
    }
    let item = eddy.ok(&["table", "get", "GameScoresByUser", JANE]).json();
    assert_eq!(
        item,
        json!({"Username": {"S": "Jane Doe"}, "Score": {"N": "200"}})
    );
    let record = eddy
        .ok(&[
            "table",
            "get",
            "GameScoreRecords",
            r#"{"RecordID":{"N":"2"}}"#,
        ])
        .json();
    assert_eq!(record["Nickname"], json!({"S": "JaneD"}));
}

#[test]
fn a_missing_item_prints_nothing_and_succeeds() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    let run = eddy.ok(&["table", "get", "GameScoresByUser", JANE]);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no item"), "{}", run.stderr);
}

#[test]
fn update_return_values_and_conditions() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    let new = eddy
        .ok(&[
            "table",
            "update",
            "GameScoresByUser",
            JANE,
            "--update-expression",
            "SET #n = :n ADD Score :s",
            "--names",
            r##"{"#n":"Nickname"}"##,
            "--values",
            r#"{":n":{"S":"JaneD"},":s":{"N":"5"}}"#,
            "--return-values",
            "ALL_NEW",
        ])
        .json();
    assert_eq!(new["Score"], json!({"N": "5"}));
    assert_eq!(new["Nickname"], json!({"S": "JaneD"}));

    // A failed condition is an error and leaves the item as it was.
    eddy.fails(&[
        "table",
        "update",
        "GameScoresByUser",
        JANE,
        "--update-expression",
        "ADD Score :s",
        "--condition",
        "Score > :big",
        "--values",
        r#"{":s":{"N":"1"},":big":{"N":"1000"}}"#,
    ])
    .says(&["ConditionalCheckFailedException"]);
    eddy.fails(&[
        "table",
        "put",
        "GameScoresByUser",
        r#"{"Username":{"S":"Jane Doe"}}"#,
        "--condition",
        "attribute_not_exists(Username)",
    ])
    .says(&["ConditionalCheckFailedException"]);
    let item = eddy.ok(&["table", "get", "GameScoresByUser", JANE]).json();
    assert_eq!(item["Score"], json!({"N": "5"}));
}

#[test]
fn delete_item_removes_it_and_can_return_it() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    eddy.ok(&[
        "table",
        "put",
        "GameScoresByUser",
        r#"{"Username":{"S":"Jane Doe"},"Score":{"N":"7"}}"#,
    ]);
    eddy.fails(&[
        "table",
        "delete-item",
        "GameScoresByUser",
        JANE,
        "--condition",
        "Score = :s",
        "--values",
        r#"{":s":{"N":"8"}}"#,
    ])
    .says(&["ConditionalCheckFailedException"]);
    let old = eddy
        .ok(&[
            "table",
            "delete-item",
            "GameScoresByUser",
            JANE,
            "--return-values",
            "ALL_OLD",
        ])
        .json();
    assert_eq!(old["Score"], json!({"N": "7"}));
    assert_eq!(
        eddy.ok(&["table", "get", "GameScoresByUser", JANE]).stdout,
        ""
    );
}

fn scores_table(eddy: &Eddy) {
    eddy.ok(&[
        "table",
        "create",
        "Scores",
        "--partition-key",
        "User:S",
        "--sort-key",
        "Game:N",
    ]);
    for (user, game, score) in [("ann", 10, 5), ("ann", 2, 9), ("ann", 33, 1), ("bob", 1, 4)] {
        let item = json!({"User": {"S": user}, "Game": {"N": game.to_string()}, "Score": {"N": score.to_string()}});
        eddy.ok(&["table", "put", "Scores", &item.to_string()]);
    }
}

fn games(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["Game"]["N"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn query_orders_by_sort_key_numerically_and_filters() {
    let eddy = Eddy::new();
    scores_table(&eddy);
    let ann = r#"{":u":{"S":"ann"}}"#;
    let q = |extra: &[&str]| {
        let mut args = vec![
            "table",
            "query",
            "Scores",
            "--key-condition",
            "#u = :u",
            "--names",
            r##"{"#u":"User"}"##,
        ];
        args.extend_from_slice(extra);
        eddy.ok(&args).lines()
    };
    assert_eq!(games(&q(&["--values", ann])), ["2", "10", "33"]);
    assert_eq!(
        games(&q(&["--values", ann, "--descending"])),
        ["33", "10", "2"]
    );
    assert_eq!(games(&q(&["--values", ann, "--limit", "2"])), ["2", "10"]);
    let filtered = q(&[
        "--values",
        r#"{":u":{"S":"ann"},":min":{"N":"2"}}"#,
        "--filter",
        "Score >= :min",
    ]);
    assert_eq!(games(&filtered), ["2", "10"]);
    let projected = q(&["--values", ann, "--projection", "Game"]);
    assert_eq!(projected[0], json!({"Game": {"N": "2"}}));
}

#[test]
fn scan_reads_every_item_and_follows_pages() {
    let eddy = Eddy::new();
    scores_table(&eddy);
    assert_eq!(eddy.ok(&["table", "scan", "Scores"]).lines().len(), 4);
    let few = eddy.ok(&[
        "table",
        "scan",
        "Scores",
        "--filter",
        "Score < :s",
        "--values",
        r#"{":s":{"N":"5"}}"#,
    ]);
    assert_eq!(few.lines().len(), 2);
    let one = eddy.ok(&["table", "scan", "Scores", "--limit", "1"]);
    assert_eq!(one.lines().len(), 1);
    assert!(one.stderr.contains("LastEvaluatedKey"), "{}", one.stderr);

    // Enough 30 KB items to need several 1 MB pages: the CLI follows them all.
    eddy.ok(&["table", "create", "Big", "--partition-key", "id:N"]);
    let blob = "x".repeat(30_000);
    let request = json!({"RequestItems": {"Big": (0..25).map(|i| json!({"PutRequest": {"Item": {"id": {"N": i.to_string()}, "blob": {"S": blob}}}})).collect::<Vec<_>>()}});
    for chunk in 0..3 {
        let mut r = request.clone();
        for put in r["RequestItems"]["Big"].as_array_mut().unwrap() {
            let id = put["PutRequest"]["Item"]["id"]["N"]
                .as_str()
                .unwrap()
                .parse::<u32>()
                .unwrap();
            put["PutRequest"]["Item"]["id"]["N"] = json!((id + chunk * 25).to_string());
        }
        let file = eddy.scratch("batch.json");
        std::fs::write(&file, r.to_string()).unwrap();
        let arg = format!("@{}", file.display());
        eddy.ok(&["call", "DynamoDB_20120810.BatchWriteItem", &arg]);
    }
    let mut ids: Vec<u32> = eddy
        .ok(&["table", "scan", "Big", "--projection", "id"])
        .lines()
        .iter()
        .map(|i| i["id"]["N"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..75).collect::<Vec<u32>>());
}

#[test]
fn list_describe_and_delete_tables() {
    let eddy = Eddy::new();
    eddy.create_lab_tables();
    let names = eddy.ok(&["table", "list"]).json();
    assert_eq!(
        names["TableNames"],
        json!(["GameScoreRecords", "GameScoresByUser"])
    );
    let table = eddy.ok(&["table", "describe", "GameScoreRecords"]).json();
    let t = &table["Table"];
    assert_eq!(t["TableName"], "GameScoreRecords");
    assert_eq!(
        t["KeySchema"],
        json!([{"AttributeName": "RecordID", "KeyType": "HASH"}])
    );
    assert_eq!(t["StreamSpecification"]["StreamViewType"], "NEW_IMAGE");
    assert!(t["LatestStreamArn"].is_string(), "{t}");

    eddy.ok(&["table", "delete", "GameScoresByUser"]);
    assert_eq!(
        eddy.ok(&["table", "list"]).json()["TableNames"],
        json!(["GameScoreRecords"])
    );
    eddy.fails(&["table", "get", "GameScoresByUser", JANE])
        .says(&["ResourceNotFoundException"]);
}
