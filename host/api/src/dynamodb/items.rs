//! Item operations: PutItem, GetItem, UpdateItem, DeleteItem.

use eddy_store::Item;
use eddy_store::Store;
use eddy_store::tables::{
    self, DeleteItemRequest, GetItemRequest, PutItemRequest, UpdateItemRequest,
};
use eddy_store::value::json::item_to_json;
use serde_json::{Value, json};

use super::{expression_maps, item_member, refuse_legacy, return_old_on_failure, return_values};
use crate::ApiError;
use crate::request::Request;

pub(crate) fn put(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    let request = PutItemRequest {
        table: req.str("TableName")?.to_string(),
        item: item_member(req, "Item")?,
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    };
    Ok(attributes(tables::put_item(store, request)?))
}

pub(crate) fn get(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    req.opt_bool("ConsistentRead")?;
    let request = GetItemRequest {
        table: req.str("TableName")?.to_string(),
        key: item_member(req, "Key")?,
        projection: req.opt_str("ProjectionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
    };
    Ok(match tables::get_item(store, &request)? {
        Some(item) => json!({ "Item": item_to_json(&item) }),
        None => json!({}),
    })
}

pub(crate) fn update(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    let request = UpdateItemRequest {
        table: req.str("TableName")?.to_string(),
        key: item_member(req, "Key")?,
        update: req.opt_str("UpdateExpression")?.map(str::to_string),
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    };
    Ok(attributes(tables::update_item(store, request)?))
}

pub(crate) fn delete(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    refuse_legacy(req)?;
    let request = DeleteItemRequest {
        table: req.str("TableName")?.to_string(),
        key: item_member(req, "Key")?,
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    };
    Ok(attributes(tables::delete_item(store, request)?))
}

/// `{"Attributes": ...}` when there are any, else `{}`.
fn attributes(item: Option<Item>) -> Value {
    match item {
        Some(item) => json!({ "Attributes": item_to_json(&item) }),
        None => json!({}),
    }
}
