//! DynamoDB edge cases against AWS's documented behaviour: each refused request
//! gets AWS's error type and the key part of its message, and changes nothing.
//! Messages are DynamoDB's as recorded by dynalite's tests against AWS.

use serde_json::{Value, json};

use super::{Ctx, ddb, dds};

const TABLE: &str = "edges";
const HASH_TABLE: &str = "hashonly";

/// Table `edges` (pk S, sk N, change stream NEW_AND_OLD_IMAGES) with items
/// (a,1) (a,2) (a,3) (b,1); table `hashonly` (pk S) empty.
fn ctx() -> Ctx {
    let c = Ctx::new();
    c.ok(
        &ddb("CreateTable"),
        json!({
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        }),
    );
    c.ok(&ddb("CreateTable"), hash_table(HASH_TABLE));
    for (pk, sk) in [("a", "1"), ("a", "2"), ("a", "3"), ("b", "1")] {
        put(
            &c,
            json!({"pk": {"S": pk}, "sk": {"N": sk}, "s": {"S": "text"}}),
        );
    }
    c
}

fn hash_table(name: &str) -> Value {
    json!({
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
}

fn put(c: &Ctx, item: Value) -> Value {
    c.ok(&ddb("PutItem"), json!({"TableName": TABLE, "Item": item}))
}

/// Everything a refused request must not change: both tables' items, their
/// counts, the table list and the change stream's records.
fn snapshot(c: &Ctx) -> Value {
    let scan = |t: &str| c.ok(&ddb("Scan"), json!({"TableName": t}))["Items"].clone();
    let count = |t: &str| {
        c.ok(&ddb("DescribeTable"), json!({"TableName": t}))["Table"]["ItemCount"].clone()
    };
    json!({
        "items": scan(TABLE),
        "hash_items": scan(HASH_TABLE),
        "count": count(TABLE),
        "hash_count": count(HASH_TABLE),
        "tables": c.ok(&ddb("ListTables"), json!({}))["TableNames"],
        "changes": changes(c),
    })
}

/// Every change record of `edges`' stream.
fn changes(c: &Ctx) -> Vec<Value> {
    let arn = c.ok(&ddb("DescribeTable"), json!({"TableName": TABLE}))["Table"]["LatestStreamArn"]
        .clone();
    let desc = c.ok(&dds("DescribeStream"), json!({"StreamArn": arn}));
    let shard = desc["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let mut iterator = c.ok(
        &dds("GetShardIterator"),
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    )["ShardIterator"]
        .clone();
    let mut all = Vec::new();
    loop {
        let page = c.ok(&dds("GetRecords"), json!({"ShardIterator": iterator}));
        let records = page["Records"].as_array().cloned().unwrap_or_default();
        if records.is_empty() {
            return all;
        }
        all.extend(records);
        iterator = page["NextShardIterator"].clone();
    }
}

/// Asserts `op` is refused as AWS refuses it and that nothing changed.
fn refused_unchanged(c: &Ctx, op: &str, body: Value, error_type: &str, needle: &str) {
    let before = snapshot(c);
    c.refused(&ddb(op), body, error_type, needle);
    assert_eq!(
        snapshot(c),
        before,
        "{op} changed the store although refused"
    );
}

fn get(c: &Ctx, pk: &str, sk: &str) -> Value {
    c.ok(
        &ddb("GetItem"),
        json!({"TableName": TABLE, "Key": {"pk": {"S": pk}, "sk": {"N": sk}}}),
    )["Item"]
        .clone()
}

// --- Limits -------------------------------------------------------------

#[test]
fn query_and_scan_limit_below_one_is_refused() {
    let c = ctx();
    for limit in [json!(0), json!(-1), json!(i64::MIN)] {
        let query = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                           "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": limit});
        c.refused(
            &ddb("Query"),
            query,
            "ValidationException",
            "greater than or equal to 1",
        );
        let scan = json!({"TableName": TABLE, "Limit": limit});
        c.refused(
            &ddb("Scan"),
            scan,
            "ValidationException",
            "greater than or equal to 1",
        );
    }
}

