//! A small per-thread cache of parsed UpdateExpressions.
//!
//! A trigger that calls UpdateItem once per record sends the same expression
//! text with new values each time (the lab's aggregator: `ADD Score
//! :attrValue`); tokenizing and parsing it again was ~8% of the trigger
//! phase's invocation CPU. What a parse yields depends on the text, the
//! ExpressionAttributeNames, and of the ExpressionAttributeValues only on
//! which keys are defined and each value's type (ADD, DELETE, `+`, `-` and
//! list_append check their operands' types), so exactly that is the cache
//! key. The values themselves go into the cached tree on every use, in the
//! order the parse resolved them, and the placeholders it resolved are marked
//! used, so `finish` reports unused ones exactly as after a fresh parse. Only
//! successful parses are cached: an invalid expression is parsed (and
//! rejected with the same message) every time. Conditions are not cached:
//! `attribute_type` checks its operand's content.
//!
//! Per thread rather than shared: no lock on the hot path, and the store's
//! UpdateItem and every invocation overlay on a thread share it. Bounded by
//! `CAPACITY` entries of at most `MAX_KEY_BYTES` of text and names each; the
//! cached trees hold no values (they are emptied to NULL), so a large value
//! is never kept alive by the cache.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::names::{Placeholders, Trace};
use super::update::Update;
use crate::value::AttributeValue;

/// Entries kept per thread; the oldest is dropped first.
const CAPACITY: usize = 32;

/// The most text plus names bytes a cached entry may hold (DynamoDB's own
/// limit on an expression is 4 KB).
const MAX_KEY_BYTES: usize = 8 * 1024;

struct Entry {
    text: String,
    names: BTreeMap<String, String>,
    /// Every defined value key with its value's type name, in key order.
    value_types: Vec<(String, &'static str)>,
    /// The parsed update with every value set to NULL.
    template: Update,
    trace: Trace,
}

impl Entry {
    fn matches(&self, text: &str, placeholders: &Placeholders) -> bool {
        let values = placeholders.values();
        self.text == text
            && self.value_types.len() == values.len()
            && self
                .value_types
                .iter()
                .zip(values)
                .all(|((k, t), (key, v))| k == key && *t == v.type_name())
            && self.names == *placeholders.names()
    }
}

thread_local! {
    static CACHE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The update `text` parses to with `placeholders`, if a parse of it with the
/// same names and value types is cached; marks its placeholders used.
pub(crate) fn lookup(text: &str, placeholders: &mut Placeholders) -> Option<Update> {
    CACHE.with(|cache| {
        let cache = cache.borrow();
        let entry = cache.iter().find(|e| e.matches(text, placeholders))?;
        let mut update = entry.template.clone();
        let slots = update.values_mut();
        if slots.len() != entry.trace.values.len() {
            return None;
        }
        for (slot, key) in slots.into_iter().zip(&entry.trace.values) {
            *slot = placeholders.values().get(key)?.clone();
        }
        placeholders.mark_used(&entry.trace);
        Some(update)
    })
}

/// Remembers that `text` parsed to `update` with `placeholders`, resolving
/// what `trace` says. Not cached when too large, or when the values of
/// `update` are not exactly those `trace` resolved (then a later use could not
/// put its own values in the right places).
pub(crate) fn insert(text: &str, placeholders: &Placeholders, update: &Update, trace: Trace) {
    let names_bytes: usize = placeholders
        .names()
        .iter()
        .map(|(k, v)| k.len().saturating_add(v.len()))
        .fold(0, usize::saturating_add);
    if text.len().saturating_add(names_bytes) > MAX_KEY_BYTES {
        return;
    }
    let mut template = update.clone();
    let slots = template.values_mut();
    let values = placeholders.values();
    if slots.len() != trace.values.len()
        || !slots
            .iter()
            .zip(&trace.values)
            .all(|(slot, key)| values.get(key) == Some(&**slot))
    {
        return;
    }
    for slot in slots {
        *slot = AttributeValue::Null;
    }
    let entry = Entry {
        text: text.to_string(),
        names: placeholders.names().clone(),
        value_types: values
            .iter()
            .map(|(k, v)| (k.clone(), v.type_name()))
            .collect(),
        template,
        trace,
    };
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= CAPACITY {
            cache.remove(0);
        }
        cache.push(entry);
    });
}

