//! Table operations: CreateTable, DescribeTable, ListTables, UpdateTable,
//! DeleteTable, and the TableDescription shape they share.

use eddy_store::Store;
use eddy_store::tables::{
    self, BillingMode, CreateTable, KeyAttr, StreamChange, StreamViewType, TableDescription,
    TableMeta,
};
use eddy_store::value::keys::KeyType;
use serde_json::{Map, Value, json};

use crate::ApiError;
use crate::request::Request;

pub(crate) fn create(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let name = req.str("TableName")?;
    for unsupported in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
        if req.get(unsupported).is_some() {
            return Err(ApiError::validation(format!(
                "eddy does not support {unsupported} yet; create the table without them"
            )));
        }
    }
    let (partition_key, sort_key) = key_schema(req)?;
    let input = CreateTable {
        name: name.to_string(),
        partition_key,
        sort_key,
        billing: billing(req, true)?.unwrap_or(BillingMode::PayPerRequest),
        stream: stream_spec(req)?.and_then(|change| match change {
            StreamChange::Enable(view) => Some(view),
            StreamChange::Disable => None,
        }),
    };
    let description = tables::create_table(store, input)?;
    Ok(json!({ "TableDescription": describe_json(&description) }))
}

pub(crate) fn describe(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let description = tables::describe_table(store, req.str("TableName")?)?;
    Ok(json!({ "Table": describe_json(&description) }))
}

pub(crate) fn list(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = match req.get("Limit") {
        None => 100,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::serialization("Limit must be an integer"))?,
    };
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {} 100",
            if limit < 1 {
                "greater than or equal to 1, less than or equal to"
            } else {
                "less than or equal to"
            }
        )));
    }
    let start = req.opt_str("ExclusiveStartTableName")?;
    let (names, last) = tables::list_tables(store, start, limit as usize)?;
    let mut out = json!({ "TableNames": names });
    if let Some(last) = last {
        out["LastEvaluatedTableName"] = json!(last);
    }
    Ok(out)
}

pub(crate) fn update(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let name = req.str("TableName")?;
    let stream = stream_spec(req)?;
    let billing = billing(req, false)?;
    if stream.is_none() && billing.is_none() && req.get("AttributeDefinitions").is_none() {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let description = tables::update_table(store, name, stream, billing)?;
    Ok(json!({ "TableDescription": describe_json(&description) }))
}

pub(crate) fn delete(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let description = tables::delete_table(store, req.str("TableName")?)?;
    let mut table = describe_json(&description);
    table["TableStatus"] = json!("DELETING");
    Ok(json!({ "TableDescription": table }))
}

/// KeySchema and AttributeDefinitions, checked against each other.
fn key_schema(req: &Request<'_>) -> Result<(KeyAttr, Option<KeyAttr>), ApiError> {
    let schema = req.array("KeySchema")?;
    let definitions = req.array("AttributeDefinitions")?;
    if schema.is_empty() || schema.len() > 2 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{}' at 'keySchema' failed to satisfy constraint: Member must have length {} 2",
            Value::Array(schema.clone()),
            if schema.is_empty() {
                "greater than or equal to 1, less than or equal to"
            } else {
                "less than or equal to"
            }
        )));
    }
    let mut types = Vec::new();
    for def in definitions {
        let name = member_str(
            def,
            "AttributeName",
            "attributeDefinitions.member.attributeName",
        )?;
        let kind = member_str(
            def,
            "AttributeType",
            "attributeDefinitions.member.attributeType",
        )?;
        types.push((name, kind.parse::<KeyType>()?));
    }
    let mut keys = Vec::new();
    for (index, element) in schema.iter().enumerate() {
        let name = member_str(element, "AttributeName", "keySchema.member.attributeName")?;
        let kind = member_str(element, "KeyType", "keySchema.member.keyType")?;
        let expected = if index == 0 { "HASH" } else { "RANGE" };
        if !matches!(kind, "HASH" | "RANGE") {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{kind}' at 'keySchema.{}.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]",
                index + 1
            )));
        }
        if kind != expected {
            let which = if index == 0 { "first" } else { "second" };
            let key = if index == 0 { "a HASH" } else { "a RANGE" };
            return Err(ApiError::validation(format!(
                "Invalid KeySchema: The {which} KeySchemaElement is not {key} key type"
            )));
        }
        let Some((_, key_type)) = types.iter().find(|(n, _)| *n == name) else {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: ".to_string()
                    + &format!("[{}], AttributeDefinitions: [{}]", key_names(schema), names(&types)),
            ));
        };
        keys.push(KeyAttr {
            name: name.to_string(),
            key_type: *key_type,
        });
    }
    if types.len() != keys.len() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    let mut keys = keys.into_iter();
    let partition = keys
        .next()
        .ok_or_else(|| ApiError::validation("KeySchema is empty"))?;
    Ok((partition, keys.next()))
}