#[test]
fn query_and_scan_limit_huge_is_not_a_panic_and_means_everything() {
    let c = ctx();
    let query = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": i32::MAX});
    assert_eq!(c.ok(&ddb("Query"), query)["Count"], 3);
    let scan = json!({"TableName": TABLE, "Limit": i32::MAX});
    assert_eq!(c.ok(&ddb("Scan"), scan)["Count"], 4);
    // Beyond Integer: AWS cannot even deserialize it; any client error will do,
    // but never a panic or a 500.
    for limit in [json!(u64::MAX), json!(1e300), json!(1.5), json!("5")] {
        let e = c.err(&ddb("Scan"), json!({"TableName": TABLE, "Limit": limit}));
        assert_eq!(e.status, 400, "{e}");
    }
}

#[test]
fn query_limit_one_pages_through_everything_exactly_once() {
    let c = ctx();
    let mut seen = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut q = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                           "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 1});
        if let Some(s) = start.take() {
            q["ExclusiveStartKey"] = s;
        }
        let page = c.ok(&ddb("Query"), q);
        seen.extend(page["Items"].as_array().cloned().unwrap_or_default());
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
        assert!(seen.len() <= 3, "paging does not end: {seen:?}");
    }
    let sks: Vec<&Value> = seen.iter().map(|i| &i["sk"]["N"]).collect();
    assert_eq!(sks, [&json!("1"), &json!("2"), &json!("3")]);
}

#[test]
fn list_tables_limit_is_one_to_one_hundred() {
    let c = ctx();
    c.refused(
        &ddb("ListTables"),
        json!({"Limit": 0}),
        "ValidationException",
        "greater than or equal to 1",
    );
    c.refused(
        &ddb("ListTables"),
        json!({"Limit": 101}),
        "ValidationException",
        "less than or equal to 100",
    );
    let page = c.ok(&ddb("ListTables"), json!({"Limit": 1}));
    assert_eq!(page["TableNames"], json!([TABLE]));
    assert_eq!(page["LastEvaluatedTableName"], json!(TABLE));
    let rest = c.ok(
        &ddb("ListTables"),
        json!({"Limit": 100, "ExclusiveStartTableName": TABLE}),
    );
    assert_eq!(rest["TableNames"], json!([HASH_TABLE]));
}

#[test]
fn list_tables_negative_limit_is_a_validation_error() {
    let c = ctx();
    c.refused(
        &ddb("ListTables"),
        json!({"Limit": -5}),
        "ValidationException",
        "greater than or equal to 1",
    );
}

// --- ExclusiveStartKey --------------------------------------------------

const BAD_START_KEYS: [&str; 5] = [
    r#"{"pk": {"S": "a"}}"#,                      // sort key missing
    r#"{"pk": {"S": "a"}, "sk": {"S": "1"}}"#,    // wrong sort key type
    r#"{"pk": {"N": "1"}, "sk": {"N": "1"}}"#,    // wrong hash key type
    r#"{"other": {"S": "a"}, "sk": {"N": "1"}}"#, // wrong name
    r#"{"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}"#, // extra attribute
];

fn start_key_requests() -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for key in BAD_START_KEYS {
        let key: Value = serde_json::from_str(key).unwrap_or_default();
        let q = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": "a"}}, "ExclusiveStartKey": key});
        out.push(("Query", q));
        out.push((
            "Scan",
            json!({"TableName": TABLE, "ExclusiveStartKey": key}),
        ));
    }
    out
}

#[test]
fn exclusive_start_key_not_matching_the_schema_is_refused() {
    let c = ctx();
    for (op, body) in start_key_requests() {
        c.refused(&ddb(op), body, "ValidationException", "");
    }
}

#[test]
fn exclusive_start_key_errors_say_the_starting_key_is_invalid() {
    let c = ctx();
    for (op, body) in start_key_requests() {
        c.refused(
            &ddb(op),
            body,
            "ValidationException",
            "The provided starting key is invalid",
        );
    }
}

// --- Key conditions and segments ---------------------------------------

