//! `eddy bench invoke`: measures the function runtime on this machine, through
//! the product path (`Functions::resolve` + `Functions::invoke`, what Invoke and
//! the triggers use, telemetry included):
//!
//! - `warm_call_us`: one warm invocation of a guest that does nothing
//!   (guests/test/noop), so what is measured is eddy's own cost per call;
//! - `cold_start_from_cache_us`: resolving a function never loaded in this
//!   process (its compiled code already in the on-disk cache) and its first
//!   invocation, which instantiates it;
//! - `aggregator_ns_per_record`: the lab's score aggregator on change batches of
//!   GameScoreRecords NEW_IMAGE records, against `native_ns_per_record`, the same
//!   handler written in Rust in this file (running the guest SDK's own
//!   json_text.rs, compiled natively), doing the same updates through the
//!   same overlay and committing them the same way, interleaved batch by batch
//!   on the same store so both see the same machine. `ratio` is total time
//!   over total time; `median_ratio` compares the median batches, which a
//!   busy machine's preemptions disturb far less.
//!
//! Numbers are measured, never assumed; every figure is the median of several
//! rounds, and the run checks the work was done (every invocation succeeded,
//! the totals in GameScoresByUser add up, nothing was compiled when timing cold
//! starts).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use eddy_runtime::bindgen::{ChangeBatch, ChangeKind, ChangeRecord, Event, Response};
use eddy_runtime::deployed::{Deployed, Functions};
use eddy_runtime::guests;
use eddy_runtime::invoke::{InvocationOutcome, RuntimeOptions};
use eddy_runtime::overlay::{Committed, Overlay};
use eddy_store::functions::{self, FunctionSpec, limits};
use eddy_store::tables::{
    self, BillingMode, CreateTable, ExpressionMaps, GetItemRequest, KeyAttr, ReturnValues,
    UpdateItemRequest,
};
use eddy_store::value::json::item_from_json;
use eddy_store::value::keys::KeyType;
use eddy_store::{AttributeValue, Durability, Store, StoreOptions};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::store::Scratch;

/// The guest SDK's JSON-as-text helpers, compiled natively: the native twin
/// of the score aggregator runs the very code the guest runs.
#[path = "../../../../../guests/sdk/src/json_text.rs"]
pub(super) mod json_text;

/// Arguments of `eddy bench invoke`.
#[derive(Debug, clap::Args)]
pub struct BenchInvokeArgs {
    /// Print one JSON object with every figure instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Warm invocations per timed round (7 rounds; the median is reported).
    #[arg(long, default_value_t = 20_000)]
    pub warm_calls: u32,
    /// Functions cold-started (each resolved and invoked once).
    #[arg(long, default_value_t = 100)]
    pub cold_starts: u32,
    /// Change batches each of the aggregator and the native handler processes.
    #[arg(long, default_value_t = 200)]
    pub batches: u32,
    /// Change records per batch (each for a different user, up to --users).
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// Distinct users the scores are spread over.
    #[arg(long, default_value_t = 100)]
    pub users: u32,
    /// Commit durably (fsync per batch, the store's default) instead of relaxed.
    /// Relaxed is the default here: an fsync per batch costs both handlers the
    /// same and would hide the runtime's own cost in the ratio.
    #[arg(long)]
    pub durable: bool,
    /// Where the scratch data directory goes (removed afterwards).
    #[arg(long)]
    pub scratch_dir: Option<PathBuf>,
}

/// Rounds each timed figure is measured in; the median is reported.
const ROUNDS: usize = 7;
/// The table the aggregator writes, keyed by Username, as in the lab.
const TOTALS: &str = "GameScoresByUser";
const NOOP: &str = "BenchNoop";
const AGGREGATOR: &str = "BenchAggregateScoresByUser";

/// Runs `eddy bench invoke`.
pub fn run_invoke(args: &BenchInvokeArgs) -> Result<()> {
    ensure!(
        args.warm_calls > 0 && args.batches > 0 && args.batch_size > 0 && args.users > 0,
        "--warm-calls, --batches, --batch-size and --users must be at least 1"
    );
    let scratch = Scratch::new(args.scratch_dir.as_deref())?;
    let store = open_store(&scratch.path("data"), args.durable)?;
    let functions = Functions::new(store.clone(), RuntimeOptions::default())
        .map_err(|e| anyhow!("starting the runtime: {e}"))?;
    let noop = noop_code()?;
    let mut figures = Figures::new(args.json);

    progress(args, "warm invocations of a no-op guest");
    create_function(&functions, NOOP, &noop, functions::BASIC_EXECUTION)?;
    warm_calls(&functions, args, &mut figures)?;

    progress(args, "cold starts from the component cache");
    cold_starts(&functions, &noop, args, &mut figures)?;

    progress(args, "score aggregator against native Rust");
    aggregator(&functions, args, &mut figures)?;
    figures.finish();
    Ok(())
}

