//! ExpressionAttributeNames / ExpressionAttributeValues: validated once per
//! request, resolved by every expression of the request, and checked at the end
//! for entries no expression used (DynamoDB rejects those).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::error::{Result, StoreError};
use crate::value::AttributeValue;

fn invalid(message: String) -> StoreError {
    StoreError::Validation(message)
}

fn is_placeholder(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The placeholders of one request and which of them expressions have used.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
    /// What the expression being parsed resolved, while it is being traced.
    trace: Option<Trace>,
}

/// The placeholders one expression resolved, in the order the parser resolved
/// them (which is the order their values appear in the parsed tree): what a
/// cached parse needs to mark them used and put this request's values in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub names: Vec<String>,
    pub values: Vec<String>,
}

impl Placeholders {
    /// Validates the request's maps with DynamoDB's messages.
    pub fn new(
        names: Option<&Map<String, Value>>,
        values: Option<&Map<String, Value>>,
    ) -> Result<Self> {
        let mut out = Placeholders::default();
        if let Some(names) = names {
            if names.is_empty() {
                return Err(invalid("ExpressionAttributeNames must not be empty".into()));
            }
            for (key, value) in names {
                if !is_placeholder(key, '#') {
                    return Err(invalid(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                let Some(name) = value.as_str() else {
                    return Err(invalid(format!(
                        "ExpressionAttributeNames contains invalid value: the value for key {key} must be a string"
                    )));
                };
                out.names.insert(key.clone(), name.to_string());
            }
        }
        if let Some(values) = values {
            check_value_keys(values.keys())?;
            for (key, value) in values {
                let parsed = AttributeValue::from_json(value).map_err(|e| {
                    invalid(format!(
                        "ExpressionAttributeValues contains invalid value: {e} for key {key}"
                    ))
                })?;
                out.values.insert(key.clone(), parsed);
            }
        }
        Ok(out)
    }

    /// `new`, with the ExpressionAttributeValues parsed already (their JSON
    /// held only values `AttributeValue::from_json` accepts, as the plain
    /// values `json_simple` parses): the same checks and messages, in the
    /// same order, without building a JSON tree first.
    pub fn with_values(
        names: Option<&Map<String, Value>>,
        values: BTreeMap<String, AttributeValue>,
    ) -> Result<Self> {
        let mut out = Placeholders::new(names, None)?;
        check_value_keys(values.keys())?;
        out.values = values;
        Ok(out)
    }

    /// The attribute name `#key` stands for, marking it used.
    pub fn name(&mut self, key: &str) -> Option<String> {
        let name = self.names.get(key)?.clone();
        mark(&mut self.used_names, key);
        if let Some(trace) = &mut self.trace {
            trace.names.push(key.to_string());
        }
        Some(name)
    }

    /// The value `:key` stands for, marking it used.
    pub fn value(&mut self, key: &str) -> Option<AttributeValue> {
        let value = self.values.get(key)?.clone();
        mark(&mut self.used_values, key);
        if let Some(trace) = &mut self.trace {
            trace.values.push(key.to_string());
        }
        Some(value)
    }

    /// Starts recording the placeholders resolved from now on.
    pub fn start_trace(&mut self) {
        self.trace = Some(Trace::default());
    }

    /// Stops recording; what was resolved since `start_trace`.
    pub fn take_trace(&mut self) -> Option<Trace> {
        self.trace.take()
    }

    /// Marks used what `trace` resolved, as a parse of its expression would
    /// (keys not defined here are not: `check_all_used` counts on it).
    pub fn mark_used(&mut self, trace: &Trace) {
        for key in trace.names.iter().filter(|k| self.names.contains_key(*k)) {
            mark(&mut self.used_names, key);
        }
        for key in trace.values.iter().filter(|k| self.values.contains_key(*k)) {
            mark(&mut self.used_values, key);
        }
    }

    /// The ExpressionAttributeNames.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    /// The ExpressionAttributeValues, parsed.
    pub fn values(&self) -> &BTreeMap<String, AttributeValue> {
        &self.values
    }

    /// Errors when a placeholder was given but no expression used it.
    pub fn check_all_used(&self) -> Result<()> {
        // Only defined placeholders are marked used, so equal counts mean all
        // were: the common case, without collecting the keys.
        if self.used_names.len() == self.names.len() && self.used_values.len() == self.values.len()
        {
            return Ok(());
        }
        let unused = |all: Vec<&String>, used: &BTreeSet<String>| -> Vec<String> {
            all.into_iter()
                .filter(|k| !used.contains(*k))
                .cloned()
                .collect()
        };
        let names = unused(self.names.keys().collect(), &self.used_names);
        if !names.is_empty() {
            return Err(invalid(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys().collect(), &self.used_values);
        if !values.is_empty() {
            return Err(invalid(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}

/// Checks the ExpressionAttributeValues' keys: there is one, and each is a
/// `:placeholder`.
fn check_value_keys<'a>(keys: impl ExactSizeIterator<Item = &'a String>) -> Result<()> {
    if keys.len() == 0 {
        return Err(invalid(
            "ExpressionAttributeValues must not be empty".into(),
        ));
    }
    for key in keys {
        if !is_placeholder(key, ':') {
            return Err(invalid(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
            )));
        }
    }
    Ok(())
}

/// Adds `key` to `used` (allocating only the first time).
fn mark(used: &mut BTreeSet<String>, key: &str) {
    if !used.contains(key) {
        used.insert(key.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn message(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(v) => format!("unexpected success: {v:?}"),
        }
    }

    #[test]
    fn rejects_empty_maps_and_bad_keys() {
        let empty = Map::new();
        assert_eq!(
            message(Placeholders::new(Some(&empty), None)),
            "ExpressionAttributeNames must not be empty"
        );
        assert_eq!(
            message(Placeholders::new(None, Some(&empty))),
            "ExpressionAttributeValues must not be empty"
        );
        let bad = map(json!({"n": "a"}));
        assert_eq!(
            message(Placeholders::new(Some(&bad), None)),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\""
        );
        let bad = map(json!({":v-1": {"S": "a"}}));
        assert_eq!(
            message(Placeholders::new(None, Some(&bad))),
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \":v-1\""
        );
        let bad = map(json!({":v": {"N": "x"}}));
        assert!(
            message(Placeholders::new(None, Some(&bad)))
                .starts_with("ExpressionAttributeValues contains invalid value: ")
        );
    }

    #[test]
    fn values_given_parsed_are_checked_as_their_json_is() {
        let names = map(json!({"#a": "a"}));
        let cases = [
            json!({}),
            json!({"v": {"S": "a"}}),
            json!({":v": {"N": "1"}, ":w": {"S": "x"}}),
        ];
        for values in cases {
            let json = map(values);
            let parsed = crate::value::json::item_from_object(&json).unwrap();
            for names in [None, Some(&names), Some(&Map::new())] {
                let general = Placeholders::new(names, Some(&json));
                let given = Placeholders::with_values(names, parsed.clone());
                assert_eq!(
                    general
                        .as_ref()
                        .map(Placeholders::values)
                        .map_err(|e| e.to_string()),
                    given
                        .as_ref()
                        .map(Placeholders::values)
                        .map_err(|e| e.to_string()),
                );
            }
        }
    }

    #[test]
    fn a_trace_marks_only_defined_placeholders() {
        let values = map(json!({":x": {"S": "x"}}));
        let mut p = Placeholders::new(None, Some(&values)).unwrap();
        let trace = Trace {
            names: vec!["#n".into()],
            values: vec![":y".into()],
        };
        p.mark_used(&trace);
        assert_eq!(
            message(p.check_all_used()),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
        );
    }

    #[test]
    fn reports_unused_names_before_values() {
        let names = map(json!({"#a": "a", "#b": "b"}));
        let values = map(json!({":x": {"S": "x"}}));
        let mut p = Placeholders::new(Some(&names), Some(&values)).unwrap();
        assert_eq!(p.name("#a").as_deref(), Some("a"));
        assert_eq!(
            message(p.check_all_used()),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"
        );
        p.name("#b");
        assert_eq!(
            message(p.check_all_used()),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
        );
        p.value(":x");
        assert!(p.check_all_used().is_ok());
    }
}