#[test]
fn begins_with_on_a_number_sort_key_is_refused() {
    let c = ctx();
    let q = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                   "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "1"}}});
    c.refused(&ddb("Query"), q, "ValidationException", "begins_with");
    // And with a string operand against the N key: a type mismatch, also refused.
    let q = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                   "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"S": "1"}}});
    c.err(&ddb("Query"), q);
}

#[test]
fn query_without_partition_key_equality_is_refused() {
    let c = ctx();
    let q = json!({"TableName": TABLE, "KeyConditionExpression": "sk = :s",
                   "ExpressionAttributeValues": {":s": {"N": "1"}}});
    c.refused(
        &ddb("Query"),
        q,
        "ValidationException",
        "Query condition missed key schema element",
    );
    let q = json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                   "ExpressionAttributeValues": {":p": {"N": "1"}}});
    c.refused(&ddb("Query"), q, "ValidationException", "");
}

#[test]
fn scan_segment_must_be_less_than_total_segments() {
    let c = ctx();
    c.refused(
        &ddb("Scan"),
        json!({"TableName": TABLE, "Segment": 2, "TotalSegments": 2}),
        "ValidationException",
        "Segment: 2 is not less than TotalSegments: 2",
    );
    c.refused(
        &ddb("Scan"),
        json!({"TableName": TABLE, "Segment": 0, "TotalSegments": 0}),
        "ValidationException",
        "totalSegments",
    );
    c.refused(
        &ddb("Scan"),
        json!({"TableName": TABLE, "Segment": 0, "TotalSegments": 1_000_001}),
        "ValidationException",
        "less than or equal to 1000000",
    );
    c.refused(
        &ddb("Scan"),
        json!({"TableName": TABLE, "Segment": 0}),
        "ValidationException",
        "TotalSegments",
    );
    c.refused(
        &ddb("Scan"),
        json!({"TableName": TABLE, "TotalSegments": 2}),
        "ValidationException",
        "Segment",
    );
    let e = c.err(
        &ddb("Scan"),
        json!({"TableName": TABLE, "Segment": -1, "TotalSegments": 2}),
    );
    assert_eq!(e.status, 400);
    // The segments partition the table: together they hold every item once.
    let mut total = 0;
    for segment in 0..3 {
        let page = c.ok(
            &ddb("Scan"),
            json!({"TableName": TABLE, "Segment": segment, "TotalSegments": 3}),
        );
        total += page["Count"].as_u64().unwrap_or(0);
    }
    assert_eq!(total, 4);
}

// --- Batches -------------------------------------------------------------

fn put_request(i: usize) -> Value {
    json!({"PutRequest": {"Item": {"pk": {"S": format!("batch{i}")}}}})
}

#[test]
fn batch_write_item_over_25_requests_is_refused() {
    let c = ctx();
    let requests: Vec<Value> = (0..26).map(put_request).collect();
    // dynalite (recorded against AWS) reports a single table's 26 as the
    // member constraint "length less than or equal to 25"; DynamoDB Local says
    // "Too many items requested for the BatchWriteItem call". Either is right.
    let before = snapshot(&c);
    let e = c.err(
        &ddb("BatchWriteItem"),
        json!({"RequestItems": {HASH_TABLE: requests}}),
    );
    assert_eq!(e.error_type, "ValidationException", "{e}");
    assert!(
        e.message.contains("less than or equal to 25")
            || e.message
                .contains("Too many items requested for the BatchWriteItem call"),
        "{e}"
    );
    assert_eq!(snapshot(&c), before);
    // The limit is 25 in total, over all tables.
    let a: Vec<Value> = (0..13).map(put_request).collect();
    let b: Vec<Value> = (0..13)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": format!("x{i}")}, "sk": {"N": "9"}}}}))
        .collect();
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {HASH_TABLE: a, TABLE: b}}),
        "ValidationException",
        "Too many items requested for the BatchWriteItem call",
    );
    let ok: Vec<Value> = (0..25).map(put_request).collect();
    c.ok(
        &ddb("BatchWriteItem"),
        json!({"RequestItems": {HASH_TABLE: ok}}),
    );
    assert_eq!(
        c.ok(&ddb("Scan"), json!({"TableName": HASH_TABLE}))["Count"],
        25
    );
}

