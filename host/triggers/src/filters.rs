//! Lambda's event filtering: filter patterns (exact, prefix, numeric ranges,
//! exists, anything-but, ...) matched against the Lambda-shaped JSON of a record.
//!
//! A pattern is a JSON object whose keys nest into the record; at the leaves an
//! array lists alternatives (any may match): a string, number, boolean or null
//! to equal, or an operator object — `{"prefix": s}`, `{"suffix": s}`,
//! `{"equals-ignore-case": s}`, `{"anything-but": v | [v..] | {"prefix": s} |
//! {"suffix": s} | {"equals-ignore-case": s | [s..]}}`, `{"numeric": [">", 0,
//! "<=", 5]}`, `{"exists": true | false}`. Where the record holds an array, the
//! leaf matches if any element does. All keys of a pattern must match; a
//! mapping's record passes if any of its patterns matches (or it has none).
//!
//! As in Lambda: a Kinesis record's `data` is matched as the JSON it decodes
//! to (the pattern key is the top-level `data`), and a pattern on `data`
//! never matches data that is not JSON. eddy's one addition: `numeric` also
//! matches a DynamoDB number (`{"N": "12.5"}`), which DynamoDB JSON carries as a
//! string. `cidr` is not supported and is refused as invalid.

use base64::Engine;
use serde_json::{Map, Value};

/// The most filters one mapping may have (Lambda's quota).
pub const MAX_FILTERS: usize = 5;
/// The longest pattern, in characters (Lambda's limit).
pub const MAX_PATTERN_CHARS: usize = 4096;
/// Lambda's InvalidParameterValueException message for a bad pattern.
pub const INVALID_PATTERN: &str = "Invalid filter pattern definition.";
/// How deep a pattern may nest; deeper patterns are refused (no record of
/// Lambda's nests that deep, and it bounds the recursion).
const MAX_DEPTH: usize = 64;

/// A mapping's parsed filter patterns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    patterns: Vec<Node>,
}

/// One level of a pattern: keys to match, or the alternatives of a leaf.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(Vec<(String, Node)>),
    Leaf(Vec<Matcher>),
}

/// One alternative at a leaf.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Equals(Value),
    Prefix { text: String, ignore_case: bool },
    Suffix { text: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Matcher>),
    Numeric(Vec<(Op, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

type Parsed<T> = Result<T, String>;

fn invalid(why: impl std::fmt::Display) -> String {
    format!("{INVALID_PATTERN} {why}")
}

impl Filters {
    /// Parses a mapping's patterns (FilterCriteria.Filters[].Pattern). The
    /// error is the message of Lambda's InvalidParameterValueException.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Filters, String> {
        if patterns.len() > MAX_FILTERS {
            return Err(format!(
                "{INVALID_PATTERN} A mapping takes at most {MAX_FILTERS} filters; {} were given.",
                patterns.len()
            ));
        }
        let mut parsed = Vec::with_capacity(patterns.len());
        for (i, pattern) in patterns.iter().enumerate() {
            let node = parse_pattern(pattern.as_ref())
                .map_err(|why| format!("{why} (filter {})", i + 1))?;
            parsed.push(node);
        }
        Ok(Filters { patterns: parsed })
    }

    /// No patterns: every record passes.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `record` (Lambda-shaped: a Kinesis or DynamoDB stream record)
    /// passes: any pattern matches, or there are none.
    pub fn matches(&self, record: &Value) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let data = KinesisData::of(record);
        self.patterns.iter().any(|p| matches_top(p, record, &data))
    }
}

fn parse_pattern(text: &str) -> Parsed<Node> {
    if text.chars().count() > MAX_PATTERN_CHARS {
        return Err(invalid(format_args!(
            "A pattern is at most {MAX_PATTERN_CHARS} characters."
        )));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| invalid(format_args!("The pattern is not JSON: {e}.")))?;
    match &value {
        Value::Object(map) if !map.is_empty() => parse_object(map, 0),
        _ => Err(invalid("A pattern is a non-empty JSON object.")),
    }
}

