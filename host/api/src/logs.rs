//! The CloudWatch Logs API (`Logs_20140328.*`) over functions' logs: log group
//! `/aws/lambda/<function>`, created by the function's first invocation (as in
//! Lambda). Operations: FilterLogEvents, GetLogEvents, DescribeLogGroups.
//!
//! Log streams: one per function version and UTC day, named as Lambda names
//! them, `YYYY/MM/DD/[VERSION]` followed by eddy's instance id `eddy`.
//! filterPattern: terms and "quoted phrases", every one of which must occur
//! in the message (case-sensitive); JSON and space-delimited patterns are
//! refused with InvalidParameterException.

use eddy_store::telemetry::{self, LogCursor, LogEvent, LogGroup, LogQuery};
use eddy_store::timefmt::iso_ms;
use serde_json::{Value, json};

use crate::request::Request;
use crate::response::object;
use crate::{Api, ApiError};

/// The prefix of every function's log group.
pub const GROUP_PREFIX: &str = "/aws/lambda/";
/// The most events one call returns (CloudWatch's limit and default).
const MAX_EVENTS: u64 = 10_000;
/// Events one FilterLogEvents call looks at before answering with a nextToken.
const MAX_SCANNED: usize = 100_000;
/// Log groups one DescribeLogGroups call returns at most (and by default).
const MAX_GROUPS: u64 = 50;
/// The retention eddy applies, in days (see eddy_store::telemetry::logs).
const RETENTION_DAYS: u64 = telemetry::logs::LOG_RETENTION_MS / 86_400_000;

const INVALID: &str = "InvalidParameterException";

/// Runs one CloudWatch Logs operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    match operation {
        "FilterLogEvents" => filter_log_events(api, &Request::new(request, INVALID)),
        "GetLogEvents" => get_log_events(api, &Request::new(request, INVALID)),
        "DescribeLogGroups" => describe_log_groups(api, &Request::new(request, INVALID)),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::LOGS
        ))),
    }
}

/// Makes everything invoked in this process readable before a read.
fn flush(api: &Api) -> Result<(), ApiError> {
    api.flush_telemetry()
}

/// The function whose log group the request names, which must exist.
fn group(api: &Api, req: &Request<'_>) -> Result<LogGroup, ApiError> {
    let name = match req.opt_str("logGroupName")? {
        Some(name) => name,
        None => req.str("logGroupIdentifier")?,
    };
    // An ARN names the group after `log-group:`.
    let name = name.rsplit_once(":log-group:").map_or(name, |(_, n)| n);
    let name = name.strip_suffix(":*").unwrap_or(name);
    let missing = || {
        ApiError::new(
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        )
    };
    let function = name.strip_prefix(GROUP_PREFIX).ok_or_else(missing)?;
    telemetry::log_group(api.store(), function)?.ok_or_else(missing)
}

/// `limit` within 1..=`max`, `max` when absent, as CloudWatch validates it.
fn limit(req: &Request<'_>, max: u64) -> Result<usize, ApiError> {
    let limit = req.opt_u64("limit")?.unwrap_or(max);
    if !(1..=max).contains(&limit) {
        return Err(req.error(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy \
             constraint: Member must have value between 1 and {max}"
        )));
    }
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

fn time_range(req: &Request<'_>) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let (start, end) = (req.opt_u64("startTime")?, req.opt_u64("endTime")?);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(req.error("End time must not be before start time"));
    }
    Ok((start, end))
}

/// `f/<ts>/<seq>` or `b/<ts>/<seq>`: the direction and the event a page ended at.
fn token(cursor: LogCursor, backward: bool) -> String {
    let d = if backward { 'b' } else { 'f' };
    format!("{d}/{:020}/{:020}", cursor.0, cursor.1)
}

fn parse_token(req: &Request<'_>, text: &str) -> Result<(bool, LogCursor), ApiError> {
    let bad = || req.error("The specified nextToken is invalid.");
    let mut parts = text.split('/');
    let backward = match parts.next() {
        Some("f") => false,
        Some("b") => true,
        _ => return Err(bad()),
    };
    let mut number = || {
        parts
            .next()
            .and_then(|p| p.parse::<u64>().ok())
            .ok_or_else(bad)
    };
    let cursor = (number()?, number()?);
    Ok((backward, cursor))
}

