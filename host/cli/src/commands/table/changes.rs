//! `eddy table changes`: a table's change records, read the way a DynamoDB Streams
//! client reads them: ListStreams (the table's latest stream), DescribeStream (its
//! shards), then GetShardIterator and GetRecords on each shard.

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

use crate::commands::Ctx;
use crate::output;

/// GetRecords returns at most 1,000 change records per call.
const GET_RECORDS_MAX: u64 = 1_000;

/// Where `table changes` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangesFrom {
    TrimHorizon,
    Latest,
}

/// Prints the change records of `table`'s latest stream, shard by shard.
pub fn run(ctx: &Ctx, table: &str, from: ChangesFrom, limit: Option<u64>) -> Result<()> {
    let arn = latest_stream_arn(ctx, table)?;
    let mut remaining = limit;
    for shard in shard_ids(ctx, &arn)? {
        let printed = read_shard(ctx, &arn, &shard, from, remaining)?;
        remaining = remaining.map(|r| r.saturating_sub(printed));
        if remaining == Some(0) {
            break;
        }
    }
    Ok(())
}

/// The ARN of the table's newest stream. Labels are ISO-8601 creation times, so
/// the greatest label is the latest stream (a re-created table keeps old ones).
fn latest_stream_arn(ctx: &Ctx, table: &str) -> Result<String> {
    let mut latest: Option<(String, String)> = None;
    let mut request = json!({"TableName": table});
    loop {
        let page = ctx.dynamodb_streams("ListStreams", &request)?;
        for stream in page["Streams"].as_array().into_iter().flatten() {
            let (Some(arn), label) = (stream["StreamArn"].as_str(), stream["StreamLabel"].as_str())
            else {
                continue;
            };
            let label = label.unwrap_or_default();
            if latest
                .as_ref()
                .is_none_or(|(_, best)| label >= best.as_str())
            {
                latest = Some((arn.to_string(), label.to_string()));
            }
        }
        match page.get("LastEvaluatedStreamArn").and_then(Value::as_str) {
            Some(last) => request = json!({"TableName": table, "ExclusiveStartStreamArn": last}),
            None => break,
        }
    }
    match latest {
        Some((arn, _)) => Ok(arn),
        None => bail!(
            "table {table} has no change stream; create the table with --stream \
             (new-image, old-image, new-and-old-images or keys-only)"
        ),
    }
}

/// The stream's shard ids in the order DescribeStream lists them (parents first).
fn shard_ids(ctx: &Ctx, arn: &str) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut request = json!({"StreamArn": arn});
    loop {
        let page = ctx.dynamodb_streams("DescribeStream", &request)?;
        let description = &page["StreamDescription"];
        for shard in description["Shards"].as_array().into_iter().flatten() {
            if let Some(id) = shard["ShardId"].as_str() {
                ids.push(id.to_string());
            }
        }
        match description
            .get("LastEvaluatedShardId")
            .and_then(Value::as_str)
        {
            Some(last) => request = json!({"StreamArn": arn, "ExclusiveStartShardId": last}),
            None => return Ok(ids),
        }
    }
}

/// Prints one shard's change records up to what is there now (or `limit`).
fn read_shard(
    ctx: &Ctx,
    arn: &str,
    shard: &str,
    from: ChangesFrom,
    limit: Option<u64>,
) -> Result<u64> {
    let kind = match from {
        ChangesFrom::TrimHorizon => "TRIM_HORIZON",
        ChangesFrom::Latest => "LATEST",
    };
    let response = ctx.dynamodb_streams(
        "GetShardIterator",
        &json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind}),
    )?;
    let mut iterator = response["ShardIterator"].as_str().map(str::to_string);
    let mut printed = 0u64;
    while let Some(it) = iterator {
        let want = limit.map_or(GET_RECORDS_MAX, |l| {
            l.saturating_sub(printed).min(GET_RECORDS_MAX)
        });
        if want == 0 {
            break;
        }
        let page =
            ctx.dynamodb_streams("GetRecords", &json!({"ShardIterator": it, "Limit": want}))?;
        let records = page["Records"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let records = records.get(..want as usize).unwrap_or(records);
        for record in records {
            output::line(record)?;
        }
        printed += records.len() as u64;
        // DynamoDB Streams has no MillisBehindLatest: an empty page is the end of
        // what is there now.
        if records.is_empty() {
            break;
        }
        iterator = page["NextShardIterator"].as_str().map(str::to_string);
    }
    Ok(printed)
}
