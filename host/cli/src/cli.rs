//! The command line: global options, the command groups, and `run`, which parses
//! the arguments and hands them to the group's module.
//!
//! A new command group is one variant of `Command`, one module under `commands/`
//! and one arm in `run`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use eddy_store::Durability;

use crate::commands::{self, Ctx};

/// eddy runs Kinesis-style streams and DynamoDB-style tables (with change streams)
/// on one machine, stored in one data directory.
///
/// Data (records, items, descriptions) is printed as JSON on stdout; messages go to
/// stderr. On any error eddy prints the AWS error name and message on stderr and
/// exits with a non-zero code.
#[derive(Debug, Parser)]
#[command(name = "eddy", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The data directory (created on first use). One process at a time may open
    /// it: while another eddy holds it, commands fail with a clear message.
    #[arg(long, global = true, env = "EDDY_DATA_DIR", default_value = ".eddy")]
    pub data_dir: PathBuf,
    /// durable: a write is acknowledged after it is fsynced. relaxed: acknowledged
    /// before; a crash may lose the last ~10 ms of writes, never corrupt anything.
    #[arg(long, global = true, env = "EDDY_DURABILITY", value_enum, default_value_t = DurabilityArg::Durable)]
    pub durability: DurabilityArg,
}

/// `--durability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    Durable,
    Relaxed,
}

impl From<DurabilityArg> for Durability {
    fn from(d: DurabilityArg) -> Durability {
        match d {
            DurabilityArg::Durable => Durability::Durable,
            DurabilityArg::Relaxed => Durability::Relaxed,
        }
    }
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Kinesis-style streams: create, put, read, list, describe, delete.
    Stream {
        #[command(subcommand)]
        command: commands::stream::StreamCommand,
    },
    /// DynamoDB-style tables: items, queries, scans and change streams.
    Table {
        #[command(subcommand)]
        command: commands::table::TableCommand,
    },
    /// Runs any operation of the dispatcher with a raw AWS-shaped JSON request.
    Call(commands::call::CallArgs),
    /// Trigger functions: create (from a blueprint or a component), update code, list, delete.
    Function {
        #[command(subcommand)]
        command: commands::function::FunctionCommand,
    },
    /// Runs a function on an event (a file or a console test template).
    Invoke(commands::invoke::InvokeArgs),
    /// Runs the seed lab end to end: Lab-Stream, the two lab functions with
    /// their triggers, test events, metrics, the score tables, and the lab's
    /// checklist of objectives (exit code non-zero if any fails).
    Lab(commands::lab::LabArgs),
    /// A function's log: START, what it printed, END, REPORT (`--follow`, `--since`).
    Logs(commands::logs::LogsArgs),
    /// A function's metrics per minute: invocations, errors, duration, fuel.
    Metrics(commands::metrics::MetricsArgs),
    /// The function code embedded in eddy (list, or `export NAME --output FILE`).
    Blueprints(commands::blueprints::BlueprintsArgs),
    /// Triggers (event source mappings): run a function on a stream's records
    /// or a table's changes.
    Trigger {
        #[command(subcommand)]
        command: commands::trigger::TriggerCommand,
    },
    /// Roles: named bundles of grants for functions.
    Role {
        #[command(subcommand)]
        command: commands::role::RoleCommand,
    },
    /// Serves the data directory over HTTP (the AWS JSON protocol) and runs its
    /// triggers until Ctrl-C; meanwhile the other commands go through it.
    Serve(commands::serve::ServeArgs),
    /// Measures eddy on this machine (scratch data directories, removed after).
    Bench {
        #[command(subcommand)]
        command: commands::bench::BenchCommand,
    },
}

/// Parses the command line and runs the command.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    let ctx = Ctx::new(cli.global.data_dir, cli.global.durability.into());
    match cli.command {
        Command::Stream { command } => commands::stream::run(&ctx, command),
        Command::Table { command } => commands::table::run(&ctx, command),
        Command::Call(args) => commands::call::run(&ctx, args),
        Command::Bench { command } => commands::bench::run(command),
        Command::Function { command } => commands::function::run(&ctx, command),
        Command::Invoke(args) => commands::invoke::run(&ctx, args),
        Command::Lab(args) => commands::lab::run(&ctx, args),
        Command::Logs(args) => commands::logs::run(&ctx, args),
        Command::Metrics(args) => commands::metrics::run(&ctx, args),
        Command::Blueprints(args) => commands::blueprints::run(&ctx, args),
        Command::Role { command } => commands::role::run(&ctx, command),
        Command::Trigger { command } => commands::trigger::run(&ctx, command),
        Command::Serve(args) => commands::serve::run(&ctx, args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
