//! Lambda's event source mapping operations (CreateEventSourceMapping,
//! GetEventSourceMapping, ListEventSourceMappings, UpdateEventSourceMapping,
//! DeleteEventSourceMapping) in the shapes of the Lambda API reference, over
//! `eddy_store::mappings`. The pollers of eddy-triggers run what is stored.
//!
//! Where eddy differs from Lambda, on purpose:
//! - States change within the request: a created or enabled mapping is
//!   `Enabled` at once, a disabled one `Disabled` (Lambda answers `Creating`,
//!   `Enabling`, `Updating` and moves on later). DeleteEventSourceMapping
//!   answers `Deleting`, as Lambda does, though the mapping is already gone.
//! - Sources are eddy's streams and table change streams. EventSourceArn is
//!   the stream's ARN or a table's LatestStreamArn; eddy also takes the table's
//!   ARN, `stream/NAME` and `table/NAME` (the table's enabled stream).
//! - The on-failure destination (DestinationConfig.OnFailure.Destination) is an
//!   eddy stream or table: its ARN, `stream/NAME` or `table/NAME`.
//! - MaximumBatchingWindowInSeconds may be fractional (0.5 = 500 ms).
//! - Every configuration carries eddy's `IteratorAgeMilliseconds` once a
//!   poller has processed a batch (the largest over the source's shards).
//! - Like Lambda, one function has at most one mapping per source
//!   (ResourceConflictException); several functions may read one source.

use eddy_store::mappings::{
    self, Destination, EventSourceMapping, MappingChanges, MappingSpec, Source, StartingPosition,
    limits,
};
use eddy_store::{Store, StoreError};
use eddy_triggers::filters::Filters;
use serde_json::{Map, Value, json};

use super::functions::{invalid_member, invalid_parameter, store_error, target};
use crate::request::{Request, lower_first};
use crate::{Api, ApiError};

/// ListEventSourceMappings page size: default and largest.
const DEFAULT_MAX_ITEMS: u64 = 100;
const MAX_MAX_ITEMS: u64 = 10_000;
fn lambda_request(request: &Value) -> Request<'_> {
    Request::new(request, "ValidationException")
}

/// A store error as Lambda names it; a refused setting or source is
/// InvalidParameterValueException.
fn mapping_error(e: StoreError) -> ApiError {
    match e {
        StoreError::InvalidArgument(m) => invalid_parameter(m),
        other => store_error(other),
    }
}

/// CreateEventSourceMapping.
pub(crate) fn create(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let function = function_name(store, &req)?;
    let (source, pinned_arn) = parse_source(store, req.str("EventSourceArn")?)?;
    let mut spec = MappingSpec::new(function, source);
    spec.starting_position = starting_position(&req, &spec.source)?;
    spec.enabled = req.opt_bool("Enabled")?.unwrap_or(true);
    let changes = changes(store, &req)?;
    spec.apply(changes);
    if let Some(arn) = pinned_arn {
        // A DynamoDB stream ARN must name the table's enabled stream.
        let now = mappings::resolve_source(store, &spec.source).map_err(mapping_error)?;
        if now.arn != arn {
            return Err(invalid_parameter(format!("Stream not found: {arn}")));
        }
    }
    let mapping = mappings::create(store, spec).map_err(mapping_error)?;
    configuration(store, &mapping, None)
}

/// GetEventSourceMapping.
pub(crate) fn get(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let req = lambda_request(request);
    let mapping = mappings::get(api.store(), req.str("UUID")?).map_err(mapping_error)?;
    configuration(api.store(), &mapping, None)
}

/// UpdateEventSourceMapping.
pub(crate) fn update(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let uuid = req.str("UUID")?;
    let mut changes = changes(store, &req)?;
    if req.get("FunctionName").is_some() {
        changes.function_name = Some(function_name(store, &req)?);
    }
    changes.enabled = req.opt_bool("Enabled")?;
    let mapping = mappings::update(store, uuid, changes).map_err(mapping_error)?;
    configuration(store, &mapping, None)
}

