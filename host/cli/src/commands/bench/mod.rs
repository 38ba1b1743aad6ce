//! `eddy bench ...`: measurements of eddy on this machine, one subcommand per
//! part measured. Numbers are measured, never assumed; `--json` prints one
//! JSON object with the figures.

pub mod invoke;
pub mod lab;
pub mod store;

use anyhow::Result;

/// `eddy bench ...`: one subcommand per part of eddy measured.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// The data plane: PutItem (1 and 64 writers, durable and relaxed),
    /// PutRecords, GetRecords, Scan and the memory a large Scan takes.
    Store(store::BenchStoreArgs),
    /// The function runtime: warm invocation, cold start from the component
    /// cache, and the lab's score aggregator against native Rust.
    Invoke(invoke::BenchInvokeArgs),
    /// The lab end to end: a table trigger running the score aggregator on
    /// many writes, against the same handler in native Rust.
    Lab(lab::BenchLabArgs),
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Store(args) => store::run_store(&args),
        BenchCommand::Invoke(args) => invoke::run_invoke(&args),
        BenchCommand::Lab(args) => lab::run_lab(&args),
    }
}
