//! `eddy stream ...`: Kinesis-style streams, through the Kinesis operations of the
//! dispatcher (CreateStream, PutRecord, ListShards, GetShardIterator, GetRecords,
//! ListStreams, DescribeStream, DeleteStream).

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::{input, output};

/// GetRecords returns at most this many records per call (the Kinesis limit).
const GET_RECORDS_MAX: u64 = 10_000;

/// A page that comes back empty while the reader is still behind is skipped, as
/// AWS readers do; this many in a row ends the read so it can never spin forever.
const MAX_EMPTY_PAGES: u32 = 100;

/// The `eddy stream` commands.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Creates a stream with N shards that split the hash-key space evenly.
    Create {
        /// The stream's name.
        name: String,
        /// The number of shards.
        #[arg(long)]
        shards: u32,
    },
    /// Puts one record; prints {"ShardId":..,"SequenceNumber":..}.
    #[command(group(clap::ArgGroup::new("payload").required(true).args(["data", "data_file"])))]
    Put {
        /// The stream's name.
        name: String,
        /// Chooses the shard (MD5 of the key, unless --explicit-hash-key).
        #[arg(long)]
        partition_key: String,
        /// The record's data, as text.
        #[arg(long)]
        data: Option<String>,
        /// Reads the record's data (any bytes) from FILE, or stdin for `-`.
        #[arg(long, value_name = "FILE")]
        data_file: Option<String>,
        /// A decimal hash key that picks the shard instead of the partition key.
        #[arg(long)]
        explicit_hash_key: Option<String>,
    },
    /// Prints the records there now, one JSON line each, in order: every shard in
    /// shard order, unless --shard. Data is decoded UTF-8 text under "Data", or
    /// base64 under "DataBase64" when it is not UTF-8.
    Read {
        /// The stream's name.
        name: String,
        /// trim-horizon (oldest first), latest (only records put from now on, so
        /// nothing yet), at:SEQ or after:SEQ (a sequence number; needs --shard
        /// when the stream has several shards).
        #[arg(long, value_parser = parse_from)]
        from: StartFrom,
        /// Reads only this shard (e.g. shardId-000000000000).
        #[arg(long)]
        shard: Option<String>,
        /// Stops after N records in all.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Lists stream names.
    List,
    /// Prints the stream's description, with all of its shards.
    Describe { name: String },
    /// Deletes the stream and its records.
    Delete { name: String },
}

/// Where `stream read` starts in each shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFrom {
    TrimHorizon,
    Latest,
    At(String),
    After(String),
}

fn parse_from(raw: &str) -> Result<StartFrom, String> {
    let seq = |s: &str| {
        if s.is_empty() {
            Err("the sequence number after ':' is empty".to_string())
        } else {
            Ok(s.to_string())
        }
    };
    match raw {
        "trim-horizon" => Ok(StartFrom::TrimHorizon),
        "latest" => Ok(StartFrom::Latest),
        _ => match raw.split_once(':') {
            Some(("at", s)) => seq(s).map(StartFrom::At),
            Some(("after", s)) => seq(s).map(StartFrom::After),
            _ => Err("expected trim-horizon, latest, at:SEQ or after:SEQ".to_string()),
        },
    }
}

/// Runs one `eddy stream` command.
pub fn run(ctx: &Ctx, command: StreamCommand) -> Result<()> {
    match command {
        StreamCommand::Create { name, shards } => {
            ctx.kinesis(
                "CreateStream",
                &json!({"StreamName": name, "ShardCount": shards}),
            )?;
            output::note(&format!("created stream {name} with {shards} shard(s)"));
            Ok(())
        }
        StreamCommand::Put {
            name,
            partition_key,
            data,
            data_file,
            explicit_hash_key,
        } => {
            let bytes = match (data, data_file) {
                (Some(text), _) => text.into_bytes(),
                (None, Some(file)) => input::file_bytes("--data-file", &file)?,
                (None, None) => bail!("give the record's data with --data or --data-file"),
            };
            put(ctx, &name, &partition_key, &bytes, explicit_hash_key)
        }
        StreamCommand::Read {
            name,
            from,
            shard,
            limit,
        } => read(ctx, &name, &from, shard, limit),
        StreamCommand::List => list(ctx),
        StreamCommand::Describe { name } => describe(ctx, &name),
        StreamCommand::Delete { name } => {
            ctx.kinesis("DeleteStream", &json!({"StreamName": name}))?;
            output::note(&format!("deleted stream {name}"));
            Ok(())
        }
    }
}