/// DeleteEventSourceMapping: the mapping (with State `Deleting`), now gone
/// with its checkpoints.
pub(crate) fn delete(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let req = lambda_request(request);
    let store = api.store();
    let uuid = req.str("UUID")?;
    // Read the pollers' status first: deleting removes it.
    let before = mappings::get(store, uuid).map_err(mapping_error)?;
    let shown = configuration(store, &before, Some("Deleting"))?;
    mappings::delete(store, uuid).map_err(mapping_error)?;
    Ok(shown)
}

/// ListEventSourceMappings: oldest first, filtered by FunctionName and/or
/// EventSourceArn, paged by Marker (the UUID a page ended at) and MaxItems.
pub(crate) fn list(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let function = match req.get("FunctionName") {
        Some(_) => Some(function_name(store, &req)?),
        None => None,
    };
    let source = match req.opt_str("EventSourceArn")? {
        Some(text) => Some(parse_source(store, text)?),
        None => None,
    };
    let mut all = mappings::list_for(store, function.as_deref(), source.as_ref().map(|s| &s.0))
        .map_err(mapping_error)?;
    if let Some((_, Some(arn))) = &source {
        all.retain(|m| &m.source_arn == arn);
    }
    let max =
        opt_int(&req, "MaxItems", 1, MAX_MAX_ITEMS as i64)?.unwrap_or(DEFAULT_MAX_ITEMS as i64);
    let start = match req.opt_str("Marker")? {
        None => 0,
        Some(marker) => all
            .iter()
            .position(|m| m.uuid == marker)
            .map(|i| i + 1)
            .ok_or_else(|| invalid_parameter(format!("Invalid marker: {marker}")))?,
    };
    let page: Vec<&EventSourceMapping> = all
        .iter()
        .skip(start)
        .take(usize::try_from(max).unwrap_or(usize::MAX))
        .collect();
    let more = start.saturating_add(page.len()) < all.len();
    let items = page
        .iter()
        .map(|m| configuration(store, m, None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = json!({ "EventSourceMappings": items });
    if let (true, Some(last)) = (more, page.last()) {
        out["NextMarker"] = json!(last.uuid);
    }
    Ok(out)
}

/// The function a request names (a name or an ARN; eddy's mappings always
/// run the newest version, so a version qualifier is refused).
fn function_name(store: &Store, req: &Request) -> Result<String, ApiError> {
    let target = target(store, req, false)?;
    if target.version.is_some() {
        return Err(invalid_parameter(
            "eddy's event source mappings invoke the newest version: give an unqualified function name.",
        ));
    }
    Ok(target.name)
}

/// What EventSourceArn names, and the exact DynamoDB stream ARN when one
/// was given (the mapping must be on that stream).
fn parse_source(store: &Store, text: &str) -> Result<(Source, Option<String>), ApiError> {
    if let Some(name) = text.strip_prefix("stream/") {
        return Ok((Source::Stream(name.to_string()), None));
    }
    if let Some(name) = text.strip_prefix("table/") {
        return Ok((Source::Table(name.to_string()), None));
    }
    if !text.starts_with("arn:") {
        let why = "Member must satisfy regular expression pattern: \
                   arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";
        return Err(invalid_member(text, "eventSourceArn", why));
    }
    if let Some(name) = text.strip_prefix(&format!("{}stream/", store.arn_prefix("kinesis"))) {
        return Ok((Source::Stream(name.to_string()), None));
    }
    if let Some(rest) = text.strip_prefix(&format!("{}table/", store.arn_prefix("dynamodb"))) {
        return Ok(match rest.split_once("/stream/") {
            Some((table, _)) => (Source::Table(table.to_string()), Some(text.to_string())),
            None => (Source::Table(rest.to_string()), None),
        });
    }
    Err(invalid_parameter(format!(
        "Stream not found: {text} (eddy maps its Kinesis streams and DynamoDB table streams in {} of account {})",
        store.options().region,
        store.options().account
    )))
}

/// StartingPosition (+ StartingPositionTimestamp), which stream sources need.
fn starting_position(req: &Request, source: &Source) -> Result<StartingPosition, ApiError> {
    let position = match req.opt_str("StartingPosition")? {
        None => {
            return Err(invalid_parameter(
                "StartingPosition is required for Kinesis and DynamoDB stream sources: \
                 TRIM_HORIZON, LATEST or AT_TIMESTAMP.",
            ));
        }
        Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
        Some("LATEST") => StartingPosition::Latest,
        Some("AT_TIMESTAMP") => StartingPosition::AtTimestamp(timestamp_ms(req)?),
        Some(other) => {
            let why = "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]";
            return Err(invalid_member(other, "startingPosition", why));
        }
    };
    if matches!(position, StartingPosition::AtTimestamp(_)) && matches!(source, Source::Table(_)) {
        return Err(invalid_parameter(
            "StartingPosition AT_TIMESTAMP is supported only for Kinesis streams.",
        ));
    }
    if !matches!(position, StartingPosition::AtTimestamp(_))
        && req.get("StartingPositionTimestamp").is_some()
    {
        return Err(invalid_parameter(
            "StartingPositionTimestamp is only allowed with StartingPosition AT_TIMESTAMP.",
        ));
    }
    Ok(position)
}

/// StartingPositionTimestamp: epoch seconds (the wire form of a timestamp).
fn timestamp_ms(req: &Request) -> Result<u64, ApiError> {
    match req.get("StartingPositionTimestamp") {
        None => Err(invalid_parameter(
            "StartingPositionTimestamp is required with StartingPosition AT_TIMESTAMP.",
        )),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
            .map(|s| (s * 1000.0).round() as u64)
            .ok_or_else(|| invalid_parameter(format!("Invalid StartingPositionTimestamp: {n}"))),
        Some(_) => Err(ApiError::serialization(
            "StartingPositionTimestamp must be a number of seconds since the epoch",
        )),
    }
}

/// The settings a Create or Update request sets (everything but FunctionName,
/// Enabled and the source).
fn changes(store: &Store, req: &Request) -> Result<MappingChanges, ApiError> {
    // Lambda's -1 means "no limit" (None); the store checks the finite bounds
    // again with the same `limits`.
    let infinite_or = |v: i64| u32::try_from(v).ok();
    let (max_batch, max_retries, max_age) = (
        i64::from(limits::MAX_BATCH_SIZE),
        i64::from(limits::MAX_RETRIES),
        i64::from(limits::MAX_RECORD_AGE_SECS),
    );
    Ok(MappingChanges {
        batch_size: opt_int(req, "BatchSize", 1, max_batch)?.and_then(|v| u32::try_from(v).ok()),
        batching_window_ms: batching_window_ms(req)?,
        max_retries: opt_int(req, "MaximumRetryAttempts", -1, max_retries)?.map(infinite_or),
        max_record_age_secs: opt_int(req, "MaximumRecordAgeInSeconds", -1, max_age)?
            .map(infinite_or),
        bisect_on_error: req.opt_bool("BisectBatchOnFunctionError")?,
        on_failure: on_failure(store, req)?,
        filters: filter_patterns(req)?,
        report_batch_item_failures: response_types(req)?,
        ..MappingChanges::default()
    })
}

/// An integer member within `min..=max`, worded as Lambda's ValidationException.
fn opt_int(req: &Request, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.get(name) else {
        return Ok(None);
    };
    let n = value
        .as_i64()
        .ok_or_else(|| ApiError::serialization(format!("{name} must be an integer")))?;
    let member = lower_first(name);
    if n < min {
        let why = format!("Member must have value greater than or equal to {min}");
        return Err(invalid_member(&n.to_string(), &member, &why));
    }
    if n > max {
        let why = format!("Member must have value less than or equal to {max}");
        return Err(invalid_member(&n.to_string(), &member, &why));
    }
    Ok(Some(n))
}

/// MaximumBatchingWindowInSeconds (0..=300; eddy takes fractions) in ms.
fn batching_window_ms(req: &Request) -> Result<Option<u32>, ApiError> {
    let name = "MaximumBatchingWindowInSeconds";
    let Some(value) = req.get(name) else {
        return Ok(None);
    };
    let secs = value
        .as_f64()
        .filter(|s| s.is_finite())
        .ok_or_else(|| ApiError::serialization(format!("{name} must be a number")))?;
    let max_secs = limits::MAX_BATCHING_WINDOW_MS / 1000;
    if !(0.0..=f64::from(max_secs)).contains(&secs) {
        let why = if secs < 0.0 {
            "Member must have value greater than or equal to 0".to_string()
        } else {
            format!("Member must have value less than or equal to {max_secs}")
        };
        return Err(invalid_member(&value.to_string(), &lower_first(name), &why));
    }
    Ok(Some((secs * 1000.0).round() as u32))
}

/// DestinationConfig.OnFailure.Destination: `Some(None)` removes it.
fn on_failure(store: &Store, req: &Request) -> Result<Option<Option<Destination>>, ApiError> {
    let Some(config) = req.opt_object("DestinationConfig")? else {
        return Ok(None);
    };
    let destination = config
        .get("OnFailure")
        .and_then(|f| f.get("Destination"))
        .filter(|d| !d.is_null());
    let text = match destination {
        None => return Ok(Some(None)),
        Some(Value::String(s)) if s.is_empty() => return Ok(Some(None)),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::serialization(
                "DestinationConfig.OnFailure.Destination must be a string",
            ));
        }
    };
    parse_destination(store, text).map(|d| Some(Some(d)))
}

