//! `eddy blueprints`: the function code embedded in eddy (the lab's two
//! blueprints, ported to Rust), listed or exported as a component file,
//! through eddy's ListBlueprints and GetBlueprint operations.

use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use serde_json::{Value, json};

use super::Ctx;
use crate::output;

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
pub fn run(ctx: &Ctx, args: BlueprintsArgs) -> Result<()> {
    match args.command {
        None => {
            let listed = ctx.eddy("ListBlueprints", &json!({}))?;
            let list: Vec<Value> = listed
                .get("Blueprints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|b| {
                    json!({"name": b.get("Name"), "language": b.get("Language"),
                           "description": b.get("Description")})
                })
                .collect();
            output::document(&json!(list))
        }
        Some(BlueprintsCommand::Export { name, output }) => {
            let blueprint = ctx.eddy("GetBlueprint", &json!({ "Name": name }))?;
            let encoded = blueprint
                .pointer("/Code/ZipFile")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let code = STANDARD
                .decode(encoded)
                .context("the blueprint's Code.ZipFile is not base64")?;
            std::fs::write(&output, &code)
                .with_context(|| format!("cannot write {}", output.display()))?;
            output::note(&format!(
                "wrote {name} ({} bytes) to {}",
                code.len(),
                output.display()
            ));
            Ok(())
        }
    }
}
