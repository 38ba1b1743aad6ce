//! `eddy bench ...`: measurements of eddy on this machine, one subcommand per
//! part measured. Numbers are measured, never assumed; `--json` prints one
//! JSON object with the figures.

pub mod store;

use anyhow::Result;

/// `eddy bench ...`: one subcommand per part of eddy measured.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// The data plane: PutItem (1 and 64 writers, durable and relaxed),
    /// PutRecords, GetRecords, Scan and the memory a large Scan takes.
    Store(store::BenchStoreArgs),
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Store(args) => store::run_store(&args),
    }
}