fn parse_destination(store: &Store, text: &str) -> Result<Destination, ApiError> {
    let stream_arn = format!("{}stream/", store.arn_prefix("kinesis"));
    let table_arn = format!("{}table/", store.arn_prefix("dynamodb"));
    let stream = text
        .strip_prefix("stream/")
        .or_else(|| text.strip_prefix(stream_arn.as_str()));
    let table = text
        .strip_prefix("table/")
        .or_else(|| text.strip_prefix(table_arn.as_str()));
    match (stream, table) {
        (Some(name), _) if !name.is_empty() => Ok(Destination::Stream(name.to_string())),
        (_, Some(name)) if !name.is_empty() && !name.contains('/') => {
            Ok(Destination::Table(name.to_string()))
        }
        _ => Err(invalid_parameter(format!(
            "The provided destination config DestinationConfig.OnFailure.Destination is invalid: \
             {text} is not an eddy stream or table ARN (or stream/NAME, table/NAME)."
        ))),
    }
}

/// FilterCriteria.Filters[].Pattern, checked as the pollers will parse them.
fn filter_patterns(req: &Request) -> Result<Option<Vec<String>>, ApiError> {
    let Some(criteria) = req.opt_object("FilterCriteria")? else {
        return Ok(None);
    };
    let filters = match criteria.get("Filters") {
        None | Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ApiError::serialization(
                "FilterCriteria.Filters must be a list",
            ));
        }
    };
    let mut patterns = Vec::with_capacity(filters.len());
    for filter in filters {
        match filter.get("Pattern") {
            Some(Value::String(p)) => patterns.push(p.clone()),
            _ => return Err(invalid_parameter(eddy_triggers::filters::INVALID_PATTERN)),
        }
    }
    Filters::parse(&patterns).map_err(invalid_parameter)?;
    Ok(Some(patterns))
}

