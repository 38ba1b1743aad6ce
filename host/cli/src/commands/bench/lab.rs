//! `eddy bench lab`: the lab end to end, at volume, through the product path.
//!
//! On a fresh data directory: GameScoreRecords (RecordID N, stream NEW_IMAGE)
//! and GameScoresByUser (Username S) are created, the
//! `dynamodb-aggregate-scores` blueprint is deployed as a function with a
//! GameScoreRecords trigger (batch size `--batch-size`, 1,000 by default) —
//! all through the dispatcher, as a client would — and the trigger engine is
//! started. Then:
//!
//! 1. latency: `--latency-writes` single PutItems, one at a time, each
//!    waited for until processed (so each batch holds one record and nothing
//!    queues). The engine records, per invocation, the delay from the
//!    batch's first record's arrival (the store clock when its write began
//!    committing, kept in whole ms: figures carry up to +1 ms) to the
//!    invocation's start: `latency_p50_ms` / `latency_p99_ms`;
//! 2. throughput: `--writers` threads write `--items` score items (users
//!    spread over `--users`) with BatchWriteItem of 25. By default the
//!    trigger is disabled (UpdateEventSourceMapping) while they write and
//!    enabled afterwards: `records_per_s` is items / (its poller starting →
//!    the mapping's status counting the last record processed), the trigger
//!    pipeline's own rate. With `--concurrent` the trigger runs while they
//!    write, as in the lab: the rate is items / (first write → last record
//!    processed), bounded by the writers on a small machine;
//! 3. the per-user totals in GameScoresByUser must equal the totals the
//!    writers computed while writing (`totals_exact`).
//!
//! The same is then done on a second fresh data directory with the
//! aggregator written in Rust (the native twin of `eddy bench invoke`)
//! registered as a native handler: same pollers, batches, events, overlay,
//! commit and telemetry — only the handler differs. `ratio` is native
//! records/s over the component's. `peak_rss_mib` is the process's VmHWM.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;
use eddy_api::Api;
use eddy_runtime::bindgen::{Event, Response};
use eddy_runtime::error::InvocationError;
use eddy_runtime::overlay::Overlay;
use eddy_store::Store;
use eddy_store::functions::BASIC_EXECUTION_DYNAMODB;
use eddy_store::mappings::status;
use eddy_triggers::{NativeHandler, NativeHandlers, Triggers};
use serde_json::{Map, Value, json};

use super::invoke::{add_score, dynamodb, json_text};
use super::store::{Scratch, peak_rss_mib};

/// Arguments of `eddy bench lab`.
#[derive(Debug, clap::Args)]
pub struct BenchLabArgs {
    /// Print one JSON object with every figure instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Score items written in the throughput phase (per handler).
    #[arg(long, default_value_t = 1_000_000)]
    pub items: u64,
    /// Distinct users the scores are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// The trigger's BatchSize.
    #[arg(long, default_value_t = 1_000)]
    pub batch_size: u32,
    /// Writer threads (each sends BatchWriteItem of 25 back to back).
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    /// Single writes in the latency phase.
    #[arg(long, default_value_t = 500)]
    pub latency_writes: u32,
    /// Commit durably (the store's default) instead of relaxed.
    #[arg(long)]
    pub durable: bool,
    /// Keep the trigger running while the items are written (end to end)
    /// instead of letting it drain the written backlog.
    #[arg(long)]
    pub concurrent: bool,
    /// Run only one handler (for profiling one at a time).
    #[arg(long, value_enum)]
    pub only: Option<HandlerKind>,
    /// Where the scratch data directories go (removed afterwards).
    #[arg(long)]
    pub scratch_dir: Option<PathBuf>,
}

/// Which aggregator handles the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HandlerKind {
    /// The blueprint's WebAssembly component.
    Wasm,
    /// The same handler in Rust, run natively on the same path.
    Native,
}

const RECORDS: &str = "GameScoreRecords";
const TOTALS: &str = "GameScoresByUser";
const FUNCTION: &str = "AggregateScoresByUser";
const BLUEPRINT: &str = "dynamodb-aggregate-scores";
/// BatchWriteItem's limit.
const WRITE_BATCH: u64 = 25;
/// How long processing may make no progress before the bench gives up.
const STALL: Duration = Duration::from_secs(60);

