//! Item commands: put, get, update, delete-item, query and scan. Each parses its
//! JSON arguments first (so a malformed one fails before anything is sent), then
//! makes the one DynamoDB request that does the job.

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::{ConditionArgs, KEY_EXAMPLE, ReadArgs};
use crate::commands::Ctx;
use crate::{input, output};

const NAMES_EXAMPLE: &str = r##"{"#s":"Score"}"##;
const VALUES_EXAMPLE: &str = r#"{":v":{"N":"100"}}"#;

/// Adds ExpressionAttributeNames/Values to `request` from `--names`/`--values`.
fn add_names_values(request: &mut Value, names: Option<&str>, values: Option<&str>) -> Result<()> {
    if let Some(names) = input::opt_json_object("--names", names, NAMES_EXAMPLE)? {
        request["ExpressionAttributeNames"] = Value::Object(names);
    }
    if let Some(values) = input::opt_json_object("--values", values, VALUES_EXAMPLE)? {
        request["ExpressionAttributeValues"] = Value::Object(values);
    }
    Ok(())
}

/// Adds an optional string member.
fn add_str(request: &mut Value, member: &str, value: Option<String>) {
    if let Some(v) = value {
        request[member] = Value::String(v);
    }
}

/// Adds ConditionExpression and its names/values.
fn add_condition(request: &mut Value, condition: &ConditionArgs) -> Result<()> {
    add_str(request, "ConditionExpression", condition.condition.clone());
    add_names_values(
        request,
        condition.names.as_deref(),
        condition.values.as_deref(),
    )
}

fn key(raw: &str) -> Result<Value> {
    Ok(Value::Object(input::json_object(
        "KEY_JSON",
        raw,
        KEY_EXAMPLE,
    )?))
}

/// PutItem.
pub fn put(ctx: &Ctx, table: &str, item: &str, condition: &ConditionArgs) -> Result<()> {
    let item = input::json_object("ITEM_JSON", item, KEY_EXAMPLE)?;
    let mut request = json!({"TableName": table, "Item": item});
    add_condition(&mut request, condition)?;
    ctx.dynamodb("PutItem", &request)?;
    Ok(())
}

/// GetItem; a missing item is a note on stderr, not an error.
pub fn get(
    ctx: &Ctx,
    table: &str,
    key_json: &str,
    projection: Option<String>,
    names: Option<&str>,
) -> Result<()> {
    let mut request = json!({"TableName": table, "Key": key(key_json)?});
    add_str(&mut request, "ProjectionExpression", projection);
    add_names_values(&mut request, names, None)?;
    let response = ctx.dynamodb("GetItem", &request)?;
    match response.get("Item").filter(|item| item.is_object()) {
        Some(item) => output::line(item),
        None => {
            output::note(&format!("no item with key {key_json} in table {table}"));
            Ok(())
        }
    }
}

/// UpdateItem.
pub fn update(
    ctx: &Ctx,
    table: &str,
    key_json: &str,
    update_expression: String,
    condition: &ConditionArgs,
    return_values: Option<String>,
) -> Result<()> {
    let mut request = json!({
        "TableName": table,
        "Key": key(key_json)?,
        "UpdateExpression": update_expression,
    });
    add_condition(&mut request, condition)?;
    add_str(&mut request, "ReturnValues", return_values);
    print_attributes(&ctx.dynamodb("UpdateItem", &request)?)
}

/// DeleteItem.
pub fn delete(
    ctx: &Ctx,
    table: &str,
    key_json: &str,
    condition: &ConditionArgs,
    return_values: Option<String>,
) -> Result<()> {
    let mut request = json!({"TableName": table, "Key": key(key_json)?});
    add_condition(&mut request, condition)?;
    add_str(&mut request, "ReturnValues", return_values);
    print_attributes(&ctx.dynamodb("DeleteItem", &request)?)
}

/// Prints a write's returned Attributes, when it returned any.
fn print_attributes(response: &Value) -> Result<()> {
    match response.get("Attributes").filter(|a| a.is_object()) {
        Some(attributes) => output::line(attributes),
        None => Ok(()),
    }
}

/// Query, every page (or one with --limit).
pub fn query(
    ctx: &Ctx,
    table: &str,
    key_condition: String,
    read: &ReadArgs,
    descending: bool,
) -> Result<()> {
    let mut request = json!({"TableName": table, "KeyConditionExpression": key_condition});
    if descending {
        request["ScanIndexForward"] = Value::Bool(false);
    }
    pages(ctx, "Query", request, read)
}

/// Scan, every page (or one with --limit).
pub fn scan(ctx: &Ctx, table: &str, read: &ReadArgs) -> Result<()> {
    pages(ctx, "Scan", json!({"TableName": table}), read)
}

/// Runs a Query or Scan and prints its items, following LastEvaluatedKey until
/// the end, or making the one request `--limit` asks for.
fn pages(ctx: &Ctx, operation: &str, mut request: Value, read: &ReadArgs) -> Result<()> {
    add_str(&mut request, "FilterExpression", read.filter.clone());
    add_str(
        &mut request,
        "ProjectionExpression",
        read.projection.clone(),
    );
    add_names_values(&mut request, read.names.as_deref(), read.values.as_deref())?;
    if let Some(limit) = read.limit {
        request["Limit"] = json!(limit);
    }
    loop {
        let page = ctx.dynamodb(operation, &request)?;
        for item in page["Items"].as_array().into_iter().flatten() {
            output::line(item)?;
        }
        let Some(last) = page.get("LastEvaluatedKey").and_then(Value::as_object) else {
            return Ok(());
        };
        if read.limit.is_some() {
            output::note(&format!(
                "more items after LastEvaluatedKey {}",
                Value::Object(last.clone())
            ));
            return Ok(());
        }
        request["ExclusiveStartKey"] = Value::Object(Map::clone(last));
    }
}