/// FunctionResponseTypes: `[]` or `["ReportBatchItemFailures"]`.
fn response_types(req: &Request) -> Result<Option<bool>, ApiError> {
    let Some(types) = req.opt_array("FunctionResponseTypes")? else {
        return Ok(None);
    };
    for t in types {
        if t.as_str() != Some("ReportBatchItemFailures") {
            let why = "Member must satisfy constraint: [Member must satisfy enum value set: \
                       [ReportBatchItemFailures]]";
            return Err(invalid_member(&t.to_string(), "functionResponseTypes", why));
        }
    }
    Ok(Some(!types.is_empty()))
}

/// The EventSourceMappingConfiguration of `m` (`state` overrides its State).
fn configuration(
    store: &Store,
    m: &EventSourceMapping,
    state: Option<&str>,
) -> Result<Value, ApiError> {
    let mut c = Map::new();
    c.insert("UUID".into(), json!(m.uuid));
    let position = match m.starting_position {
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
        StartingPosition::Latest => "LATEST",
        StartingPosition::AtTimestamp(ms) => {
            c.insert("StartingPositionTimestamp".into(), seconds(ms));
            "AT_TIMESTAMP"
        }
    };
    c.insert("StartingPosition".into(), json!(position));
    c.insert("BatchSize".into(), json!(m.batch_size));
    c.insert(
        "MaximumBatchingWindowInSeconds".into(),
        window_seconds(m.batching_window_ms),
    );
    c.insert("ParallelizationFactor".into(), json!(1));
    c.insert("EventSourceArn".into(), json!(m.source_arn));
    let function_arn = format!("{}function:{}", store.arn_prefix("lambda"), m.function_name);
    c.insert("FunctionArn".into(), json!(function_arn));
    c.insert("LastModified".into(), seconds(m.last_modified_ms));
    let status = mappings::status::status(store, &m.uuid).map_err(mapping_error)?;
    c.insert("LastProcessingResult".into(), json!(last_result(&status)));
    let state = state.unwrap_or(m.state.as_str());
    c.insert("State".into(), json!(state));
    c.insert("StateTransitionReason".into(), json!("User action"));
    c.insert("DestinationConfig".into(), destination_config(store, m));
    if !m.filters.is_empty() {
        let filters: Vec<Value> = m.filters.iter().map(|p| json!({ "Pattern": p })).collect();
        c.insert("FilterCriteria".into(), json!({ "Filters": filters }));
    }
    c.insert(
        "MaximumRecordAgeInSeconds".into(),
        json!(infinite(m.max_record_age_secs)),
    );
    c.insert(
        "BisectBatchOnFunctionError".into(),
        json!(m.bisect_on_error),
    );
    c.insert(
        "MaximumRetryAttempts".into(),
        json!(infinite(m.max_retries)),
    );
    c.insert("TumblingWindowInSeconds".into(), json!(0));
    let types: &[&str] = if m.report_batch_item_failures {
        &["ReportBatchItemFailures"]
    } else {
        &[]
    };
    c.insert("FunctionResponseTypes".into(), json!(types));
    let arn = format!(
        "{}event-source-mapping:{}",
        store.arn_prefix("lambda"),
        m.uuid
    );
    c.insert("EventSourceMappingArn".into(), json!(arn));
    if let Some(age) = status.iter().map(|s| s.iterator_age_ms).max() {
        c.insert("IteratorAgeMilliseconds".into(), json!(age));
    }
    Ok(Value::Object(c))
}

