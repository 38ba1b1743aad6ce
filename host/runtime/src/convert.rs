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
        names: names_map(attrs)?,
        values: attrs
            .values
            .as_deref()
            .map(|t| json_object(t, "expression attribute values"))
            .transpose()?,
    })
}

/// The call's ExpressionAttributeNames, if any.
fn names_map(attrs: &ExpressionAttributes) -> Result<Option<Map<String, Value>>, StoreError> {
    attrs
        .names
        .as_deref()
        .map(|t| json_object(t, "expression attribute names"))
        .transpose()
}

/// `expression_maps`, with ExpressionAttributeValues of only plain S and N
/// values (`{":v":{"N":"5"}}`, what a trigger's UpdateItem sends most)
/// parsed straight from their text into the second part, and left out of the
/// maps: the JSON tree and its conversion were ~5% of a trigger lane's CPU.
/// Anything else, and every error, takes `expression_maps`' path.
pub fn expression_maps_parsed(
    attrs: &ExpressionAttributes,
) -> Result<(ExpressionMaps, Option<Item>), StoreError> {
    let Some(values) = attrs.values.as_deref().and_then(simple_item_from_str) else {
        return Ok((expression_maps(attrs)?, None));
    };
    Ok((
        ExpressionMaps {
            names: names_map(attrs)?,
            values: None,
        },
        Some(values),
    ))
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
        | StoreError::TrimmedDataAccess(_)
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

    #[test]
    fn plain_expression_values_are_parsed_and_the_rest_takes_the_general_path() {
        let attrs = |names: &str, values: &str| ExpressionAttributes {
            names: Some(names.into()),
            values: Some(values.into()),
        };
        let plain = attrs(r##"{"#n":"Name"}"##, r#"{":v":{"N":"5"},":s":{"S":"x"}}"#);
        let (maps, values) = expression_maps_parsed(&plain).unwrap();
        let general = expression_maps(&plain).unwrap();
        assert_eq!(maps.names, general.names);
        assert_eq!(maps.values, None);
        let general = general
            .values
            .map(|v| item_from_json(&Value::Object(v)).unwrap());
        assert_eq!(values, general);
        for other in [r#"{":v":{"BOOL":true}}"#, r#"{":v":{"N":"x"}}"#, "[1]", "{"] {
            let other = attrs(r##"{"#n":"Name"}"##, other);
            let parsed = expression_maps_parsed(&other).map_err(|e| e.to_string());
            let general = expression_maps(&other).map_err(|e| e.to_string());
            assert_eq!(parsed, general.map(|maps| (maps, None)));
        }
        // Bad names fail as they do on the general path.
        let bad = attrs("[]", r#"{":v":{"N":"5"}}"#);
        assert_eq!(
            expression_maps_parsed(&bad).map_err(|e| e.to_string()),
            expression_maps(&bad)
                .map(|maps| (maps, None))
                .map_err(|e| e.to_string())
        );
    }
}
