//! eddy-runtime against the real guest components (built by build.rs).

use std::sync::Arc;
use std::time::Duration;

use eddy_runtime::bindgen::Event;
use eddy_runtime::error::InvocationError;
use eddy_runtime::events::{KINESIS_TEST_EVENT, event_from_json, response_to_json};
use eddy_runtime::grants::Grants;
use eddy_runtime::guests;
use eddy_runtime::invoke::{Function, Invocation, InvocationOutcome, Runtime, RuntimeOptions};
use eddy_runtime::sandbox::Limits;
use eddy_store::tables::{self, BillingMode, CreateTable, GetItemRequest, KeyAttr};
use eddy_store::value::keys::KeyType;
use eddy_store::{AttributeValue, Durability, Item, Store, StoreOptions};
use serde_json::{Value, json};

const SCORE_EVENT: &str = r#"{
  "Records": [
    {
      "eventID": "1",
      "eventVersion": "1.0",
      "dynamodb": {
        "Keys": { "RecordID": { "N": "2" } },
        "NewImage": {
          "RecordID": { "N": "2" },
          "Username": { "S": "Jane Doe" },
          "Score": { "N": "100" },
          "Nickname": { "S": "JaneD" }
        },
        "StreamViewType": "NEW_IMAGE",
        "SequenceNumber": "111",
        "SizeBytes": 26
      },
      "awsRegion": "us-west-2",
      "eventName": "INSERT",
      "eventSourceARN": "arn:aws:dynamodb:us-west-2:account-id:table/GameScoreRecords/stream/2015-10-07T00:48:05.899",
      "eventSource": "aws:dynamodb"
    }
  ]
}"#;

struct Lab {
    _dir: tempfile::TempDir,
    store: Store,
    runtime: Runtime,
}