/// The result of the most recent invocation over the source's shards.
fn last_result(status: &[mappings::ShardStatus]) -> String {
    status
        .iter()
        .filter(|s| s.last_invoke_ms.is_some())
        .max_by_key(|s| s.last_invoke_ms)
        .map_or_else(
            || mappings::status::RESULT_NO_RECORDS.to_string(),
            |s| s.last_result.clone(),
        )
}

fn destination_config(store: &Store, m: &EventSourceMapping) -> Value {
    match &m.on_failure {
        None => json!({ "OnFailure": {} }),
        Some(Destination::Stream(name)) => {
            let arn = format!("{}stream/{name}", store.arn_prefix("kinesis"));
            json!({ "OnFailure": { "Destination": arn } })
        }
        Some(Destination::Table(name)) => {
            let arn = format!("{}table/{name}", store.arn_prefix("dynamodb"));
            json!({ "OnFailure": { "Destination": arn } })
        }
    }
}

/// Lambda's -1 for "infinite".
fn infinite(value: Option<u32>) -> i64 {
    value.map_or(-1, i64::from)
}

/// Epoch ms as Lambda's epoch seconds (a number with a fraction).
fn seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// Whole seconds as an integer (as Lambda has them); eddy's fractions as a number.
fn window_seconds(ms: u32) -> Value {
    if ms.is_multiple_of(1000) {
        json!(ms / 1000)
    } else {
        json!(f64::from(ms) / 1000.0)
    }
}