/// What one handler's run measured.
struct Run {
    records_per_s: f64,
    writes_per_s: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    loaded_p50_ms: f64,
    loaded_p99_ms: f64,
    totals_exact: bool,
}

/// Runs `eddy bench lab`.
pub fn run_lab(args: &BenchLabArgs) -> Result<()> {
    ensure!(
        args.items > 0 && args.users > 0 && args.writers > 0 && args.batch_size > 0,
        "--items, --users, --writers and --batch-size must be at least 1"
    );
    let scratch = Scratch::new(args.scratch_dir.as_deref())?;
    let mut figures = Map::new();
    figures.insert("items".into(), json!(args.items));
    let mut runs = Vec::new();
    for kind in [HandlerKind::Wasm, HandlerKind::Native] {
        if args.only.is_some_and(|only| only != kind) {
            continue;
        }
        let name = match kind {
            HandlerKind::Wasm => "wasm",
            HandlerKind::Native => "native",
        };
        let run = run_once(&scratch.path(name), args, kind)
            .with_context(|| format!("the {name} aggregator's run"))?;
        report(args, name, &run);
        runs.push((kind, run));
    }
    let rate = |k: HandlerKind| runs.iter().find(|(kind, _)| *kind == k).map(|(_, r)| r);
    if let Some(wasm) = rate(HandlerKind::Wasm) {
        figures.insert(
            "wasm_records_per_s".into(),
            json!(round(wasm.records_per_s)),
        );
        figures.insert("latency_p50_ms".into(), json!(round(wasm.latency_p50_ms)));
        figures.insert("latency_p99_ms".into(), json!(round(wasm.latency_p99_ms)));
        figures.insert("wasm_write_per_s".into(), json!(round(wasm.writes_per_s)));
        if args.concurrent {
            let (p50, p99) = (round(wasm.loaded_p50_ms), round(wasm.loaded_p99_ms));
            figures.insert("loaded_latency_p50_ms".into(), json!(p50));
            figures.insert("loaded_latency_p99_ms".into(), json!(p99));
        }
    }
    if let Some(native) = rate(HandlerKind::Native) {
        let rate = round(native.records_per_s);
        figures.insert("native_records_per_s".into(), json!(rate));
        figures.insert(
            "native_latency_p50_ms".into(),
            json!(round(native.latency_p50_ms)),
        );
    }
    if let (Some(wasm), Some(native)) = (rate(HandlerKind::Wasm), rate(HandlerKind::Native)) {
        let ratio = native.records_per_s / wasm.records_per_s;
        figures.insert("ratio".into(), json!(round(ratio)));
        say(
            args,
            &format!("  ratio {ratio:.3} (native records/s ÷ wasm records/s)"),
        );
    }
    let exact = runs.iter().all(|(_, r)| r.totals_exact);
    figures.insert("peak_rss_mib".into(), json!(round(peak_rss_mib())));
    figures.insert("totals_exact".into(), json!(exact));
    figures.insert("batch_size".into(), json!(args.batch_size));
    figures.insert("users".into(), json!(args.users));
    figures.insert("writers".into(), json!(args.writers));
    figures.insert("durable".into(), json!(args.durable));
    figures.insert("concurrent".into(), json!(args.concurrent));
    say(args, &format!("  peak RSS {:.1} MiB", peak_rss_mib()));
    if args.json {
        println!("{}", Value::Object(figures));
    }
    ensure!(exact, "the totals in {TOTALS} are not what was written");
    Ok(())
}

fn say(args: &BenchLabArgs, line: &str) {
    if !args.json {
        eprintln!("{line}");
    }
}

