//! Query and Scan.

use eddy_store::Store;
use eddy_store::tables::query::{query_json, scan_json};
use eddy_store::tables::{Page, QueryRequest, ScanRequest, Select};
use eddy_store::value::json::item_to_json;
use serde_json::{Value, json};

use super::{expression_maps, opt_item_member, refuse_legacy};
use crate::ApiError;
use crate::request::Request;

pub(crate) fn query(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    no_index(req)?;
    req.opt_bool("ConsistentRead")?;
    let request = QueryRequest {
        table: req.str("TableName")?.to_string(),
        key_condition: req.str("KeyConditionExpression")?.to_string(),
        filter: req.opt_str("FilterExpression")?.map(str::to_string),
        projection: req.opt_str("ProjectionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        select: select(req)?,
        limit: limit(req)?,
        exclusive_start_key: opt_item_member(req, "ExclusiveStartKey")?,
        forward: req.opt_bool("ScanIndexForward")?.unwrap_or(true),
    };
    let count_only = request.select == Some(Select::Count);
    Ok(page_json(query_json(store, &request)?, count_only))
}

pub(crate) fn scan(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    no_index(req)?;
    req.opt_bool("ConsistentRead")?;
    let u32_member = |name: &str| -> Result<Option<u32>, ApiError> {
        req.opt_u64(name)?
            .map(|n| {
                u32::try_from(n).map_err(|_| ApiError::validation(format!("{name} is too large")))
            })
            .transpose()
    };
    let request = ScanRequest {
        table: req.str("TableName")?.to_string(),
        filter: req.opt_str("FilterExpression")?.map(str::to_string),
        projection: req.opt_str("ProjectionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        select: select(req)?,
        limit: limit(req)?,
        exclusive_start_key: opt_item_member(req, "ExclusiveStartKey")?,
        segment: u32_member("Segment")?,
        total_segments: u32_member("TotalSegments")?,
    };
    let count_only = request.select == Some(Select::Count);
    Ok(page_json(scan_json(store, &request)?, count_only))
}

fn no_index(req: &Request<'_>) -> Result<(), ApiError> {
    if req.get("IndexName").is_some() {
        return Err(ApiError::validation(
            "eddy does not support secondary indexes yet; query the table itself",
        ));
    }
    Ok(())
}

fn select(req: &Request<'_>) -> Result<Option<Select>, ApiError> {
    Ok(match req.opt_str("Select")? {
        None => None,
        Some("ALL_ATTRIBUTES") => Some(Select::AllAttributes),
        Some("SPECIFIC_ATTRIBUTES") => Some(Select::SpecificAttributes),
        Some("COUNT") => Some(Select::Count),
        Some("ALL_PROJECTED_ATTRIBUTES") => {
            return Err(ApiError::validation(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ));
        }
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )));
        }
    })
}

fn limit(req: &Request<'_>) -> Result<Option<u32>, ApiError> {
    match req.get("Limit") {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n < 1 => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ))),
            Some(n) => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            None => Err(ApiError::serialization("Limit must be an integer")),
        },
    }
}

/// The response; Select COUNT carries no Items member.
fn page_json(page: Page<Value>, count_only: bool) -> Value {
    let mut out = json!({ "Count": page.count, "ScannedCount": page.scanned_count });
    if !count_only {
        out["Items"] = Value::Array(page.items);
    }
    if let Some(key) = &page.last_evaluated_key {
        out["LastEvaluatedKey"] = item_to_json(key);
    }
    out
}
