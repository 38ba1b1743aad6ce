//! The CloudWatch metrics API (`GraniteServiceVersion20100801.*`, CloudWatch's
//! JSON protocol target) over functions' one-minute metrics, namespace
//! AWS/Lambda, dimension FunctionName. Operation: GetMetricStatistics.
//!
//! Metrics and their samples (one per invocation unless said otherwise):
//! Invocations (value 1), Errors and Throttles (0 or 1; Throttles is always 0,
//! eddy has no concurrency limit yet), Duration (milliseconds), FuelUsed
//! (eddy's, Count), and ConcurrentExecutions (one sample per minute: the most
//! invocations running at once in it; read its Maximum). Without a
//! FunctionName dimension, or for another namespace or metric, there are no
//! datapoints (CloudWatch answers an unknown metric the same way).
//! Percentiles (ExtendedStatistics `p0`..`p100`) come from each bucket's
//! histogram, within ~1.6% of the true sample.

use eddy_store::telemetry::{self, MetricBucket};
use eddy_store::timefmt;
use serde_json::{Map, Value, json};

use crate::request::Request;
use crate::{Api, ApiError};

/// The most datapoints one request may ask for.
const MAX_DATAPOINTS: u64 = 1440;
const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// Runs one CloudWatch operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    match operation {
        "GetMetricStatistics" => {
            get_metric_statistics(api, &Request::new(request, "InvalidParameterValue"))
        }
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::CLOUDWATCH
        ))),
    }
}

fn missing(name: &str) -> ApiError {
    ApiError::new(
        "MissingParameter",
        format!("The parameter {name} is required."),
    )
}

/// A timestamp member: epoch seconds (the JSON protocol), or an ISO 8601 UTC
/// string `YYYY-MM-DDTHH:MM:SS[.fff]Z`. Returns epoch milliseconds.
fn time_ms(req: &Request<'_>, name: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::new(
            "InvalidParameterValue",
            format!("The parameter {name} must be a timestamp (epoch seconds or ISO 8601 UTC)."),
        )
    };
    match req.get(name) {
        None => Err(missing(name)),
        Some(Value::Number(n)) => {
            let secs = n
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(bad)?;
            Ok((secs * 1000.0) as u64)
        }
        Some(Value::String(s)) => parse_iso(s).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

fn parse_iso(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<u64>().ok());
    let days = timefmt::days_from_civil(d.next()??, d.next()??, d.next()??)?;
    let (clock, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = clock.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (t.next()??, t.next()??, t.next().unwrap_or(Some(0))?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let millis: u64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    secs.checked_mul(1000)?.checked_add(millis)
}

/// The function the request's dimensions name, if they name exactly one.
fn function_of(req: &Request<'_>) -> Result<Option<String>, ApiError> {
    let Some(dimensions) = req.opt_array("Dimensions")? else {
        return Ok(None);
    };
    let mut function = None;
    for dimension in dimensions {
        let name = dimension.get("Name").and_then(Value::as_str);
        let value = dimension.get("Value").and_then(Value::as_str);
        match (name, value) {
            (Some("FunctionName"), Some(v)) if dimensions.len() == 1 => {
                function = Some(v.to_string())
            }
            (Some(_), Some(_)) => return Ok(None),
            _ => return Err(missing("Dimensions.member.N.Name and Value")),
        }
    }
    Ok(function)
}

/// The requested Statistics and ExtendedStatistics (as percentiles).
/// Percentiles asked for: their names (`p99`) and values (99.0).
type Percentiles = Vec<(String, f64)>;

fn statistics(req: &Request<'_>) -> Result<(Vec<String>, Percentiles), ApiError> {
    let strings = |name: &str| -> Result<Vec<String>, ApiError> {
        let list = req.opt_array(name)?.map(Vec::as_slice).unwrap_or_default();
        list.iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::serialization(format!("{name} must be a list of strings")))
    };
    let stats = strings("Statistics")?;
    let extended = strings("ExtendedStatistics")?;
    if stats.is_empty() && extended.is_empty() {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "At least one of the parameters Statistics and ExtendedStatistics must be specified.",
        ));
    }
    for (i, stat) in stats.iter().enumerate() {
        if !STATISTICS.contains(&stat.as_str()) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!(
                    "The parameter Statistics.member.{} must be a value in the set [ Average, Sum, SampleCount, Maximum, Minimum ].",
                    i + 1
                ),
            ));
        }
    }
    let mut percentiles = Vec::new();
    for (i, name) in extended.iter().enumerate() {
        let p = name
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p));
        let Some(p) = p else {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!(
                    "The parameter ExtendedStatistics.member.{} must be a percentile such as p99 or p99.9.",
                    i + 1
                ),
            ));
        };
        percentiles.push((name.clone(), p));
    }
    Ok((stats, percentiles))
}

/// Start, end (ms, start aligned down to the minute) and period (ms), checked.
fn window(req: &Request<'_>) -> Result<(u64, u64, u64), ApiError> {
    let start = time_ms(req, "StartTime")?;
    let end = time_ms(req, "EndTime")?;
    let period = req.opt_u64("Period")?.ok_or_else(|| missing("Period"))?;
    if period == 0 || period % 60 != 0 {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "The parameter Period must be a multiple of 60.",
        ));
    }
    if start >= end {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let start = telemetry::minute_of(start);
    let period_ms = period.saturating_mul(1000);
    let points = (end - start).div_ceil(period_ms);
    if points > MAX_DATAPOINTS {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!(
                "You have requested up to {points} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. \
                 You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            ),
        ));
    }
    Ok((start, end, period_ms))
}