#[test]
fn batch_write_item_empty_or_unknown_table_is_refused() {
    let c = ctx();
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {}}),
        "ValidationException",
        "greater than or equal to 1",
    );
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {HASH_TABLE: []}}),
        "ValidationException",
        "greater than or equal to 1",
    );
    // An unknown table fails the whole batch: the known table's put is not written.
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {HASH_TABLE: [put_request(1)], "nosuchtable": [put_request(2)]}}),
        "ResourceNotFoundException",
        "Requested resource not found",
    );
    // A request with both or neither of PutRequest / DeleteRequest.
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {HASH_TABLE: [{}]}}),
        "ValidationException",
        "",
    );
    // Two operations on the same key in one batch.
    refused_unchanged(
        &c,
        "BatchWriteItem",
        json!({"RequestItems": {HASH_TABLE: [put_request(1), put_request(1)]}}),
        "ValidationException",
        "Provided list of item keys contains duplicates",
    );
}

#[test]
fn batch_get_item_over_100_keys_is_refused() {
    let c = ctx();
    let keys: Vec<Value> = (0..101)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    c.refused(
        &ddb("BatchGetItem"),
        json!({"RequestItems": {HASH_TABLE: {"Keys": keys}}}),
        "ValidationException",
        "Too many items requested for the BatchGetItem call",
    );
    let keys: Vec<Value> = (0..100)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    let got = c.ok(
        &ddb("BatchGetItem"),
        json!({"RequestItems": {HASH_TABLE: {"Keys": keys}}}),
    );
    assert_eq!(got["Responses"][HASH_TABLE], json!([]));
    c.refused(
        &ddb("BatchGetItem"),
        json!({"RequestItems": {}}),
        "ValidationException",
        "greater than or equal to 1",
    );
    c.refused(
        &ddb("BatchGetItem"),
        json!({"RequestItems": {HASH_TABLE: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}}}),
        "ValidationException",
        "Provided list of item keys contains duplicates",
    );
}

// --- Numbers ------------------------------------------------------------

#[test]
fn numbers_at_the_edges_of_dynamodb_range() {
    let c = ctx();
    let accepted = [
        "12345678901234567890123456789012345678", // 38 significant digits
        "1234567890123456789012345678901234567800000", // 38 significant, trailing zeros
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "-1E-130",
    ];
    for (i, n) in accepted.iter().enumerate() {
        put(
            &c,
            json!({"pk": {"S": "num"}, "sk": {"N": i.to_string()}, "v": {"N": n}}),
        );
        let back = get(&c, "num", &i.to_string());
        assert_eq!(
            back["v"]["N"].as_str().map(|s| s.to_string()),
            Some(normalised(n)),
            "{n}"
        );
    }
    let refused = [
        (
            "123456789012345678901234567890123456789",
            "38 significant digits",
        ),
        ("1E-131", "Number underflow"),
        ("1E+126", "Number overflow"),
        ("-1E+126", "Number overflow"),
        ("", "The parameter cannot be converted to a numeric value"),
        ("1e", "The parameter cannot be converted to a numeric value"),
        (
            "NaN",
            "The parameter cannot be converted to a numeric value",
        ),
        (
            "Infinity",
            "The parameter cannot be converted to a numeric value",
        ),
        (
            "0x10",
            "The parameter cannot be converted to a numeric value",
        ),
        (" 1", "The parameter cannot be converted to a numeric value"),
    ];
    for (n, needle) in refused {
        refused_unchanged(
            &c,
            "PutItem",
            json!({"TableName": TABLE, "Item": {"pk": {"S": "num"}, "sk": {"N": "99"}, "v": {"N": n}}}),
            "ValidationException",
            needle,
        );
    }
}

/// How DynamoDB returns the accepted numbers above.
fn normalised(n: &str) -> String {
    match n {
        "1E-130" => format!("0.{}1", "0".repeat(129)),
        "-1E-130" => format!("-0.{}1", "0".repeat(129)),
        "9.9999999999999999999999999999999999999E+125" => {
            format!("{}{}", "9".repeat(38), "0".repeat(88))
        }
        "-9.9999999999999999999999999999999999999E+125" => {
            format!("-{}{}", "9".repeat(38), "0".repeat(88))
        }
        other => other.to_string(),
    }
}

