//! `eddy serve`: the dispatcher over HTTP, and the other commands going
//! through it while it holds the data directory.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use eddy_store::{Store, StoreError, StoreOptions};
use eddy_tests::{Eddy, http};
use serde_json::{Value, json};

const MUSIC: &str = r#"{"TableName":"Music","KeySchema":[{"AttributeName":"Artist","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"Artist","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}"#;
const ACME: &str = r#"{"Artist":{"S":"Acme"}}"#;

/// Panics unless the data directory is locked by another process — the
/// server — so a command that succeeded cannot have run in-process.
fn assert_held_by_server(eddy: &Eddy) {
    match Store::open(&eddy.data_dir(), StoreOptions::default()) {
        Err(StoreError::DirectoryLocked(_)) => {}
        Err(e) => panic!("expected the server's lock, got: {e}"),
        Ok(_) => panic!("the data directory is not held by the server"),
    }
}

#[test]
fn cli_commands_go_through_a_running_server() {
    let eddy = Eddy::new();
    let mut server = eddy.serve();
    assert_held_by_server(&eddy);

    eddy.ok(&["stream", "create", "S", "--shards", "2"]);
    let put = eddy
        .ok(&[
            "stream",
            "put",
            "S",
            "--partition-key",
            "p",
            "--data",
            "hello",
        ])
        .json();
    assert!(put["SequenceNumber"].is_string(), "{put}");
    let read = eddy
        .ok(&["stream", "read", "S", "--from", "trim-horizon"])
        .lines();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0]["Data"], "hello");

    eddy.ok(&["call", "DynamoDB_20120810.CreateTable", MUSIC]);
    eddy.ok(&[
        "table",
        "put",
        "Music",
        r#"{"Artist":{"S":"Acme"},"Plays":{"N":"3"}}"#,
    ]);
    let item = eddy.ok(&["table", "get", "Music", ACME]).json();
    assert_eq!(item["Plays"], json!({"N": "3"}));

    // An AWS error comes back through the server as the same error.
    eddy.fails(&["table", "get", "Nope", ACME])
        .says(&["ResourceNotFoundException"]);

    // What the CLI wrote is what a raw HTTP client reads.
    let got = server.post(
        "DynamoDB_20120810.GetItem",
        &json!({"TableName": "Music", "Key": {"Artist": {"S": "Acme"}}}).to_string(),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["Item"]["Plays"], json!({"N": "3"}));
    assert_held_by_server(&eddy);
}

#[test]
fn raw_requests_speak_the_aws_json_protocol() {
    let eddy = Eddy::new();
    let mut server = eddy.serve();
    let addr = server.addr();

    let health = http(addr, "GET", "/_eddy/health", &[], b"");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["pid"], json!(server.pid()));

    let created = http(
        addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "Kinesis_20131202.CreateStream"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        br#"{"StreamName":"K","ShardCount":1}"#,
    );
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
    // "eA==" is "x" in base64.
    let put = server.post(
        "Kinesis_20131202.PutRecord",
        r#"{"StreamName":"K","PartitionKey":"p","Data":"eA=="}"#,
    );
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert!(put.header("x-amzn-requestid").is_some());

    let missing = server.post("DynamoDB_20120810.DescribeTable", r#"{"TableName":"Nope"}"#);
    assert_aws_error(&missing, 400, "ResourceNotFoundException");
    assert!(missing.json()["message"].as_str().unwrap().contains("Nope"));

    assert_aws_error(
        &server.post("DynamoDB_20120810.ListTables", "{oops"),
        400,
        "SerializationException",
    );
    assert_aws_error(
        &server.post("DynamoDB_20120810.Frobnicate", "{}"),
        400,
        "UnknownOperationException",
    );
    let untargeted = http(addr, "POST", "/", &[], b"{}");
    assert_aws_error(&untargeted, 400, "UnknownOperationException");
    let elsewhere = http(addr, "PUT", "/2015-03-31/functions", &[], b"{}");
    assert_aws_error(&elsewhere, 404, "UnknownOperationException");

    // Refused from its declared length, before the body is read.
    let huge = (16 * 1024 * 1024 + 1).to_string();
    let oversize = http(
        addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("Content-Length", &huge),
        ],
        b"",
    );
    assert_aws_error(&oversize, 413, "RequestTooLargeException");

    // Nothing above broke the server.
    let listed = server.post("Kinesis_20131202.ListStreams", "");
    assert_eq!(listed.json()["StreamNames"], json!(["K"]));
}

