//! `eddy blueprints`: the function code embedded in the binary (the lab's two
//! blueprints, ported to Rust), listed or exported as a component file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use crate::output;

/// One embedded blueprint.
pub struct Blueprint {
    pub name: &'static str,
    pub language: &'static str,
    pub description: &'static str,
    pub code: &'static [u8],
}

/// Every blueprint, in the order `eddy blueprints` lists them.
pub const BLUEPRINTS: &[Blueprint] = &[
    Blueprint {
        name: "kinesis-process-record",
        language: "rust",
        description: "Logs each Kinesis record's decoded payload (`Decoded payload: <text>`); \
                      a Rust port of the Lambda console's Python blueprint.",
        code: eddy_runtime::guests::KINESIS_LOGGER,
    },
    Blueprint {
        name: "dynamodb-aggregate-scores",
        language: "rust",
        description: "For each table change, adds the new image's Score to GameScoresByUser \
                      keyed by Username (the lab's AggregateScoresByUser).",
        code: eddy_runtime::guests::SCORE_AGGREGATOR,
    },
];

/// The blueprint named `name`, or an error listing the ones there are.
pub fn find(name: &str) -> Result<&'static Blueprint> {
    match BLUEPRINTS.iter().find(|b| b.name == name) {
        Some(blueprint) => Ok(blueprint),
        None => {
            let names: Vec<&str> = BLUEPRINTS.iter().map(|b| b.name).collect();
            bail!("no blueprint named {name}; there are: {}", names.join(", "))
        }
    }
}

/// `eddy blueprints [export NAME --output FILE]`.
#[derive(Debug, clap::Args)]
pub struct BlueprintsArgs {
    #[command(subcommand)]
    pub command: Option<BlueprintsCommand>,
}

/// What `eddy blueprints` can do besides listing.
#[derive(Debug, Subcommand)]
pub enum BlueprintsCommand {
    /// Writes a blueprint's WebAssembly component to a file.
    Export {
        name: String,
        #[arg(long, short)]
        output: PathBuf,
    },
}

/// Lists the blueprints, or exports one.
pub fn run(args: BlueprintsArgs) -> Result<()> {
    match args.command {
        None => {
            let list: Vec<_> = BLUEPRINTS
                .iter()
                .map(|b| json!({"name": b.name, "language": b.language, "description": b.description}))
                .collect();
            output::document(&json!(list))
        }
        Some(BlueprintsCommand::Export { name, output }) => {
            let blueprint = find(&name)?;
            std::fs::write(&output, blueprint.code)
                .with_context(|| format!("cannot write {}", output.display()))?;
            output::note(&format!(
                "wrote {} ({} bytes) to {}",
                blueprint.name,
                blueprint.code.len(),
                output.display()
            ));
            Ok(())
        }
    }
}
