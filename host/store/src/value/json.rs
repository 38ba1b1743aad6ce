//! DynamoDB JSON: `{"S": "text"}`, `{"N": "12.5"}`, `{"B": "<base64>"}`, ...
//!
//! Parsing follows DynamoDB's two stages, with its messages (taken from dynalite,
//! whose tests were recorded against DynamoDB):
//! 1. shape: every value in the tree has the JSON type its field needs, and B/BS
//!    hold canonical base64. Failures are SerializationException, and any shape
//!    error in the tree is reported before any validation error.
//! 2. validation: exactly one datatype per value, numbers valid, NULL true, sets
//!    non-empty and without duplicates (NS compared numerically), recursively
//!    through M and L. Failures are ValidationException.
//!
//! Unknown datatype fields and fields set to `null` are ignored, as DynamoDB
//! does. Empty strings and binaries are accepted here; key attributes are checked
//! separately (see `keys`). Nesting deeper than 32 levels is rejected.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::size::MAX_NESTING_DEPTH;
use super::{AttributeValue, Item, Number};
use crate::error::{Result, StoreError};

const DATATYPES: [&str; 10] = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Validation(message.into())
}

fn shape(message: impl Into<String>) -> StoreError {
    StoreError::Serialization(message.into())
}

impl AttributeValue {
    /// Parses one value in DynamoDB JSON, with DynamoDB's validation.
    pub fn from_json(value: &Value) -> Result<AttributeValue> {
        check_value_shape(value, 1)?;
        convert(value)
    }

    /// The value in DynamoDB JSON.
    pub fn to_json(&self) -> Value {
        let mut map = Map::with_capacity(1);
        let (tag, inner) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.to_string())),
            AttributeValue::B(b) => ("B", Value::String(BASE64.encode(b))),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::L(l) => ("L", Value::Array(l.iter().map(Self::to_json).collect())),
            AttributeValue::SS(s) => ("SS", s.iter().map(|s| Value::String(s.clone())).collect()),
            AttributeValue::NS(s) => (
                "NS",
                s.iter().map(|n| Value::String(n.to_string())).collect(),
            ),
            AttributeValue::BS(s) => (
                "BS",
                s.iter().map(|b| Value::String(BASE64.encode(b))).collect(),
            ),
        };
        map.insert(tag.to_string(), inner);
        Value::Object(map)
    }

    /// The value in DynamoDB JSON, consuming it (strings move, not copied).
    pub fn into_json(self) -> Value {
        let (tag, inner) = match self {
            AttributeValue::S(s) => ("S", Value::String(s)),
            AttributeValue::M(m) => ("M", item_into_json(m)),
            AttributeValue::L(l) => ("L", l.into_iter().map(Self::into_json).collect()),
            AttributeValue::SS(s) => ("SS", s.into_iter().map(Value::String).collect()),
            other => return other.to_json(),
        };
        let mut map = Map::with_capacity(1);
        map.insert(tag.to_string(), inner);
        Value::Object(map)
    }
}

/// Parses an item (or key) in DynamoDB JSON: an object of name → value.
pub fn item_from_json(value: &Value) -> Result<Item> {
    match value {
        Value::Object(map) => item_from_object(map),
        Value::Array(_) => Err(shape(
            "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
        )),
        _ => Err(shape("Unexpected field type")),
    }
}

/// Parses an item (or key) given as the JSON object itself, so a request
/// member is parsed where it lies instead of being cloned into a `Value`.
pub fn item_from_object(map: &Map<String, Value>) -> Result<Item> {
    map.values().try_for_each(|v| check_value_shape(v, 1))?;
    item_from_map(map)
}

/// An item in DynamoDB JSON.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// An item in DynamoDB JSON, consuming it: names and strings move instead of
/// being copied (Scan and Query pages convert thousands of items).
pub fn item_into_json(item: Item) -> Value {
    Value::Object(item.into_iter().map(|(k, v)| (k, v.into_json())).collect())
}