fn put(
    ctx: &Ctx,
    name: &str,
    partition_key: &str,
    data: &[u8],
    explicit_hash_key: Option<String>,
) -> Result<()> {
    let mut request = json!({
        "StreamName": name,
        "Data": BASE64.encode(data),
        "PartitionKey": partition_key,
    });
    if let Some(key) = explicit_hash_key {
        request["ExplicitHashKey"] = Value::String(key);
    }
    let response = ctx.kinesis("PutRecord", &request)?;
    output::line(&json!({
        "ShardId": response["ShardId"],
        "SequenceNumber": response["SequenceNumber"],
    }))
}

fn read(
    ctx: &Ctx,
    name: &str,
    from: &StartFrom,
    shard: Option<String>,
    limit: Option<u64>,
) -> Result<()> {
    let shards = match shard {
        Some(id) => vec![id],
        None => shard_ids(ctx, name)?,
    };
    if matches!(from, StartFrom::At(_) | StartFrom::After(_)) && shards.len() > 1 {
        bail!(
            "--from at:/after: needs --shard: a sequence number is a position in one shard, \
             and stream {name} has {} shards",
            shards.len()
        );
    }
    let mut remaining = limit;
    for shard in &shards {
        let read = read_shard(ctx, name, shard, from, remaining)?;
        remaining = remaining.map(|r| r.saturating_sub(read));
        if remaining == Some(0) {
            break;
        }
    }
    Ok(())
}

/// Every shard id of the stream, in shard order (ListShards, page by page).
fn shard_ids(ctx: &Ctx, name: &str) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut request = json!({"StreamName": name});
    loop {
        let page = ctx.kinesis("ListShards", &request)?;
        for shard in page["Shards"].as_array().into_iter().flatten() {
            let id = shard["ShardId"]
                .as_str()
                .context("ListShards returned a shard without a ShardId")?;
            ids.push(id.to_string());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) => request = json!({"NextToken": token}),
            None => return Ok(ids),
        }
    }
}