fn progress(args: &BenchInvokeArgs, what: &str) {
    if !args.json {
        eprintln!("{what} ...");
    }
}

/// A bench store in `dir`: durable, or relaxed (ack before fsync).
pub(super) fn open_store(dir: &std::path::Path, durable: bool) -> Result<Store> {
    let durability = if durable {
        Durability::Durable
    } else {
        Durability::Relaxed
    };
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    Store::open(dir, options).with_context(|| format!("opening {}", dir.display()))
}

fn noop_code() -> Result<Vec<u8>> {
    let path = guests::path("test_noop")
        .ok_or_else(|| anyhow!("this eddy was built without the test_noop guest"))?;
    std::fs::read(path).with_context(|| format!("reading {path}"))
}

/// Validates `code` (compiling it into the cache) and creates function `name`.
fn create_function(functions: &Functions, name: &str, code: &[u8], role: &str) -> Result<()> {
    functions
        .runtime()
        .validate(code)
        .map_err(|e| anyhow!("{name}: {e}"))?;
    let spec = FunctionSpec {
        name: name.to_string(),
        description: "eddy bench invoke".into(),
        timeout_secs: limits::DEFAULT_TIMEOUT_SECS,
        memory_mib: limits::DEFAULT_MEMORY_MIB,
        fuel: eddy_runtime::sandbox::DEFAULT_FUEL,
        grants: Vec::new(),
        env: BTreeMap::new(),
        role: Some(role.to_string()),
    };
    functions::create_function(functions.store(), spec, code.to_vec())?;
    Ok(())
}

/// The figures, printed as a table as they come, or as one JSON object.
struct Figures {
    json: bool,
    values: Map<String, Value>,
}

impl Figures {
    fn new(json: bool) -> Figures {
        Figures {
            json,
            values: Map::new(),
        }
    }

    fn add(&mut self, name: &str, value: f64, unit: &str, note: &str) {
        if !self.json {
            eprintln!("  {name:<28} {value:>12.3} {unit:<10} {note}");
        }
        let rounded = (value * 1000.0).round() / 1000.0;
        self.values.insert(name.to_string(), json!(rounded));
    }

    fn count(&mut self, name: &str, value: u64) {
        self.values.insert(name.to_string(), json!(value));
    }

    fn finish(self) {
        if self.json {
            println!("{}", Value::Object(self.values));
        }
    }
}

/// The median of `samples` (which is never empty here).
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn succeeded(what: &str, outcome: &InvocationOutcome) -> Result<()> {
    match &outcome.result {
        Ok(_) => Ok(()),
        Err(e) => bail!("{what} failed: {e}; log: {:?}", outcome.logs),
    }
}

fn resolve(functions: &Functions, name: &str) -> Result<std::sync::Arc<Deployed>> {
    functions
        .resolve(name, None)
        .map_err(|e| anyhow!("resolving {name}: {e}"))
}

/// Warm no-op invocations: through `Functions::invoke` (the product path,
/// telemetry included), through `Runtime::invoke` with a prepared invocation
/// (the runtime alone), and with `Functions::resolve` before each call (what a
/// trigger does per batch, to pick up new code).
fn warm_calls(functions: &Functions, args: &BenchInvokeArgs, figures: &mut Figures) -> Result<()> {
    let deployed = resolve(functions, NOOP)?;
    let event = Event::Invoke("{}".into());
    let n = args.warm_calls;
    let product =
        |_: ()| -> Result<()> { succeeded("noop", &functions.invoke(&deployed, event.clone())) };
    let invocation = deployed.invocation(event.clone());
    let runtime = functions.runtime();
    let bare = |_: ()| -> Result<()> {
        succeeded("noop", &runtime.invoke(&deployed.function, &invocation))
    };
    let resolved = |_: ()| -> Result<()> {
        let deployed = resolve(functions, NOOP)?;
        succeeded("noop", &functions.invoke(&deployed, event.clone()))
    };
    let warm = per_call_us(n, product)?;
    let runtime_only = per_call_us(n, bare)?;
    let with_resolve = per_call_us(n.div_ceil(10), resolved)?;
    figures.add(
        "warm_call_us",
        warm,
        "µs/call",
        "Functions::invoke, no-op guest",
    );
    figures.add(
        "runtime_invoke_us",
        runtime_only,
        "µs/call",
        "Runtime::invoke, prepared invocation",
    );
    figures.add(
        "warm_call_with_resolve_us",
        with_resolve,
        "µs/call",
        "Functions::resolve + invoke",
    );
    Ok(())
}

