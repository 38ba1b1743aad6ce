//! Building responses.

use serde_json::{Map, Value};

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
