//! `eddy invoke`: runs one version of a function on an event, like the Lambda
//! console's Test button: the result JSON on stdout, then the function's log
//! framed by START / END / REPORT lines on stderr.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use eddy_runtime::error::InvocationError;
use eddy_runtime::events::{KINESIS_TEST_EVENT, event_from_json, response_to_json};
use eddy_runtime::grants::Grants;
use eddy_runtime::invoke::{Invocation, InvocationOutcome, Runtime, RuntimeOptions};
use eddy_runtime::sandbox::Limits;
use eddy_store::Store;
use eddy_store::functions::{self, FunctionConfig};
use serde_json::json;

use super::Ctx;
use super::function::aws;
use crate::output;

/// The Lambda console's "DynamoDB Update" test event: an INSERT, a MODIFY and
/// a REMOVE of one item.
pub const DYNAMODB_TEST_EVENT: &str = r#"{
  "Records": [
    {
      "eventID": "1",
      "eventVersion": "1.0",
      "dynamodb": {
        "Keys": { "Id": { "N": "101" } },
        "NewImage": { "Message": { "S": "New item!" }, "Id": { "N": "101" } },
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "SequenceNumber": "111",
        "SizeBytes": 26
      },
      "awsRegion": "us-west-2",
      "eventName": "INSERT",
      "eventSourceARN": "arn:aws:dynamodb:us-west-2:account-id:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899",
      "eventSource": "aws:dynamodb"
    },
    {
      "eventID": "2",
      "eventVersion": "1.0",
      "dynamodb": {
        "OldImage": { "Message": { "S": "New item!" }, "Id": { "N": "101" } },
        "SequenceNumber": "222",
        "Keys": { "Id": { "N": "101" } },
        "SizeBytes": 59,
        "NewImage": { "Message": { "S": "This item has changed" }, "Id": { "N": "101" } },
        "StreamViewType": "NEW_AND_OLD_IMAGES"
      },
      "awsRegion": "us-west-2",
      "eventName": "MODIFY",
      "eventSourceARN": "arn:aws:dynamodb:us-west-2:account-id:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899",
      "eventSource": "aws:dynamodb"
    },
    {
      "eventID": "3",
      "eventVersion": "1.0",
      "dynamodb": {
        "Keys": { "Id": { "N": "101" } },
        "SizeBytes": 38,
        "SequenceNumber": "333",
        "OldImage": { "Message": { "S": "This item has changed" }, "Id": { "N": "101" } },
        "StreamViewType": "NEW_AND_OLD_IMAGES"
      },
      "awsRegion": "us-west-2",
      "eventName": "REMOVE",
      "eventSourceARN": "arn:aws:dynamodb:us-west-2:account-id:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899",
      "eventSource": "aws:dynamodb"
    }
  ]
}"#;

/// The built-in test events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// The console's Kinesis test event ("Hello, this is a test 123.").
    Kinesis,
    /// The console's DynamoDB update test event.
    Dynamodb,
}

/// `eddy invoke` arguments.
#[derive(Debug, clap::Args)]
// `--version` is the function version here, not eddy's.
#[command(disable_version_flag = true)]
pub struct InvokeArgs {
    pub name: String,
    /// A Lambda-shaped event JSON file.
    #[arg(
        long,
        conflicts_with = "template",
        required_unless_present = "template"
    )]
    pub event: Option<PathBuf>,
    /// A built-in test event.
    #[arg(long, value_enum)]
    pub template: Option<Template>,
    /// The version to run (the newest when absent).
    #[arg(long)]
    pub version: Option<u32>,
}

fn event_text(args: &InvokeArgs) -> Result<String> {
    match (&args.event, args.template) {
        (Some(path), _) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
        (None, Some(Template::Kinesis)) => Ok(KINESIS_TEST_EVENT.to_string()),
        (None, Some(Template::Dynamodb)) => Ok(DYNAMODB_TEST_EVENT.to_string()),
        (None, None) => bail!("give --event FILE or --template kinesis|dynamodb"),
    }
}

/// The function's own grants plus its role's.
fn grants(store: &Store, config: &FunctionConfig) -> Result<Grants> {
    let mut all = config.grants.clone();
    if let Some(role) = &config.role {
        all.extend(functions::get_role(store, role).map_err(aws)?.grants);
    }
    Ok(Grants::parse(&all)?)
}

fn limits(config: &FunctionConfig) -> Limits {
    let mib = usize::try_from(config.memory_mib).unwrap_or(usize::MAX);
    Limits {
        timeout: Duration::from_secs(u64::from(config.timeout_secs)),
        memory_bytes: mib.saturating_mul(1 << 20),
        fuel: config.fuel,
        ..Limits::default()
    }
}

/// Runs the invocation; prints the result, then the framed log.
pub fn run(ctx: &Ctx, args: InvokeArgs) -> Result<()> {
    let text = event_text(&args)?;
    let event = event_from_json(&text).map_err(|e| anyhow!("{}: {e}", e.error_type()))?;
    let store = ctx.store()?;
    let (config, version, code) =
        functions::function_code(store, &args.name, args.version).map_err(aws)?;
    let mut invocation = Invocation::new(event, limits(&config), grants(store, &config)?);
    invocation.env = config.env.clone().into_iter().collect();
    let runtime = Runtime::new(store.clone(), RuntimeOptions::default())?;
    let function = runtime.load(&config.name, version.version, &code)?;
    let outcome = runtime.invoke(&function, &invocation);
    let result = match &outcome.result {
        Ok(response) => response_to_json(response),
        Err(e) => json!({"errorType": e.error_type(), "errorMessage": message(e)}),
    };
    output::document(&result)?;
    print_log(&outcome, version.version, config.memory_mib);
    match outcome.result {
        Ok(_) => Ok(()),
        Err(e) => bail!("{}: {}", e.error_type(), message(&e)),
    }
}

/// The error's message without its type (a handler error's own message).
fn message(e: &InvocationError) -> String {
    match e {
        InvocationError::Handler { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// START, the log lines, END and REPORT, as the Lambda console shows them.
fn print_log(outcome: &InvocationOutcome, version: u32, memory_mib: u32) {
    let id = &outcome.request_id;
    let ms = outcome.duration.as_secs_f64() * 1000.0;
    let billed = outcome.duration.as_micros().div_ceil(1000).max(1);
    let used_mb = outcome.max_memory_used.div_ceil(1 << 20);
    let mut lines = vec![format!("START RequestId: {id} Version: {version}")];
    lines.extend(outcome.logs.iter().map(|l| l.trim_end().to_string()));
    lines.push(format!("END RequestId: {id}"));
    lines.push(format!(
        "REPORT RequestId: {id}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {memory_mib} MB\tMax Memory Used: {used_mb} MB\tFuel Used: {}",
        outcome.fuel_used
    ));
    output::note(&lines.join("\n"));
}