/// The median over `ROUNDS` rounds of `n` calls of `call`, in µs per call,
/// after one untimed round to warm up.
fn per_call_us(n: u32, mut call: impl FnMut(()) -> Result<()>) -> Result<f64> {
    let mut rounds = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let start = Instant::now();
        for _ in 0..n {
            call(())?;
        }
        if round > 0 {
            rounds.push(micros(start.elapsed()) / f64::from(n));
        }
    }
    Ok(median(rounds))
}

/// Creates `--cold-starts` functions with the no-op code (already compiled
/// into the cache), then resolves and invokes each once: the first invocation
/// of a function version in this process.
fn cold_starts(
    functions: &Functions,
    noop: &[u8],
    args: &BenchInvokeArgs,
    figures: &mut Figures,
) -> Result<()> {
    let names: Vec<String> = (0..args.cold_starts)
        .map(|i| format!("BenchCold{i}"))
        .collect();
    for name in &names {
        create_function(functions, name, noop, functions::BASIC_EXECUTION)?;
    }
    let compiled_before = functions.runtime().compile_count();
    let (mut loads, mut firsts, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    for name in &names {
        let start = Instant::now();
        let deployed = resolve(functions, name)?;
        let loaded = Instant::now();
        let outcome = functions.invoke(&deployed, Event::Invoke("{}".into()));
        let done = Instant::now();
        succeeded(name, &outcome)?;
        ensure!(
            outcome.cold_start,
            "{name}'s first invocation was not a cold start"
        );
        loads.push(micros(loaded - start));
        firsts.push(micros(done - loaded));
        totals.push(micros(done - start));
    }
    let compiled = functions.runtime().compile_count() - compiled_before;
    ensure!(
        compiled == 0,
        "{compiled} components were compiled while timing cold starts"
    );
    if totals.is_empty() {
        return Ok(());
    }
    figures.add(
        "cold_start_from_cache_us",
        median(totals),
        "µs",
        "resolve + first invoke",
    );
    figures.add(
        "cold_resolve_us",
        median(loads),
        "µs",
        "read config and code, map cached code",
    );
    figures.add(
        "cold_first_invoke_us",
        median(firsts),
        "µs",
        "instantiate + call",
    );
    figures.count("cold_starts", names.len() as u64);
    Ok(())
}

/// The lab's score aggregator against the same handler in native Rust.
fn aggregator(functions: &Functions, args: &BenchInvokeArgs, figures: &mut Figures) -> Result<()> {
    let store = functions.store();
    create_totals_table(store)?;
    let role = functions::BASIC_EXECUTION_DYNAMODB;
    create_function(functions, AGGREGATOR, guests::SCORE_AGGREGATOR, role)?;
    let deployed = resolve(functions, AGGREGATOR)?;
    let batches: Vec<ChangeBatch> = (0..args.batches).map(|b| score_batch(b, args)).collect();
    // One untimed batch each first: the instance is warm and both have
    // touched every user's item once.
    let mut guest_time = Duration::ZERO;
    let mut native_time = Duration::ZERO;
    let (mut guest_batches, mut native_batches) = (Vec::new(), Vec::new());
    let mut fuel = 0u64;
    for (i, batch) in batches.iter().enumerate() {
        // The event is made before the clock starts: it is the bench's copy,
        // not work the invocation does.
        let event = Event::ChangeBatch(batch.clone());
        let start = Instant::now();
        let outcome = functions.invoke(&deployed, event);
        let guest_done = Instant::now();
        fuel = fuel.saturating_add(outcome.fuel_used);
        succeeded(AGGREGATOR, &outcome)?;
        let committed = native_handler(functions, batch)?;
        let native_done = Instant::now();
        ensure!(
            committed == outcome.committed,
            "the native handler wrote {committed:?}, the aggregator {:?}",
            outcome.committed
        );
        // Both handlers' log lines wait in the telemetry buffer, and the
        // periodic flusher would write them on the store's one writer thread
        // at a random moment, making whichever commit comes next wait: write
        // them here, untimed, so neither handler's commit queues behind them.
        // (`eddy bench lab` runs both through the engine, flushes included.)
        functions.telemetry().flush()?;
        if i > 0 {
            guest_time += guest_done - start;
            native_time += native_done - guest_done;
            guest_batches.push(micros(guest_done - start));
            native_batches.push(micros(native_done - guest_done));
        }
    }
    check_totals(store, &batches, args.users)?;
    let records = f64::from(args.batches.saturating_sub(1).max(1)) * f64::from(args.batch_size);
    let guest = guest_time.as_secs_f64() * 1e9 / records;
    let native = native_time.as_secs_f64() * 1e9 / records;
    let note = format!("{} records per batch", args.batch_size);
    figures.add("aggregator_ns_per_record", guest, "ns/record", &note);
    figures.add("native_ns_per_record", native, "ns/record", &note);
    figures.add("ratio", guest / native, "×", "aggregator / native");
    add_medians(figures, guest_batches, native_batches, args.batch_size);
    let all_records = f64::from(args.batches) * f64::from(args.batch_size);
    let fuel = fuel as f64 / all_records;
    figures.add(
        "aggregator_fuel_per_record",
        fuel,
        "fuel",
        "wasm work the guest did",
    );
    figures.count("batches", u64::from(args.batches));
    figures.count("batch_size", u64::from(args.batch_size));
    figures.count("durable", u64::from(args.durable));
    Ok(())
}

/// The median batches' per-record times (µs per batch in): the typical
/// batch, which a busy machine's preemptions of a few batches do not move.
fn add_medians(figures: &mut Figures, guest: Vec<f64>, native: Vec<f64>, batch_size: u32) {
    let per_record = 1e3 / f64::from(batch_size);
    let guest = median(guest) * per_record;
    let native = median(native) * per_record;
    let note = "median batch";
    figures.add("aggregator_median_ns_per_record", guest, "ns/record", note);
    figures.add("native_median_ns_per_record", native, "ns/record", note);
    figures.add("median_ratio", guest / native, "×", "aggregator / native");
}

fn create_totals_table(store: &Store) -> Result<()> {
    let create = CreateTable {
        name: TOTALS.into(),
        partition_key: KeyAttr {
            name: "Username".into(),
            key_type: KeyType::S,
        },
        sort_key: None,
        billing: BillingMode::PayPerRequest,
        stream: None,
    };
    tables::create_table(store, create)?;
    Ok(())
}

/// Batch `b`: `--batch-size` INSERT records of GameScoreRecords (NEW_IMAGE),
/// like the lab's, record `n` for user `n % users` with score `n % 1000`.
fn score_batch(b: u32, args: &BenchInvokeArgs) -> ChangeBatch {
    let records = (0..args.batch_size)
        .map(|i| {
            let n = u64::from(b) * u64::from(args.batch_size) + u64::from(i);
            let user = n % u64::from(args.users);
            let keys = json!({"RecordID": {"N": n.to_string()}});
            let image = json!({
                "RecordID": {"N": n.to_string()},
                "Username": {"S": format!("Player {user}")},
                "Score": {"N": (n % 1000).to_string()},
                "Nickname": {"S": format!("player{user}")},
            });
            ChangeRecord {
                event_id: format!("{n:032x}"),
                kind: ChangeKind::Insert,
                keys: keys.to_string(),
                new_image: Some(image.to_string()),
                old_image: None,
                sequence_number: format!("{:021}", n + 1),
                size_bytes: 80,
                approximate_creation_time: 1_764_000_000,
            }
        })
        .collect();
    ChangeBatch {
        event_source_arn: "arn:aws:dynamodb:us-east-1:000000000000:table/GameScoreRecords/stream/2026-11-24T00:00:00.000".into(),
        view_type: "NEW_IMAGE".into(),
        records,
    }
}

/// The aggregator (guests/score-aggregator) in native Rust, step for step:
/// per record it reads Username and Score from the new image in one pass,
/// appends the log line `DynamoDB Record: <record.dynamodb>` joined from the
/// event's JSON strings to the pending log (both with the guest SDK's own
/// json_text.rs, compiled natively), hands the pending log over in chunks of
/// `LOG_CHUNK` bytes as the guest writes it to stdout, and adds the Score to
/// the user's total with UpdateItem `ADD Score :attrValue` through an
/// invocation overlay; then commits the overlay in one store write job, as
/// `Runtime::invoke` commits an invocation's writes.
fn native_handler(functions: &Functions, batch: &ChangeBatch) -> Result<Committed> {
    let started = Instant::now();
    let store = functions.store();
    let mut overlay = Overlay::new(store.clone());
    let mut log = Vec::new();
    let mut pending = String::new();
    for record in &batch.records {
        let [username, score] = match &record.new_image {
            Some(image) => json_text::top_level(image, ["Username", "Score"])?,
            None => [None, None],
        };
        pending.push_str("DynamoDB Record: ");
        dynamodb(record, &batch.view_type).write(&mut pending);
        pending.push('\n');
        if pending.len() >= LOG_CHUNK {
            log.push(pending.clone());
            pending.clear();
        }
        overlay.update(&add_score(username, score)?)?;
    }
    log.push(pending);
    let response = format!("Successfully processed {} records.", batch.records.len());
    let writes = overlay.into_writes();
    let committed = match store.write(move |ctx| writes.commit_in(ctx))? {
        Ok(committed) => committed,
        Err(conflict) => bail!("native commit conflicted: {}", conflict.0),
    };
    record_native(functions, started, log, response, committed);
    Ok(committed)
}

/// Records the native handler's invocation and log lines in the same
/// telemetry the guest's go through, as eddy would record any function
/// it runs: the platform's cost is on both sides of the ratio.
fn record_native(
    functions: &Functions,
    started: Instant,
    chunks: Vec<String>,
    response: String,
    committed: Committed,
) {
    let logs = chunks
        .iter()
        .flat_map(|chunk| chunk.lines())
        .map(str::to_string)
        .collect();
    let outcome = InvocationOutcome {
        request_id: String::from("native"),
        result: Ok(Response {
            payload: Some(response),
            failed_sequence_numbers: Vec::new(),
        }),
        logs,
        duration: started.elapsed(),
        fuel_used: 0,
        max_memory_used: 0,
        cold_start: false,
        committed,
    };
    functions
        .telemetry()
        .record(NATIVE, 1, limits::DEFAULT_MEMORY_MIB, &outcome);
}

/// The name the native twin's logs and metrics are recorded under.
const NATIVE: &str = "native-aggregator";

/// The score aggregator's log chunk (guests/score-aggregator's `LOG_CHUNK`).
const LOG_CHUNK: usize = 4096;

/// The record's `dynamodb` fields, as the guest SDK's
/// `ChangeRecord::write_dynamodb_json` gathers them.
pub(super) fn dynamodb<'a>(
    record: &'a ChangeRecord,
    view_type: &'a str,
) -> json_text::Dynamodb<'a> {
    json_text::Dynamodb {
        approximate_creation_time: record.approximate_creation_time,
        keys: &record.keys,
        new_image: record.new_image.as_deref(),
        old_image: record.old_image.as_deref(),
        sequence_number: &record.sequence_number,
        size_bytes: record.size_bytes,
        view_type,
    }
}

