//! BatchWriteItem and BatchGetItem.

use eddy_store::Store;
use eddy_store::tables::{self, ExpressionMaps, TableGets, TableWrites, WriteRequest};
use eddy_store::value::json::{item_from_json, item_to_json};
use serde_json::{Map, Value, json};

use crate::ApiError;
use crate::request::Request;
use crate::response::object;

pub(crate) fn write(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    tables::batch_write_item(store, write_requests(req)?)?;
    Ok(json!({ "UnprocessedItems": {} }))
}

pub(crate) async fn write_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    tables::batch_write_item_async(store, write_requests(req)?).await?;
    Ok(json!({ "UnprocessedItems": {} }))
}

fn write_requests(req: &Request<'_>) -> Result<Vec<TableWrites>, ApiError> {
    let request_items = req.object("RequestItems")?;
    let mut tables = Vec::with_capacity(request_items.len());
    for (table, requests) in request_items {
        let Value::Array(requests) = requests else {
            return Err(ApiError::serialization(
                "RequestItems values must be lists of WriteRequest",
            ));
        };
        let requests = requests
            .iter()
            .map(write_request)
            .collect::<Result<Vec<_>, _>>()?;
        tables.push(TableWrites {
            table: table.clone(),
            requests,
        });
    }
    Ok(tables)
}

fn write_request(value: &Value) -> Result<WriteRequest, ApiError> {
    let put = value.get("PutRequest").filter(|v| !v.is_null());
    let delete = value.get("DeleteRequest").filter(|v| !v.is_null());
    match (put, delete) {
        (Some(put), None) => {
            let item = put.get("Item").ok_or_else(|| missing("PutRequest.Item"))?;
            Ok(WriteRequest::Put(item_from_json(item)?))
        }
        (None, Some(delete)) => {
            let key = delete
                .get("Key")
                .ok_or_else(|| missing("DeleteRequest.Key"))?;
            Ok(WriteRequest::Delete(item_from_json(key)?))
        }
        _ => Err(ApiError::validation(
            "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest",
        )),
    }
}

fn missing(path: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value null at 'requestItems.member.{path}' failed to satisfy constraint: Member must not be null"
    ))
}

pub(crate) fn get(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let request_items = req.object("RequestItems")?;
    let mut tables = Vec::with_capacity(request_items.len());
    for (table, spec) in request_items {
        let spec = Request::new(spec, "ValidationException");
        super::refuse_legacy(&spec)?;
        let keys = spec
            .array("Keys")?
            .iter()
            .map(item_from_json)
            .collect::<Result<Vec<_>, _>>()?;
        tables.push(TableGets {
            table: table.clone(),
            keys,
            projection: spec.opt_str("ProjectionExpression")?.map(str::to_string),
            expressions: ExpressionMaps {
                names: spec.opt_object("ExpressionAttributeNames")?.cloned(),
                values: None,
            },
        });
    }
    let found = tables::batch_get_item(store, &tables)?;
    let mut responses = Map::new();
    for (table, items) in found {
        responses.insert(
            table,
            Value::Array(items.iter().map(item_to_json).collect()),
        );
    }
    Ok(object([
        ("Responses", Value::Object(responses)),
        ("UnprocessedKeys", Value::Object(Map::new())),
    ]))
}