fn report(args: &BenchLabArgs, name: &str, run: &Run) {
    // Draining a backlog, the delay is the backlog's age, not a latency.
    let loaded = if args.concurrent {
        format!(
            " (while writing p50 {:.1} ms p99 {:.1} ms)",
            run.loaded_p50_ms, run.loaded_p99_ms
        )
    } else {
        String::new()
    };
    say(
        args,
        &format!(
            "  {name:<7} {:>10.0} records/s (writers {:.0} items/s)  latency p50 {:.2} ms \
             p99 {:.2} ms{loaded}  totals exact: {}",
            run.records_per_s,
            run.writes_per_s,
            run.latency_p50_ms,
            run.latency_p99_ms,
            run.totals_exact
        ),
    );
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One handler's whole run on a fresh data directory `dir`.
fn run_once(dir: &Path, args: &BenchLabArgs, kind: HandlerKind) -> Result<Run> {
    let store = super::invoke::open_store(dir, args.durable)?;
    let api = Arc::new(Api::new(store.clone()));
    say(
        args,
        &format!("{kind:?}: creating the lab's tables, function and trigger ..."),
    );
    let uuid = deploy(&api, args.batch_size)?;
    let mut natives = NativeHandlers::new();
    if kind == HandlerKind::Native {
        natives.insert(FUNCTION.into(), Arc::new(NativeAggregator));
    }
    let functions = api.functions().map_err(|e| anyhow!("{e}"))?;
    let triggers = Triggers::start_with_natives(functions, natives);
    let mut lab = Lab {
        api,
        store,
        uuid,
        users: args.users,
        written: 0,
        totals: HashMap::new(),
    };
    say(
        args,
        &format!(
            "{kind:?}: {} single writes for latency ...",
            args.latency_writes
        ),
    );
    // One write first: the first invocation instantiates the function.
    lab.write_one()?;
    triggers.latency().reset();
    for _ in 0..args.latency_writes {
        lab.write_one()?;
    }
    let quantile = |q| triggers.latency().quantile_us(q).unwrap_or(0) as f64 / 1000.0;
    let (latency_p50_ms, latency_p99_ms) = (quantile(0.5), quantile(0.99));
    triggers.latency().reset();
    say(
        args,
        &format!(
            "{kind:?}: {} items by {} writers ...",
            args.items, args.writers
        ),
    );
    let (records_per_s, writes_per_s) = if args.concurrent {
        lab.throughput(args)?
    } else {
        lab.drain(args, &triggers)?
    };
    let (loaded_p50_ms, loaded_p99_ms) = (quantile(0.5), quantile(0.99));
    triggers.stop();
    Ok(Run {
        records_per_s,
        writes_per_s,
        latency_p50_ms,
        latency_p99_ms,
        loaded_p50_ms,
        loaded_p99_ms,
        totals_exact: lab.totals_exact()?,
    })
}

fn call(api: &Api, operation: &str, request: &Value) -> Result<Value> {
    api.dispatch(operation, request)
        .map_err(|e| anyhow!("{operation}: {e}"))
}

/// Creates the tables, the function from the blueprint and its trigger;
/// returns the trigger's UUID.
fn deploy(api: &Api, batch_size: u32) -> Result<String> {
    let table = |name: &str, key: &str, key_type: &str, stream: bool| {
        let mut request = json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": key_type}],
            "BillingMode": "PAY_PER_REQUEST",
        });
        if stream {
            request["StreamSpecification"] =
                json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"});
        }
        call(api, "DynamoDB_20120810.CreateTable", &request)
    };
    let records = table(RECORDS, "RecordID", "N", true)?;
    table(TOTALS, "Username", "S", false)?;
    let stream_arn = records["TableDescription"]["LatestStreamArn"]
        .as_str()
        .ok_or_else(|| anyhow!("CreateTable returned no LatestStreamArn: {records}"))?
        .to_string();
    let blueprint = eddy_api::eddy::BLUEPRINTS
        .iter()
        .find(|b| b.name == BLUEPRINT)
        .ok_or_else(|| anyhow!("this eddy has no {BLUEPRINT} blueprint"))?;
    let code = base64::engine::general_purpose::STANDARD.encode(blueprint.code);
    call(
        api,
        "Lambda_20150331.CreateFunction",
        &json!({
            "FunctionName": FUNCTION,
            "Role": BASIC_EXECUTION_DYNAMODB,
            "Code": {"ZipFile": code},
            "Description": "eddy bench lab",
        }),
    )?;
    let mapping = call(
        api,
        "Lambda_20150331.CreateEventSourceMapping",
        &json!({
            "FunctionName": FUNCTION,
            "EventSourceArn": stream_arn,
            "BatchSize": batch_size,
            "StartingPosition": "TRIM_HORIZON",
        }),
    )?;
    mapping["UUID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("CreateEventSourceMapping returned no UUID: {mapping}"))
}

