//! `eddy bench store`: measures the data plane on this machine, through the same
//! dispatcher every client uses, and prints each figure beside the machine's fsync
//! rate (durable commits are bound by it). Numbers are measured, never assumed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eddy_api::Response;
use eddy_store::{Durability, Store, StoreOptions};
use serde_json::{Map, Value, json};

/// Arguments of `eddy bench store`.
#[derive(Debug, clap::Args)]
pub struct BenchStoreArgs {
    /// Print one JSON object with every figure instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Items in the table the scan figures are measured on.
    #[arg(long, default_value_t = 1_000_000)]
    pub scan_items: u64,
    /// Seconds each write phase runs.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Where the scratch data directories go (removed afterwards).
    #[arg(long)]
    pub scratch_dir: Option<PathBuf>,
    /// Run only these phases (for profiling one path at a time).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Phase>,
}

/// The phases of `eddy bench store`, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Durable PutItem, 1 and 64 writers (64 also with scattered keys).
    Put,
    /// Relaxed PutItem, 1 and 64 writers (64 also with scattered keys).
    Relaxed,
    /// PutRecords and GetRecords.
    Records,
    /// Loading a table, then Scan.
    Scan,
}

impl BenchStoreArgs {
    fn runs(&self, phase: Phase) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }
}

pub fn run_store(args: &BenchStoreArgs) -> Result<()> {
    let scratch = Scratch::new(args.scratch_dir.as_deref())?;
    let phase = Duration::from_secs_f64(args.seconds);
    let mut figures = serde_json::Map::new();
    progress(args, "measuring fsync rate");
    // Durable commits are bound by fsync, so every figure is printed beside the
    // rate this disk managed in the same run.
    let fsync = fsync_rate(&scratch.path("fsync"), phase)?;
    figures.insert("fsync_per_s".into(), json!(round(fsync)));
    let mut report = |name: &str, value: f64, unit: &str| {
        if !args.json {
            eprintln!("  {name:<28} {value:>14.0} {unit:<10} (fsync {fsync:.0}/s)");
        }
        figures.insert(name.to_string(), json!(round(value)));
    };
    for (durability, prefix, phase_name) in [
        (Durability::Durable, "", Phase::Put),
        (Durability::Relaxed, "relaxed_", Phase::Relaxed),
    ] {
        if !args.runs(phase_name) {
            continue;
        }
        for (writers, clients, keys) in [
            (1usize, Clients::Threads, Keys::Increasing),
            (64, Clients::Tasks, Keys::Increasing),
            (64, Clients::Tasks, Keys::Scattered),
            (64, Clients::Threads, Keys::Increasing),
        ] {
            let suffix = format!("{}{}", keys.suffix(), clients.suffix(writers));
            progress(args, &format!("PutItem, {prefix}{writers} writers{suffix}"));
            let dir = scratch.path(&format!("put-{prefix}{writers}{suffix}"));
            let rate = put_item_rate(&dir, durability, (writers, clients), keys, phase)?;
            report(
                &format!("{prefix}put_item_per_s_c{writers}{suffix}"),
                rate,
                "items/s",
            );
        }
    }
    if args.runs(Phase::Records) {
        progress(args, "PutRecords x500 and GetRecords");
        let (put_rate, get_rate) = records_rates(&scratch.path("records"), phase)?;
        report("put_records_per_s", put_rate, "records/s");
        report("get_records_per_s", get_rate, "records/s");
    }
    if args.runs(Phase::Scan) {
        progress(
            args,
            &format!("loading {} items, then Scan", args.scan_items),
        );
        let (scan_rate, start, peak) = scan_rate(&scratch.path("scan"), args.scan_items)?;
        report("scan_items_per_s", scan_rate, "items/s");
        report("scan_start_rss_mib", start, "MiB RSS as the scan starts");
        report("scan_peak_rss_mib", peak, "MiB peak RSS during the scan");
        figures.insert("scan_items".into(), json!(args.scan_items));
    }
    if args.json {
        println!("{}", Value::Object(figures));
    }
    Ok(())
}

