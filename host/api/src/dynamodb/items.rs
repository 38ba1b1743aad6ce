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
    Ok(attributes(tables::put_item(store, put_request(req)?)?))
}

pub(crate) async fn put_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    Ok(attributes(
        tables::put_item_async(store, put_request(req)?).await?,
    ))
}

fn put_request(req: &Request<'_>) -> Result<PutItemRequest, ApiError> {
    refuse_legacy(req)?;
    Ok(PutItemRequest {
        table: req.str("TableName")?.to_string(),
        item: item_member(req, "Item")?,
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    })
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
    Ok(attributes(tables::update_item(
        store,
        update_request(req)?,
    )?))
}

pub(crate) async fn update_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    Ok(attributes(
        tables::update_item_async(store, update_request(req)?).await?,
    ))
}

fn update_request(req: &Request<'_>) -> Result<UpdateItemRequest, ApiError> {
    refuse_legacy(req)?;
    Ok(UpdateItemRequest {
        table: req.str("TableName")?.to_string(),
        key: item_member(req, "Key")?,
        update: req.opt_str("UpdateExpression")?.map(str::to_string),
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    })
}

pub(crate) fn delete(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    Ok(attributes(tables::delete_item(
        store,
        delete_request(req)?,
    )?))
}

pub(crate) async fn delete_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    Ok(attributes(
        tables::delete_item_async(store, delete_request(req)?).await?,
    ))
}

fn delete_request(req: &Request<'_>) -> Result<DeleteItemRequest, ApiError> {
    refuse_legacy(req)?;
    Ok(DeleteItemRequest {
        table: req.str("TableName")?.to_string(),
        key: item_member(req, "Key")?,
        condition: req.opt_str("ConditionExpression")?.map(str::to_string),
        expressions: expression_maps(req)?,
        return_values: return_values(req)?,
        return_old_on_failure: return_old_on_failure(req)?,
    })
}

/// `{"Attributes": ...}` when there are any, else `{}`.
fn attributes(item: Option<Item>) -> Value {
    match item {
        Some(item) => json!({ "Attributes": item_to_json(&item) }),
        None => json!({}),
    }
}
