//! The DynamoDB JSON API (`DynamoDB_20120810.*`): request shapes in, responses
//! out, the work done by `eddy_store::tables`.
//!
//! - `tables`: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable;
//! - `items`: PutItem, GetItem, UpdateItem, DeleteItem;
//! - `query`: Query, Scan; `batch`: BatchWriteItem, BatchGetItem.
//!
//! Only the expression parameters are supported; the legacy ones (Expected,
//! AttributeUpdates, AttributesToGet, KeyConditions, QueryFilter, ScanFilter,
//! ConditionalOperator) are refused with a ValidationException naming the
//! expression to use instead.

mod batch;
mod items;
mod query;
pub(crate) mod tables;
#[cfg(test)]
mod tests;

use eddy_store::Item;
use eddy_store::tables::{ExpressionMaps, ReturnValues};
use eddy_store::value::json::item_from_object;
use serde_json::Value;

use crate::request::Request;
use crate::{ApiError, Response};

/// Runs one DynamoDB operation.
pub fn dispatch(
    store: &eddy_store::Store,
    operation: &str,
    request: &Value,
) -> Result<Response, ApiError> {
    let req = Request::new(request, "ValidationException");
    let value = match operation {
        "Query" => return query::query(store, &req),
        "Scan" => return query::scan(store, &req),
        "CreateTable" => tables::create(store, &req),
        "DescribeTable" => tables::describe(store, &req),
        "ListTables" => tables::list(store, &req),
        "UpdateTable" => tables::update(store, &req),
        "DeleteTable" => tables::delete(store, &req),
        "PutItem" => items::put(store, &req),
        "GetItem" => items::get(store, &req),
        "UpdateItem" => items::update(store, &req),
        "DeleteItem" => items::delete(store, &req),
        "BatchWriteItem" => batch::write(store, &req),
        "BatchGetItem" => batch::get(store, &req),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::DYNAMODB
        ))),
    };
    value.map(Response::Value)
}

/// The operations `crate::dispatch_async` runs: writes, which wait only on
/// the group commit.
pub(crate) const ASYNC_WRITES: [&str; 4] =
    ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];

/// Runs one of `ASYNC_WRITES` as a future.
pub(crate) async fn dispatch_write(
    store: &eddy_store::Store,
    operation: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    let req = Request::new(request, "ValidationException");
    match operation {
        "PutItem" => items::put_async(store, &req).await,
        "UpdateItem" => items::update_async(store, &req).await,
        "DeleteItem" => items::delete_async(store, &req).await,
        "BatchWriteItem" => batch::write_async(store, &req).await,
        _ => dispatch(store, operation, request)?.into_value(),
    }
}

/// The legacy parameters eddy refuses, and the expression that replaces each.
const LEGACY: [(&str, &str); 7] = [
    ("Expected", "ConditionExpression"),
    ("AttributeUpdates", "UpdateExpression"),
    ("AttributesToGet", "ProjectionExpression"),
    ("KeyConditions", "KeyConditionExpression"),
    ("QueryFilter", "FilterExpression"),
    ("ScanFilter", "FilterExpression"),
    (
        "ConditionalOperator",
        "ConditionExpression or FilterExpression",
    ),
];

/// Refuses legacy (non-expression) parameters with a clear message.
/// It compares names against the request's few members rather than looking
/// each up (hashing it): every item operation pays for this check.
pub(crate) fn refuse_legacy(req: &Request<'_>) -> Result<(), ApiError> {
    let present = |legacy: &str| {
        req.body()
            .iter()
            .any(|(member, value)| member == legacy && !value.is_null())
    };
    match LEGACY.iter().find(|(legacy, _)| present(legacy)) {
        Some((legacy, instead)) => Err(ApiError::validation(format!(
            "eddy does not support the legacy parameter {legacy}; use {instead} instead"
        ))),
        None => Ok(()),
    }
}

/// A required item or key member in DynamoDB JSON.
pub(crate) fn item_member(req: &Request<'_>, name: &str) -> Result<Item, ApiError> {
    let map = req.object(name)?;
    Ok(item_from_object(map)?)
}

/// An optional item or key member in DynamoDB JSON.
pub(crate) fn opt_item_member(req: &Request<'_>, name: &str) -> Result<Option<Item>, ApiError> {
    match req.opt_object(name)? {
        Some(map) => Ok(Some(item_from_object(map)?)),
        None => Ok(None),
    }
}

/// ExpressionAttributeNames / ExpressionAttributeValues.
pub(crate) fn expression_maps(req: &Request<'_>) -> Result<ExpressionMaps, ApiError> {
    Ok(ExpressionMaps {
        names: req.opt_object("ExpressionAttributeNames")?.cloned(),
        values: req.opt_object("ExpressionAttributeValues")?.cloned(),
    })
}

/// ReturnValues (NONE when absent).
pub(crate) fn return_values(req: &Request<'_>) -> Result<ReturnValues, ApiError> {
    match req.opt_str("ReturnValues")? {
        Some(text) => Ok(ReturnValues::parse(text)?),
        None => Ok(ReturnValues::None),
    }
}

/// ReturnValuesOnConditionCheckFailure: true for ALL_OLD.
pub(crate) fn return_old_on_failure(req: &Request<'_>) -> Result<bool, ApiError> {
    match req.opt_str("ReturnValuesOnConditionCheckFailure")? {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}