fn key_names(schema: &[Value]) -> String {
    schema
        .iter()
        .filter_map(|e| e.get("AttributeName").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(types: &[(&str, KeyType)]) -> String {
    types.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn member_str<'a>(value: &'a Value, name: &str, path: &str) -> Result<&'a str, ApiError> {
    value.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// BillingMode and ProvisionedThroughput. On create, PROVISIONED is the
/// default and needs the throughput; on update, `None` means "unchanged".
fn billing(req: &Request<'_>, creating: bool) -> Result<Option<BillingMode>, ApiError> {
    let mode = req.opt_str("BillingMode")?;
    let throughput = req.opt_object("ProvisionedThroughput")?;
    match (mode, throughput) {
        (Some("PAY_PER_REQUEST"), Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (Some("PAY_PER_REQUEST"), None) => Ok(Some(BillingMode::PayPerRequest)),
        (None | Some("PROVISIONED"), Some(t)) => {
            let units = |name: &str| -> Result<u64, ApiError> {
                match t.get(name).and_then(Value::as_u64) {
                    Some(n) if n >= 1 => Ok(n),
                    _ => Err(ApiError::validation(format!(
                        "1 validation error detected: Value at 'provisionedThroughput.{}' failed to satisfy constraint: Member must have value greater than or equal to 1",
                        crate::request::lower_first(name)
                    ))),
                }
            };
            Ok(Some(BillingMode::Provisioned {
                read: units("ReadCapacityUnits")?,
                write: units("WriteCapacityUnits")?,
            }))
        }
        (Some("PROVISIONED"), None) if creating => Err(ApiError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (None, None) if creating => Err(ApiError::validation(
            "No provisioned throughput specified for the table",
        )),
        (None | Some("PROVISIONED"), None) => Ok(None),
        (Some(other), _) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

/// StreamSpecification {StreamEnabled, StreamViewType}.
fn stream_spec(req: &Request<'_>) -> Result<Option<StreamChange>, ApiError> {
    let Some(spec) = req.opt_object("StreamSpecification")? else {
        return Ok(None);
    };
    let enabled = match spec.get("StreamEnabled") {
        Some(Value::Bool(b)) => *b,
        _ => {
            return Err(ApiError::validation(
                "1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy constraint: Member must not be null",
            ));
        }
    };
    let view = spec.get("StreamViewType").filter(|v| !v.is_null());
    match (enabled, view) {
        (true, Some(Value::String(view))) => {
            Ok(Some(StreamChange::Enable(StreamViewType::parse(view)?)))
        }
        (true, _) => Err(ApiError::validation(
            "One or more parameter values were invalid: You must specify a StreamViewType when enabling a DynamoDB Stream (StreamViewType is required when StreamEnabled is true)",
        )),
        (false, None) => Ok(Some(StreamChange::Disable)),
        (false, Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false",
        )),
    }
}

/// The KeySchema list of a table.
pub(crate) fn key_schema_json(meta: &TableMeta) -> Value {
    let mut out = vec![json!({ "AttributeName": meta.partition_key.name, "KeyType": "HASH" })];
    if let Some(sk) = &meta.sort_key {
        out.push(json!({ "AttributeName": sk.name, "KeyType": "RANGE" }));
    }
    Value::Array(out)
}

/// A TableDescription as DescribeTable returns it.
pub(crate) fn describe_json(description: &TableDescription) -> Value {
    let meta = &description.meta;
    let definitions: Vec<Value> = meta
        .key_attrs()
        .map(|a| json!({ "AttributeName": a.name, "AttributeType": a.key_type.as_str() }))
        .collect();
    let (read, write) = match meta.billing {
        BillingMode::Provisioned { read, write } => (read, write),
        BillingMode::PayPerRequest => (0, 0),
    };
    let mut out = Map::new();
    out.insert("TableName".into(), json!(meta.name));
    out.insert("TableArn".into(), json!(meta.arn));
    out.insert("TableId".into(), json!(meta.table_id()));
    out.insert("TableStatus".into(), json!("ACTIVE"));
    out.insert("KeySchema".into(), key_schema_json(meta));
    out.insert("AttributeDefinitions".into(), Value::Array(definitions));
    out.insert("ItemCount".into(), json!(description.item_count));
    out.insert("TableSizeBytes".into(), json!(description.size_bytes));
    out.insert(
        "CreationDateTime".into(),
        json!(meta.created_ms as f64 / 1000.0),
    );
    out.insert(
        "BillingModeSummary".into(),
        json!({ "BillingMode": meta.billing.as_str() }),
    );
    out.insert(
        "ProvisionedThroughput".into(),
        json!({ "NumberOfDecreasesToday": 0, "ReadCapacityUnits": read, "WriteCapacityUnits": write }),
    );
    if let Some(stream) = meta.enabled_stream() {
        out.insert(
            "StreamSpecification".into(),
            json!({ "StreamEnabled": true, "StreamViewType": stream.view_type.as_str() }),
        );
    }
    if let Some(stream) = meta.latest_stream() {
        out.insert("LatestStreamArn".into(), json!(meta.stream_arn(stream)));
        out.insert("LatestStreamLabel".into(), json!(stream.label()));
    }
    Value::Object(out)
}
