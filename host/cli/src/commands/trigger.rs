//! `eddy trigger`: event source mappings — which function reads which stream
//! or table change stream — through the Lambda operations of the dispatcher
//! (CreateEventSourceMapping, ListEventSourceMappings, ...).
//!
//! `create` starts at LATEST unless told otherwise, as the Lambda console
//! does: records put after the trigger is created reach the function, earlier
//! ones do not (use `--starting-position trim-horizon` to replay what the
//! stream still holds).

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::output;

/// `eddy trigger ...`.
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// Maps a stream or a table's change stream to a function.
    Create(CreateArgs),
    /// Lists the triggers: UUID, function, source, state, last result, iterator age.
    List {
        /// Print the Lambda-shaped configurations as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows one trigger's configuration.
    Get { uuid: String },
    /// Changes a trigger's settings (the source and starting position stay).
    Update(UpdateArgs),
    /// Starts a disabled trigger again, from where it stopped.
    Enable { uuid: String },
    /// Stops a trigger; it keeps its place in the source.
    Disable { uuid: String },
    /// Deletes a trigger and its place in the source.
    Delete { uuid: String },
}

/// `eddy trigger create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The function to invoke.
    pub function: String,
    /// `stream/NAME` or `table/NAME` (the table's enabled change stream), or an ARN.
    #[arg(long)]
    pub source: String,
    /// Where to start: trim-horizon (the oldest record kept), latest (only
    /// records added from now on), or at-timestamp:RFC3339 (e.g.
    /// at-timestamp:2026-11-24T10:00:00Z; streams only).
    #[arg(long, default_value = "latest")]
    pub starting_position: String,
    #[command(flatten)]
    pub settings: Settings,
    /// Split a failing batch in two and retry each half.
    #[arg(long)]
    pub bisect_on_error: bool,
    /// Where a batch that is given up is described: `stream/NAME` or `table/NAME`.
    #[arg(long, value_name = "DESTINATION")]
    pub on_failure: Option<String>,
    /// A Lambda filter pattern (JSON); a record is processed when any matches.
    #[arg(long = "filter", value_name = "PATTERN_JSON")]
    pub filters: Vec<String>,
    /// The function reports failed records (batchItemFailures).
    #[arg(long)]
    pub report_batch_item_failures: bool,
}

/// The numeric settings `create` and `update` share.
#[derive(Debug, Args)]
pub struct Settings {
    /// Most records per invocation (1..10000; default 100).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<u64>,
    /// Milliseconds to gather records before invoking (0..300000).
    #[arg(long, value_name = "MS")]
    pub batching_window: Option<u64>,
    /// Retries of a failed batch (-1: until the records expire).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_retries: Option<i64>,
    /// Records older than this are given up (-1: never; else 60..604800).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub max_record_age: Option<i64>,
}

/// `eddy trigger update` arguments.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub uuid: String,
    /// Invoke another function.
    #[arg(long)]
    pub function: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
    #[arg(long, value_name = "true|false")]
    pub bisect_on_error: Option<bool>,
    /// `stream/NAME`, `table/NAME`, or `none` to remove the destination.
    #[arg(long, value_name = "DESTINATION")]
    pub on_failure: Option<String>,
    /// Replaces the filter patterns (repeat for several).
    #[arg(
        long = "filter",
        value_name = "PATTERN_JSON",
        conflicts_with = "clear_filters"
    )]
    pub filters: Vec<String>,
    /// Removes every filter pattern.
    #[arg(long)]
    pub clear_filters: bool,
    #[arg(long, value_name = "true|false")]
    pub report_batch_item_failures: Option<bool>,
}

/// Runs one `eddy trigger` command.
pub fn run(ctx: &Ctx, command: TriggerCommand) -> Result<()> {
    match command {
        TriggerCommand::Create(args) => {
            let request = create_request(&args)?;
            output::document(&ctx.lambda("CreateEventSourceMapping", &request)?)
        }
        TriggerCommand::List { json } => list(ctx, json),
        TriggerCommand::Get { uuid } => {
            let mapping = ctx.lambda("GetEventSourceMapping", &json!({ "UUID": uuid }))?;
            output::document(&mapping)
        }
        TriggerCommand::Update(args) => {
            let request = update_request(&args);
            output::document(&ctx.lambda("UpdateEventSourceMapping", &request)?)
        }
        TriggerCommand::Enable { uuid } => set_enabled(ctx, &uuid, true),
        TriggerCommand::Disable { uuid } => set_enabled(ctx, &uuid, false),
        TriggerCommand::Delete { uuid } => {
            let deleted = ctx.lambda("DeleteEventSourceMapping", &json!({ "UUID": uuid }))?;
            output::document(&deleted)
        }
    }
}