/// The stream an event belongs to: `YYYY/MM/DD/[VERSION]eddy`.
pub fn stream_name(event: &LogEvent) -> String {
    let day = iso_ms(event.timestamp_ms);
    let date = day.get(..10).unwrap_or_default().replace('-', "/");
    format!("{date}/[{}]eddy", event.version)
}

/// The (day start ms, version) a stream name stands for.
fn parse_stream(name: &str) -> Option<(u64, u32)> {
    let (date, rest) = name.split_once("/[")?;
    let version = rest.strip_suffix("]eddy")?.parse().ok()?;
    let mut parts = date.split('/').map(|p| p.parse::<u64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let day_ms = eddy_store::timefmt::days_from_civil(y, m, d)?.checked_mul(86_400_000)?;
    Some((day_ms, version))
}

fn event_json(event: &LogEvent, with_stream: bool) -> Value {
    let mut body = json!({
        "timestamp": event.timestamp_ms,
        "message": event.message,
        "ingestionTime": event.ingestion_ms,
    });
    if with_stream && let Some(map) = body.as_object_mut() {
        map.insert("logStreamName".into(), stream_name(event).into());
        let id = format!("{:020}{:020}", event.timestamp_ms, event.sequence);
        map.insert("eventId".into(), id.into());
    }
    body
}

/// The filter pattern's terms, every one of which a message must contain.
fn pattern_terms(req: &Request<'_>) -> Result<Vec<String>, ApiError> {
    let pattern = req.opt_str("filterPattern")?.unwrap_or("").trim();
    if pattern.starts_with('{') || pattern.starts_with('[') {
        return Err(req.error(
            "eddy supports filter patterns of terms and \"quoted phrases\" only, \
             not JSON or space-delimited patterns",
        ));
    }
    let mut terms = Vec::new();
    for (i, part) in pattern.split('"').enumerate() {
        if i % 2 == 1 {
            terms.push(part.to_string());
        } else {
            terms.extend(part.split_whitespace().map(str::to_string));
        }
    }
    terms.retain(|t| !t.is_empty());
    Ok(terms)
}

fn filter_log_events(api: &Api, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = limit(req, MAX_EVENTS)?;
    let (start_ms, end_ms) = time_range(req)?;
    // FilterLogEvents leaves out only events later than endTime (GetLogEvents
    // also those at it): the store's end bound is exclusive.
    let end_ms = end_ms.map(|end| end.saturating_add(1));
    let terms = pattern_terms(req)?;
    let streams: Option<Vec<&str>> = req
        .opt_array("logStreamNames")?
        .map(|names| names.iter().filter_map(Value::as_str).collect());
    let prefix = req.opt_str("logStreamNamePrefix")?;
    let after = match req.opt_str("nextToken")? {
        Some(text) => Some(parse_token(req, text)?.1),
        None => None,
    };
    flush(api)?;
    let function = group(api, req)?.function;
    let mut query = LogQuery {
        start_ms,
        end_ms,
        after,
        limit,
        ..LogQuery::default()
    };
    let wanted = |event: &LogEvent| {
        let stream = stream_name(event);
        streams
            .as_ref()
            .is_none_or(|s| s.contains(&stream.as_str()))
            && prefix.is_none_or(|p| stream.starts_with(p))
            && terms.iter().all(|t| event.message.contains(t.as_str()))
    };
    let (mut events, mut scanned) = (Vec::new(), 0usize);
    // The last event looked at, when more may follow it.
    let next = loop {
        let page = telemetry::read_logs(api.store(), &function, &query)?;
        let mut last = None;
        let mut consumed = 0;
        for event in &page.events {
            if events.len() == limit {
                break;
            }
            consumed += 1;
            last = Some((event.timestamp_ms, event.sequence));
            if wanted(event) {
                events.push(event_json(event, true));
            }
        }
        scanned = scanned.saturating_add(consumed);
        let more = consumed < page.events.len() || page.next.is_some();
        if !more {
            break None;
        }
        if events.len() == limit || scanned >= MAX_SCANNED {
            break last;
        }
        query.after = last;
    };
    let mut body = object([
        ("events", Value::Array(events)),
        ("searchedLogStreams", Value::Array(Vec::new())),
    ]);
    if let (Some(cursor), Some(map)) = (next, body.as_object_mut()) {
        map.insert("nextToken".into(), token(cursor, false).into());
    }
    Ok(body)
}

fn get_log_events(api: &Api, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = limit(req, MAX_EVENTS)?;
    let (start_ms, end_ms) = time_range(req)?;
    let stream = req.str("logStreamName")?;
    let passed = req.opt_str("nextToken")?;
    let (backward, after) = match passed {
        Some(text) => {
            let (backward, cursor) = parse_token(req, text)?;
            (backward, Some(cursor))
        }
        None => (!req.opt_bool("startFromHead")?.unwrap_or(false), None),
    };
    flush(api)?;
    let function = group(api, req)?.function;
    let (day_ms, version) = parse_stream(stream).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFoundException",
            "The specified log stream does not exist.",
        )
    })?;
    let day_end = day_ms.saturating_add(86_400_000);
    let query = LogQuery {
        start_ms: Some(start_ms.unwrap_or(0).max(day_ms)),
        end_ms: Some(end_ms.unwrap_or(u64::MAX).min(day_end)),
        version: Some(version),
        after,
        backward,
        limit,
    };
    let mut page = telemetry::read_logs(api.store(), &function, &query)?;
    if backward {
        page.events.reverse();
    }
    let first = page.events.first().map(|e| (e.timestamp_ms, e.sequence));
    let last = page.events.last().map(|e| (e.timestamp_ms, e.sequence));
    // At either end the token passed in comes back, as CloudWatch does.
    let here = passed.map(str::to_string);
    // A forward token continues after its event; with no event yet it must
    // point just before the first one possible, so that an event at exactly
    // the start (its sequence can be 0) is not skipped.
    let before_start = (query.start_ms.unwrap_or(0).saturating_sub(1), u64::MAX);
    let forward = last
        .map(|c| token(c, false))
        .or(here.clone())
        .unwrap_or_else(|| token(before_start, false));
    let back = first
        .map(|c| token(c, true))
        .or(here)
        .unwrap_or_else(|| token((query.end_ms.unwrap_or(u64::MAX), 0), true));
    let events: Vec<Value> = page.events.iter().map(|e| event_json(e, false)).collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": forward,
        "nextBackwardToken": back,
    }))
}