#[test]
fn add_overflowing_the_range_is_refused_and_changes_nothing() {
    let c = ctx();
    put(
        &c,
        json!({"pk": {"S": "n"}, "sk": {"N": "1"}, "v": {"N": "9.9999999999999999999999999999999999999E+125"}}),
    );
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "n"}, "sk": {"N": "1"}},
               "UpdateExpression": "ADD v :big",
               "ExpressionAttributeValues": {":big": {"N": "9.9999999999999999999999999999999999999E+125"}}}),
        "ValidationException",
        "Number overflow",
    );
    // 38 digits + a digit below the last: DynamoDB refuses inexact results.
    put(
        &c,
        json!({"pk": {"S": "n"}, "sk": {"N": "2"}, "v": {"N": "12345678901234567890123456789012345678"}}),
    );
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "n"}, "sk": {"N": "2"}},
               "UpdateExpression": "SET v = v + :tiny",
               "ExpressionAttributeValues": {":tiny": {"N": "0.1"}}}),
        "ValidationException",
        "38 significant digits",
    );
}

// --- Item size ----------------------------------------------------------

#[test]
fn item_of_exactly_400_kb_is_accepted_and_one_byte_more_is_refused() {
    let c = ctx();
    // Size = names + values: "pk"(2) + "a"(1) + "sk"(2) + "1"(1: N counts
    // roughly its digits; 1 byte here plus 1 of overhead: 2) + "d"(1) + data.
    // Find the boundary through the hash-only table to keep the count exact:
    // pk(2) + "a"(1) + d(1) + data(n) = 409600  =>  n = 409596.
    let at = "x".repeat(409_596);
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "a"}, "d": {"S": at}}}),
    );
    let over = "x".repeat(409_597);
    let before = snapshot(&c);
    c.refused(
        &ddb("PutItem"),
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "b"}, "d": {"S": over}}}),
        "ValidationException",
        "Item size has exceeded the maximum allowed size",
    );
    assert_eq!(snapshot(&c), before);
    // Growing the 400 KB item by one byte through UpdateItem is refused too.
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": HASH_TABLE, "Key": {"pk": {"S": "a"}},
               "UpdateExpression": "SET e = :one",
               "ExpressionAttributeValues": {":one": {"BOOL": true}}}),
        "ValidationException",
        "Item size to update has exceeded the maximum allowed size",
    );
}

// --- Update expressions ---------------------------------------------------

#[test]
fn update_expression_on_a_key_attribute_is_refused() {
    let c = ctx();
    for expr in ["SET pk = :v", "SET sk = :n", "REMOVE sk", "ADD sk :n"] {
        refused_unchanged(
            &c,
            "UpdateItem",
            json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
            "UpdateExpression": expr,
            "ExpressionAttributeValues": if expr.contains(":v") {
                json!({":v": {"S": "z"}})
            } else if expr.contains(":n") {
                json!({":n": {"N": "5"}})
            } else {
                Value::Null
            }}),
            "ValidationException",
            "This attribute is part of the key",
        );
    }
}

#[test]
fn add_to_a_string_is_refused() {
    let c = ctx();
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "ADD s :one",
               "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        "ValidationException",
        "An operand in the update expression has an incorrect data type",
    );
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "ADD s :str",
               "ExpressionAttributeValues": {":str": {"S": "x"}}}),
        "ValidationException",
        "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
    );
}

#[test]
fn set_plus_on_a_missing_attribute_is_refused() {
    let c = ctx();
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET m = m + :one",
               "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        "ValidationException",
        "The provided expression refers to an attribute that does not exist in the item",
    );
    // Also on an item that does not exist: nothing is created.
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "new"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET m = m + :one",
               "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        "ValidationException",
        "The provided expression refers to an attribute that does not exist in the item",
    );
}