fn parse_object(map: &Map<String, Value>, depth: usize) -> Parsed<Node> {
    if depth > MAX_DEPTH {
        return Err(invalid("The pattern nests too deeply."));
    }
    let mut keys = Vec::with_capacity(map.len());
    for (key, value) in map {
        let node = match value {
            Value::Object(inner) if !inner.is_empty() => parse_object(inner, depth + 1)?,
            Value::Array(alternatives) if !alternatives.is_empty() => Node::Leaf(
                alternatives
                    .iter()
                    .map(parse_matcher)
                    .collect::<Parsed<_>>()?,
            ),
            _ => {
                return Err(invalid(format_args!(
                    "The value of \"{key}\" must be a non-empty array or object."
                )));
            }
        };
        keys.push((key.clone(), node));
    }
    Ok(Node::Object(keys))
}

fn parse_matcher(value: &Value) -> Parsed<Matcher> {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Null => Ok(Matcher::Equals(value.clone())),
        Value::Number(n) => finite(n).map(|_| Matcher::Equals(value.clone())),
        Value::Object(map) => parse_operator(map),
        Value::Array(_) => Err(invalid("Arrays do not nest inside a match list.")),
    }
}

fn finite(n: &serde_json::Number) -> Parsed<f64> {
    n.as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| invalid(format_args!("{n} is not a usable number.")))
}

/// `{"operator": argument}` with exactly one key.
fn parse_operator(map: &Map<String, Value>) -> Parsed<Matcher> {
    let mut entries = map.iter();
    let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
        return Err(invalid("An operator object has exactly one key."));
    };
    match name.as_str() {
        "prefix" => text_or_ignore_case(name, arg)
            .map(|(text, ignore_case)| Matcher::Prefix { text, ignore_case }),
        "suffix" => text_or_ignore_case(name, arg)
            .map(|(text, ignore_case)| Matcher::Suffix { text, ignore_case }),
        "equals-ignore-case" => string_arg(name, arg).map(Matcher::EqualsIgnoreCase),
        "anything-but" => parse_anything_but(arg).map(Matcher::AnythingBut),
        "numeric" => parse_numeric(arg).map(Matcher::Numeric),
        "exists" => match arg {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(invalid("\"exists\" takes true or false.")),
        },
        other => Err(invalid(format_args!("Unsupported operator \"{other}\"."))),
    }
}

fn string_arg(name: &str, arg: &Value) -> Parsed<String> {
    match arg {
        Value::String(s) => Ok(s.clone()),
        _ => Err(invalid(format_args!("\"{name}\" takes a string."))),
    }
}

/// `"text"` or `{"equals-ignore-case": "text"}` (prefix and suffix).
fn text_or_ignore_case(name: &str, arg: &Value) -> Parsed<(String, bool)> {
    match arg {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(map) if map.len() == 1 => match map.get("equals-ignore-case") {
            Some(Value::String(s)) => Ok((s.clone(), true)),
            _ => Err(invalid(format_args!(
                "\"{name}\" takes a string or {{\"equals-ignore-case\": string}}."
            ))),
        },
        _ => Err(invalid(format_args!("\"{name}\" takes a string."))),
    }
}

/// The values (or the one prefix/suffix/ignore-case test) a value must not match.
fn parse_anything_but(arg: &Value) -> Parsed<Vec<Matcher>> {
    let scalar = |v: &Value| match v {
        Value::String(_) => Ok(Matcher::Equals(v.clone())),
        Value::Number(n) => finite(n).map(|_| Matcher::Equals(v.clone())),
        _ => Err(invalid("\"anything-but\" lists strings or numbers.")),
    };
    match arg {
        Value::Array(values) if !values.is_empty() => values.iter().map(scalar).collect(),
        Value::Object(map) if map.len() == 1 => {
            if let Some(Value::Array(values)) = map.get("equals-ignore-case") {
                let texts = values.iter().map(|v| string_arg("equals-ignore-case", v));
                return texts
                    .map(|t| t.map(Matcher::EqualsIgnoreCase))
                    .collect::<Parsed<Vec<_>>>()
                    .and_then(|m| non_empty(m, "\"equals-ignore-case\""));
            }
            match parse_operator(map)? {
                m @ (Matcher::Prefix { .. }
                | Matcher::Suffix { .. }
                | Matcher::EqualsIgnoreCase(_)) => Ok(vec![m]),
                _ => Err(invalid(
                    "\"anything-but\" takes prefix, suffix or equals-ignore-case.",
                )),
            }
        }
        other => scalar(other).map(|m| vec![m]),
    }
}

