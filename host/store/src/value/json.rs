//! DynamoDB JSON: `{"S": "text"}`, `{"N": "12.5"}`, `{"B": "<base64>"}`, ...
//! (First version; validation messages are being completed.)

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::{AttributeValue, Item, Number};
use crate::error::{Result, StoreError};

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Validation(message.into())
}

impl AttributeValue {
    /// Parses one value in DynamoDB JSON, with DynamoDB's validation.
    pub fn from_json(value: &Value) -> Result<AttributeValue> {
        let Value::Object(map) = value else {
            return Err(invalid("Supplied AttributeValue is not an object"));
        };
        let mut entries = map.iter().filter(|(_, v)| !v.is_null());
        let (Some((tag, inner)), None) = (entries.next(), entries.next()) else {
            return Err(invalid(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ));
        };
        let string = |v: &Value| -> Result<String> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("Supplied AttributeValue {tag} must be a string")))
        };
        let list = |v: &Value| -> Result<Vec<Value>> {
            v.as_array()
                .cloned()
                .ok_or_else(|| invalid(format!("Supplied AttributeValue {tag} must be a list")))
        };
        let binary = |v: &Value| -> Result<Vec<u8>> {
            let text = v
                .as_str()
                .ok_or_else(|| invalid(format!("Supplied AttributeValue {tag} must be a base64 string")))?;
            BASE64
                .decode(text)
                .map_err(|_| invalid("Invalid base64 in binary attribute value"))
        };
        Ok(match tag.as_str() {
            "S" => AttributeValue::S(string(inner)?),
            "N" => AttributeValue::N(Number::parse(&string(inner)?)?),
            "B" => AttributeValue::B(binary(inner)?),
            "BOOL" => AttributeValue::Bool(
                inner
                    .as_bool()
                    .ok_or_else(|| invalid("Supplied AttributeValue BOOL must be a boolean"))?,
            ),
            "NULL" => match inner {
                Value::Bool(true) => AttributeValue::Null,
                _ => {
                    return Err(invalid(
                        "One or more parameter values were invalid: Null attribute value types must have the value of true",
                    ));
                }
            },
            "M" => {
                let Value::Object(m) = inner else {
                    return Err(invalid("Supplied AttributeValue M must be an object"));
                };
                AttributeValue::M(item_from_map(m)?)
            }
            "L" => AttributeValue::L(
                list(inner)?
                    .iter()
                    .map(AttributeValue::from_json)
                    .collect::<Result<_>>()?,
            ),
            "SS" => AttributeValue::SS(set(list(inner)?.iter().map(string).collect::<Result<_>>()?, "string")?),
            "NS" => AttributeValue::NS(set(
                list(inner)?
                    .iter()
                    .map(|v| Number::parse(&string(v)?))
                    .collect::<Result<_>>()?,
                "number",
            )?),
            "BS" => AttributeValue::BS(set(list(inner)?.iter().map(binary).collect::<Result<_>>()?, "binary")?),
            other => {
                return Err(invalid(format!(
                    "Supplied AttributeValue has an unknown datatype {other:?}; expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS"
                )));
            }
        })
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
            AttributeValue::NS(s) => ("NS", s.iter().map(|n| Value::String(n.to_string())).collect()),
            AttributeValue::BS(s) => ("BS", s.iter().map(|b| Value::String(BASE64.encode(b))).collect()),
        };
        map.insert(tag.to_string(), inner);
        Value::Object(map)
    }
}

fn set<T: PartialEq + std::fmt::Debug>(items: Vec<T>, kind: &str) -> Result<Vec<T>> {
    if items.is_empty() {
        return Err(invalid(format!(
            "One or more parameter values were invalid: An {kind} set  may not be empty"
        )));
    }
    for (i, a) in items.iter().enumerate() {
        if items[..i].contains(a) {
            return Err(invalid(format!("Input collection contains duplicates: {a:?}")));
        }
    }
    Ok(items)
}

fn item_from_map(map: &Map<String, Value>) -> Result<Item> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), AttributeValue::from_json(v)?)))
        .collect()
}

/// Parses an item (or key) in DynamoDB JSON: an object of name → value.
pub fn item_from_json(value: &Value) -> Result<Item> {
    match value {
        Value::Object(map) => item_from_map(map),
        _ => Err(invalid("An item must be a JSON object of attribute name to AttributeValue")),
    }
}

/// An item in DynamoDB JSON.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}