fn assert_aws_error(response: &eddy_tests::HttpResponse, status: u16, kind: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.header("x-amzn-errortype"), Some(kind));
    let body: Value = response.json();
    assert_eq!(body["__type"], kind);
    assert!(body["message"].is_string(), "{body}");
}

/// Runs `work(t)` for t in 0..threads, each on its own thread, and waits for all.
fn in_parallel(threads: usize, work: impl Fn(usize) + Send + Sync + 'static) {
    let work = std::sync::Arc::new(work);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let work = work.clone();
            std::thread::spawn(move || work(t))
        })
        .collect();
    for handle in handles {
        handle.join().expect("a client thread");
    }
}

/// Concurrent connections share group commits (awaited on the server's
/// connection thread), yet each gets its own answer: every put lands, a
/// refused condition fails only its own request, and every counted ADD
/// lands exactly once.
#[test]
fn concurrent_conditional_writes_each_get_their_own_answer() {
    let eddy = Eddy::new();
    let mut server = eddy.serve();
    assert_eq!(
        server.post("DynamoDB_20120810.CreateTable", MUSIC).status,
        200
    );
    let addr = server.addr();
    let post = move |target: &str, body: Value| {
        http(
            addr,
            "POST",
            "/",
            &[("X-Amz-Target", target)],
            body.to_string().as_bytes(),
        )
    };
    in_parallel(16, move |t| {
        for n in 0..20 {
            let artist = json!({"Artist": {"S": format!("{t}-{n}")}});
            let put = json!({"TableName": "Music", "Item": artist, "ConditionExpression": "attribute_not_exists(Artist)"});
            let first = post("DynamoDB_20120810.PutItem", put.clone());
            assert_eq!(first.status, 200, "{}", first.body);
            let again = post("DynamoDB_20120810.PutItem", put);
            assert_eq!(again.status, 400, "{}", again.body);
            assert_eq!(again.json()["__type"], "ConditionalCheckFailedException");
            let add = json!({
                "TableName": "Music", "Key": {"Artist": {"S": "counter"}},
                "UpdateExpression": "ADD Plays :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            });
            let added = post("DynamoDB_20120810.UpdateItem", add);
            assert_eq!(added.status, 200, "{}", added.body);
        }
    });
    let counter = server.post(
        "DynamoDB_20120810.GetItem",
        r#"{"TableName":"Music","Key":{"Artist":{"S":"counter"}}}"#,
    );
    assert_eq!(
        counter.json()["Item"]["Plays"],
        json!({"N": "320"}),
        "{}",
        counter.body
    );
    let scan = server.post(
        "DynamoDB_20120810.Scan",
        r#"{"TableName":"Music","Select":"COUNT"}"#,
    );
    assert_eq!(scan.json()["Count"], json!(321), "{}", scan.body);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let eddy = Eddy::new();
    let server = eddy.serve();
    let record = eddy.data_dir().join("server.json");
    assert!(record.is_file());
    eddy.ok(&["call", "DynamoDB_20120810.CreateTable", MUSIC]);
    eddy.ok(&["table", "put", "Music", ACME]);

    let (code, stderr) = server.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!record.exists(), "the record is removed on a clean exit");
    // The data stays, and commands run in-process again.
    assert_eq!(
        eddy.ok(&["table", "get", "Music", ACME]).json()["Artist"],
        json!({"S": "Acme"})
    );
}

#[test]
fn a_killed_servers_record_is_stale_and_ignored() {
    let eddy = Eddy::new();
    let server = eddy.serve();
    eddy.ok(&["call", "DynamoDB_20120810.CreateTable", MUSIC]);
    server.kill();
    let record = eddy.data_dir().join("server.json");
    assert!(record.is_file(), "SIGKILL leaves the record behind");

    eddy.ok(&["table", "put", "Music", ACME]);
    assert!(!record.exists(), "the stale record is removed");
    assert_eq!(
        eddy.ok(&["table", "get", "Music", ACME]).json()["Artist"],
        json!({"S": "Acme"})
    );
    // A new server takes the directory over.
    let mut again = eddy.serve();
    assert_eq!(
        again
            .post(
                "DynamoDB_20120810.GetItem",
                r#"{"TableName":"Music","Key":{"Artist":{"S":"Acme"}}}"#
            )
            .status,
        200
    );
}

#[test]
fn a_second_server_and_a_taken_port_are_refused_clearly() {
    let eddy = Eddy::new();
    let mut first = eddy.serve();
    eddy.fails(&["serve", "--listen", "127.0.0.1:0"])
        .says(&["already serves", &first.pid().to_string()]);

    let other = Eddy::new();
    let taken = first.addr().to_string();
    other
        .fails(&["serve", "--listen", &taken])
        .says(&["in use", "--listen"]);
}

/// A command that holds the directory (here: blocked writing its output to a
/// pipe nobody reads yet) makes a starting server wait; a command issued
/// meanwhile waits for that server; all three succeed.
#[test]
fn a_command_holding_the_directory_and_a_starting_server_wait_for_each_other() {
    let eddy = Eddy::new();
    eddy.ok(&["stream", "create", "S", "--shards", "1"]);
    fill_stream(&eddy, "S");

    let mut reader = eddy
        .command(["stream", "read", "S", "--from", "trim-horizon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eddy starts");
    // The reader prints its first page, so it has opened the store; the pipe
    // then fills and blocks it with the directory held.
    let mut stdout = reader.stdout.take().expect("piped");
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("the reader prints");

    let mut server = eddy.spawn_server();
    server.wait_for_stderr("waiting for the eddy command that holds");
    // A command now finds the server starting, and says it waits for it.
    let mut late = eddy
        .command(["stream", "describe", "S"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eddy starts");
    let mut late_stderr = BufReader::new(late.stderr.take().expect("piped"));
    let mut said = String::new();
    while !said.contains("waiting for eddy serve") {
        let n = late_stderr.read_line(&mut said).expect("reading stderr");
        assert!(
            n > 0,
            "the late command never waited for the server: {said}"
        );
    }

    // Only now does the reader finish, letting the server open the store.
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("reading the records");
    let read = reader.wait().expect("the reader exits");
    assert!(read.success());
    assert!(
        rest.len() > 64 * 1024,
        "the output must outgrow a pipe's buffer"
    );

    server.wait_listening();
    let late = late.wait_with_output().expect("the late command exits");
    late_stderr
        .read_to_string(&mut said)
        .expect("reading stderr");
    assert!(late.status.success(), "{said}");
    let description: Value = serde_json::from_slice(&late.stdout).expect("JSON");
    assert_eq!(
        description["StreamDescription"]["StreamName"], "S",
        "{description}"
    );
    assert_held_by_server(&eddy);
}

/// About 2 MiB of records: far more than a pipe holds.
fn fill_stream(eddy: &Eddy, stream: &str) {
    // "cnJy" is "rrr" in base64: 4095 bytes of data a record.
    let data = "cnJy".repeat(1365);
    for batch in 0..5 {
        let records: Vec<Value> = (0..100)
            .map(|n| json!({"PartitionKey": format!("{batch}-{n}"), "Data": data}))
            .collect();
        let request = json!({"StreamName": stream, "Records": records}).to_string();
        let run = eddy.run_with_stdin(
            &["call", "Kinesis_20131202.PutRecords", "-"],
            Some(request.as_bytes()),
        );
        assert!(run.success, "{}", run.stderr);
    }
}

/// The lab's Task 5 with nobody but the server driving it: a change in
/// GameScoreRecords reaches the aggregator through the server's triggers.
#[test]
fn the_servers_triggers_run_the_labs_aggregator() {
    let eddy = Eddy::new();
    let _server = eddy.serve();
    eddy.create_lab_aggregator_trigger(Some("lambda_basic_execution_dynamodb"));
    eddy.ok(&[
        "table",
        "put",
        "GameScoreRecords",
        r#"{"RecordID":{"N":"1"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}"#,
    ]);

    let jane = r#"{"Username":{"S":"Jane Doe"}}"#;
    // Polled: the trigger runs when it runs. The limit only stops a broken
    // engine from hanging the test.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let item = loop {
        let got = eddy.ok(&["table", "get", "GameScoresByUser", jane]);
        if !got.stdout.trim().is_empty() {
            break got.json();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the trigger never aggregated the score"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(item["Score"], json!({"N": "100"}));
    assert_held_by_server(&eddy);
}

/// Scan and Query pages are written straight from storage to the wire: every
/// attribute type (strings that need escaping, binary, nested documents,
/// sets) comes back exactly as it was put, page by page, with the paging
/// members a client follows.
#[test]
fn scan_and_query_pages_over_http_return_items_exactly_as_put() {
    let eddy = Eddy::new();
    let mut server = eddy.serve();
    let table = json!({
        "TableName": "Docs",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "n", "KeyType": "RANGE"}
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"}
        ],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let created = server.post("DynamoDB_20120810.CreateTable", &table.to_string());
    assert_eq!(created.status, 200, "{}", created.body);
    let items: Vec<Value> = (0..7)
        .map(|n| {
            json!({
                "pk": {"S": if n % 2 == 0 { "even \"q\"\n\u{e9}\u{1f600}" } else { "odd\\" }},
                "n": {"N": format!("{n}.50")},
                "b": {"B": "AAEC/w=="},
                "flag": {"BOOL": n % 3 == 0},
                "none": {"NULL": true},
                "doc": {"M": {"l": {"L": [{"S": "\u{0007}"}, {"N": "-0.001"}, {"M": {}}]}}},
                "ss": {"SS": ["a", "b"]},
                "ns": {"NS": ["1", "2.5"]},
                "bs": {"BS": ["AA==", "AQ=="]}
            })
        })
        .collect();
    for item in &items {
        let put = json!({"TableName": "Docs", "Item": item});
        let answer = server.post("DynamoDB_20120810.PutItem", &put.to_string());
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let stored = |item: &Value| {
        // DynamoDB returns numbers normalised: "2.50" comes back "2.5".
        let mut item = item.clone();
        let n = item["n"]["N"]
            .as_str()
            .unwrap()
            .trim_end_matches('0')
            .to_string();
        item["n"]["N"] = json!(n);
        item
    };
    let mut seen = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": "Docs", "Limit": 3});
        if let Some(key) = start.take() {
            request["ExclusiveStartKey"] = key;
        }
        let page = server.post("DynamoDB_20120810.Scan", &request.to_string());
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        let got = page["Items"].as_array().unwrap();
        assert_eq!(page["Count"], json!(got.len()));
        seen.extend(got.iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    let mut expected: Vec<Value> = items.iter().map(stored).collect();
    let key = |v: &Value| (v["pk"]["S"].to_string(), v["n"]["N"].to_string());
    expected.sort_by_key(key);
    seen.sort_by_key(key);
    assert_eq!(seen, expected);

    let query = json!({
        "TableName": "Docs",
        "KeyConditionExpression": "pk = :p AND n > :low",
        "ExpressionAttributeValues": {":p": {"S": "odd\\"}, ":low": {"N": "2"}},
        "ScanIndexForward": false
    });
    let answer = server.post("DynamoDB_20120810.Query", &query.to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let numbers: Vec<&str> = answer["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["n"]["N"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["5.5", "3.5"]);
    assert_eq!(answer["Items"][0], stored(&items[5]));
    let count = json!({"TableName": "Docs", "Select": "COUNT"});
    let counted = server
        .post("DynamoDB_20120810.Scan", &count.to_string())
        .json();
    assert_eq!(counted, json!({"Count": 7, "ScannedCount": 7}));
}