#[test]
fn unused_or_missing_expression_values_are_refused() {
    let c = ctx();
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET x = :v",
               "ExpressionAttributeValues": {":v": {"S": "1"}, ":unused": {"S": "2"}}}),
        "ValidationException",
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
    );
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET x = :v"}),
        "ValidationException",
        "An expression attribute value used in expression is not defined; attribute value: :v",
    );
    refused_unchanged(
        &c,
        "UpdateItem",
        json!({"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET x = :v, x = :v",
               "ExpressionAttributeValues": {":v": {"S": "1"}}}),
        "ValidationException",
        "Two document paths overlap with each other",
    );
}

#[test]
fn conditional_put_attribute_not_exists_twice() {
    let c = ctx();
    let body = |v: &str| {
        json!({"TableName": TABLE, "Item": {"pk": {"S": "once"}, "sk": {"N": "1"}, "v": {"S": v}},
               "ConditionExpression": "attribute_not_exists(pk)"})
    };
    c.ok(&ddb("PutItem"), body("first"));
    refused_unchanged(
        &c,
        "PutItem",
        body("second"),
        "ConditionalCheckFailedException",
        "The conditional request failed",
    );
    assert_eq!(get(&c, "once", "1")["v"], json!({"S": "first"}));
}

// --- Keys ---------------------------------------------------------------

#[test]
fn wrong_or_empty_keys_are_refused() {
    let c = ctx();
    let cases = [
        (
            json!({"pk": {"S": "a"}}),
            "The provided key element does not match the schema",
        ),
        (
            json!({"pk": {"S": "a"}, "sk": {"S": "1"}}),
            "The provided key element does not match the schema",
        ),
        (
            json!({"pk": {"S": ""}, "sk": {"N": "1"}}),
            "empty string value",
        ),
        (
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "1"}}),
            "The provided key element does not match the schema",
        ),
    ];
    for (key, needle) in cases {
        c.refused(
            &ddb("GetItem"),
            json!({"TableName": TABLE, "Key": key}),
            "ValidationException",
            needle,
        );
        refused_unchanged(
            &c,
            "DeleteItem",
            json!({"TableName": TABLE, "Key": key}),
            "ValidationException",
            needle,
        );
    }
    refused_unchanged(
        &c,
        "PutItem",
        json!({"TableName": TABLE, "Item": {"pk": {"S": ""}, "sk": {"N": "1"}}}),
        "ValidationException",
        "empty string value",
    );
    refused_unchanged(
        &c,
        "PutItem",
        json!({"TableName": TABLE, "Item": {"pk": {"S": "a"}}}),
        "ValidationException",
        "Missing the key sk in the item",
    );
    // A partition key over 2048 bytes (multibyte: 683 × 3 bytes = 2049).
    refused_unchanged(
        &c,
        "PutItem",
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "€".repeat(683)}}}),
        "ValidationException",
        "2048",
    );
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "x".repeat(2048)}}}),
    );
}

// --- Table lifecycle ------------------------------------------------------

#[test]
fn delete_table_then_put_item_is_resource_not_found() {
    let c = ctx();
    c.ok(&ddb("DeleteTable"), json!({"TableName": HASH_TABLE}));
    c.refused(
        &ddb("PutItem"),
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "a"}}}),
        "ResourceNotFoundException",
        "Requested resource not found",
    );
    c.refused(
        &ddb("DescribeTable"),
        json!({"TableName": HASH_TABLE}),
        "ResourceNotFoundException",
        HASH_TABLE,
    );
    c.refused(
        &ddb("DeleteTable"),
        json!({"TableName": HASH_TABLE}),
        "ResourceNotFoundException",
        "",
    );
    // Recreated, it is empty: nothing of the old table leaks into the new one.
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": TABLE, "Item": {"pk": {"S": "keep"}, "sk": {"N": "1"}}}),
    );
    c.ok(&ddb("CreateTable"), hash_table(HASH_TABLE));
    assert_eq!(
        c.ok(&ddb("Scan"), json!({"TableName": HASH_TABLE}))["Count"],
        0
    );
}

