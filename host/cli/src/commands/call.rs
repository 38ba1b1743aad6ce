//! `eddy call OPERATION REQUEST_JSON`: any dispatcher operation, raw. The way to
//! reach operations the other commands do not wrap (BatchWriteItem, PutRecords,
//! TransactWriteItems, ...), with the request shaped as the AWS API reference says.

use anyhow::Result;

use super::Ctx;
use crate::{input, output};

/// Arguments of `eddy call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The operation as <Service_Version>.<Operation>, e.g.
    /// DynamoDB_20120810.GetItem, Kinesis_20131202.PutRecords,
    /// DynamoDBStreams_20120810.ListStreams.
    pub operation: String,
    /// The JSON request: inline, `-` for stdin, or @FILE.
    #[arg(value_name = "REQUEST_JSON")]
    pub request: String,
}

/// Sends the request and prints the JSON response.
pub fn run(ctx: &Ctx, args: CallArgs) -> Result<()> {
    let request = input::json_object("REQUEST_JSON", &args.request, r#"{"TableName":"Music"}"#)?;
    let response = ctx.call(&args.operation, &serde_json::Value::Object(request))?;
    output::document(&response)
}