fn open(dir: &std::path::Path) -> (Store, Runtime) {
    let options = StoreOptions {
        durability: Durability::Relaxed,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, options).unwrap();
    let runtime = Runtime::new(store.clone(), RuntimeOptions::default()).unwrap();
    (store, runtime)
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let (store, runtime) = open(dir.path());
    tables::create_table(
        &store,
        CreateTable {
            name: "GameScoresByUser".into(),
            partition_key: KeyAttr {
                name: "Username".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream: None,
        },
    )
    .unwrap();
    Lab {
        _dir: dir,
        store,
        runtime,
    }
}

fn guest(name: &str) -> Vec<u8> {
    let path = guests::path(name).unwrap_or_else(|| panic!("guest {name} was not built"));
    std::fs::read(path).unwrap()
}

fn grants(list: &[&str]) -> Grants {
    Grants::parse(list).unwrap()
}

fn payload(json: Value) -> Event {
    Event::Invoke(json.to_string())
}

impl Lab {
    fn load(&self, name: &str) -> Function {
        self.runtime.load(name, 1, &guest(name)).unwrap()
    }

    fn run(&self, f: &Function, event: Event, limits: Limits, grants: Grants) -> InvocationOutcome {
        self.runtime
            .invoke(f, &Invocation::new(event, limits, grants))
    }

    fn score_of(&self, user: &str) -> Option<Item> {
        let key = Item::from([("Username".to_string(), AttributeValue::S(user.into()))]);
        let request = GetItemRequest {
            table: "GameScoresByUser".into(),
            key,
            ..GetItemRequest::default()
        };
        tables::get_item(&self.store, &request).unwrap()
    }
}

#[test]
fn the_kinesis_blueprint_logs_the_decoded_payload() {
    let lab = lab();
    let f = lab
        .runtime
        .load("logger", 1, guests::KINESIS_LOGGER)
        .unwrap();
    let event = event_from_json(KINESIS_TEST_EVENT).unwrap();
    let out = lab.run(&f, event, Limits::default(), Grants::none());
    assert!(out.result.is_ok(), "{:?} {:?}", out.result, out.logs);
    assert!(
        out.logs
            .iter()
            .any(|l| l.contains("Decoded payload: Hello, this is a test 123.")),
        "{:?}",
        out.logs
    );
    assert!(out.fuel_used > 0);
}

#[test]
fn the_score_blueprint_adds_jane_does_score() {
    let lab = lab();
    let f = lab
        .runtime
        .load("agg", 1, guests::SCORE_AGGREGATOR)
        .unwrap();
    let role = grants(&["read:table/*", "write:table/*"]);
    let out = lab.run(
        &f,
        event_from_json(SCORE_EVENT).unwrap(),
        Limits::default(),
        role.clone(),
    );
    let response = out.result.unwrap_or_else(|e| panic!("{e}: {:?}", out.logs));
    assert_eq!(
        response_to_json(&response),
        json!("Successfully processed 1 records.")
    );
    let item = lab.score_of("Jane Doe").unwrap();
    assert_eq!(
        item.get("Score").unwrap().clone(),
        AttributeValue::N("100".parse().unwrap())
    );
    // Warm again: ADD accumulates, and the instance was reused.
    let out = lab.run(
        &f,
        event_from_json(SCORE_EVENT).unwrap(),
        Limits::default(),
        role,
    );
    assert!(out.result.is_ok() && !out.cold_start);
    let item = lab.score_of("Jane Doe").unwrap();
    assert_eq!(
        item.get("Score").unwrap().clone(),
        AttributeValue::N("200".parse().unwrap())
    );
}

#[test]
fn an_ungranted_write_is_denied_and_nothing_is_written() {
    let lab = lab();
    let f = lab.load("test_ungranted_table");
    let out = lab.run(
        &f,
        payload(json!({})),
        Limits::default(),
        grants(&["read:table/Other"]),
    );
    let response = response_to_json(&out.result.unwrap());
    assert_eq!(response["put"]["error"], "access-denied", "{response}");
    assert_eq!(response["get"]["error"], "access-denied", "{response}");
    assert_eq!(
        response["put-record"]["error"], "access-denied",
        "{response}"
    );
    assert_eq!(lab.score_of("ungranted"), None);
}

#[test]
fn a_trap_after_a_write_discards_the_write() {
    let lab = lab();
    let f = lab.load("test_trap_after_write");
    let out = lab.run(
        &f,
        payload(json!({})),
        Limits::default(),
        grants(&["write:table/*"]),
    );
    let err = out.result.unwrap_err();
    assert!(matches!(err, InvocationError::Trap(_)), "{err}");
    assert!(err.to_string().starts_with("trap: "), "{err}");
    assert!(
        out.logs.iter().any(|l| l.contains("now panicking")),
        "{:?}",
        out.logs
    );
    assert_eq!(lab.score_of("trap-after-write"), None);
    assert_eq!(f.warm_instances(), 0, "a trapped instance is dropped");
}

/// What a misbehaving guest's error must look like.
type Expect = dyn Fn(&InvocationError) -> bool;

/// Every misbehaving guest ends with its named error, and a good function
/// keeps working after each one.
#[test]
fn misbehaving_guests_are_contained() {
    let lab = lab();
    let good = lab
        .runtime
        .load("agg", 1, guests::SCORE_AGGREGATOR)
        .unwrap();
    let role = grants(&["read:table/*", "write:table/*"]);
    let tight = Limits {
        timeout: Duration::from_millis(300),
        memory_bytes: 32 << 20,
        fuel: 50_000_000,
        log_bytes: 4096,
    };
    let cases: [(&str, Value, Limits, &Expect); 5] = [
        ("test_infinite_loop", json!({}), tight, &|e| {
            *e == InvocationError::FuelExhausted
        }),
        (
            "test_infinite_loop",
            json!({}),
            Limits {
                fuel: u64::MAX / 2,
                ..tight
            },
            &|e| e.to_string() == "timed out after 0.30 s",
        ),
        ("test_memory_bomb", json!({}), tight, &|e| {
            *e == InvocationError::MemoryLimitExceeded
        }),
        (
            "test_deep_recursion",
            json!({}),
            Limits {
                fuel: u64::MAX / 2,
                ..tight
            },
            &|e| matches!(e, InvocationError::Trap(t) if t.contains("stack")),
        ),
        ("test_log_flood", json!({"bytes": 1 << 20}), tight, &|_| {
            false
        }),
    ];
    for (name, event, limits, expected) in cases {
        let f = lab.load(name);
        let out = lab.run(&f, payload(event), limits, Grants::none());
        match &out.result {
            Err(e) => assert!(expected(e), "{name}: unexpected {e}"),
            Ok(_) => {
                // Only the log flood succeeds: its output is cut at the budget.
                assert_eq!(name, "test_log_flood");
                let total: usize = out.logs.iter().map(|l| l.len() + 1).sum();
                assert!(total <= 4096 + 200, "{total}");
                assert!(out.logs.last().unwrap().contains("truncated"));
            }
        }
        let ok = lab.run(
            &good,
            event_from_json(SCORE_EVENT).unwrap(),
            Limits::default(),
            role.clone(),
        );
        assert!(ok.result.is_ok(), "after {name}: {:?}", ok.result);
    }
}

#[test]
fn the_sandbox_grants_no_files_network_or_environment() {
    let lab = lab();
    let f = lab.load("test_wasi_probe");
    let mut invocation = Invocation::new(payload(json!({})), Limits::default(), Grants::none());
    invocation.env = vec![("GRANTED".into(), "1".into())];
    let out = lab.runtime.invoke(&f, &invocation);
    let report = response_to_json(&out.result.unwrap());
    for probe in [
        "fs.read",
        "fs.list_root",
        "fs.list_cwd",
        "fs.create",
        "net.connect",
    ] {
        let seen = report["probes"][probe].as_str().unwrap();
        assert!(seen.starts_with("error"), "{probe}: {seen}");
    }
    assert_eq!(report["env"]["vars"], json!(["GRANTED"]));
}

#[test]
fn bad_code_is_refused_with_a_clear_error() {
    let lab = lab();
    let err = |bytes: &[u8]| lab.runtime.load("bad", 1, bytes).err().unwrap().to_string();
    assert!(err(b"print('hi')").contains("not a WebAssembly binary"));
    assert!(err(b"\0asm\x01\0\0\0").contains("core WebAssembly module"));
    // A component of another world: an empty component exports no `handle`.
    let empty_component = b"\0asm\x0d\0\x01\0";
    assert!(
        err(empty_component).contains("handle"),
        "{}",
        err(empty_component)
    );
}

#[test]
fn a_restarted_runtime_compiles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_store, runtime) = open(dir.path());
        runtime.load("agg", 1, guests::SCORE_AGGREGATOR).unwrap();
        assert_eq!(runtime.compile_count(), 1);
    }
    let (_store, runtime) = open(dir.path());
    let f = runtime.load("agg", 1, guests::SCORE_AGGREGATOR).unwrap();
    assert_eq!(runtime.compile_count(), 0, "loaded from the cache");
    let out = runtime.invoke(
        &f,
        &Invocation::new(payload(json!({})), Limits::default(), Grants::none()),
    );
    // The aggregator refuses a direct invoke, but it ran from the cached code.
    assert!(out.cold_start);
}

