//! DynamoDB-style tables, with items and keys as `serde_json::Value` in
//! DynamoDB JSON (`json!({"Username": {"S": "Jane"}})`).
//!
//! Writes are buffered and committed with the invocation; the function reads
//! its own writes. Calls without a grant return
//! [`StoreError::AccessDenied`](crate::StoreError), never a trap.
//!
//! ```ignore
//! tables::update_item("GameScoresByUser", &key, "ADD Score :attrValue")
//!     .value(":attrValue", score)
//!     .send()?;
//! ```

use serde_json::{Map, Value};

use crate::bindings::eddy::trigger::tables as raw;
use crate::{ExpressionAttributes, ReturnValues, StoreError};

pub use raw::{QueryPage, QueryRequest};

/// The WIT calls themselves: keys, items, expression attributes and replies
/// as DynamoDB JSON text. Nothing is parsed or serialised on the way, so a
/// handler that already holds the JSON (pieces of its event) pays for no
/// `Value` tree, and a loop can reuse its buffers between calls.
pub mod text {
    pub use crate::bindings::eddy::trigger::tables::{delete, get, put, query, update};
}

/// ExpressionAttributeNames and ExpressionAttributeValues, built up one at a time.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    names: Map<String, Value>,
    values: Map<String, Value>,
}

impl Attributes {
    /// No names, no values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps a `#placeholder` to an attribute name.
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), Value::String(attribute.to_owned()));
        self
    }

    /// Maps a `:placeholder` to a value in DynamoDB JSON (`{"N": "1"}`).
    pub fn value(mut self, placeholder: &str, value: Value) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// The WIT record; empty maps are sent as absent, as the AWS SDKs do.
    pub fn to_wit(&self) -> ExpressionAttributes {
        ExpressionAttributes {
            names: encode_map(&self.names),
            values: encode_map(&self.values),
        }
    }
}

fn encode_map(map: &Map<String, Value>) -> Option<String> {
    (!map.is_empty()).then(|| Value::Object(map.clone()).to_string())
}

/// Reads the item with `key`; `None` if there is none.
pub fn get(table: &str, key: &Value) -> Result<Option<Value>, StoreError> {
    raw::get(table, &key.to_string())?
        .map(|item| decode(&item))
        .transpose()
}

/// Writes `item`, replacing any item with its key.
pub fn put(table: &str, item: &Value) -> Result<(), StoreError> {
    put_item(table, item).send().map(drop)
}

/// Applies `expression` (an UpdateExpression) to the item with `key`.
pub fn update(
    table: &str,
    key: &Value,
    expression: &str,
    attributes: &Attributes,
) -> Result<(), StoreError> {
    let mut request = update_item(table, key, expression);
    request.attributes = attributes.clone();
    request.send().map(drop)
}

/// Deletes the item with `key` (deleting an absent item succeeds).
pub fn delete(table: &str, key: &Value) -> Result<(), StoreError> {
    delete_item(table, key).send().map(drop)
}

/// Reads one page of the items matching `key_condition` (a
/// KeyConditionExpression), in ascending sort-key order.
pub fn query(
    table: &str,
    key_condition: &str,
    attributes: &Attributes,
) -> Result<Page, StoreError> {
    let request = QueryRequest {
        key_condition: key_condition.to_owned(),
        filter: None,
        projection: None,
        attributes: attributes.to_wit(),
        limit: None,
        exclusive_start_key: None,
        scan_forward: true,
    };
    let page = raw::query(table, &request)?;
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|item| decode(item))
            .collect::<Result<_, _>>()?,
        last_evaluated_key: page.last_evaluated_key.as_deref().map(decode).transpose()?,
    })
}

/// One page of query results, parsed.
#[derive(Debug, Clone)]
pub struct Page {
    /// The matching items.
    pub items: Vec<Value>,
    /// Where the next page starts, if more remain.
    pub last_evaluated_key: Option<Value>,
}

/// A put, update or delete with an optional condition, expression attributes
/// and ReturnValues. Build it with [`put_item`], [`update_item`] or
/// [`delete_item`], then [`Write::send`] it.
#[derive(Debug, Clone)]
#[must_use = "a write does nothing until it is sent"]
pub struct Write {
    table: String,
    operation: Operation,
    condition: Option<String>,
    attributes: Attributes,
    return_values: ReturnValues,
}

