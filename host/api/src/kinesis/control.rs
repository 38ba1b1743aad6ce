//! Stream lifecycle and description operations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eddy_store::Store;
use eddy_store::streams::{self, ShardInfo, StreamMeta, StreamMode};
use serde_json::{Value, json};

use super::{Checks, epoch_seconds, stream_name};
use crate::ApiError;
use crate::request::Request;

/// DescribeStream's default page of shards (AWS: 100).
const DESCRIBE_DEFAULT_SHARDS: u64 = 100;
/// ListStreams' default page (AWS: 100).
const LIST_STREAMS_DEFAULT: u64 = 100;
/// ListShards' default page (AWS: 1000).
const LIST_SHARDS_DEFAULT: u64 = 1000;

pub(super) fn create_stream(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let count = req.opt_u64("ShardCount")?;
    checks.range(count, "ShardCount", 1, 100_000);
    let mode = match req.opt_object("StreamModeDetails")? {
        None => StreamMode::Provisioned,
        Some(details) => match details.get("StreamMode").and_then(Value::as_str) {
            Some(text) => StreamMode::parse(text).ok_or_else(|| {
                ApiError::validation(format!(
                    "1 validation error detected: Value '{text}' at 'streamModeDetails.streamMode' \
                     failed to satisfy constraint: Member must satisfy enum value set: \
                     [PROVISIONED, ON_DEMAND]"
                ))
            })?,
            None => {
                checks.null("StreamModeDetails.StreamMode");
                StreamMode::Provisioned
            }
        },
    };
    let count = match (count, mode) {
        (Some(n), _) => u32::try_from(n).unwrap_or(u32::MAX),
        (None, StreamMode::OnDemand) => streams::meta::ON_DEMAND_SHARDS,
        (None, StreamMode::Provisioned) => {
            checks.null("ShardCount");
            1
        }
    };
    checks.finish()?;
    streams::create_stream_with_mode(store, name, count, mode)?;
    Ok(json!({}))
}

pub(super) fn delete_stream(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    checks.finish()?;
    streams::delete_stream(store, name)?;
    Ok(json!({}))
}

pub(super) fn describe_stream(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let limit = req.opt_u64("Limit")?;
    checks.range(limit, "Limit", 1, 10_000);
    let after = req.opt_str("ExclusiveStartShardId")?;
    checks.finish()?;
    let meta = streams::describe_stream(store, name)?;
    let limit = limit.unwrap_or(DESCRIBE_DEFAULT_SHARDS);
    let (page, more) = shard_page(&meta, after.map(first_after), limit);
    let mut description = common(store, &meta);
    description["Shards"] = Value::Array(page.iter().map(shard_json).collect());
    description["HasMoreShards"] = json!(more);
    Ok(json!({ "StreamDescription": description }))
}

pub(super) fn describe_stream_summary(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    checks.finish()?;
    let meta = streams::describe_stream(store, name)?;
    let mut summary = common(store, &meta);
    summary["OpenShardCount"] = json!(meta.shard_count);
    summary["ConsumerCount"] = json!(0);
    Ok(json!({ "StreamDescriptionSummary": summary }))
}

/// The members DescribeStream and DescribeStreamSummary share.
fn common(store: &Store, meta: &StreamMeta) -> Value {
    json!({
        "StreamName": meta.name,
        "StreamARN": meta.arn(store),
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": { "StreamMode": meta.mode.as_str() },
        "RetentionPeriodHours": meta.retention_hours,
        "StreamCreationTimestamp": epoch_seconds(meta.created_ms),
        "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
        "EncryptionType": "NONE",
    })
}

fn shard_json(shard: &ShardInfo) -> Value {
    json!({
        "ShardId": shard.shard_id,
        "HashKeyRange": {
            "StartingHashKey": shard.starting_hash_key.to_string(),
            "EndingHashKey": shard.ending_hash_key.to_string(),
        },
        "SequenceNumberRange": { "StartingSequenceNumber": shard.starting_sequence_number },
    })
}

/// The first shard index after an ExclusiveStartShardId. Shard ids compare as
/// strings in AWS; ours are fixed width, so that is index order. An id that
/// does not parse starts after every shard whose id sorts before it.
fn first_after(shard_id: &str) -> u32 {
    match streams::shards::parse_shard_id(shard_id) {
        Some(i) if shard_id == streams::shards::shard_id(i) => i.saturating_add(1),
        _ => {
            if shard_id < "shardId-" {
                0
            } else {
                u32::MAX
            }
        }
    }
}

/// Up to `limit` shards from index `from`, and whether more follow.
fn shard_page(meta: &StreamMeta, from: Option<u32>, limit: u64) -> (Vec<ShardInfo>, bool) {
    let from = from.unwrap_or(0);
    let page: Vec<ShardInfo> = (from..meta.shard_count)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .filter_map(|i| meta.shard(i))
        .collect();
    let next = page.last().map_or(from, |s| s.index.saturating_add(1));
    (page, next < meta.shard_count)
}

