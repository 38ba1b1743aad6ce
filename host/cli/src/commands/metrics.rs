//! `eddy metrics NAME [--since DURATION] [--json]`: a function's one-minute
//! metrics through CloudWatch's GetMetricStatistics (namespace AWS/Lambda,
//! Period 60): a table per minute of Invocations, Errors, Duration
//! avg/min/max/p99 (ms), Throttles, ConcurrentExecutions and FuelUsed, or
//! (`--json`) one JSON document for scripts. Minutes without invocations are
//! left out.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use eddy_store::timefmt::iso_ms;
use serde_json::{Map, Value, json};

use super::Ctx;
use eddy_store::Clock;

use super::logs::parse_duration;
use crate::output;

/// One request covers at most this much (CloudWatch's 1,440 datapoints of 60 s).
const WINDOW_MS: u64 = 1440 * 60_000;

/// `eddy metrics` arguments.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// The function whose metrics to show.
    pub name: String,
    /// How far back (e.g. 30m, 6h, 2d); CloudWatch keeps minutes for 15 days.
    #[arg(long, value_parser = parse_duration, default_value = "24h")]
    pub since: Duration,
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The metrics asked for: name, Statistics, ExtendedStatistics.
const METRICS: [(&str, &[&str], &[&str]); 6] = [
    ("Invocations", &["Sum"], &[]),
    ("Errors", &["Sum"], &[]),
    ("Duration", &["Average", "Minimum", "Maximum"], &["p99"]),
    ("Throttles", &["Sum"], &[]),
    ("ConcurrentExecutions", &["Maximum"], &[]),
    ("FuelUsed", &["Sum"], &[]),
];

/// Minute (epoch s) → metric name → its statistics.
pub(super) type Rows = BTreeMap<u64, Map<String, Value>>;

/// `name`'s metrics (the ones `eddy metrics` shows) from `start_ms` to
/// `end_ms`, by minute.
pub(super) fn fetch_rows(ctx: &Ctx, name: &str, start_ms: u64, end_ms: u64) -> Result<Rows> {
    let mut rows = Rows::new();
    fetch(ctx, name, start_ms, end_ms, &mut rows)?;
    Ok(rows)
}

fn fetch(ctx: &Ctx, name: &str, start_ms: u64, end_ms: u64, rows: &mut Rows) -> Result<()> {
    for (metric, stats, extended) in METRICS {
        let request = json!({
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": name}],
            "StartTime": start_ms as f64 / 1000.0,
            "EndTime": end_ms as f64 / 1000.0,
            "Period": 60,
            "Statistics": stats,
            "ExtendedStatistics": extended,
        });
        let answer = ctx.call(
            &format!("{}.GetMetricStatistics", eddy_api::CLOUDWATCH),
            &request,
        )?;
        for point in answer["Datapoints"].as_array().into_iter().flatten() {
            let Some(at) = point["Timestamp"].as_u64() else {
                continue;
            };
            rows.entry(at)
                .or_default()
                .insert(metric.to_string(), point.clone());
        }
    }
    Ok(())
}

/// A metric's value in a row as the table and JSON show it.
pub(super) fn stat(row: &Map<String, Value>, metric: &str, stat: &str) -> f64 {
    let point = row.get(metric);
    let value = match stat {
        "p99" => point.and_then(|p| p["ExtendedStatistics"]["p99"].as_f64()),
        _ => point.and_then(|p| p[stat].as_f64()),
    };
    value.unwrap_or(0.0)
}

/// A count CloudWatch returned as a double, as the whole number it is.
fn count(value: f64) -> Value {
    json!(value.max(0.0).round() as u64)
}

fn row_json(at: u64, row: &Map<String, Value>) -> Value {
    json!({
        "Timestamp": iso_ms(at.saturating_mul(1000)),
        "Invocations": count(stat(row, "Invocations", "Sum")),
        "Errors": count(stat(row, "Errors", "Sum")),
        "Duration": {
            "Average": stat(row, "Duration", "Average"),
            "Minimum": stat(row, "Duration", "Minimum"),
            "Maximum": stat(row, "Duration", "Maximum"),
            "p99": stat(row, "Duration", "p99"),
        },
        "Throttles": count(stat(row, "Throttles", "Sum")),
        "ConcurrentExecutions": count(stat(row, "ConcurrentExecutions", "Maximum")),
        "FuelUsed": count(stat(row, "FuelUsed", "Sum")),
    })
}

