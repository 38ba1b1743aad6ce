//! The Lambda function operations and eddy's roles and blueprints through the
//! dispatcher: Lambda-shaped JSON in and out, Lambda-named errors with their
//! HTTP statuses, and every refused request leaving everything as it was.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_api::{Api, ApiError};
use eddy_runtime::events::KINESIS_TEST_EVENT;
use eddy_runtime::guests;
use eddy_store::Clock;
use serde_json::{Value, json};

mod common;

const T0: u64 = 1_700_000_000_500;
const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function";

struct Ctx {
    _dir: tempfile::TempDir,
    api: Api,
}

fn ctx() -> Ctx {
    let (dir, store) = common::temp_store(Clock::manual(T0));
    Ctx {
        _dir: dir,
        api: Api::new(store),
    }
}

fn b64(code: &[u8]) -> String {
    STANDARD.encode(code)
}

/// A CreateFunction request for `name` with `code` and nothing else.
fn create_request(name: &str, code: &[u8]) -> Value {
    json!({"FunctionName": name, "Code": {"ZipFile": b64(code)}})
}

impl Ctx {
    fn call(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        self.api.dispatch(&format!("Lambda_20150331.{op}"), &body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        self.call(op, body).unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    /// `op` fails with `error_type` and `status`, its message containing `needle`.
    fn refused(&self, op: &str, body: Value, error_type: &str, status: u16, needle: &str) {
        match self.call(op, body) {
            Ok(v) => panic!("{op} succeeded: {v}"),
            Err(e) => {
                assert_eq!(e.error_type, error_type, "{e}");
                assert_eq!(e.status, status, "{e}");
                assert!(e.message.contains(needle), "{e} lacks {needle:?}");
            }
        }
    }

    fn eddy(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        self.api.dispatch(&format!("Eddy_20261124.{op}"), &body)
    }

    fn create_logger(&self, name: &str) -> Value {
        self.ok(
            "CreateFunction",
            create_request(name, guests::KINESIS_LOGGER),
        )
    }

    fn names(&self) -> Vec<String> {
        let listed = self.ok("ListFunctions", json!({}));
        let functions = listed["Functions"].as_array().unwrap();
        functions
            .iter()
            .map(|f| f["FunctionName"].as_str().unwrap().to_string())
            .collect()
    }

    fn versions(&self, name: &str) -> Vec<String> {
        let listed = self.ok("ListVersionsByFunction", json!({"FunctionName": name}));
        let versions = listed["Versions"].as_array().unwrap();
        versions
            .iter()
            .map(|v| v["Version"].as_str().unwrap().to_string())
            .collect()
    }

    fn invoke(&self, body: Value) -> Value {
        self.ok("Invoke", body)
    }
}

fn sha256_base64(code: &[u8]) -> String {
    let hex = eddy_store::functions::code_sha256(code);
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    STANDARD.encode(bytes)
}

fn log_of(response: &Value) -> String {
    let log = STANDARD
        .decode(response["LogResult"].as_str().unwrap())
        .unwrap();
    String::from_utf8(log).unwrap()
}

#[test]
fn create_returns_lambdas_function_configuration() {
    let c = ctx();
    let request = json!({
        "FunctionName": "ProcessKinesisRecords",
        "Runtime": "wasm32-wasip2",
        "Role": "arn:aws:iam::000000000000:role/lambda_basic_execution_dynamodb",
        "Handler": "ignored",
        "Code": {"ZipFile": b64(guests::KINESIS_LOGGER)},
        "Description": "logs records",
        "Timeout": 10,
        "MemorySize": 256,
        "Publish": true,
        "Environment": {"Variables": {"STAGE": "lab"}},
        "Grants": ["read:table/GameScores"],
        "Fuel": 5_000_000,
    });
    let created = c.ok("CreateFunction", request);
    let expected = json!({
        "FunctionName": "ProcessKinesisRecords",
        "FunctionArn": format!("{ARN}:ProcessKinesisRecords"),
        "Runtime": "wasm32-wasip2",
        "Role": "arn:aws:iam::000000000000:role/lambda_basic_execution_dynamodb",
        "CodeSize": guests::KINESIS_LOGGER.len(),
        "CodeSha256": sha256_base64(guests::KINESIS_LOGGER),
        "Description": "logs records",
        "Timeout": 10,
        "MemorySize": 256,
        "LastModified": "2023-11-14T22:13:20.500+0000",
        "Version": "1",
        "Environment": {"Variables": {"STAGE": "lab"}},
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Grants": ["read:table/GameScores"],
        "Fuel": 5_000_000,
    });
    assert_eq!(created, expected);
    let name = json!({"FunctionName": "ProcessKinesisRecords"});
    assert_eq!(
        c.ok("GetFunction", name.clone()),
        json!({"Configuration": expected})
    );
    assert_eq!(c.ok("GetFunctionConfiguration", name), expected);
    assert_eq!(c.names(), ["ProcessKinesisRecords"]);
}

#[test]
fn defaults_are_lambdas_and_a_role_can_be_named_plainly() {
    let c = ctx();
    let mut request = create_request("f", guests::KINESIS_LOGGER);
    request["Role"] = json!("lambda_basic_execution");
    let created = c.ok("CreateFunction", request);
    assert_eq!(created["Timeout"], 3);
    assert_eq!(created["MemorySize"], 128);
    assert_eq!(created["Description"], "");
    assert_eq!(created["Grants"], json!([]));
    assert_eq!(
        created["Role"],
        "arn:aws:iam::000000000000:role/lambda_basic_execution"
    );
    assert!(created.get("Environment").is_none());
}

#[test]
fn a_function_is_found_by_name_partial_arn_or_arn() {
    let c = ctx();
    c.create_logger("f");
    for name in [
        "f".to_string(),
        "000000000000:function:f".to_string(),
        format!("{ARN}:f"),
        format!("{ARN}:f:1"),
    ] {
        let got = c.ok("GetFunctionConfiguration", json!({"FunctionName": name}));
        assert_eq!(got["FunctionName"], "f", "{name}");
    }
    c.refused(
        "GetFunction",
        json!({"FunctionName": "arn:aws:lambda:us-east-1:111111111111:function:f"}),
        "ValidationException",
        400,
        "functionName",
    );
    c.refused(
        "GetFunction",
        json!({"FunctionName": "f:1", "Qualifier": "2"}),
        "InvalidParameterValueException",
        400,
        "does not match",
    );
}

#[test]
fn update_code_publishes_a_new_version_and_keeps_the_old_one() {
    let c = ctx();
    c.create_logger("f");
    let request = json!({"FunctionName": "f", "ZipFile": b64(guests::SCORE_AGGREGATOR)});
    let updated = c.ok("UpdateFunctionCode", request);
    assert_eq!(updated["Version"], "2");
    assert_eq!(
        updated["CodeSha256"],
        sha256_base64(guests::SCORE_AGGREGATOR)
    );
    assert_eq!(c.versions("f"), ["1", "2"]);
    let v1 = c.ok(
        "GetFunction",
        json!({"FunctionName": "f", "Qualifier": "1"}),
    );
    assert_eq!(v1["Configuration"]["FunctionArn"], format!("{ARN}:f:1"));
    assert_eq!(
        v1["Configuration"]["CodeSha256"],
        sha256_base64(guests::KINESIS_LOGGER)
    );
    // Version 1 (the logger) still runs; the newest is the aggregator.
    let event = json!({"FunctionName": "f", "Qualifier": "1", "Payload": KINESIS_TEST_EVENT});
    let old = c.invoke(event);
    assert_eq!(old["ExecutedVersion"], "1");
    assert_eq!(old["Payload"], "\"Successfully processed 1 records.\"");
    let new = c.invoke(json!({"FunctionName": "f", "Payload": "{}"}));
    assert_eq!(new["ExecutedVersion"], "2");
    assert_eq!(new["FunctionError"], "Unhandled");
}

#[test]
fn versions_and_functions_are_listed_a_page_at_a_time() {
    let c = ctx();
    for name in ["a", "b", "c"] {
        c.create_logger(name);
    }
    let first = c.ok("ListFunctions", json!({"MaxItems": 2}));
    assert_eq!(first["Functions"].as_array().unwrap().len(), 2);
    let marker = first["NextMarker"].as_str().unwrap();
    let rest = c.ok("ListFunctions", json!({"MaxItems": 2, "Marker": marker}));
    assert_eq!(rest["Functions"][0]["FunctionName"], "c");
    assert!(rest.get("NextMarker").is_none());
    let all = c.ok("ListFunctions", json!({"FunctionVersion": "ALL"}));
    assert_eq!(all["Functions"][0]["FunctionArn"], format!("{ARN}:a:1"));
    let code = json!({"FunctionName": "a", "ZipFile": b64(guests::KINESIS_LOGGER)});
    c.ok("UpdateFunctionCode", code);
    let page = c.ok(
        "ListVersionsByFunction",
        json!({"FunctionName": "a", "MaxItems": 1}),
    );
    assert_eq!(page["Versions"][0]["Version"], "1");
    let rest = c.ok(
        "ListVersionsByFunction",
        json!({"FunctionName": "a", "Marker": page["NextMarker"]}),
    );
    assert_eq!(rest["Versions"][0]["Version"], "2");
}

#[test]
fn invoke_returns_the_result_and_the_tail_of_the_framed_log() {
    let c = ctx();
    c.create_logger("kl");
    let plain = c.invoke(json!({"FunctionName": "kl", "Payload": KINESIS_TEST_EVENT}));
    assert_eq!(plain["StatusCode"], 200);
    assert_eq!(plain["ExecutedVersion"], "1");
    assert!(plain.get("LogResult").is_none() && plain.get("FunctionError").is_none());
    let event: Value = serde_json::from_str(KINESIS_TEST_EVENT).unwrap();
    // The event may also be given as JSON rather than as its text.
    let tailed = c.invoke(json!({"FunctionName": "kl", "Payload": event, "LogType": "Tail"}));
    let log = log_of(&tailed);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("START RequestId: ") && lines[0].ends_with("Version: 1"));
    assert!(log.contains("Decoded payload: Hello, this is a test 123."));
    assert!(lines[lines.len() - 2].starts_with("END RequestId: "));
    let report = lines[lines.len() - 1];
    for field in [
        "REPORT RequestId: ",
        "Duration: ",
        "Memory Size: 128 MB",
        "Fuel Used: ",
    ] {
        assert!(report.contains(field), "{report}");
    }
}

#[test]
fn a_failed_handler_or_sandbox_is_an_unhandled_function_error() {
    let c = ctx();
    let mut tiny = create_request("starved", guests::KINESIS_LOGGER);
    tiny["Fuel"] = json!(1_000);
    c.ok("CreateFunction", tiny);
    let out = c.invoke(json!({"FunctionName": "starved", "Payload": KINESIS_TEST_EVENT}));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["FunctionError"], "Unhandled");
    let payload: Value = serde_json::from_str(out["Payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload,
        json!({"errorType": "FuelExhausted", "errorMessage": "fuel exhausted"})
    );
    c.ok(
        "CreateFunction",
        create_request("agg", guests::SCORE_AGGREGATOR),
    );
    let out = c.invoke(json!({"FunctionName": "agg", "LogType": "Tail"}));
    let payload: Value = serde_json::from_str(out["Payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["errorType"], "UnsupportedEvent");
    assert!(log_of(&out).contains("REPORT RequestId: "));
}

#[test]
fn dry_run_and_event_invocations_answer_without_a_payload() {
    let c = ctx();
    c.create_logger("kl");
    let dry = c.invoke(json!({"FunctionName": "kl", "InvocationType": "DryRun"}));
    assert_eq!(dry, json!({"StatusCode": 204, "ExecutedVersion": "1"}));
    let event =
        json!({"FunctionName": "kl", "InvocationType": "Event", "Payload": KINESIS_TEST_EVENT});
    assert_eq!(c.invoke(event), json!({"StatusCode": 202}));
}

#[test]
fn refused_invocations_run_nothing() {
    let c = ctx();
    c.create_logger("kl");
    let refused = |body: Value, error_type: &str, status: u16, needle: &str| {
        c.refused("Invoke", body, error_type, status, needle);
    };
    refused(
        json!({"FunctionName": "nope"}),
        "ResourceNotFoundException",
        404,
        &format!("Function not found: {ARN}:nope"),
    );
    refused(
        json!({"FunctionName": "kl", "Qualifier": "7"}),
        "ResourceNotFoundException",
        404,
        &format!("Function not found: {ARN}:kl:7"),
    );
    refused(
        json!({"FunctionName": "kl", "Qualifier": "live"}),
        "ResourceNotFoundException",
        404,
        ":kl:live",
    );
    refused(
        json!({"FunctionName": "kl", "Payload": "{not json"}),
        "InvalidRequestContentException",
        400,
        "Could not parse request body into json",
    );
    refused(
        json!({"FunctionName": "kl", "InvocationType": "Later"}),
        "ValidationException",
        400,
        "invocationType",
    );
    refused(
        json!({"FunctionName": "kl", "LogType": "All"}),
        "ValidationException",
        400,
        "logType",
    );
    let huge = format!("\"{}\"", "x".repeat(6_291_457));
    refused(
        json!({"FunctionName": "kl", "Payload": huge}),
        "RequestTooLargeException",
        413,
        "6291456",
    );
}

#[test]
fn bad_code_is_refused_and_stores_nothing() {
    let c = ctx();
    let bad: [(&[u8], &str); 3] = [
        (b"this is not WebAssembly", "not a WebAssembly binary"),
        (b"\0asm\x01\0\0\0", "core WebAssembly module"),
        (b"\0asm\x0d\0\x01\0", "handle"),
    ];
    for (code, needle) in bad {
        c.refused(
            "CreateFunction",
            create_request("f", code),
            "InvalidParameterValueException",
            400,
            needle,
        );
    }
    c.refused(
        "CreateFunction",
        json!({"FunctionName": "f", "Code": {"ZipFile": "%%%"}}),
        "InvalidParameterValueException",
        400,
        "base64",
    );
    c.refused(
        "CreateFunction",
        json!({"FunctionName": "f", "Code": {}}),
        "InvalidParameterValueException",
        400,
        "ZipFile",
    );
    c.refused(
        "CreateFunction",
        json!({"FunctionName": "f"}),
        "ValidationException",
        400,
        "'code'",
    );
    assert!(c.names().is_empty());
}

#[test]
fn refused_update_code_keeps_the_previous_version_serving() {
    let c = ctx();
    c.create_logger("f");
    c.refused(
        "UpdateFunctionCode",
        json!({"FunctionName": "f", "ZipFile": b64(b"junk")}),
        "InvalidParameterValueException",
        400,
        "invalid function code",
    );
    c.refused(
        "UpdateFunctionCode",
        json!({"FunctionName": "nope", "ZipFile": b64(guests::KINESIS_LOGGER)}),
        "ResourceNotFoundException",
        404,
        "Function not found",
    );
    assert_eq!(c.versions("f"), ["1"]);
    let out = c.invoke(json!({"FunctionName": "f", "Payload": KINESIS_TEST_EVENT}));
    assert_eq!(out["Payload"], "\"Successfully processed 1 records.\"");
}

#[test]
fn refused_settings_create_nothing() {
    let c = ctx();
    let with = |member: &str, value: Value| {
        let mut request = create_request("f", guests::KINESIS_LOGGER);
        request[member] = value;
        request
    };
    let cases = [
        (with("Timeout", json!(0)), "ValidationException", "timeout"),
        (
            with("Timeout", json!(901)),
            "ValidationException",
            "less than or equal to 900",
        ),
        (
            with("MemorySize", json!(64)),
            "ValidationException",
            "memorySize",
        ),
        (with("Fuel", json!(0)), "ValidationException", "fuel"),
        (
            with("FunctionName", json!("a b")),
            "ValidationException",
            "functionName",
        ),
        (
            with("Grants", json!(["delete:everything"])),
            "InvalidParameterValueException",
            "delete:everything",
        ),
        (
            with("Role", json!("nope")),
            "InvalidParameterValueException",
            "cannot be assumed",
        ),
        (
            with(
                "Role",
                json!("arn:aws:iam::111111111111:role/lambda_basic_execution"),
            ),
            "InvalidParameterValueException",
            "cannot be assumed",
        ),
        (
            with("Runtime", json!("python3.12")),
            "InvalidParameterValueException",
            "python3.12",
        ),
        (
            with(
                "Environment",
                json!({"Variables": {"BIG": "x".repeat(5000)}}),
            ),
            "InvalidParameterValueException",
            "4KB",
        ),
        (
            with("Environment", json!({"Variables": {"1BAD": "x"}})),
            "ValidationException",
            "environment.variables",
        ),
    ];
    for (request, error_type, needle) in cases {
        c.refused("CreateFunction", request, error_type, 400, needle);
    }
    assert!(c.names().is_empty());
}

#[test]
fn a_taken_name_is_a_conflict_and_changes_nothing() {
    let c = ctx();
    c.create_logger("f");
    c.refused(
        "CreateFunction",
        create_request("f", guests::SCORE_AGGREGATOR),
        "ResourceConflictException",
        409,
        "Function already exist: f",
    );
    assert_eq!(c.versions("f"), ["1"]);
    let got = c.ok("GetFunctionConfiguration", json!({"FunctionName": "f"}));
    assert_eq!(got["CodeSha256"], sha256_base64(guests::KINESIS_LOGGER));
}

#[test]
fn delete_removes_the_function_and_every_version() {
    let c = ctx();
    c.create_logger("f");
    c.refused(
        "DeleteFunction",
        json!({"FunctionName": "f", "Qualifier": "1"}),
        "InvalidParameterValueException",
        400,
        "whole functions",
    );
    assert_eq!(c.names(), ["f"]);
    assert_eq!(
        c.ok("DeleteFunction", json!({"FunctionName": "f"})),
        json!({})
    );
    assert!(c.names().is_empty());
    c.refused(
        "GetFunction",
        json!({"FunctionName": "f"}),
        "ResourceNotFoundException",
        404,
        &format!("Function not found: {ARN}:f"),
    );
    c.refused(
        "DeleteFunction",
        json!({"FunctionName": "f"}),
        "ResourceNotFoundException",
        404,
        "Function not found",
    );
}

#[test]
fn roles_are_created_listed_and_refused_as_iam_names_it() {
    let c = ctx();
    let listed = c.eddy("ListRoles", json!({})).unwrap();
    let names: Vec<&str> = listed["Roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RoleName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["lambda_basic_execution", "lambda_basic_execution_dynamodb"]
    );
    let request = json!({"RoleName": "writer", "Grants": ["write:table/T"]});
    let created = c.eddy("CreateRole", request.clone()).unwrap();
    assert_eq!(
        created["Role"]["Arn"],
        "arn:aws:iam::000000000000:role/writer"
    );
    assert_eq!(created["Role"]["Grants"], json!(["write:table/T"]));
    let got = c.eddy("GetRole", json!({"RoleName": "writer"})).unwrap();
    assert_eq!(got, created);
    let taken = c.eddy("CreateRole", request).unwrap_err();
    assert_eq!(
        (taken.error_type.as_str(), taken.status),
        ("EntityAlreadyExists", 409)
    );
    let bad = json!({"RoleName": "bad", "Grants": ["delete:everything"]});
    let malformed = c.eddy("CreateRole", bad).unwrap_err();
    assert_eq!(malformed.error_type, "MalformedPolicyDocument");
    let missing = c.eddy("GetRole", json!({"RoleName": "bad"})).unwrap_err();
    assert_eq!(
        (missing.error_type.as_str(), missing.status),
        ("NoSuchEntity", 404)
    );
    // A function created with the new role has its grants.
    let mut function = create_request("f", guests::KINESIS_LOGGER);
    function["Role"] = json!("writer");
    c.ok("CreateFunction", function);
}

#[test]
fn blueprints_are_listed_and_their_code_creates_functions() {
    let c = ctx();
    let listed = c.eddy("ListBlueprints", json!({})).unwrap();
    let names: Vec<&str> = listed["Blueprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["kinesis-process-record", "dynamodb-aggregate-scores"]
    );
    let blueprint = c
        .eddy("GetBlueprint", json!({"Name": "kinesis-process-record"}))
        .unwrap();
    assert_eq!(blueprint["Code"]["ZipFile"], b64(guests::KINESIS_LOGGER));
    let request = json!({"FunctionName": "kl", "Code": blueprint["Code"]});
    assert_eq!(c.ok("CreateFunction", request)["Version"], "1");
    let missing = c.eddy("GetBlueprint", json!({"Name": "nope"})).unwrap_err();
    assert_eq!(
        (missing.error_type.as_str(), missing.status),
        ("ResourceNotFoundException", 404)
    );
}