fn non_empty(matchers: Vec<Matcher>, what: &str) -> Parsed<Vec<Matcher>> {
    if matchers.is_empty() {
        return Err(invalid(format_args!("{what} takes at least one value.")));
    }
    Ok(matchers)
}

/// `["=", n]`, or one or two comparisons: a lower bound (`>`, `>=`) and/or an
/// upper bound (`<`, `<=`).
fn parse_numeric(arg: &Value) -> Parsed<Vec<(Op, f64)>> {
    let bad = || invalid("\"numeric\" takes [\"op\", number] or a lower and an upper bound.");
    let Value::Array(items) = arg else {
        return Err(bad());
    };
    if items.is_empty() || items.len() > 4 || items.len() % 2 != 0 {
        return Err(bad());
    }
    let mut conditions = Vec::new();
    for pair in items.chunks(2) {
        let (Some(Value::String(op)), Some(Value::Number(n))) = (pair.first(), pair.get(1)) else {
            return Err(bad());
        };
        let op = match op.as_str() {
            "=" => Op::Eq,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return Err(bad()),
        };
        conditions.push((op, finite(n)?));
    }
    let lower = |op: &Op| matches!(op, Op::Gt | Op::Ge);
    let upper = |op: &Op| matches!(op, Op::Lt | Op::Le);
    let shape_ok = match conditions.as_slice() {
        [_] => true,
        [(a, _), (b, _)] => (lower(a) && upper(b)) || (upper(a) && lower(b)),
        _ => false,
    };
    if shape_ok { Ok(conditions) } else { Err(bad()) }
}

/// A Kinesis record's data as Lambda filters it: decoded, then parsed as JSON.
enum KinesisData {
    /// Not a Kinesis record: `data` is looked up like any other key.
    NotKinesis,
    Json(Value),
    /// Data that is not JSON: a pattern on `data` never matches it.
    NotJson,
}

impl KinesisData {
    fn of(record: &Value) -> KinesisData {
        let Some(encoded) = record.pointer("/kinesis/data").and_then(Value::as_str) else {
            return KinesisData::NotKinesis;
        };
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map_or(KinesisData::NotJson, KinesisData::Json)
    }
}

fn matches_top(pattern: &Node, record: &Value, data: &KinesisData) -> bool {
    let Node::Object(keys) = pattern else {
        return false;
    };
    keys.iter().all(|(key, node)| {
        let value = match (key.as_str(), data) {
            ("data", KinesisData::Json(v)) => Some(v),
            ("data", KinesisData::NotJson) => return false,
            _ => record.get(key),
        };
        matches_node(node, key, value)
    })
}

fn matches_node(node: &Node, key: &str, value: Option<&Value>) -> bool {
    match node {
        Node::Object(keys) => match value {
            // A pattern below an array matches if any element matches.
            Some(Value::Array(items)) => items.iter().any(|v| matches_node(node, key, Some(v))),
            Some(Value::Object(map)) => keys
                .iter()
                .all(|(k, child)| matches_node(child, k, map.get(k))),
            // Nothing below: only "exists": false children can match.
            _ => keys.iter().all(|(k, child)| matches_node(child, k, None)),
        },
        Node::Leaf(matchers) => matchers.iter().any(|m| matches_leaf(m, key, value)),
    }
}

fn matches_leaf(matcher: &Matcher, key: &str, value: Option<&Value>) -> bool {
    match (matcher, value) {
        (Matcher::Exists(wanted), value) => {
            let present = value.is_some_and(|v| !v.is_object());
            present == *wanted
        }
        (_, None) => false,
        (_, Some(Value::Array(items))) => items.iter().any(|v| matches_scalar(matcher, key, v)),
        (_, Some(v)) => matches_scalar(matcher, key, v),
    }
}