#[test]
fn concurrent_invocations_of_one_function_all_commit() {
    let lab = Arc::new(lab());
    let f = Arc::new(
        lab.runtime
            .load("agg", 1, guests::SCORE_AGGREGATOR)
            .unwrap(),
    );
    let role = grants(&["read:table/*", "write:table/*"]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lab, f, role) = (lab.clone(), f.clone(), role.clone());
            std::thread::spawn(move || {
                let mut done = 0;
                while done < 5 {
                    let out = lab.run(
                        &f,
                        event_from_json(SCORE_EVENT).unwrap(),
                        Limits::default(),
                        role.clone(),
                    );
                    match out.result {
                        Ok(_) => done += 1,
                        Err(InvocationError::Conflict(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let item = lab.score_of("Jane Doe").unwrap();
    assert_eq!(
        item.get("Score").unwrap().clone(),
        AttributeValue::N("2000".parse().unwrap())
    );
}

/// Prints timings (not asserted): `cargo test -p eddy-runtime --release --
/// --ignored measure --nocapture`.
#[test]
#[ignore]
fn measure() {
    let lab = lab();
    let f = lab
        .runtime
        .load("logger", 1, guests::KINESIS_LOGGER)
        .unwrap();
    let invocation = Invocation::new(
        event_from_json(KINESIS_TEST_EVENT).unwrap(),
        Limits::default(),
        Grants::none(),
    );
    for _ in 0..100 {
        lab.runtime.invoke(&f, &invocation);
    }
    let n = 5000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        lab.runtime.invoke(&f, &invocation);
    }
    let warm = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let n = 200;
    let start = std::time::Instant::now();
    for i in 0..n {
        let f = lab
            .runtime
            .load("logger", i, guests::KINESIS_LOGGER)
            .unwrap();
        assert!(lab.runtime.invoke(&f, &invocation).cold_start);
    }
    let cold = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "warm_invoke_us={warm:.2} cold_start_from_cache_us={cold:.1} (load + first invoke, {} bytes)",
        guests::KINESIS_LOGGER.len()
    );
}
