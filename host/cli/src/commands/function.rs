//! `eddy function`: registering trigger functions. Code (a blueprint or a
//! component file) is validated by the runtime before anything is stored, so
//! refused code changes nothing and the previous version keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use eddy_runtime::grants::Grants;
use eddy_runtime::invoke::{Runtime, RuntimeOptions};
use eddy_runtime::sandbox::Limits;
use eddy_store::functions::{self, FunctionConfig, FunctionSpec, VersionInfo, limits};
use eddy_store::{Store, StoreError};
use serde_json::{Value, json};

use super::{Ctx, blueprints};
use crate::output;

/// `eddy function ...`.
#[derive(Debug, Subcommand)]
pub enum FunctionCommand {
    /// Creates a function from a blueprint or a WebAssembly component (version 1).
    Create(CreateArgs),
    /// Publishes a new version of a function's code; the previous versions stay.
    UpdateCode {
        name: String,
        /// The component file (built for the eddy:trigger/handler world).
        #[arg(long)]
        wasm: PathBuf,
    },
    /// Lists the functions.
    List,
    /// Shows a function's settings and versions.
    Get { name: String },
    /// Lists a function's versions.
    Versions { name: String },
    /// Deletes a function and every version.
    Delete { name: String },
}

/// `eddy function create` arguments.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    pub name: String,
    /// An embedded blueprint (see `eddy blueprints`).
    #[arg(long, conflicts_with = "wasm", required_unless_present = "wasm")]
    pub blueprint: Option<String>,
    /// A component file built for the eddy:trigger/handler world.
    #[arg(long)]
    pub wasm: Option<PathBuf>,
    /// read:table/T, write:table/T or write:stream/S (`*` for every name).
    #[arg(long = "allow", value_name = "GRANT")]
    pub allow: Vec<String>,
    /// A role whose grants the function also has (see `eddy role list`).
    #[arg(long)]
    pub role: Option<String>,
    /// An environment variable the function may read, as K=V.
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Seconds an invocation may run.
    #[arg(long, default_value_t = limits::DEFAULT_TIMEOUT_SECS)]
    pub timeout: u32,
    /// The memory cap, MiB.
    #[arg(long, default_value_t = limits::DEFAULT_MEMORY_MIB)]
    pub memory: u32,
    /// Fuel per invocation (deterministic instruction budget).
    #[arg(long, default_value_t = Limits::default().fuel)]
    pub fuel: u64,
    #[arg(long, default_value = "")]
    pub description: String,
}

/// A store error with its AWS name first, as the other commands print them.
pub fn aws(e: StoreError) -> anyhow::Error {
    anyhow!("{}: {e}", e.aws_type())
}

/// Checks `code` is a component eddy can run (and compiles it into the cache).
pub fn validate(store: &Store, code: &[u8]) -> Result<()> {
    let runtime = Runtime::new(store.clone(), RuntimeOptions::default())?;
    runtime.validate(code)?;
    Ok(())
}

fn read_wasm(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_env(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--env {pair:?} is not K=V");
        };
        env.insert(key.to_string(), value.to_string());
    }
    Ok(env)
}

fn version_json(v: &VersionInfo) -> Value {
    json!({"version": v.version, "code_sha256": v.code_hash, "code_size": v.code_size,
           "created_ms": v.created_ms})
}

/// A function as JSON (settings and versions).
pub fn function_json(f: &FunctionConfig) -> Value {
    json!({
        "name": f.name,
        "description": f.description,
        "version": f.latest().map(|v| v.version),
        "timeout": f.timeout_secs,
        "memory_mib": f.memory_mib,
        "fuel": f.fuel,
        "grants": f.grants,
        "role": f.role,
        "env": f.env,
        "versions": f.versions.iter().map(version_json).collect::<Vec<_>>(),
    })
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<()> {
    let env = parse_env(&args.env)?;
    Grants::parse(&args.allow)?;
    let code = match (&args.blueprint, &args.wasm) {
        (Some(name), _) => blueprints::find(name)?.code.to_vec(),
        (None, Some(path)) => read_wasm(path)?,
        (None, None) => bail!("give --blueprint NAME or --wasm FILE"),
    };
    let store = ctx.store()?;
    validate(store, &code)?;
    let spec = FunctionSpec {
        name: args.name,
        description: args.description,
        timeout_secs: args.timeout,
        memory_mib: args.memory,
        fuel: args.fuel,
        grants: args.allow,
        env,
        role: args.role,
    };
    let created = functions::create_function(store, spec, code).map_err(aws)?;
    output::document(&function_json(&created))
}

/// Runs a function command.
pub fn run(ctx: &Ctx, command: FunctionCommand) -> Result<()> {
    match command {
        FunctionCommand::Create(args) => create(ctx, args),
        FunctionCommand::UpdateCode { name, wasm } => {
            let code = read_wasm(&wasm)?;
            let store = ctx.store()?;
            // The function must exist before its code is worth compiling.
            functions::get_function(store, &name).map_err(aws)?;
            validate(store, &code)?;
            let updated = functions::update_function_code(store, &name, code).map_err(aws)?;
            output::document(&function_json(&updated))
        }
        FunctionCommand::List => {
            let all = functions::list_functions(ctx.store()?).map_err(aws)?;
            output::document(&Value::Array(all.iter().map(function_json).collect()))
        }
        FunctionCommand::Get { name } => {
            let f = functions::get_function(ctx.store()?, &name).map_err(aws)?;
            output::document(&function_json(&f))
        }
        FunctionCommand::Versions { name } => {
            let f = functions::get_function(ctx.store()?, &name).map_err(aws)?;
            output::document(&Value::Array(f.versions.iter().map(version_json).collect()))
        }
        FunctionCommand::Delete { name } => {
            functions::delete_function(ctx.store()?, &name).map_err(aws)?;
            output::note(&format!("deleted function {name}"));
            Ok(())
        }
    }
}