fn matches_scalar(matcher: &Matcher, key: &str, value: &Value) -> bool {
    match matcher {
        Matcher::Equals(expected) => equals(expected, value),
        Matcher::Prefix { text, ignore_case } => {
            string_test(value, text, *ignore_case, |v, t| v.starts_with(t))
        }
        Matcher::Suffix { text, ignore_case } => {
            string_test(value, text, *ignore_case, |v, t| v.ends_with(t))
        }
        Matcher::EqualsIgnoreCase(text) => string_test(value, text, true, |v, t| v == t),
        Matcher::AnythingBut(excluded) => {
            !value.is_null()
                && !value.is_object()
                && !excluded.iter().any(|m| matches_scalar(m, key, value))
        }
        Matcher::Numeric(conditions) => number_of(key, value)
            .is_some_and(|n| conditions.iter().all(|&(op, bound)| compare(op, n, bound))),
        Matcher::Exists(_) => false,
    }
}

/// Numbers equal by value (`5` and `5.0`); everything else exactly.
fn equals(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == value,
    }
}

fn string_test(value: &Value, text: &str, ignore_case: bool, test: fn(&str, &str) -> bool) -> bool {
    let Value::String(s) = value else {
        return false;
    };
    if ignore_case {
        test(&s.to_lowercase(), &text.to_lowercase())
    } else {
        test(s, text)
    }
}