/// The UpdateItem the aggregator sends: Key `{"Username": <username>}`,
/// `:attrValue` = `<score>`, a missing attribute as null. The guest pastes
/// the attributes' JSON into a key and a values object, which the host
/// parses; natively only the attributes themselves are parsed.
pub(super) fn add_score(
    username: Option<&RawValue>,
    score: Option<&RawValue>,
) -> Result<UpdateItemRequest> {
    let parse = |raw: Option<&RawValue>| -> Result<Value> {
        Ok(serde_json::from_str(raw.map_or("null", RawValue::get))?)
    };
    let mut key = Map::new();
    key.insert("Username".into(), parse(username)?);
    let mut values = Map::new();
    values.insert(":attrValue".into(), parse(score)?);
    Ok(UpdateItemRequest {
        table: TOTALS.into(),
        key: item_from_json(&Value::Object(key))?,
        update: Some("ADD Score :attrValue".into()),
        condition: None,
        expressions: ExpressionMaps {
            names: None,
            values: Some(values),
        },
        return_values: ReturnValues::None,
        return_old_on_failure: false,
    })
}

/// Every user's Score must be twice the sum of its records' scores: once from
/// the aggregator, once from the native handler.
fn check_totals(store: &Store, batches: &[ChangeBatch], users: u32) -> Result<()> {
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for record in batches.iter().flat_map(|b| &b.records) {
        let image: Value = serde_json::from_str(record.new_image.as_deref().unwrap_or("null"))?;
        let user = image["Username"]["S"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let score: u64 = image["Score"]["N"].as_str().unwrap_or("0").parse()?;
        *expected.entry(user).or_default() += 2 * score;
    }
    ensure!(expected.len() <= users as usize, "more users than --users");
    for (user, total) in expected {
        let request = GetItemRequest {
            table: TOTALS.into(),
            key: [("Username".to_string(), AttributeValue::S(user.clone()))].into(),
            ..GetItemRequest::default()
        };
        let item = tables::get_item(store, &request)?;
        let score = item.as_ref().and_then(|i| i.get("Score")).cloned();
        ensure!(
            score == Some(AttributeValue::N(total.to_string().parse()?)),
            "{user}'s total is {score:?}, expected {total}"
        );
    }
    Ok(())
}