fn describe_log_groups(api: &Api, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = limit(req, MAX_GROUPS)?;
    let prefix = req.opt_str("logGroupNamePrefix")?.unwrap_or("");
    let pattern = req.opt_str("logGroupNamePattern")?;
    if pattern.is_some() && !prefix.is_empty() {
        return Err(req.error(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let after = req.opt_str("nextToken")?;
    flush(api)?;
    // Every eddy group is under /aws/lambda/: a prefix outside it matches none.
    let function_prefix = if GROUP_PREFIX.starts_with(prefix) {
        Some("")
    } else {
        prefix.strip_prefix(GROUP_PREFIX)
    };
    let Some(function_prefix) = function_prefix else {
        return Ok(json!({ "logGroups": [] }));
    };
    let mut groups =
        telemetry::list_log_groups(api.store(), function_prefix, after, limit.saturating_add(1))?;
    if let Some(pattern) = pattern {
        groups.retain(|g| format!("{GROUP_PREFIX}{}", g.function).contains(pattern));
    }
    let more = groups.len() > limit;
    groups.truncate(limit);
    let arn = api.store().arn_prefix("logs");
    let listed: Vec<Value> = groups
        .iter()
        .map(|g| {
            let name = format!("{GROUP_PREFIX}{}", g.function);
            json!({
                "logGroupName": name,
                "creationTime": g.created_ms,
                "retentionInDays": RETENTION_DAYS,
                "metricFilterCount": 0,
                "arn": format!("{arn}log-group:{name}:*"),
                "logGroupArn": format!("{arn}log-group:{name}"),
                "storedBytes": g.stored_bytes,
                "logGroupClass": "STANDARD",
            })
        })
        .collect();
    let mut body = json!({ "logGroups": listed });
    if let (true, Some(last), Some(map)) = (more, groups.last(), body.as_object_mut()) {
        map.insert("nextToken".into(), last.function.clone().into());
    }
    Ok(body)
}