/// The datatype fields DynamoDB looks at: known names, not null, in input order.
fn datatype_fields(map: &Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
    map.iter()
        .filter(|(k, v)| !v.is_null() && DATATYPES.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v))
}

// ---- stage 1: shape ---------------------------------------------------------

/// What a JSON value is called in DynamoDB's (Jackson's) shape errors.
fn scalar_token(value: &Value) -> &'static str {
    match value {
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        Value::Number(n) if n.is_i64() || n.is_u64() => "NUMBER_VALUE",
        _ => "DECIMAL_VALUE",
    }
}

fn check_value_shape(value: &Value, depth: usize) -> Result<()> {
    if depth > MAX_NESTING_DEPTH {
        return Err(invalid(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
        ));
    }
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(shape(
                "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
            ));
        }
        Value::Null => return Ok(()),
        _ => return Err(shape("Unexpected value type in payload")),
    };
    for (tag, inner) in datatype_fields(map) {
        match tag {
            "S" | "N" => check_string_shape(inner)?,
            "B" => check_base64_shape(inner)?,
            "BOOL" | "NULL" => {
                coerce_bool(inner)?;
            }
            "SS" | "NS" => list_shape(inner)?.iter().try_for_each(check_string_shape)?,
            "BS" => list_shape(inner)?.iter().try_for_each(check_base64_shape)?,
            "L" => list_shape(inner)?
                .iter()
                .try_for_each(|v| check_value_shape(v, depth + 1))?,
            _ => map_shape(inner)?
                .values()
                .try_for_each(|v| check_value_shape(v, depth + 1))?,
        }
    }
    Ok(())
}

fn check_string_shape(value: &Value) -> Result<()> {
    match value {
        Value::String(_) => Ok(()),
        Value::Null => Err(null_element()),
        Value::Array(_) => Err(shape("Unrecognized collection type class java.lang.String")),
        Value::Object(_) => Err(shape("Start of structure or map found where not expected")),
        other => Err(shape(format!(
            "{} cannot be converted to String",
            scalar_token(other)
        ))),
    }
}

/// Only set elements can be JSON null here (null datatype fields are skipped).
/// DynamoDB's wording for this case is not known; this one says what is wrong.
fn null_element() -> StoreError {
    shape("A set may not contain null elements")
}

fn check_base64_shape(value: &Value) -> Result<()> {
    decode_base64(value).map(|_| ())
}

/// The bytes of a base64 blob, checked as strictly as DynamoDB does (padded,
/// canonical final character).
fn decode_base64(value: &Value) -> Result<Vec<u8>> {
    let text = match value {
        Value::String(text) => text,
        Value::Null => return Err(null_element()),
        Value::Array(_) => {
            return Err(shape(
                "Unrecognized collection type class java.nio.ByteBuffer",
            ));
        }
        Value::Object(_) => {
            return Err(shape("Start of structure or map found where not expected"));
        }
        _ => {
            return Err(shape(
                "only base-64-encoded strings are convertible to bytes",
            ));
        }
    };
    if text.len() % 4 != 0 {
        return Err(shape(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        )));
    }
    // DynamoDB's own spelling.
    BASE64
        .decode(text)
        .map_err(|_| shape("Invalid last non-pad Base64 character dectected"))
}

/// BOOL and NULL accept JSON booleans and, as DynamoDB does, the strings
/// true/false, 1/0 and yes/no in any case.
fn coerce_bool(value: &Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_uppercase().as_str() {
            "TRUE" | "1" | "YES" => Ok(true),
            "FALSE" | "0" | "NO" => Ok(false),
            _ => Err(shape("Unexpected token received from parser")),
        },
        Value::Array(_) => Err(shape(
            "Unrecognized collection type class java.lang.Boolean",
        )),
        Value::Object(_) => Err(shape("Start of structure or map found where not expected")),
        Value::Number(_) => Err(shape(format!(
            "{} cannot be converted to Boolean",
            scalar_token(value)
        ))),
        Value::Null => Ok(false),
    }
}

