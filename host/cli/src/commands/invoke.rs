//! `eddy invoke`: runs one version of a function on an event, like the Lambda
//! console's Test button, through Lambda's Invoke: the result JSON on stdout,
//! then the function's log framed by START / END / REPORT lines on stderr
//! (Invoke's LogResult: the last 4 KB of it, as the console shows).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::ValueEnum;
use eddy_runtime::events::KINESIS_TEST_EVENT;
use serde_json::{Value, json};

use super::Ctx;
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

/// Runs the invocation (Lambda's Invoke with LogType Tail); prints the result,
/// then the framed log. A failed invocation prints Lambda's error document,
/// then fails with its type and message.
pub fn run(ctx: &Ctx, args: InvokeArgs) -> Result<()> {
    let mut request = json!({
        "FunctionName": args.name,
        "Payload": event_text(&args)?,
        "LogType": "Tail",
    });
    if let (Some(version), Some(map)) = (args.version, request.as_object_mut()) {
        map.insert("Qualifier".into(), json!(version.to_string()));
    }
    let response = ctx.lambda("Invoke", &request)?;
    let payload = response
        .get("Payload")
        .and_then(Value::as_str)
        .unwrap_or("null");
    let result: Value = serde_json::from_str(payload)
        .with_context(|| format!("the function's result is not JSON: {payload}"))?;
    output::document(&result)?;
    if let Some(log) = response.get("LogResult").and_then(Value::as_str) {
        let log = STANDARD
            .decode(log)
            .context("the LogResult is not base64")?;
        output::note(String::from_utf8_lossy(&log).trim_end());
    }
    if response.get("FunctionError").is_some() {
        let field = |name: &str| result.get(name).and_then(Value::as_str).unwrap_or_default();
        bail!("{}: {}", field("errorType"), field("errorMessage"));
    }
    Ok(())
}