#[test]
fn delete_table_does_not_leak_items_into_a_recreated_table() {
    let c = ctx();
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "old"}}}),
    );
    c.ok(&ddb("DeleteTable"), json!({"TableName": HASH_TABLE}));
    c.ok(&ddb("CreateTable"), hash_table(HASH_TABLE));
    let scan = c.ok(&ddb("Scan"), json!({"TableName": HASH_TABLE}));
    assert_eq!(scan["Count"], 0, "{scan}");
    let got = c.ok(
        &ddb("GetItem"),
        json!({"TableName": HASH_TABLE, "Key": {"pk": {"S": "old"}}}),
    );
    assert_eq!(got.get("Item"), None, "{got}");
    let desc = c.ok(&ddb("DescribeTable"), json!({"TableName": HASH_TABLE}));
    assert_eq!(desc["Table"]["ItemCount"], 0);
}

#[test]
fn create_table_with_mismatched_attribute_definitions_is_refused() {
    let c = ctx();
    let key = json!([{"AttributeName": "id", "KeyType": "HASH"}]);
    let cases = [
        (
            json!([{"AttributeName": "other", "AttributeType": "S"}]),
            "Some index key attributes are not defined in AttributeDefinitions",
        ),
        (
            json!([{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "extra", "AttributeType": "S"}]),
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            json!([{"AttributeName": "id", "AttributeType": "BOOL"}]),
            "Member must satisfy enum value set: [B, N, S]",
        ),
        (json!([]), ""),
    ];
    for (defs, needle) in cases {
        refused_unchanged(
            &c,
            "CreateTable",
            json!({"TableName": "newtable", "KeySchema": key, "AttributeDefinitions": defs,
                   "BillingMode": "PAY_PER_REQUEST"}),
            "ValidationException",
            needle,
        );
    }
    let two_hash = json!([{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "id2", "KeyType": "HASH"}]);
    refused_unchanged(
        &c,
        "CreateTable",
        json!({"TableName": "newtable", "KeySchema": two_hash,
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                        {"AttributeName": "id2", "AttributeType": "S"}],
               "BillingMode": "PAY_PER_REQUEST"}),
        "ValidationException",
        "",
    );
    refused_unchanged(
        &c,
        "CreateTable",
        hash_table(HASH_TABLE),
        "ResourceInUseException",
        HASH_TABLE,
    );
    for name in ["ab", "bad name", "x".repeat(256).as_str(), "é"] {
        let mut body = hash_table("placeholder");
        body["TableName"] = json!(name);
        refused_unchanged(&c, "CreateTable", body, "ValidationException", "tableName");
    }
}

#[test]
fn wrong_json_types_are_serialization_errors_and_change_nothing() {
    let c = ctx();
    let cases = [
        json!({"TableName": TABLE, "Item": {"pk": {"S": 5}, "sk": {"N": "1"}}}),
        json!({"TableName": TABLE, "Item": {"pk": {"S": "a"}, "sk": {"N": 1}}}),
        json!({"TableName": TABLE, "Item": [1, 2]}),
        json!({"TableName": 5, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
        json!({"TableName": TABLE, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "b": {"B": "not base64!"}}}),
    ];
    for body in cases {
        let before = snapshot(&c);
        let e = c.err(&ddb("PutItem"), body.clone());
        assert!(
            ["SerializationException", "ValidationException"].contains(&e.error_type.as_str()),
            "{body}: {e}"
        );
        assert_eq!(snapshot(&c), before, "{body}");
    }
}

#[test]
fn deeply_nested_values_are_refused_without_overflowing_the_stack() {
    let c = ctx();
    for depth in [33, 1_000] {
        let mut v = json!({"S": "leaf"});
        for _ in 0..depth {
            v = json!({"M": {"x": v}});
        }
        refused_unchanged(
            &c,
            "PutItem",
            json!({"TableName": HASH_TABLE, "Item": {"pk": {"S": "deep"}, "d": v}}),
            "ValidationException",
            "Nesting Levels have exceeded supported limits",
        );
        let mut l = json!({"S": "leaf"});
        for _ in 0..depth {
            l = json!({"L": [l]});
        }
        refused_unchanged(
            &c,
            "UpdateItem",
            json!({"TableName": HASH_TABLE, "Key": {"pk": {"S": "deep"}},
                   "UpdateExpression": "SET d = :v", "ExpressionAttributeValues": {":v": l}}),
            "ValidationException",
            "Nesting Levels have exceeded supported limits",
        );
    }
}
