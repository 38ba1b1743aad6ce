//! Query and Scan.

use eddy_store::Store;
use eddy_store::tables::query::{ItemText, query_text, scan_text};
use eddy_store::tables::{Page, QueryRequest, ScanRequest, Select};
use eddy_store::value::json::item_to_json;
use serde_json::{Map, Value};

use super::{expression_maps, opt_item_member, refuse_legacy};
use crate::request::Request;
use crate::{ApiError, Response};

pub(crate) fn query(store: &Store, req: &Request<'_>) -> Result<Response, ApiError> {
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
    Ok(page_response(query_text(store, &request)?, count_only))
}

pub(crate) fn scan(store: &Store, req: &Request<'_>) -> Result<Response, ApiError> {
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
    Ok(page_response(scan_text(store, &request)?, count_only))
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

/// The response: the page's items as the JSON text they were rendered to.
/// Select COUNT carries no Items member.
fn page_response(page: Page<ItemText>, count_only: bool) -> Response {
    let mut members = Map::with_capacity(3);
    members.insert("Count".into(), page.count.into());
    members.insert("ScannedCount".into(), page.scanned_count.into());
    if let Some(key) = &page.last_evaluated_key {
        members.insert("LastEvaluatedKey".into(), item_to_json(key));
    }
    if count_only {
        return Response::Value(Value::Object(members));
    }
    let text_len: usize = page.items.iter().map(|item| item.0.len() + 1).sum();
    let mut items = Vec::with_capacity(text_len + 2);
    items.push(b'[');
    for (i, ItemText(text)) in page.items.iter().enumerate() {
        if i > 0 {
            items.push(b',');
        }
        items.extend_from_slice(text);
    }
    items.push(b']');
    Response::Page { members, items }
}