#[cfg(test)]
pub(crate) fn len() -> usize {
    CACHE.with(|cache| cache.borrow().len())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::super::ExpressionContext;
    use super::*;
    use crate::error::Result;

    fn obj(v: Value) -> Option<Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Parses `text` and runs `finish`, as UpdateItem does.
    fn parse(text: &str, names: &Value, values: &Value) -> Result<Update> {
        let (names, values) = (obj(names.clone()), obj(values.clone()));
        let mut cx = ExpressionContext::new(names.as_ref(), values.as_ref())?;
        let update = cx.parse_update(text)?;
        cx.finish()?;
        Ok(update)
    }

    /// The same, on a new thread: always a fresh parse (the cache is empty).
    fn fresh(text: &str, names: &Value, values: &Value) -> Result<Update> {
        let (text, names, values) = (text.to_string(), names.clone(), values.clone());
        std::thread::spawn(move || parse(&text, &names, &values))
            .join()
            .unwrap()
    }

    const TEXT: &str = "SET a = :x + :y, #b = list_append(:l, if_not_exists(c, :m)) ADD n :x DELETE s :set REMOVE r";

    fn values(x: &str, y: &str, l: &str) -> Value {
        json!({
            ":x": {"N": x}, ":y": {"N": y}, ":l": {"L": [{"S": l}]},
            ":m": {"L": []}, ":set": {"SS": [l]}
        })
    }

    #[test]
    fn a_hit_puts_this_requests_values_in_their_places() {
        let names = json!({"#b": "b"});
        let first = parse(TEXT, &names, &values("1", "2", "p")).unwrap();
        assert_eq!(first, fresh(TEXT, &names, &values("1", "2", "p")).unwrap());
        let cached = len();
        assert!(cached > 0, "the first parse was cached");
        let second = parse(TEXT, &names, &values("7", "-3.5", "q")).unwrap();
        assert_eq!(len(), cached, "the second parse was a hit");
        assert_eq!(
            second,
            fresh(TEXT, &names, &values("7", "-3.5", "q")).unwrap()
        );
        assert_ne!(first, second);
        // Other names are another entry, resolving to other attributes.
        let other = json!({"#b": "bb"});
        let third = parse(TEXT, &other, &values("7", "-3.5", "q")).unwrap();
        assert_eq!(
            third,
            fresh(TEXT, &other, &values("7", "-3.5", "q")).unwrap()
        );
        assert_ne!(third, second);
    }

    #[test]
    fn errors_are_the_same_on_every_call() {
        let message = |text: &str, names: Value, values: Value| {
            let got = parse(text, &names, &values).map_err(|e| e.to_string());
            assert_eq!(got, fresh(text, &names, &values).map_err(|e| e.to_string()));
            got.unwrap_err()
        };
        for _ in 0..2 {
            // Parsed fine, then an unused value: cached, and still reported.
            let unused = message(
                "ADD n :v",
                Value::Null,
                json!({":v": {"N": "1"}, ":w": {"N": "2"}}),
            );
            assert!(
                unused.contains("unused in expressions: keys: {:w}"),
                "{unused}"
            );
            let unused = message("ADD n :v", json!({"#u": "u"}), json!({":v": {"N": "1"}}));
            assert!(
                unused.contains("ExpressionAttributeNames unused"),
                "{unused}"
            );
            // The same text with a value of another type is another entry.
            let wrong = message("ADD n :v", Value::Null, json!({":v": {"S": "1"}}));
            assert!(wrong.contains("operand type: STRING"), "{wrong}");
            let undefined = message("ADD n :v", Value::Null, json!({":w": {"N": "1"}}));
            assert!(undefined.contains("not defined"), "{undefined}");
            let syntax = message("ADD n :v :v", Value::Null, json!({":v": {"N": "1"}}));
            assert!(syntax.contains("Syntax error"), "{syntax}");
        }
    }

    #[test]
    fn failed_parses_are_not_cached_and_the_cache_is_bounded() {
        std::thread::spawn(|| {
            let values = json!({":v": {"N": "1"}});
            assert!(parse("ADD n :v, n :v", &Value::Null, &values).is_err());
            assert_eq!(len(), 0);
            for i in 0..CAPACITY + 5 {
                parse(&format!("ADD n{i} :v"), &Value::Null, &values).unwrap();
            }
            assert_eq!(len(), CAPACITY);
        })
        .join()
        .unwrap();
    }
}
