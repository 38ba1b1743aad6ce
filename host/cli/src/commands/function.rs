//! `eddy function`: registering trigger functions, through the Lambda
//! operations of the dispatcher (CreateFunction, UpdateFunctionCode, ...).
//! Code (a blueprint or a component file) is validated there before anything
//! is stored, so refused code changes nothing and the previous version keeps
//! serving.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use eddy_runtime::sandbox::Limits;
use eddy_store::functions::limits;
use serde_json::{Map, Value, json};

use super::Ctx;
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

/// A component file, base64-encoded as Lambda's `ZipFile` carries it.
fn read_wasm(path: &Path) -> Result<String> {
    let code = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(STANDARD.encode(code))
}

fn parse_env(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut env = Map::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--env {pair:?} is not K=V");
        };
        env.insert(key.to_string(), json!(value));
    }
    Ok(env)
}

/// A string member of a response ("" when absent).
fn text<'a>(value: &'a Value, member: &str) -> &'a str {
    value
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A FunctionConfiguration's version as a number.
fn version_number(config: &Value) -> Option<u64> {
    text(config, "Version").parse().ok()
}

/// Lambda's base64 CodeSha256 as the hex the component cache is keyed by.
fn sha256_hex(base64: &str) -> String {
    let digest = STANDARD.decode(base64).unwrap_or_default();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn version_json(v: &Value) -> Value {
    json!({"version": version_number(v), "code_sha256": sha256_hex(text(v, "CodeSha256")),
           "code_size": v.get("CodeSize"), "last_modified": text(v, "LastModified")})
}

/// Every item of a paged Lambda listing (`member` of each page, following
/// NextMarker).
fn every_page(ctx: &Ctx, operation: &str, request: Value, member: &str) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut request = request;
    loop {
        let page = ctx.lambda(operation, &request)?;
        if let Some(list) = page.get(member).and_then(Value::as_array) {
            all.extend(list.iter().cloned());
        }
        match (page.get("NextMarker"), request.as_object_mut()) {
            (Some(next), Some(map)) if next.is_string() => {
                map.insert("Marker".into(), next.clone());
            }
            _ => return Ok(all),
        }
    }
}

/// Every version of `name`, oldest first.
fn versions(ctx: &Ctx, name: &str) -> Result<Vec<Value>> {
    let request = json!({ "FunctionName": name });
    let all = every_page(ctx, "ListVersionsByFunction", request, "Versions")?;
    Ok(all.iter().map(version_json).collect())
}

/// A function as `eddy function` prints it: its settings and versions.
fn function_json(ctx: &Ctx, config: &Value) -> Result<Value> {
    let name = text(config, "FunctionName");
    // The role is an IAM ARN (`arn:aws:iam::ACCOUNT:role/NAME`); print its name.
    let role = config
        .get("Role")
        .and_then(Value::as_str)
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn));
    let env = config.pointer("/Environment/Variables").cloned();
    Ok(json!({
        "name": name,
        "description": text(config, "Description"),
        "version": version_number(config),
        "timeout": config.get("Timeout"),
        "memory_mib": config.get("MemorySize"),
        "fuel": config.get("Fuel"),
        "grants": config.get("Grants").cloned().unwrap_or_else(|| json!([])),
        "role": role,
        "env": env.unwrap_or_else(|| json!({})),
        "versions": versions(ctx, name)?,
    }))
}

/// The code of `--blueprint NAME` or `--wasm FILE`, as base64.
fn code(ctx: &Ctx, args: &CreateArgs) -> Result<Value> {
    match (&args.blueprint, &args.wasm) {
        (Some(name), _) => {
            let blueprint = ctx.eddy("GetBlueprint", &json!({ "Name": name }))?;
            Ok(blueprint
                .pointer("/Code/ZipFile")
                .cloned()
                .unwrap_or_default())
        }
        (None, Some(path)) => Ok(json!(read_wasm(path)?)),
        (None, None) => bail!("give --blueprint NAME or --wasm FILE"),
    }
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<()> {
    let env = parse_env(&args.env)?;
    let mut request = json!({
        "FunctionName": args.name,
        "Runtime": eddy_api::lambda::RUNTIME,
        "Code": { "ZipFile": code(ctx, &args)? },
        "Description": args.description,
        "Timeout": args.timeout,
        "MemorySize": args.memory,
        "Environment": { "Variables": env },
        "Grants": args.allow,
        "Fuel": args.fuel,
    });
    if let (Some(role), Some(map)) = (&args.role, request.as_object_mut()) {
        map.insert("Role".into(), json!(role));
    }
    let created = ctx.lambda("CreateFunction", &request)?;
    output::document(&function_json(ctx, &created)?)
}

/// Runs a function command.
pub fn run(ctx: &Ctx, command: FunctionCommand) -> Result<()> {
    match command {
        FunctionCommand::Create(args) => create(ctx, args),
        FunctionCommand::UpdateCode { name, wasm } => {
            let request = json!({ "FunctionName": name, "ZipFile": read_wasm(&wasm)? });
            let updated = ctx.lambda("UpdateFunctionCode", &request)?;
            output::document(&function_json(ctx, &updated)?)
        }
        FunctionCommand::List => {
            let configs = every_page(ctx, "ListFunctions", json!({}), "Functions")?;
            let all = configs
                .iter()
                .map(|config| function_json(ctx, config))
                .collect::<Result<Vec<_>>>()?;
            output::document(&Value::Array(all))
        }
        FunctionCommand::Get { name } => {
            let got = ctx.lambda("GetFunction", &json!({ "FunctionName": name }))?;
            let config = got.get("Configuration").cloned().unwrap_or_default();
            output::document(&function_json(ctx, &config)?)
        }
        FunctionCommand::Versions { name } => {
            output::document(&Value::Array(versions(ctx, &name)?))
        }
        FunctionCommand::Delete { name } => {
            ctx.lambda("DeleteFunction", &json!({ "FunctionName": name }))?;
            output::note(&format!("deleted function {name}"));
            Ok(())
        }
    }
}