/// One metric's samples over a period: count, sum, min, max and percentiles.
struct Summary {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    percentile: Box<dyn Fn(f64) -> Option<f64>>,
}

/// A 0/1 metric with `ones` of `count` samples equal to 1.
fn binary(count: u64, ones: u64) -> Summary {
    Summary {
        count,
        sum: ones as f64,
        min: if ones == count { 1.0 } else { 0.0 },
        max: if ones > 0 { 1.0 } else { 0.0 },
        percentile: Box::new(move |p| {
            let rank = ((p / 100.0) * count as f64).ceil().max(1.0) as u64;
            Some(if rank > count.saturating_sub(ones) {
                1.0
            } else {
                0.0
            })
        }),
    }
}

/// The unit of `metric` and its summary over the minutes of one period.
fn summarize(metric: &str, minutes: &[&MetricBucket]) -> Option<(&'static str, Summary)> {
    let mut all = MetricBucket::default();
    for bucket in minutes {
        all.merge(bucket);
    }
    let distribution = |d: telemetry::Distribution, scale: f64| Summary {
        count: d.count,
        sum: d.sum as f64 / scale,
        min: d.min as f64 / scale,
        max: d.max as f64 / scale,
        percentile: Box::new(move |p| d.percentile(p).map(|v| v as f64 / scale)),
    };
    let summary = match metric {
        "Invocations" => ("Count", binary(all.invocations, all.invocations)),
        "Errors" => ("Count", binary(all.invocations, all.errors)),
        "Throttles" => ("Count", binary(all.invocations, all.throttles)),
        "Duration" => ("Milliseconds", distribution(all.duration_us, 1000.0)),
        "FuelUsed" => ("Count", distribution(all.fuel, 1.0)),
        "ConcurrentExecutions" => {
            let mut per_minute = telemetry::Distribution::default();
            for bucket in minutes.iter().filter(|b| b.concurrent_max > 0) {
                per_minute.record(bucket.concurrent_max);
            }
            ("Count", distribution(per_minute, 1.0))
        }
        _ => return None,
    };
    Some(summary)
}

fn datapoint(
    at_ms: u64,
    unit: &str,
    summary: &Summary,
    stats: &[String],
    percentiles: &[(String, f64)],
) -> Value {
    let mut point = Map::new();
    point.insert("Timestamp".into(), json!(at_ms / 1000));
    for stat in stats {
        let value = match stat.as_str() {
            "SampleCount" => summary.count as f64,
            "Average" => summary.sum / summary.count.max(1) as f64,
            "Sum" => summary.sum,
            "Minimum" => summary.min,
            _ => summary.max,
        };
        point.insert(stat.clone(), json!(value));
    }
    if !percentiles.is_empty() {
        let values: Map<String, Value> = percentiles
            .iter()
            .filter_map(|(name, p)| Some((name.clone(), json!((summary.percentile)(*p)?))))
            .collect();
        point.insert("ExtendedStatistics".into(), Value::Object(values));
    }
    point.insert("Unit".into(), unit.into());
    Value::Object(point)
}

fn get_metric_statistics(api: &Api, req: &Request<'_>) -> Result<Value, ApiError> {
    let namespace = req
        .opt_str("Namespace")?
        .ok_or_else(|| missing("Namespace"))?;
    let metric = req
        .opt_str("MetricName")?
        .ok_or_else(|| missing("MetricName"))?;
    let (start, end, period_ms) = window(req)?;
    let (stats, percentiles) = statistics(req)?;
    let unit = req.opt_str("Unit")?;
    let function = function_of(req)?;
    let empty = json!({ "Label": metric, "Datapoints": [] });
    let Some(function) = function.filter(|_| namespace == "AWS/Lambda") else {
        return Ok(empty);
    };
    api.flush_telemetry()?;
    let buckets = telemetry::read_buckets(api.store(), &function, start, end)?;
    let mut datapoints = Vec::new();
    let mut rest = buckets.as_slice();
    while let Some((first, _)) = rest.first() {
        let period_start = start + first.saturating_sub(start) / period_ms * period_ms;
        let period_end = period_start.saturating_add(period_ms);
        let split = rest
            .iter()
            .position(|(minute, _)| *minute >= period_end)
            .unwrap_or(rest.len());
        let (these, later) = rest.split_at(split);
        rest = later;
        let minutes: Vec<&MetricBucket> = these.iter().map(|(_, b)| b).collect();
        let Some((metric_unit, summary)) = summarize(metric, &minutes) else {
            return Ok(empty);
        };
        if unit.is_some_and(|u| u != metric_unit) || summary.count == 0 {
            continue;
        }
        datapoints.push(datapoint(
            period_start,
            metric_unit,
            &summary,
            &stats,
            &percentiles,
        ));
    }
    Ok(json!({ "Label": metric, "Datapoints": datapoints }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_parse_to_milliseconds() {
        assert_eq!(parse_iso("1970-01-01T00:01:00Z"), Some(60_000));
        assert_eq!(
            parse_iso("2026-11-24T10:20:30.5Z"),
            Some(20_781 * 86_400_000 + 37_230_500)
        );
        assert_eq!(parse_iso("2026-11-24"), None);
        assert_eq!(parse_iso("2026-11-24T25:00:00Z"), None);
    }

    #[test]
    fn binary_metrics_summarize_exactly() {
        let errors = binary(200, 3);
        assert_eq!(
            (errors.count, errors.sum, errors.min, errors.max),
            (200, 3.0, 0.0, 1.0)
        );
        // 3 of 200 failed: more than 1%, so p99 is a failure; p98 is not.
        assert_eq!((errors.percentile)(99.0), Some(1.0));
        assert_eq!((errors.percentile)(98.0), Some(0.0));
    }
}