pub(super) fn list_streams(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let limit = req.opt_u64("Limit")?;
    checks.range(limit, "Limit", 1, 10_000);
    let mut after = req.opt_str("ExclusiveStartStreamName")?.map(str::to_string);
    if let Some(token) = req.opt_str("NextToken")? {
        after = Some(decode_token(token).and_then(|v| {
            v.get("after")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(invalid_token)
        })?);
    }
    checks.finish()?;
    let limit = limit.unwrap_or(LIST_STREAMS_DEFAULT);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let (page, more) = streams::list_streams(store, after.as_deref(), limit)?;
    let names: Vec<&str> = page.iter().map(|m| m.name.as_str()).collect();
    let summaries: Vec<Value> = page
        .iter()
        .map(|m| {
            json!({
                "StreamName": m.name,
                "StreamARN": m.arn(store),
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": { "StreamMode": m.mode.as_str() },
                "StreamCreationTimestamp": epoch_seconds(m.created_ms),
            })
        })
        .collect();
    let mut out = json!({
        "StreamNames": names,
        "HasMoreStreams": more,
        "StreamSummaries": summaries,
    });
    if let (true, Some(last)) = (more, names.last()) {
        out["NextToken"] = json!(encode_token(&json!({ "after": last })));
    }
    Ok(out)
}

pub(super) fn list_shards(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let max = req.opt_u64("MaxResults")?;
    checks.range(max, "MaxResults", 1, 10_000);
    let given_name = req.get("StreamName").is_some() || req.get("StreamARN").is_some();
    let token = req.opt_str("NextToken")?;
    let (name, id, from) = match (given_name, token) {
        (false, None) => {
            return Err(ApiError::invalid_argument(
                "Either NextToken or StreamName should be provided.",
            ));
        }
        (true, Some(_)) => {
            return Err(ApiError::invalid_argument(
                "NextToken and StreamName cannot be provided together.",
            ));
        }
        (true, None) => {
            let name = stream_name(req, &mut checks)?.to_string();
            let from = req.opt_str("ExclusiveStartShardId")?.map(first_after);
            (name, None, from)
        }
        (false, Some(token)) => {
            let v = decode_token(token)?;
            let name = v
                .get("stream")
                .and_then(Value::as_str)
                .ok_or_else(invalid_token)?;
            let id = v
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(invalid_token)?;
            let from = v
                .get("from")
                .and_then(Value::as_u64)
                .ok_or_else(invalid_token)?;
            (
                name.to_string(),
                Some(id),
                Some(u32::try_from(from).unwrap_or(u32::MAX)),
            )
        }
    };
    checks.finish()?;
    let meta = streams::describe_stream(store, &name)?;
    if id.is_some_and(|id| id != meta.id) {
        // The stream was deleted and recreated since the token was issued.
        return Err(invalid_token());
    }
    let (page, more) = shard_page(&meta, from, max.unwrap_or(LIST_SHARDS_DEFAULT));
    let mut out = json!({ "Shards": page.iter().map(shard_json).collect::<Vec<_>>() });
    if let (true, Some(last)) = (more, page.last()) {
        let next = json!({ "stream": meta.name, "id": meta.id, "from": last.index + 1 });
        out["NextToken"] = json!(encode_token(&next));
    }
    Ok(out)
}

fn encode_token(value: &Value) -> String {
    STANDARD.encode(value.to_string())
}

fn decode_token(token: &str) -> Result<Value, ApiError> {
    let bytes = STANDARD.decode(token).map_err(|_| invalid_token())?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(invalid_token)
}

fn invalid_token() -> ApiError {
    ApiError::invalid_argument("Invalid NextToken.")
}

pub(super) fn increase_retention(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, hours) = retention_args(req)?;
    streams::increase_retention_period(store, name, hours)?;
    Ok(json!({}))
}

pub(super) fn decrease_retention(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, hours) = retention_args(req)?;
    streams::decrease_retention_period(store, name, hours)?;
    Ok(json!({}))
}

fn retention_args<'a>(req: &Request<'a>) -> Result<(&'a str, u32), ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let hours = req.opt_u64("RetentionPeriodHours")?;
    if hours.is_none() {
        checks.null("RetentionPeriodHours");
    }
    // The API model's own bound (minimum 1) is checked before the service's
    // 24..=8760 h rule, as Kinesis does.
    checks.range(hours, "RetentionPeriodHours", 1, u64::MAX);
    checks.finish()?;
    let hours = hours.map_or(0, |h| u32::try_from(h).unwrap_or(u32::MAX));
    Ok((name, hours))
}