fn list_shape(value: &Value) -> Result<&Vec<Value>> {
    match value {
        Value::Array(list) => Ok(list),
        Value::Object(_) => Err(shape("Start of structure or map found where not expected")),
        _ => Err(shape("Unexpected field type")),
    }
}

fn map_shape(value: &Value) -> Result<&Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Array(_) => Err(shape(
            "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
        )),
        _ => Err(shape("Unexpected field type")),
    }
}

// ---- stage 2: validation and conversion (shapes already checked) ------------

const MORE_THAN_ONE: &str = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes";
const EMPTY: &str =
    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";

fn convert(value: &Value) -> Result<AttributeValue> {
    let Value::Object(map) = value else {
        // Only a null element of a list gets here: it names no datatype.
        return Err(invalid(EMPTY));
    };
    let mut converted = None;
    let mut count = 0;
    // Every datatype present is validated before "more than one" is reported,
    // in input order, as DynamoDB does.
    for (tag, inner) in datatype_fields(map) {
        converted = Some(convert_field(tag, inner)?);
        count += 1;
    }
    match (converted, count) {
        (Some(value), 1) => Ok(value),
        (None, _) => Err(invalid(EMPTY)),
        _ => Err(invalid(MORE_THAN_ONE)),
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn convert_field(tag: &str, inner: &Value) -> Result<AttributeValue> {
    Ok(match tag {
        "S" => AttributeValue::S(text(inner).to_string()),
        "N" => AttributeValue::N(Number::parse(text(inner))?),
        "B" => AttributeValue::B(decode_base64(inner)?),
        "BOOL" => AttributeValue::Bool(coerce_bool(inner)?),
        "NULL" => {
            if !coerce_bool(inner)? {
                return Err(invalid(
                    "One or more parameter values were invalid: Null attribute value types must have the value of true",
                ));
            }
            AttributeValue::Null
        }
        "SS" => AttributeValue::SS(string_set(list_shape(inner)?)?),
        "NS" => AttributeValue::NS(number_set(list_shape(inner)?)?),
        "BS" => AttributeValue::BS(binary_set(list_shape(inner)?)?),
        "L" => AttributeValue::L(
            list_shape(inner)?
                .iter()
                .map(convert)
                .collect::<Result<_>>()?,
        ),
        _ => AttributeValue::M(item_from_map(map_shape(inner)?)?),
    })
}

/// DynamoDB's rendering of a collection in messages: `[a, b]`.
fn show(list: &[Value]) -> String {
    let items: Vec<&str> = list.iter().map(|v| v.as_str().unwrap_or("null")).collect();
    format!("[{}]", items.join(", "))
}

fn has_duplicates<T: Ord>(items: &[T]) -> bool {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

fn string_set(list: &[Value]) -> Result<Vec<String>> {
    if list.is_empty() {
        return Err(invalid(
            "One or more parameter values were invalid: An string set  may not be empty",
        ));
    }
    let set: Vec<String> = list.iter().map(|v| text(v).to_string()).collect();
    if has_duplicates(&set) {
        return Err(invalid(format!(
            "One or more parameter values were invalid: Input collection {} contains duplicates.",
            show(list)
        )));
    }
    Ok(set)
}

fn number_set(list: &[Value]) -> Result<Vec<Number>> {
    if list.is_empty() {
        return Err(invalid(
            "One or more parameter values were invalid: An number set  may not be empty",
        ));
    }
    let set = list
        .iter()
        .map(|v| Number::parse(text(v)))
        .collect::<Result<Vec<_>>>()?;
    if has_duplicates(&set) {
        return Err(invalid("Input collection contains duplicates"));
    }
    Ok(set)
}

fn binary_set(list: &[Value]) -> Result<Vec<Vec<u8>>> {
    if list.is_empty() {
        return Err(invalid(
            "One or more parameter values were invalid: Binary sets should not be empty",
        ));
    }
    let set = list.iter().map(decode_base64).collect::<Result<Vec<_>>>()?;
    if has_duplicates(&set) {
        // Sic: DynamoDB has no space before "of".
        return Err(invalid(format!(
            "One or more parameter values were invalid: Input collection {}of type BS contains duplicates.",
            show(list)
        )));
    }
    Ok(set)
}

fn item_from_map(map: &Map<String, Value>) -> Result<Item> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), convert(v)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::value::testing::{arb_attribute_value, arb_item};

    fn parse(value: Value) -> Result<AttributeValue> {
        AttributeValue::from_json(&value)
    }

    fn error(value: Value) -> (String, &'static str) {
        match parse(value.clone()) {
            Ok(v) => panic!("{value} parsed as {v:?}"),
            Err(e) => (e.to_string(), e.aws_type()),
        }
    }

    fn validation(value: Value) -> String {
        let (message, kind) = error(value);
        assert_eq!(kind, "ValidationException", "{message}");
        message
    }

    fn serialization(value: Value) -> String {
        let (message, kind) = error(value);
        assert_eq!(kind, "SerializationException", "{message}");
        message
    }

    #[test]
    fn parses_every_datatype() {
        let cases = [
            (json!({"S": ""}), AttributeValue::S(String::new())),
            (
                json!({"N": "1.50"}),
                AttributeValue::N(Number::parse("1.5").unwrap()),
            ),
            (json!({"B": "AQI="}), AttributeValue::B(vec![1, 2])),
            (json!({"B": ""}), AttributeValue::B(vec![])),
            (json!({"BOOL": false}), AttributeValue::Bool(false)),
            (json!({"BOOL": "yes"}), AttributeValue::Bool(true)),
            (json!({"NULL": true}), AttributeValue::Null),
            (json!({"NULL": "TRUE"}), AttributeValue::Null),
            (json!({"L": []}), AttributeValue::L(vec![])),
            (json!({"M": {}}), AttributeValue::M(Item::new())),
            (
                json!({"SS": ["a", ""]}),
                AttributeValue::SS(vec!["a".into(), "".into()]),
            ),
            (
                json!({"BS": ["AQ==", "Ag=="]}),
                AttributeValue::BS(vec![vec![1], vec![2]]),
            ),
            // Unknown and null fields are ignored.
            (
                json!({"S": "x", "N": null, "X": 1}),
                AttributeValue::S("x".into()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input.clone()).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn validation_messages_match_dynamodb() {
        let empty =
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
        for v in [
            json!({}),
            json!({"a": ""}),
            json!({"M": {"a": {}}}),
            json!({"L": [{}]}),
            json!({"L": [{"a": {}}]}),
        ] {
            assert_eq!(validation(v), empty);
        }
        let prefix = "One or more parameter values were invalid: ";
        for (v, message) in [
            (
                json!({"NULL": false}),
                "Null attribute value types must have the value of true",
            ),
            (
                json!({"NULL": "no"}),
                "Null attribute value types must have the value of true",
            ),
            (json!({"SS": []}), "An string set  may not be empty"),
            (json!({"NS": []}), "An number set  may not be empty"),
            (json!({"BS": []}), "Binary sets should not be empty"),
            (
                json!({"SS": ["a", "a"]}),
                "Input collection [a, a] contains duplicates.",
            ),
            (
                json!({"BS": ["Yg==", "Yg=="]}),
                "Input collection [Yg==, Yg==]of type BS contains duplicates.",
            ),
        ] {
            assert_eq!(validation(v), format!("{prefix}{message}"));
        }
        for (v, message) in [
            (
                json!({"S": "", "N": ""}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"S": "a", "N": "b"}),
                "The parameter cannot be converted to a numeric value: b",
            ),
            (
                json!({"NS": ["1", ""]}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"NS": ["1", "b"]}),
                "The parameter cannot be converted to a numeric value: b",
            ),
            (
                json!({"NS": ["1", "1.0"]}),
                "Input collection contains duplicates",
            ),
            (
                json!({"N": "1e126"}),
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            (
                json!({"S": "a", "N": "1"}),
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"M": {"x": {"L": [{"NS": []}]}}}),
                "One or more parameter values were invalid: An number set  may not be empty",
            ),
        ] {
            assert_eq!(validation(v), message);
        }
    }

    #[test]
    fn shape_messages_match_dynamodb() {
        for (v, message) in [
            (
                json!({"S": 1}),
                "NUMBER_VALUE cannot be converted to String",
            ),
            (
                json!({"S": 1.5}),
                "DECIMAL_VALUE cannot be converted to String",
            ),
            (
                json!({"N": true}),
                "TRUE_VALUE cannot be converted to String",
            ),
            (
                json!({"S": []}),
                "Unrecognized collection type class java.lang.String",
            ),
            (
                json!({"S": {}}),
                "Start of structure or map found where not expected",
            ),
            (
                json!({"B": 23}),
                "only base-64-encoded strings are convertible to bytes",
            ),
            (
                json!({"B": "23456"}),
                "Base64 encoded length is expected a multiple of 4 bytes but found: 5",
            ),
            (
                json!({"B": "=+/="}),
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                json!({"B": "+/+="}),
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                json!({"BOOL": 1}),
                "NUMBER_VALUE cannot be converted to Boolean",
            ),
            (
                json!({"BOOL": "maybe"}),
                "Unexpected token received from parser",
            ),
            (json!({"L": "x"}), "Unexpected field type"),
            (
                json!({"SS": {}}),
                "Start of structure or map found where not expected",
            ),
            (
                json!({"M": []}),
                "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
            ),
            (json!({"L": ["x"]}), "Unexpected value type in payload"),
            (
                json!({"SS": ["a", null]}),
                "A set may not contain null elements",
            ),
            (json!({"BS": [null]}), "A set may not contain null elements"),
            (json!("x"), "Unexpected value type in payload"),
            // A shape error anywhere beats a validation error anywhere.
            (
                json!({"SS": [], "L": [{"S": 1}]}),
                "NUMBER_VALUE cannot be converted to String",
            ),
        ] {
            assert_eq!(serialization(v), message);
        }
    }

    #[test]
    fn nesting_beyond_32_levels_is_rejected() {
        let nest =
            |levels: usize| (0..levels).fold(json!({"S": "leaf"}), |v, _| json!({"M": {"n": v}}));
        assert!(parse(nest(31)).is_ok());
        assert!(validation(nest(32)).starts_with("Nesting Levels have exceeded supported limits"));
    }

    #[test]
    fn items_parse_and_print() {
        let item = item_from_json(&json!({"id": {"S": "a"}, "n": {"N": "007"}})).unwrap();
        assert_eq!(
            item_to_json(&item),
            json!({"id": {"S": "a"}, "n": {"N": "7"}})
        );
        assert!(item_from_json(&json!([])).is_err());
        assert!(item_from_json(&json!({"a": {"S": "x"}, "b": {"N": "x"}})).is_err());
    }

    proptest! {
        #[test]
        fn values_round_trip(value in arb_attribute_value()) {
            prop_assert_eq!(AttributeValue::from_json(&value.to_json()).unwrap(), value);
        }

        #[test]
        fn items_round_trip(item in arb_item()) {
            prop_assert_eq!(item_from_json(&item_to_json(&item)).unwrap(), item);
        }

        #[test]
        fn consuming_conversion_matches_the_borrowing_one(item in arb_item()) {
            prop_assert_eq!(item_into_json(item.clone()), item_to_json(&item));
        }
    }
}