fn progress(args: &BenchStoreArgs, what: &str) {
    if !args.json {
        eprintln!("{what} ...");
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Scratch data directories, removed when the bench ends.
pub(super) struct Scratch(PathBuf);

impl Scratch {
    pub(super) fn new(parent: Option<&Path>) -> Result<Scratch> {
        let parent = parent
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let dir = parent.join(format!("eddy-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// 4 KiB write + fdatasync, as often as the disk allows during `phase`.
fn fsync_rate(dir: &Path, phase: Duration) -> Result<f64> {
    std::fs::create_dir_all(dir)?;
    let mut file = std::fs::File::create(dir.join("probe"))?;
    let block = [7u8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < phase {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn open(dir: &Path, durability: Durability) -> Result<Store> {
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    Ok(Store::open(dir, options)?)
}

fn call(store: &Store, operation: &str, request: &Value) -> Result<Value> {
    eddy_api::dispatch(store, operation, request).map_err(|e| anyhow::anyhow!("{operation}: {e}"))
}

/// A read as `eddy serve` answers it: the response and its bytes on the wire
/// (the read figures count the work of producing what a client receives).
fn read_call(store: &Store, operation: &str, request: &Value) -> Result<(Response, usize)> {
    let response = eddy_api::respond(store, operation, request)
        .map_err(|e| anyhow::anyhow!("{operation}: {e}"))?;
    let bytes = response.to_bytes().len();
    Ok((response, bytes))
}

fn create_table(store: &Store, name: &str) -> Result<()> {
    call(
        store,
        "DynamoDB_20120810.CreateTable",
        &json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )?;
    Ok(())
}

/// A score item like the lab's, about 100 bytes, keyed `pk`.
fn score_item(writer: usize, n: u64) -> Value {
    keyed_score_item(format!("user-{writer}-{n}"), writer, n)
}

/// A score item with key `pk`. Built member by member: `json!` copies every
/// interpolated value through the serializer, which made building a request
/// cost the 64 bench clients more than the PutItem they measure.
fn keyed_score_item(pk: String, writer: usize, n: u64) -> Value {
    let attribute = |kind: &str, text: String| {
        let mut value = Map::with_capacity(1);
        value.insert(kind.to_string(), Value::String(text));
        Value::Object(value)
    };
    let mut item = Map::with_capacity(4);
    item.insert("pk".into(), attribute("S", pk));
    item.insert(
        "Username".into(),
        attribute("S", format!("Player {writer}")),
    );
    item.insert("Score".into(), attribute("N", (n % 1000).to_string()));
    item.insert("Nickname".into(), attribute("S", "bench".into()));
    Value::Object(item)
}

/// Runs `step(client, i)` back to back on `clients` threads for `phase` (`i`
/// counts the client's steps); each step returns how many items it did.
/// Returns (items per second, items).
fn run_clients<F>(clients: usize, phase: Duration, step: F) -> Result<(f64, u64)>
where
    F: Fn(usize, u64) -> Result<u64> + Send + Sync + 'static,
{
    let step = Arc::new(step);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (step, stop, done) = (step.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || -> Result<()> {
                let (mut steps, mut items) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    items += step(c, steps)?;
                    steps += 1;
                }
                done.fetch_add(items, Ordering::Relaxed);
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(phase);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a bench client panicked"))??;
    }
    let total = done.load(Ordering::Relaxed);
    Ok((total as f64 / start.elapsed().as_secs_f64(), total))
}

/// `run_clients` with the clients as async tasks on ONE thread, the way
/// `eddy serve` runs concurrent requests: each step is a future, and a write
/// waits for its group commit without a thread (`eddy_api::dispatch_async`).
fn run_tasks<F, Fut>(clients: usize, phase: Duration, step: F) -> Result<(f64, u64)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u64>> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let step = Arc::new(step);
    let start = Instant::now();
    let total = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let step = step.clone();
                tokio::spawn(async move {
                    let (mut steps, mut items) = (0u64, 0u64);
                    while start.elapsed() < phase {
                        items += step(c, steps).await?;
                        steps += 1;
                    }
                    anyhow::Ok(items)
                })
            })
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await??;
        }
        anyhow::Ok(total)
    })?;
    Ok((total as f64 / start.elapsed().as_secs_f64(), total))
}

impl Clients {
    /// The figure's name suffix: the 64-writer figures are the tasks', as a
    /// server's; the threads' are reported beside them.
    fn suffix(self, writers: usize) -> &'static str {
        match self {
            Clients::Threads if writers > 1 => "_threads",
            _ => "",
        }
    }
}

/// Where the PutItem phases' keys fall.
///
/// How many B-tree pages a commit rewrites, and so how many bytes its fsync
/// carries, depends on where its items' keys fall, not on how many there are:
/// so both layouts are measured.
#[derive(Debug, Clone, Copy)]
enum Keys {
    /// Like the lab's GameScoreRecords RecordIDs: increasing ids handed out
    /// to whichever writer asks next, so a commit's items share the last
    /// pages of the table.
    Increasing,
    /// Each writer its own key range (`user-<writer>-<n>`): a commit of 64
    /// writers' items rewrites about 64 leaf pages, as random keys would.
    Scattered,
}

impl Keys {
    /// The figure's name suffix.
    fn suffix(self) -> &'static str {
        match self {
            Keys::Increasing => "",
            Keys::Scattered => "_scattered",
        }
    }
}

/// PutItem calls per second with `writers` threads each issuing puts back to back.
fn put_item_rate(
    dir: &Path,
    durability: Durability,
    (writers, clients): (usize, Clients),
    keys: Keys,
    phase: Duration,
) -> Result<f64> {
    let store = open(dir, durability)?;
    create_table(&store, "Bench")?;
    let next = AtomicU64::new(0);
    let request = move |w: usize, n: u64| {
        let item = match keys {
            // Zero-padded, so that string order is numeric order.
            Keys::Increasing => {
                let id = next.fetch_add(1, Ordering::Relaxed);
                keyed_score_item(format!("{id:020}"), w, n)
            }
            Keys::Scattered => score_item(w, n),
        };
        let mut request = Map::with_capacity(2);
        request.insert("TableName".into(), Value::String("Bench".into()));
        request.insert("Item".into(), item);
        Value::Object(request)
    };
    let (rate, _) = match clients {
        Clients::Threads => run_clients(writers, phase, move |w, n| {
            call(&store, PUT_ITEM, &request(w, n))?;
            Ok(1)
        })?,
        Clients::Tasks => run_tasks(writers, phase, move |w, n| {
            let dispatching = eddy_api::dispatch_async(&store, PUT_ITEM, request(w, n));
            async move {
                let dispatching =
                    dispatching.map_err(|_| anyhow::anyhow!("PutItem did not run as a future"))?;
                dispatching
                    .await
                    .map_err(|e| anyhow::anyhow!("{PUT_ITEM}: {e}"))?;
                Ok(1)
            }
        })?,
    };
    Ok(rate)
}

const PUT_ITEM: &str = "DynamoDB_20120810.PutItem";

/// How the concurrent writers of a PutItem phase wait for their commits.
#[derive(Debug, Clone, Copy)]
enum Clients {
    /// One thread each, blocked in `dispatch` (an embedding program's threads).
    Threads,
    /// Tasks on one thread, awaiting `dispatch_async` (`eddy serve`'s requests).
    Tasks,
}

/// Records per second put with PutRecords of 500 x 100-byte records (4 clients),
/// then read back with GetRecords (Limit 10,000) on the one shard.
fn records_rates(dir: &Path, phase: Duration) -> Result<(f64, f64)> {
    use base64::Engine;
    let store = open(dir, Durability::Durable)?;
    call(
        &store,
        "Kinesis_20131202.CreateStream",
        &json!({"StreamName": "Bench", "ShardCount": 1}),
    )?;
    let data = base64::engine::general_purpose::STANDARD.encode([b'x'; 100]);
    let writer = store.clone();
    let (put, total) = run_clients(4, phase, move |c, _| {
        let records: Vec<Value> = (0..500)
            .map(|i| json!({"Data": data, "PartitionKey": format!("k{c}-{i}")}))
            .collect();
        let request = json!({"StreamName": "Bench", "Records": records});
        let response = call(&writer, "Kinesis_20131202.PutRecords", &request)?;
        anyhow::ensure!(
            response["FailedRecordCount"] == 0,
            "PutRecords failed: {response}"
        );
        Ok(500)
    })?;
    let start = Instant::now();
    let response = call(
        &store,
        "Kinesis_20131202.GetShardIterator",
        &json!({"StreamName": "Bench", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    )?;
    let mut iterator = response["ShardIterator"].clone();
    let mut read = 0u64;
    while read < total {
        let (page, bytes) = read_call(
            &store,
            "Kinesis_20131202.GetRecords",
            &json!({"ShardIterator": iterator, "Limit": 10000}),
        )?;
        let n = page
            .member("Records")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        anyhow::ensure!(
            n > 0 && bytes > 0,
            "GetRecords returned nothing after {read} of {total} records"
        );
        read += n;
        iterator = page
            .member("NextShardIterator")
            .cloned()
            .unwrap_or_default();
    }
    Ok((put, read as f64 / start.elapsed().as_secs_f64()))
}

/// Loads `items` items (64 clients, BatchWriteItem of 25, relaxed durability: the
/// load is set-up, not a figure), then scans them page by page through Scan.
/// Returns (items/s, RSS in MiB as the scan starts, peak RSS in MiB during
/// the scan alone). The start shows what the process held before the scan
/// (the loaders' memory the allocator has not returned yet): the peak less
/// the start is what the scan itself used.
fn scan_rate(dir: &Path, items: u64) -> Result<(f64, f64, f64)> {
    let store = open(dir, Durability::Relaxed)?;
    create_table(&store, "Scan")?;
    let next = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..64)
        .map(|w| {
            let (store, next) = (store.clone(), next.clone());
            std::thread::spawn(move || -> Result<()> {
                loop {
                    let first = next.fetch_add(25, Ordering::Relaxed);
                    if first >= items {
                        return Ok(());
                    }
                    let puts: Vec<Value> = (first..(first + 25).min(items))
                        .map(|n| json!({"PutRequest": {"Item": score_item(w, n)}}))
                        .collect();
                    let request = json!({"RequestItems": {"Scan": puts}});
                    call(&store, "DynamoDB_20120810.BatchWriteItem", &request)?;
                }
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a bench loader panicked"))??;
    }
    reset_peak_rss();
    let start_rss = rss_mib("VmRSS:");
    let start = Instant::now();
    let mut scanned = 0u64;
    let mut start_key: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": "Scan"});
        if let Some(key) = start_key.take() {
            request["ExclusiveStartKey"] = key;
        }
        let (page, bytes) = read_call(&store, "DynamoDB_20120810.Scan", &request)?;
        anyhow::ensure!(bytes > 0, "Scan answered nothing");
        scanned += page.member("Count").and_then(Value::as_u64).unwrap_or(0);
        match page.member("LastEvaluatedKey") {
            Some(key) if !key.is_null() => start_key = Some(key.clone()),
            _ => break,
        }
    }
    let rate = scanned as f64 / start.elapsed().as_secs_f64();
    anyhow::ensure!(scanned == items, "Scan saw {scanned} of {items} items");
    Ok((rate, start_rss, peak_rss_mib()))
}

/// Resets the kernel's peak-RSS mark for this process (Linux: clear_refs 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size since the last reset, in MiB (0 where unknown).
pub(super) fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// A memory figure of /proc/self/status (`VmRSS:`, `VmHWM:`) in MiB (0
/// where unknown).
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
