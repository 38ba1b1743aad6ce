//! The Kinesis Data Streams API (`Kinesis_20131202.*`): AWS JSON in, AWS JSON
//! out, over `eddy_store::streams`. Shape problems are ValidationException in
//! AWS's words; Kinesis-specific refusals are InvalidArgumentException (as
//! kinesalite, checked against AWS, shows which is which).
//!
//! - `control`: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams,
//!   ListShards, Increase/DecreaseStreamRetentionPeriod;
//! - `data`: PutRecord, PutRecords, GetShardIterator, GetRecords.

mod control;
mod data;

use eddy_store::Store;
use eddy_store::streams::validate;
use serde_json::Value;

use crate::ApiError;
use crate::request::{Request, lower_first};

/// Runs one Kinesis operation (`name` without the `Kinesis_20131202.` prefix).
pub fn dispatch(store: &Store, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let req = Request::new(request, "ValidationException");
    match operation {
        "CreateStream" => control::create_stream(store, &req),
        "DeleteStream" => control::delete_stream(store, &req),
        "DescribeStream" => control::describe_stream(store, &req),
        "DescribeStreamSummary" => control::describe_stream_summary(store, &req),
        "ListStreams" => control::list_streams(store, &req),
        "ListShards" => control::list_shards(store, &req),
        "IncreaseStreamRetentionPeriod" => control::increase_retention(store, &req),
        "DecreaseStreamRetentionPeriod" => control::decrease_retention(store, &req),
        "PutRecord" => data::put_record(store, &req),
        "PutRecords" => data::put_records(store, &req),
        "GetShardIterator" => data::get_shard_iterator(store, &req),
        "GetRecords" => data::get_records(store, &req),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::KINESIS
        ))),
    }
}

/// The operations `crate::dispatch_async` runs: writes, which wait only on
/// the group commit.
pub(crate) const ASYNC_WRITES: [&str; 2] = ["PutRecord", "PutRecords"];

/// Runs one of `ASYNC_WRITES` as a future.
pub(crate) async fn dispatch_write(
    store: &Store,
    operation: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    let req = Request::new(request, "ValidationException");
    match operation {
        "PutRecord" => data::put_record_async(store, &req).await,
        "PutRecords" => data::put_records_async(store, &req).await,
        _ => dispatch(store, operation, request),
    }
}

/// Collects constraint failures over a request's members so one
/// ValidationException names them all, as AWS does.
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
}

impl Checks {
    /// `Value null at 'member' failed to satisfy constraint: Member must not be null`.
    /// `member` may be a path (`records.1.member.Data`); each step is named in
    /// lower camel case, as AWS names them.
    fn null(&mut self, member: &str) {
        let path: Vec<String> = member.split('.').map(lower_first).collect();
        self.failures.push(format!(
            "Value null at '{}' failed to satisfy constraint: Member must not be null",
            path.join(".")
        ));
    }

    /// A required string member, checked with `shape` when present.
    fn required<'a>(
        &mut self,
        value: Option<&'a str>,
        member: &str,
        shape: fn(&str, &str) -> Vec<String>,
    ) -> &'a str {
        match value {
            Some(v) => {
                self.failures.extend(shape(v, &lower_first(member)));
                v
            }
            None => {
                self.null(member);
                ""
            }
        }
    }

    /// An optional integer member within `min..=max`.
    fn range(&mut self, value: Option<u64>, member: &str, min: u64, max: u64) {
        if let Some(v) = value {
            self.failures
                .extend(validate::range(v, &lower_first(member), min, max));
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(validate::message(&self.failures)))
        }
    }
}

/// The stream a request names, by StreamName or by StreamARN
/// (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`), as newer SDKs send either.
fn stream_name<'a>(req: &Request<'a>, checks: &mut Checks) -> Result<&'a str, ApiError> {
    if let Some(name) = req.opt_str("StreamName")? {
        checks.failures.extend(validate::name(name, "streamName"));
        return Ok(name);
    }
    match req.opt_str("StreamARN")? {
        Some(arn) => match arn.rsplit_once(":stream/") {
            Some((prefix, name)) if prefix.starts_with("arn:aws:kinesis:") => {
                checks.failures.extend(validate::name(name, "streamName"));
                Ok(name)
            }
            _ => Err(ApiError::invalid_argument(format!(
                "StreamARN {arn} is not a Kinesis stream ARN \
                 (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
            ))),
        },
        None => {
            checks.null("StreamName");
            Ok("")
        }
    }
}

/// Epoch milliseconds as the epoch-seconds number AWS's JSON protocol uses.
fn epoch_seconds(ms: u64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