/// One run's data directory, as the writers and the checks see it.
struct Lab {
    api: Arc<Api>,
    store: Store,
    uuid: String,
    users: u64,
    /// Items written so far.
    written: u64,
    /// Every user's total of the scores written so far.
    totals: HashMap<String, u64>,
}

/// Polls `done` every millisecond until it holds (at most `STALL`).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !done() {
        ensure!(start.elapsed() < STALL, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Score item `n`: its user and score, spread over `users` users.
fn score_of(n: u64, users: u64) -> (u64, u64) {
    // Multiplicative hashing spreads consecutive items over the users.
    let user = n.wrapping_mul(2_654_435_761) % users.max(1);
    let score = n.wrapping_mul(7_919) % 1_000;
    (user, score)
}

fn score_item(n: u64, user: u64, score: u64) -> Value {
    json!({
        "RecordID": {"N": n.to_string()},
        "Username": {"S": format!("Player {user}")},
        "Score": {"N": score.to_string()},
        "Nickname": {"S": format!("player{user}")},
    })
}

impl Lab {
    /// Records the trigger has processed so far.
    fn processed(&self) -> Result<u64> {
        let shards = status::status(&self.store, &self.uuid)?;
        Ok(shards.iter().map(|s| s.records_processed).sum())
    }

    /// Waits until `target` records are processed; errors when nothing moves
    /// for `STALL`, with the trigger's last error.
    fn wait_processed(&self, target: u64, poll: Duration) -> Result<()> {
        let mut last = (self.processed()?, Instant::now());
        while last.0 < target {
            std::thread::sleep(poll);
            let now = self.processed()?;
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > STALL {
                let shards = status::status(&self.store, &self.uuid)?;
                bail!("the trigger stalled at {now} of {target} records: {shards:?}");
            }
        }
        Ok(())
    }

    /// One PutItem, waited for until the trigger has processed it.
    fn write_one(&mut self) -> Result<()> {
        let n = self.written;
        let (user, score) = score_of(n, self.users);
        let request = json!({"TableName": RECORDS, "Item": score_item(n, user, score)});
        call(&self.api, "DynamoDB_20120810.PutItem", &request)?;
        self.written += 1;
        *self.totals.entry(format!("Player {user}")).or_default() += score;
        self.wait_processed(self.written, Duration::from_micros(200))
    }

    /// Writes `--items` items with `--writers` threads while the trigger
    /// runs; returns (records processed per s, items written per s).
    fn throughput(&mut self, args: &BenchLabArgs) -> Result<(f64, f64)> {
        let start = Instant::now();
        let written = self.write_all(args)?;
        self.wait_processed(self.written, Duration::from_millis(1))?;
        let items = args.items as f64;
        Ok((items / start.elapsed().as_secs_f64(), items / written))
    }

    /// Writes `--items` items with the trigger disabled, then enables it and
    /// times it through the backlog; returns (records processed per s,
    /// items written per s).
    fn drain(&mut self, args: &BenchLabArgs, triggers: &Triggers) -> Result<(f64, f64)> {
        self.set_enabled(false)?;
        wait_until("the trigger to stop", || triggers.pollers().is_empty())?;
        let written = self.write_all(args)?;
        self.set_enabled(true)?;
        wait_until("the trigger to start", || !triggers.pollers().is_empty())?;
        let start = Instant::now();
        self.wait_processed(self.written, Duration::from_millis(1))?;
        let items = args.items as f64;
        Ok((items / start.elapsed().as_secs_f64(), items / written))
    }

    fn set_enabled(&self, enabled: bool) -> Result<()> {
        let request = json!({"UUID": self.uuid, "Enabled": enabled});
        call(
            &self.api,
            "Lambda_20150331.UpdateEventSourceMapping",
            &request,
        )?;
        Ok(())
    }

    /// Writes `--items` items with `--writers` threads, adding them to the
    /// totals; returns the seconds it took.
    fn write_all(&mut self, args: &BenchLabArgs) -> Result<f64> {
        let end = self.written.saturating_add(args.items);
        let next = Arc::new(AtomicU64::new(self.written));
        let start = Instant::now();
        let threads: Vec<_> = (0..args.writers)
            .map(|_| {
                let (api, next, users) = (self.api.clone(), next.clone(), self.users);
                std::thread::spawn(move || write_items(&api, &next, end, users))
            })
            .collect();
        for thread in threads {
            let totals = thread
                .join()
                .map_err(|_| anyhow!("a bench writer panicked"))??;
            for (user, total) in totals {
                *self.totals.entry(user).or_default() += total;
            }
        }
        self.written = end;
        Ok(start.elapsed().as_secs_f64())
    }

    /// True if every user's Score in GameScoresByUser is the total written.
    fn totals_exact(&self) -> Result<bool> {
        let mut seen = HashMap::new();
        let mut start_key: Option<Value> = None;
        loop {
            let mut request = json!({"TableName": TOTALS});
            if let Some(key) = start_key.take() {
                request["ExclusiveStartKey"] = key;
            }
            let page = call(&self.api, "DynamoDB_20120810.Scan", &request)?;
            for item in page["Items"].as_array().into_iter().flatten() {
                let user = item["Username"]["S"].as_str().unwrap_or_default();
                let score = item["Score"]["N"].as_str().and_then(|s| s.parse().ok());
                seen.insert(user.to_string(), score);
            }
            match page.get("LastEvaluatedKey") {
                Some(key) if !key.is_null() => start_key = Some(key.clone()),
                _ => break,
            }
        }
        let expected: HashMap<String, Option<u64>> = self
            .totals
            .iter()
            .map(|(user, total)| (user.clone(), Some(*total)))
            .collect();
        Ok(seen == expected)
    }
}

/// A writer: takes runs of 25 item numbers below `end` from `next` and
/// writes each with one BatchWriteItem; returns its users' score totals.
fn write_items(api: &Api, next: &AtomicU64, end: u64, users: u64) -> Result<HashMap<String, u64>> {
    let mut totals: HashMap<String, u64> = HashMap::new();
    loop {
        let first = next.fetch_add(WRITE_BATCH, Ordering::Relaxed);
        if first >= end {
            return Ok(totals);
        }
        let puts: Vec<Value> = (first..first.saturating_add(WRITE_BATCH).min(end))
            .map(|n| {
                let (user, score) = score_of(n, users);
                *totals.entry(format!("Player {user}")).or_default() += score;
                json!({"PutRequest": {"Item": score_item(n, user, score)}})
            })
            .collect();
        let request = json!({"RequestItems": {RECORDS: puts}});
        let response = call(api, "DynamoDB_20120810.BatchWriteItem", &request)?;
        let unprocessed = response["UnprocessedItems"].as_object();
        ensure!(
            unprocessed.is_none_or(Map::is_empty),
            "BatchWriteItem left items unprocessed: {response}"
        );
    }
}

/// The lab's aggregator in Rust, doing per record what the blueprint does
/// (the native twin of `eddy bench invoke`, sharing its code): read Username
/// and Score from the new image, log `DynamoDB Record: <record.dynamodb>`,
/// and UpdateItem `ADD Score :attrValue` on the user's total, through the
/// invocation's overlay.
struct NativeAggregator;

fn handler_error(error_type: &str, message: impl ToString) -> InvocationError {
    InvocationError::Handler {
        error_type: error_type.into(),
        message: message.to_string(),
    }
}

impl NativeHandler for NativeAggregator {
    fn handle(
        &self,
        event: &Event,
        overlay: &mut Overlay,
        log: &mut Vec<String>,
    ) -> Result<Response, InvocationError> {
        let Event::ChangeBatch(batch) = event else {
            return Err(handler_error(
                "UnexpectedEvent",
                "the aggregator handles table changes only",
            ));
        };
        let mut line = String::new();
        for record in &batch.records {
            let [username, score] = match &record.new_image {
                Some(image) => json_text::top_level(image, ["Username", "Score"])
                    .map_err(|e| handler_error("InvalidImage", e))?,
                None => [None, None],
            };
            line.clear();
            line.push_str("DynamoDB Record: ");
            dynamodb(record, &batch.view_type).write(&mut line);
            log.push(line.clone());
            let request = add_score(username, score).map_err(|e| handler_error("BadScore", e))?;
            overlay
                .update(&request)
                .map_err(|e| handler_error("UpdateItemFailed", e))?;
        }
        Ok(Response {
            payload: Some(format!(
                "\"Successfully processed {} records.\"",
                batch.records.len()
            )),
            failed_sequence_numbers: Vec::new(),
        })
    }
}
