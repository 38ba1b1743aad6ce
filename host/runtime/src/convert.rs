//! Conversions between the WIT types and eddy-store's: DynamoDB JSON strings
//! to items and back, expression attributes, ReturnValues, and store errors to
//! the `store-error` cases a guest sees.

use eddy_store::tables::{ExpressionMaps, ReturnValues};
use eddy_store::value::json::{item_from_json, item_to_json};
use eddy_store::value::json_simple::simple_item_from_str;
use eddy_store::{Item, StoreError};
use serde_json::{Map, Value};

use crate::bindgen::{self, ExpressionAttributes};

/// Parses a DynamoDB JSON object (`{"Score":{"N":"100"}}`) into an item.
/// Plain S/N items (keys above all) take a direct parse; anything else, and
/// every error, goes through `serde_json::Value` and `item_from_json`.
pub fn item_from_str(text: &str, what: &str) -> Result<Item, StoreError> {
    if let Some(item) = simple_item_from_str(text) {
        return Ok(item);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Validation(format!("{what} is not valid JSON: {e}")))?;
    item_from_json(&value)
}

/// An item as a DynamoDB JSON object.
pub fn item_to_string(item: &Item) -> String {
    item_to_json(item).to_string()
}

/// The names and values of a call's expressions.
pub fn expression_maps(attrs: &ExpressionAttributes) -> Result<ExpressionMaps, StoreError> {
    Ok(ExpressionMaps {
        names: attrs
            .names
            .as_deref()
            .map(|t| json_object(t, "expression attribute names"))
            .transpose()?,
        values: attrs
            .values
            .as_deref()
            .map(|t| json_object(t, "expression attribute values"))
            .transpose()?,
    })
}

fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, StoreError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Validation(format!(
            "{what} must be a JSON object"
        ))),
        Err(e) => Err(StoreError::Validation(format!(
            "{what} are not valid JSON: {e}"
        ))),
    }
}

/// The store's ReturnValues for the WIT enum.
pub fn return_values(value: bindgen::ReturnValues) -> ReturnValues {
    match value {
        bindgen::ReturnValues::None => ReturnValues::None,
        bindgen::ReturnValues::AllOld => ReturnValues::AllOld,
        bindgen::ReturnValues::UpdatedOld => ReturnValues::UpdatedOld,
        bindgen::ReturnValues::AllNew => ReturnValues::AllNew,
        bindgen::ReturnValues::UpdatedNew => ReturnValues::UpdatedNew,
    }
}

/// The `store-error` a guest sees for a store error.
pub fn store_error(err: StoreError) -> bindgen::StoreError {
    let message = err.to_string();
    match err {
        StoreError::ConditionalCheckFailed { .. } => {
            bindgen::StoreError::ConditionalCheckFailed(message)
        }
        StoreError::Validation(_)
        | StoreError::Serialization(_)
        | StoreError::InvalidArgument(_) => bindgen::StoreError::Validation(message),
        StoreError::ResourceNotFound(_) => bindgen::StoreError::NotFound(message),
        StoreError::LimitExceeded(_) => bindgen::StoreError::LimitExceeded(message),
        StoreError::ResourceInUse(_)
        | StoreError::ExpiredIterator(_)
        | StoreError::DirectoryLocked(_)
        | StoreError::Storage(_) => bindgen::StoreError::Internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_and_bad_json_is_a_validation_error() {
        let item = item_from_str(r#"{"Score":{"N":"100"},"U":{"S":"Jane"}}"#, "item").unwrap();
        assert_eq!(item_from_str(&item_to_string(&item), "item").unwrap(), item);
        assert!(matches!(
            store_error(item_from_str("{", "item").unwrap_err()),
            bindgen::StoreError::Validation(_)
        ));
        assert!(matches!(
            store_error(item_from_str(r#"{"a":{"X":"1"}}"#, "item").unwrap_err()),
            bindgen::StoreError::Validation(_)
        ));
    }

    #[test]
    fn expression_attributes_must_be_objects() {
        let attrs = ExpressionAttributes {
            names: Some(r##"{"#n":"Name"}"##.into()),
            values: Some("[1]".into()),
        };
        assert!(expression_maps(&attrs).is_err());
        let attrs = ExpressionAttributes {
            names: Some(r##"{"#n":"Name"}"##.into()),
            values: None,
        };
        assert_eq!(expression_maps(&attrs).unwrap().names.unwrap().len(), 1);
    }
}