fn set_enabled(ctx: &Ctx, uuid: &str, enabled: bool) -> Result<()> {
    let request = json!({ "UUID": uuid, "Enabled": enabled });
    output::document(&ctx.lambda("UpdateEventSourceMapping", &request)?)
}

fn create_request(args: &CreateArgs) -> Result<Value> {
    let mut request = Map::new();
    request.insert("FunctionName".into(), json!(args.function));
    request.insert("EventSourceArn".into(), json!(args.source));
    starting_position(&args.starting_position, &mut request)?;
    settings(&args.settings, &mut request);
    request.insert(
        "BisectBatchOnFunctionError".into(),
        json!(args.bisect_on_error),
    );
    if let Some(destination) = &args.on_failure {
        request.insert("DestinationConfig".into(), on_failure(destination));
    }
    if !args.filters.is_empty() {
        request.insert("FilterCriteria".into(), filter_criteria(&args.filters));
    }
    request.insert(
        "FunctionResponseTypes".into(),
        response_types(args.report_batch_item_failures),
    );
    Ok(Value::Object(request))
}

fn update_request(args: &UpdateArgs) -> Value {
    let mut request = Map::new();
    request.insert("UUID".into(), json!(args.uuid));
    if let Some(function) = &args.function {
        request.insert("FunctionName".into(), json!(function));
    }
    settings(&args.settings, &mut request);
    if let Some(bisect) = args.bisect_on_error {
        request.insert("BisectBatchOnFunctionError".into(), json!(bisect));
    }
    match args.on_failure.as_deref() {
        Some("none") => {
            request.insert("DestinationConfig".into(), json!({ "OnFailure": {} }));
        }
        Some(destination) => {
            request.insert("DestinationConfig".into(), on_failure(destination));
        }
        None => {}
    }
    if args.clear_filters || !args.filters.is_empty() {
        request.insert("FilterCriteria".into(), filter_criteria(&args.filters));
    }
    if let Some(report) = args.report_batch_item_failures {
        request.insert("FunctionResponseTypes".into(), response_types(report));
    }
    Value::Object(request)
}

fn settings(s: &Settings, request: &mut Map<String, Value>) {
    if let Some(n) = s.batch_size {
        request.insert("BatchSize".into(), json!(n));
    }
    if let Some(ms) = s.batching_window {
        // Lambda takes whole seconds; eddy also takes fractions.
        let secs = if ms.is_multiple_of(1000) {
            json!(ms / 1000)
        } else {
            json!(ms as f64 / 1000.0)
        };
        request.insert("MaximumBatchingWindowInSeconds".into(), secs);
    }
    if let Some(n) = s.max_retries {
        request.insert("MaximumRetryAttempts".into(), json!(n));
    }
    if let Some(n) = s.max_record_age {
        request.insert("MaximumRecordAgeInSeconds".into(), json!(n));
    }
}

fn on_failure(destination: &str) -> Value {
    json!({ "OnFailure": { "Destination": destination } })
}

fn filter_criteria(patterns: &[String]) -> Value {
    let filters: Vec<Value> = patterns.iter().map(|p| json!({ "Pattern": p })).collect();
    json!({ "Filters": filters })
}

fn response_types(report: bool) -> Value {
    if report {
        json!(["ReportBatchItemFailures"])
    } else {
        json!([])
    }
}

/// `trim-horizon`, `latest` or `at-timestamp:RFC3339` as Lambda's members.
fn starting_position(text: &str, request: &mut Map<String, Value>) -> Result<()> {
    let position = match text {
        "trim-horizon" => "TRIM_HORIZON",
        "latest" => "LATEST",
        _ => {
            let Some(time) = text.strip_prefix("at-timestamp:") else {
                bail!(
                    "--starting-position {text:?}: expected trim-horizon, latest or at-timestamp:RFC3339"
                );
            };
            let secs = rfc3339_seconds(time).with_context(|| {
                format!(
                    "--starting-position: {time:?} is not an RFC 3339 time (2026-11-24T10:00:00Z)"
                )
            })?;
            request.insert("StartingPositionTimestamp".into(), json!(secs));
            "AT_TIMESTAMP"
        }
    };
    request.insert("StartingPosition".into(), json!(position));
    Ok(())
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn rfc3339_seconds(text: &str) -> Option<f64> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let (clock, offset_secs) = split_offset(rest)?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (parts.next()??, parts.next()??, parts.next()??);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second)
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid || !(1970..=9999).contains(&year) {
        return None;
    }
    let fraction: f64 = format!("0.{fraction}").parse().ok()?;
    let days = eddy_store::timefmt::days_from_civil(
        u64::try_from(year).ok()?,
        u64::try_from(month).ok()?,
        u64::try_from(day).ok()?,
    )?;
    let days = i64::try_from(days).ok()?;
    let whole = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    (whole >= 0).then_some(whole as f64 + fraction)
}

