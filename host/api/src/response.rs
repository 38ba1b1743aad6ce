//! Building responses.

use serde_json::{Map, Value};

use crate::ApiError;

/// A JSON object of these members, moved in. `json!` would copy each
/// interpolated value through the serializer: for a page of 10,000 records
/// that copy cost as much as building the page.
pub(crate) fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    let mut object = Map::with_capacity(N);
    for (name, value) in members {
        object.insert(name.to_string(), value);
    }
    Value::Object(object)
}

/// What the dispatcher answers: a JSON object, built in memory or with its
/// item list already written as JSON text.
///
/// Scan and Query pages are rendered straight from storage to the text a
/// client receives: building a JSON tree per item, only to print it, cost
/// two thirds of a Scan. `eddy serve` sends [`Response::to_bytes`]; callers
/// that want the JSON tree take [`Response::into_value`].
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The whole response as a JSON value.
    Value(Value),
    /// A page of items: these members, plus "Items", a JSON array in text.
    Page {
        members: Map<String, Value>,
        items: Vec<u8>,
    },
}

impl From<Value> for Response {
    fn from(value: Value) -> Response {
        Response::Value(value)
    }
}

impl Response {
    /// The response as a JSON value (parsing a page's items).
    pub fn into_value(self) -> Result<Value, ApiError> {
        match self {
            Response::Value(value) => Ok(value),
            Response::Page { mut members, items } => {
                let items = serde_json::from_slice(&items).map_err(|e| {
                    let mut error = ApiError::new(
                        "InternalFailure",
                        format!("eddy rendered a page it cannot read back (a bug): {e}"),
                    );
                    error.status = 500;
                    error
                })?;
                members.insert("Items".to_string(), items);
                Ok(Value::Object(members))
            }
        }
    }

    /// The response as JSON text, as it goes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            // Serialising to memory fails only on I/O, and a Vec has none.
            Response::Value(value) => serde_json::to_vec(value).unwrap_or_default(),
            Response::Page { members, items } => {
                let mut out = serde_json::to_vec(members).unwrap_or_default();
                out.pop(); // the closing brace, reopened for "Items"
                if !members.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"Items\":");
                out.extend_from_slice(items);
                out.push(b'}');
                out
            }
        }
    }

    /// A member of the response other than a page's items.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Response::Value(value) => value.get(name),
            Response::Page { members, .. } => members.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page() -> Response {
        let Value::Object(members) = json!({"Count": 2, "ScannedCount": 3}) else {
            unreachable!()
        };
        Response::Page {
            members,
            items: br#"[{"a":{"S":"x"}},{"a":{"N":"1"}}]"#.to_vec(),
        }
    }

    #[test]
    fn a_page_reads_back_as_the_json_it_prints() {
        let text: Value = serde_json::from_slice(&page().to_bytes()).unwrap();
        let expected =
            json!({"Count": 2, "ScannedCount": 3, "Items": [{"a": {"S": "x"}}, {"a": {"N": "1"}}]});
        assert_eq!(text, expected);
        assert_eq!(page().into_value().unwrap(), expected);
        assert_eq!(page().member("Count"), Some(&json!(2)));
        assert_eq!(page().member("Items"), None);
    }

    #[test]
    fn a_page_without_other_members_is_still_an_object() {
        let response = Response::Page {
            members: Map::new(),
            items: b"[]".to_vec(),
        };
        assert_eq!(response.to_bytes(), br#"{"Items":[]}"#);
    }
}
