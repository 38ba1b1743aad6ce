//! `crash_writer DATA_DIR durable|relaxed RUN THREADS`: opens the data directory,
//! creates the crash table if needed, then PutItems from THREADS threads as fast
//! as it can, printing each key on stdout (flushed) the moment its put returns.
//! The crash-durability test SIGKILLs it mid-stream and checks every printed key
//! survived. It runs until killed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use eddy_store::{Durability, Store, StoreOptions};
use eddy_tests::crash;
use serde_json::json;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, durability, run, threads] = args.as_slice() else {
        return Err("usage: crash_writer DATA_DIR durable|relaxed RUN THREADS".into());
    };
    let durability = match durability.as_str() {
        "durable" => Durability::Durable,
        "relaxed" => Durability::Relaxed,
        other => return Err(format!("unknown durability {other:?}")),
    };
    let run: u32 = run.parse().map_err(|e| format!("RUN: {e}"))?;
    let threads: u32 = threads.parse().map_err(|e| format!("THREADS: {e}"))?;
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    let store = Store::open(&PathBuf::from(dir), options).map_err(|e| e.to_string())?;
    match eddy_api::dispatch(
        &store,
        "DynamoDB_20120810.CreateTable",
        &crash::create_table(),
    ) {
        Ok(_) => {}
        Err(e) if e.error_type == "ResourceInUseException" => {}
        Err(e) => return Err(format!("CreateTable: {e}")),
    }
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let store = store.clone();
            std::thread::spawn(move || write_forever(&store, run, thread))
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| "a writer thread panicked".to_string())??;
    }
    Ok(())
}

/// Puts items back to back, printing each key once the put is acknowledged.
fn write_forever(store: &Store, run: u32, thread: u32) -> Result<(), String> {
    for n in 0u64.. {
        let key = crash::key(run, thread, n);
        let request = json!({"TableName": crash::TABLE, "Item": crash::item(&key)});
        eddy_api::dispatch(store, "DynamoDB_20120810.PutItem", &request)
            .map_err(|e| format!("PutItem {key}: {e}"))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{key}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}