/// The clock part and the zone offset in seconds (`Z` or `±HH:MM`).
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let at = rest.rfind(['+', '-'])?;
    let (clock, zone) = rest.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone.get(1..)?.split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    (h < 24 && m < 60).then_some((clock, sign * (h * 3600 + m * 60)))
}

/// Every mapping, following NextMarker.
fn all_mappings(ctx: &Ctx) -> Result<Vec<Value>> {
    let mut mappings = Vec::new();
    let mut marker: Option<Value> = None;
    loop {
        let request = match &marker {
            Some(m) => json!({ "Marker": m }),
            None => json!({}),
        };
        let page = ctx.lambda("ListEventSourceMappings", &request)?;
        let items = page["EventSourceMappings"].as_array().cloned();
        mappings.extend(items.unwrap_or_default());
        marker = page.get("NextMarker").filter(|m| m.is_string()).cloned();
        if marker.is_none() {
            return Ok(mappings);
        }
    }
}

fn list(ctx: &Ctx, as_json: bool) -> Result<()> {
    let mappings = all_mappings(ctx)?;
    if as_json {
        return output::document(&json!(mappings));
    }
    let header = [
        "UUID",
        "FUNCTION",
        "SOURCE",
        "STATE",
        "LAST RESULT",
        "ITERATOR AGE",
    ];
    let rows: Vec<[String; 6]> = mappings.iter().map(row).collect();
    println!("{}", table(&header.map(String::from), &rows));
    Ok(())
}

/// One mapping as a row of `trigger list`.
fn row(m: &Value) -> [String; 6] {
    let text = |member: &str| m[member].as_str().unwrap_or("-").to_string();
    let function = text("FunctionArn");
    let function = function
        .rsplit(":function:")
        .next()
        .unwrap_or("-")
        .to_string();
    let age = m
        .get("IteratorAgeMilliseconds")
        .and_then(Value::as_u64)
        .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms"));
    [
        text("UUID"),
        function,
        source_name(&text("EventSourceArn")),
        text("State"),
        text("LastProcessingResult"),
        age,
    ]
}

/// `stream/NAME` or `table/NAME` for a stream ARN or a table stream ARN.
fn source_name(arn: &str) -> String {
    let path = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    match path.split_once("/stream/") {
        Some((table, _)) => table.to_string(),
        None => path.to_string(),
    }
}

/// Left-aligned columns separated by two spaces.
fn table(header: &[String; 6], rows: &[[String; 6]]) -> String {
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    std::iter::once(header)
        .chain(rows)
        .map(line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_epoch_seconds() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            rfc3339_seconds("2023-11-14T22:13:20Z"),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            rfc3339_seconds("2023-11-14T22:13:20.25Z"),
            Some(1_700_000_000.25)
        );
        assert_eq!(
            rfc3339_seconds("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            rfc3339_seconds("2023-11-14T20:13:20-02:00"),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            rfc3339_seconds("2024-02-29T00:00:00Z"),
            Some(1_709_164_800.0)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "2023-11-14T25:00:00Z",
            "x-y-zT1:2:3Z",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn starting_positions() {
        let mut request = Map::new();
        starting_position("at-timestamp:2023-11-14T22:13:20Z", &mut request).unwrap();
        assert_eq!(
            Value::Object(request),
            json!({ "StartingPositionTimestamp": 1_700_000_000.0, "StartingPosition": "AT_TIMESTAMP" })
        );
        let mut request = Map::new();
        starting_position("latest", &mut request).unwrap();
        assert_eq!(request["StartingPosition"], "LATEST");
        assert!(starting_position("oldest", &mut Map::new()).is_err());
        assert!(starting_position("at-timestamp:yesterday", &mut Map::new()).is_err());
    }

    #[test]
    fn list_rows_name_the_source_and_show_dashes_until_a_status() {
        let m = json!({
            "UUID": "u", "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "EventSourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000",
            "State": "Enabled", "LastProcessingResult": "No records processed"
        });
        assert_eq!(
            row(&m),
            ["u", "f", "table/t", "Enabled", "No records processed", "-"].map(String::from)
        );
        let s = json!({ "EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "IteratorAgeMilliseconds": 5 });
        assert_eq!(row(&s)[2], "stream/s");
        assert_eq!(row(&s)[5], "5 ms");
        let header = ["A", "B", "C", "D", "E", "F"].map(String::from);
        let rows = [["long", "b", "c", "d", "e", "f"].map(String::from)];
        assert_eq!(
            table(&header, &rows),
            "A     B  C  D  E  F\nlong  b  c  d  e  f"
        );
    }
}