/// Prints one shard's records from `from` up to what is there now (or `limit`);
/// returns how many it printed.
fn read_shard(
    ctx: &Ctx,
    name: &str,
    shard: &str,
    from: &StartFrom,
    limit: Option<u64>,
) -> Result<u64> {
    let mut request = json!({"StreamName": name, "ShardId": shard});
    let kind = match from {
        StartFrom::TrimHorizon => "TRIM_HORIZON",
        StartFrom::Latest => "LATEST",
        StartFrom::At(seq) | StartFrom::After(seq) => {
            request["StartingSequenceNumber"] = Value::String(seq.clone());
            if matches!(from, StartFrom::At(_)) {
                "AT_SEQUENCE_NUMBER"
            } else {
                "AFTER_SEQUENCE_NUMBER"
            }
        }
    };
    request["ShardIteratorType"] = Value::String(kind.to_string());
    let response = ctx.kinesis("GetShardIterator", &request)?;
    let mut iterator = response["ShardIterator"].as_str().map(str::to_string);
    let (mut printed, mut empty_pages) = (0u64, 0u32);
    while let Some(it) = iterator {
        let want = limit.map_or(GET_RECORDS_MAX, |l| {
            l.saturating_sub(printed).min(GET_RECORDS_MAX)
        });
        if want == 0 {
            break;
        }
        let page = ctx.kinesis("GetRecords", &json!({"ShardIterator": it, "Limit": want}))?;
        let records = page["Records"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let records = records.get(..want as usize).unwrap_or(records);
        for record in records {
            output::line(&record_line(shard, record))?;
        }
        printed += records.len() as u64;
        let behind = page["MillisBehindLatest"].as_u64().unwrap_or(0);
        empty_pages = if records.is_empty() {
            empty_pages + 1
        } else {
            0
        };
        if records.is_empty() && (behind == 0 || empty_pages >= MAX_EMPTY_PAGES) {
            break;
        }
        iterator = page["NextShardIterator"].as_str().map(str::to_string);
    }
    Ok(printed)
}

/// A GetRecords record as `stream read` prints it: the shard, and the data decoded.
fn record_line(shard: &str, record: &Value) -> Value {
    let mut line = Map::new();
    line.insert("ShardId".into(), json!(shard));
    line.insert("SequenceNumber".into(), record["SequenceNumber"].clone());
    line.insert("PartitionKey".into(), record["PartitionKey"].clone());
    let encoded = record["Data"].as_str().unwrap_or_default();
    match BASE64.decode(encoded).ok().map(String::from_utf8) {
        Some(Ok(text)) => line.insert("Data".into(), Value::String(text)),
        _ => line.insert("DataBase64".into(), json!(encoded)),
    };
    line.insert(
        "ApproximateArrivalTimestamp".into(),
        record["ApproximateArrivalTimestamp"].clone(),
    );
    Value::Object(line)
}

fn list(ctx: &Ctx) -> Result<()> {
    let mut names: Vec<Value> = Vec::new();
    let mut request = json!({});
    loop {
        let page = ctx.kinesis("ListStreams", &request)?;
        let page_names = page["StreamNames"].as_array().cloned().unwrap_or_default();
        let last = page_names.last().cloned();
        names.extend(page_names);
        match (page["HasMoreStreams"].as_bool(), last) {
            (Some(true), Some(last)) => request = json!({"ExclusiveStartStreamName": last}),
            _ => break,
        }
    }
    output::document(&json!({"StreamNames": names}))
}

/// DescribeStream, with the shards of every page gathered into one description.
fn describe(ctx: &Ctx, name: &str) -> Result<()> {
    let mut response = ctx.kinesis("DescribeStream", &json!({"StreamName": name}))?;
    loop {
        let description = &response["StreamDescription"];
        let last = description["Shards"]
            .as_array()
            .and_then(|s| s.last())
            .map(|s| s["ShardId"].clone());
        let (Some(true), Some(last)) = (description["HasMoreShards"].as_bool(), last) else {
            break;
        };
        let page = ctx.kinesis(
            "DescribeStream",
            &json!({"StreamName": name, "ExclusiveStartShardId": last}),
        )?;
        let description = &mut response["StreamDescription"];
        if let (Some(shards), Some(more)) = (
            description["Shards"].as_array_mut(),
            page["StreamDescription"]["Shards"].as_array(),
        ) {
            shards.extend(more.iter().cloned());
        }
        description["HasMoreShards"] = page["StreamDescription"]["HasMoreShards"].clone();
    }
    output::document(&response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_forms_parse() {
        assert_eq!(parse_from("trim-horizon"), Ok(StartFrom::TrimHorizon));
        assert_eq!(parse_from("latest"), Ok(StartFrom::Latest));
        assert_eq!(parse_from("at:49"), Ok(StartFrom::At("49".into())));
        assert_eq!(parse_from("after:50"), Ok(StartFrom::After("50".into())));
        assert!(parse_from("at:").is_err());
        assert!(parse_from("oldest").is_err());
    }

    #[test]
    fn record_data_is_decoded_when_it_is_text() {
        let record = json!({"SequenceNumber": "1", "PartitionKey": "k",
            "Data": BASE64.encode("hello"), "ApproximateArrivalTimestamp": 1.5});
        let line = record_line("shardId-000000000000", &record);
        assert_eq!(line["Data"], "hello");
        assert!(line.get("DataBase64").is_none());
        let binary = json!({"SequenceNumber": "1", "PartitionKey": "k",
            "Data": BASE64.encode([0xff, 0xfe]), "ApproximateArrivalTimestamp": 1.5});
        let line = record_line("shardId-000000000000", &binary);
        assert_eq!(line["DataBase64"], BASE64.encode([0xff, 0xfe]));
        assert!(line.get("Data").is_none());
    }
}