#[derive(Debug, Clone)]
enum Operation {
    Put { item: String },
    Update { key: String, expression: String },
    Delete { key: String },
}

/// A PutItem of `item`.
pub fn put_item(table: &str, item: &Value) -> Write {
    Write::new(
        table,
        Operation::Put {
            item: item.to_string(),
        },
    )
}

/// An UpdateItem of the item with `key` by `expression` (`ADD Score :v`,
/// `SET #n = :v`, ...).
pub fn update_item(table: &str, key: &Value, expression: &str) -> Write {
    Write::new(
        table,
        Operation::Update {
            key: key.to_string(),
            expression: expression.to_owned(),
        },
    )
}

/// A DeleteItem of the item with `key`.
pub fn delete_item(table: &str, key: &Value) -> Write {
    Write::new(
        table,
        Operation::Delete {
            key: key.to_string(),
        },
    )
}

impl Write {
    fn new(table: &str, operation: Operation) -> Self {
        Write {
            table: table.to_owned(),
            operation,
            condition: None,
            attributes: Attributes::new(),
            return_values: ReturnValues::None,
        }
    }

    /// Writes only if this ConditionExpression holds; otherwise the call
    /// returns `conditional-check-failed` and nothing is written.
    pub fn condition(mut self, expression: &str) -> Self {
        self.condition = Some(expression.to_owned());
        self
    }

    /// Maps a `#placeholder` to an attribute name.
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.attributes = self.attributes.name(placeholder, attribute);
        self
    }

    /// Maps a `:placeholder` to a value in DynamoDB JSON.
    pub fn value(mut self, placeholder: &str, value: Value) -> Self {
        self.attributes = self.attributes.value(placeholder, value);
        self
    }

    /// Asks for the item (or the changed attributes) before or after the write.
    pub fn return_values(mut self, return_values: ReturnValues) -> Self {
        self.return_values = return_values;
        self
    }

    /// Carries out the write; returns what `return_values` asked for.
    pub fn send(self) -> Result<Option<Value>, StoreError> {
        let condition = self.condition.as_deref();
        let attributes = self.attributes.to_wit();
        let returned = match &self.operation {
            Operation::Put { item } => raw::put(
                &self.table,
                item,
                condition,
                &attributes,
                self.return_values,
            ),
            Operation::Update { key, expression } => raw::update(
                &self.table,
                key,
                expression,
                condition,
                &attributes,
                self.return_values,
            ),
            Operation::Delete { key } => {
                raw::delete(&self.table, key, condition, &attributes, self.return_values)
            }
        }?;
        returned.map(|json| decode(&json)).transpose()
    }
}

fn decode(json: &str) -> Result<Value, StoreError> {
    serde_json::from_str(json).map_err(StoreError::malformed_reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_attributes_are_sent_as_absent() {
        let wit = Attributes::new().to_wit();
        assert_eq!((wit.names, wit.values), (None, None));
    }

    #[test]
    fn attributes_encode_names_and_values_as_json_objects() {
        let wit = Attributes::new()
            .name("#s", "Score")
            .value(":v", json!({"N": "100"}))
            .to_wit();
        assert_eq!(wit.names.as_deref(), Some(r##"{"#s":"Score"}"##));
        assert_eq!(wit.values.as_deref(), Some(r#"{":v":{"N":"100"}}"#));
    }

    #[test]
    fn update_builder_collects_condition_and_attributes() {
        let write = update_item("T", &json!({"K": {"S": "a"}}), "ADD Score :v")
            .condition("attribute_exists(#k)")
            .name("#k", "K")
            .value(":v", json!({"N": "1"}))
            .return_values(ReturnValues::AllNew);
        assert_eq!(write.condition.as_deref(), Some("attribute_exists(#k)"));
        assert_eq!(write.return_values, ReturnValues::AllNew);
        match &write.operation {
            Operation::Update { key, expression } => {
                assert_eq!(key, r#"{"K":{"S":"a"}}"#);
                assert_eq!(expression, "ADD Score :v");
            }
            other => panic!("expected an update, got {other:?}"),
        }
        assert!(write.attributes.to_wit().values.is_some());
    }
}