/// A JSON number, or the string of a DynamoDB number attribute (`"N"`).
fn number_of(key: &str, value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if key == "N" => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn compare(op: Op, n: f64, bound: f64) -> bool {
    match op {
        Op::Eq => n == bound,
        Op::Lt => n < bound,
        Op::Le => n <= bound,
        Op::Gt => n > bound,
        Op::Ge => n >= bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn filters(patterns: &[Value]) -> Filters {
        let texts: Vec<String> = patterns.iter().map(Value::to_string).collect();
        Filters::parse(&texts).unwrap()
    }

    fn passes(pattern: Value, record: Value) -> bool {
        filters(&[pattern]).matches(&record)
    }

    fn kinesis(data: &[u8]) -> Value {
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        json!({
            "kinesis": { "partitionKey": "1", "data": encoded },
            "eventSource": "aws:kinesis",
            "eventName": "aws:kinesis:record"
        })
    }

    fn change(event: &str, new_image: Value) -> Value {
        json!({
            "eventName": event,
            "eventSource": "aws:dynamodb",
            "dynamodb": { "Keys": { "pk": { "S": "a" } }, "NewImage": new_image }
        })
    }

    #[test]
    fn no_filters_pass_everything() {
        let none = Filters::parse::<&str>(&[]).unwrap();
        assert!(none.is_empty());
        assert!(none.matches(&json!({})));
        assert!(none.matches(&kinesis(b"not json")));
    }

    #[test]
    fn exact_values_and_or_lists() {
        let p = json!({ "eventName": ["INSERT", "MODIFY"] });
        assert!(passes(p.clone(), change("INSERT", json!({}))));
        assert!(passes(p.clone(), change("MODIFY", json!({}))));
        assert!(!passes(p, change("REMOVE", json!({}))));
        assert!(passes(json!({ "a": [5] }), json!({ "a": 5.0 })));
        assert!(!passes(json!({ "a": [5] }), json!({ "a": "5" })));
        assert!(passes(json!({ "a": [null] }), json!({ "a": null })));
        assert!(!passes(json!({ "a": [null] }), json!({})));
        assert!(passes(json!({ "a": [""] }), json!({ "a": "" })));
        assert!(passes(json!({ "a": [true] }), json!({ "a": true })));
        // An array in the record matches if any element does.
        assert!(passes(json!({ "a": ["x"] }), json!({ "a": ["w", "x"] })));
    }

    #[test]
    fn every_key_must_match() {
        let p = json!({ "eventName": ["INSERT"], "dynamodb": { "NewImage": { "Score": { "N": ["7"] } } } });
        assert!(passes(
            p.clone(),
            change("INSERT", json!({ "Score": { "N": "7" } }))
        ));
        assert!(!passes(
            p.clone(),
            change("MODIFY", json!({ "Score": { "N": "7" } }))
        ));
        assert!(!passes(
            p,
            change("INSERT", json!({ "Score": { "N": "8" } }))
        ));
    }

    #[test]
    fn string_operators() {
        let rec = json!({ "s": "Hello-World" });
        assert!(passes(json!({ "s": [{ "prefix": "Hello" }] }), rec.clone()));
        assert!(!passes(
            json!({ "s": [{ "prefix": "hello" }] }),
            rec.clone()
        ));
        assert!(passes(
            json!({ "s": [{ "prefix": { "equals-ignore-case": "hello" } }] }),
            rec.clone()
        ));
        assert!(passes(json!({ "s": [{ "suffix": "World" }] }), rec.clone()));
        assert!(passes(
            json!({ "s": [{ "suffix": { "equals-ignore-case": "WORLD" } }] }),
            rec.clone()
        ));
        assert!(passes(
            json!({ "s": [{ "equals-ignore-case": "hello-world" }] }),
            rec.clone()
        ));
        assert!(!passes(
            json!({ "s": [{ "equals-ignore-case": "hello" }] }),
            rec
        ));
        assert!(!passes(
            json!({ "s": [{ "prefix": "1" }] }),
            json!({ "s": 12 })
        ));
    }

    #[test]
    fn anything_but() {
        let p = |arg: Value| json!({ "w": [{ "anything-but": arg }] });
        assert!(passes(p(json!(["Rain"])), json!({ "w": "Sun" })));
        assert!(!passes(p(json!(["Rain", "Snow"])), json!({ "w": "Snow" })));
        assert!(!passes(p(json!("Rain")), json!({ "w": "Rain" })));
        assert!(passes(p(json!(3)), json!({ "w": 4 })));
        assert!(!passes(p(json!(3)), json!({ "w": 3 })));
        assert!(
            !passes(p(json!(["Rain"])), json!({})),
            "a missing field is not 'anything'"
        );
        assert!(!passes(p(json!({ "prefix": "R" })), json!({ "w": "Rain" })));
        assert!(passes(p(json!({ "prefix": "R" })), json!({ "w": "Sun" })));
        assert!(!passes(p(json!({ "suffix": "n" })), json!({ "w": "Rain" })));
        assert!(!passes(
            p(json!({ "equals-ignore-case": ["rain"] })),
            json!({ "w": "RAIN" })
        ));
        assert!(passes(
            p(json!({ "equals-ignore-case": "rain" })),
            json!({ "w": "Sun" })
        ));
    }

    #[test]
    fn numeric_ranges() {
        let p = json!({ "n": [{ "numeric": [">", 0, "<=", 5] }] });
        for (n, expected) in [(0.0, false), (0.5, true), (5.0, true), (5.1, false)] {
            assert_eq!(passes(p.clone(), json!({ "n": n })), expected, "{n}");
        }
        assert!(passes(
            json!({ "n": [{ "numeric": ["=", 3] }] }),
            json!({ "n": 3 })
        ));
        assert!(passes(
            json!({ "n": [{ "numeric": ["<", 3] }] }),
            json!({ "n": -1 })
        ));
        assert!(!passes(
            json!({ "n": [{ "numeric": [">=", 3] }] }),
            json!({ "n": "4" })
        ));
        // DynamoDB numbers are strings under "N".
        let ddb = json!({ "dynamodb": { "NewImage": { "Score": { "N": [{ "numeric": [">=", 100] }] } } } });
        assert!(passes(
            ddb.clone(),
            change("INSERT", json!({ "Score": { "N": "150" } }))
        ));
        assert!(!passes(
            ddb.clone(),
            change("INSERT", json!({ "Score": { "N": "99.5" } }))
        ));
        assert!(!passes(
            ddb,
            change("INSERT", json!({ "Score": { "S": "150" } }))
        ));
    }

    #[test]
    fn exists() {
        let yes = json!({ "dynamodb": { "NewImage": { "x": [{ "exists": true }] } } });
        let no = json!({ "dynamodb": { "NewImage": { "x": [{ "exists": false }] } } });
        let with = change("INSERT", json!({ "x": { "S": "1" } }));
        let without = change("INSERT", json!({ "y": { "S": "1" } }));
        // "x" is an object (an attribute value): exists tests leaves, as Lambda does.
        assert!(!passes(yes.clone(), with.clone()));
        let leaf = json!({ "dynamodb": { "NewImage": { "x": { "S": [{ "exists": true }] } } } });
        assert!(passes(leaf, with.clone()));
        assert!(!passes(yes, without.clone()));
        assert!(passes(no.clone(), without));
        assert!(passes(
            json!({ "missing": { "deeper": [{ "exists": false }] } }),
            json!({})
        ));
        assert!(passes(
            json!({ "a": [{ "exists": true }] }),
            json!({ "a": null })
        ));
    }

    #[test]
    fn kinesis_data_is_matched_as_json() {
        let p = json!({ "data": { "order": { "type": ["buy"] } } });
        assert!(passes(
            p.clone(),
            kinesis(br#"{"order":{"type":"buy","n":3}}"#)
        ));
        assert!(!passes(p.clone(), kinesis(br#"{"order":{"type":"sell"}}"#)));
        assert!(!passes(p, kinesis(b"buy")));
        // A pattern on data never matches data that is not JSON, even exists:false.
        assert!(!passes(
            json!({ "data": { "x": [{ "exists": false }] } }),
            kinesis(b"\xff\x00")
        ));
        assert!(passes(
            json!({ "data": [{ "numeric": [">", 1] }] }),
            kinesis(b"2")
        ));
        // Other keys still match the record itself.
        assert!(passes(
            json!({ "kinesis": { "partitionKey": ["1"] } }),
            kinesis(b"raw")
        ));
    }

    #[test]
    fn any_filter_may_match() {
        let f = filters(&[json!({ "a": ["x"] }), json!({ "b": ["y"] })]);
        assert!(f.matches(&json!({ "a": "x" })));
        assert!(f.matches(&json!({ "b": "y" })));
        assert!(!f.matches(&json!({ "a": "y", "b": "x" })));
    }

    #[test]
    fn bad_patterns_are_refused_with_lambdas_message() {
        let bad = [
            "",
            "not json",
            "[]",
            "{}",
            "5",
            r#"{"a": "x"}"#,
            r#"{"a": []}"#,
            r#"{"a": {}}"#,
            r#"{"a": [[1]]}"#,
            r#"{"a": [{"prefix": 1}]}"#,
            r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
            r#"{"a": [{"wildcard": "*"}]}"#,
            r#"{"a": [{"cidr": "10.0.0.0/8"}]}"#,
            r#"{"a": [{"numeric": [">", "1"]}]}"#,
            r#"{"a": [{"numeric": [">", 1, ">", 2]}]}"#,
            r#"{"a": [{"numeric": ["=", 1, "<", 2]}]}"#,
            r#"{"a": [{"numeric": ["~", 1]}]}"#,
            r#"{"a": [{"numeric": []}]}"#,
            r#"{"a": [{"exists": "yes"}]}"#,
            r#"{"a": [{"anything-but": []}]}"#,
            r#"{"a": [{"anything-but": [null]}]}"#,
            r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#,
            r#"{"a": [{"anything-but": {"equals-ignore-case": []}}]}"#,
        ];
        for pattern in bad {
            let err = Filters::parse(&[pattern]).unwrap_err();
            assert!(err.starts_with(INVALID_PATTERN), "{pattern}: {err}");
            assert!(err.ends_with("(filter 1)"), "{pattern}: {err}");
        }
        let six = vec![r#"{"a":["x"]}"#; MAX_FILTERS + 1];
        assert!(
            Filters::parse(&six)
                .unwrap_err()
                .contains("at most 5 filters")
        );
        assert!(Filters::parse(&six[..MAX_FILTERS]).is_ok());
        let long = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_PATTERN_CHARS));
        assert!(Filters::parse(&[long]).is_err());
        let deep = format!("{}[1]{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        assert!(Filters::parse(&[deep]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            let _ = Filters::parse(&[text]);
        }

        #[test]
        fn parse_and_match_never_panic_on_json_shaped_input(
            text in r#"[{}\[\]":,0-9a-z\- ]{0,120}"#,
            record in r#"[{}\[\]":,0-9a-z\- ]{0,120}"#,
        ) {
            if let Ok(filters) = Filters::parse(&[text]) {
                let record: Value = serde_json::from_str(&record).unwrap_or(Value::Null);
                let _ = filters.matches(&record);
            }
        }

        #[test]
        fn an_exact_pattern_matches_its_own_value(key in "[a-z]{1,8}", value in "\\PC{0,20}") {
            let f = filters(&[json!({ key.clone(): [value.clone()] })]);
            let same = json!({ key.clone(): value.clone() });
            let other = json!({ key: format!("{value}!") });
            prop_assert!(f.matches(&same));
            prop_assert!(!f.matches(&other));
        }
    }
}