fn table(rows: &Rows) -> String {
    let mut out = format!(
        "{:<19}  {:>11}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>12}\n",
        "TIME (UTC)",
        "INVOCATIONS",
        "ERRORS",
        "AVG MS",
        "MIN MS",
        "MAX MS",
        "P99 MS",
        "THROTTLES",
        "CONCURRENT",
        "FUEL USED"
    );
    for (at, row) in rows {
        let time = iso_ms(at.saturating_mul(1000));
        out.push_str(&format!(
            "{:<19}  {:>11}  {:>6}  {:>9.2}  {:>9.2}  {:>9.2}  {:>9.2}  {:>9}  {:>10}  {:>12}\n",
            time.get(..19).unwrap_or(&time),
            stat(row, "Invocations", "Sum"),
            stat(row, "Errors", "Sum"),
            stat(row, "Duration", "Average"),
            stat(row, "Duration", "Minimum"),
            stat(row, "Duration", "Maximum"),
            stat(row, "Duration", "p99"),
            stat(row, "Throttles", "Sum"),
            stat(row, "ConcurrentExecutions", "Maximum"),
            stat(row, "FuelUsed", "Sum"),
        ));
    }
    out
}

/// Prints the function's minutes since `--since` ago.
pub fn run(ctx: &Ctx, args: MetricsArgs) -> Result<()> {
    // Whole minutes, so each request's datapoints stay within the limit.
    let end = minute_start(Clock::System.now_ms()).saturating_add(60_000);
    let since = u64::try_from(args.since.as_millis()).unwrap_or(u64::MAX);
    let mut start = minute_start(end.saturating_sub(since.saturating_add(60_000)));
    let mut rows = Rows::new();
    while start < end {
        let until = start.saturating_add(WINDOW_MS).min(end);
        fetch(ctx, &args.name, start, until, &mut rows)?;
        start = until;
    }
    rows.retain(|_, row| stat(row, "Invocations", "Sum") > 0.0);
    if args.json {
        let minutes: Vec<Value> = rows.iter().map(|(at, row)| row_json(*at, row)).collect();
        let total = |metric: &str| rows.values().map(|r| stat(r, metric, "Sum")).sum::<f64>();
        return output::document(&json!({
            "FunctionName": args.name,
            "Period": 60,
            "Minutes": minutes,
            "Totals": {
                "Invocations": count(total("Invocations")),
                "Errors": count(total("Errors")),
                "FuelUsed": count(total("FuelUsed")),
            },
        }));
    }
    if rows.is_empty() {
        output::note(&format!(
            "no invocations of {} in the last {}",
            args.name,
            humanize(args.since)
        ));
        return Ok(());
    }
    print!("{}", table(&rows));
    Ok(())
}

fn minute_start(ms: u64) -> u64 {
    ms - ms % 60_000
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_the_statistics_cloudwatch_returned() {
        let mut row = Map::new();
        row.insert(
            "Duration".into(),
            json!({"Average": 2.5, "Minimum": 1.0, "Maximum": 4.0,
                   "ExtendedStatistics": {"p99": 3.9}, "Unit": "Milliseconds"}),
        );
        row.insert("Invocations".into(), json!({"Sum": 4.0}));
        let doc = row_json(120, &row);
        assert_eq!(doc["Invocations"], 4);
        assert_eq!(doc["Duration"]["p99"], 3.9);
        assert_eq!(doc["Errors"], 0);
        assert_eq!(doc["Timestamp"], "1970-01-01T00:02:00.000");
        let mut rows = Rows::new();
        rows.insert(120, row);
        assert!(table(&rows).contains("1970-01-01T00:02:00"));
        assert_eq!(humanize(Duration::from_secs(86_400)), "1d");
        assert_eq!(humanize(Duration::from_secs(90)), "90s");
    }
}
