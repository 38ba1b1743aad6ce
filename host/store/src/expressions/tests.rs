//! Tests of the public expression API, with DynamoDB's semantics and messages.

use serde_json::{Value, json};

use super::*;
use crate::value::json::item_from_json;
use crate::value::{AttributeValue, Item, Number};

fn obj(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn ctx(names: Value, values: Value) -> ExpressionContext {
    ExpressionContext::new(obj(names).as_ref(), obj(values).as_ref()).unwrap()
}

fn item(v: Value) -> Item {
    item_from_json(&v).unwrap()
}

fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

fn n(s: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(s).unwrap())
}

// ---- conditions ----

fn check(text: &str, values: Value, it: Option<Value>) -> bool {
    let mut c = ctx(Value::Null, values);
    let cond = c.parse_condition(text, "ConditionExpression").unwrap();
    let it = it.map(item);
    cond.evaluate(it.as_ref()).unwrap()
}

#[test]
fn comparisons_follow_dynamodb_types() {
    let it = json!({"a": {"N": "10"}, "s": {"S": "abc"}, "b": {"B": "AQI="}});
    let v = json!({":ten": {"N": "10.0"}, ":nine": {"N": "9"}, ":s": {"S": "10"}, ":abd": {"S": "abd"}});
    assert!(check("a = :ten", v.clone(), Some(it.clone())));
    assert!(
        !check("a = :s", v.clone(), Some(it.clone())),
        "different types are never equal"
    );
    assert!(check("a <> :s", v.clone(), Some(it.clone())));
    assert!(
        !check("a < :s", v.clone(), Some(it.clone())),
        "different types do not order"
    );
    assert!(check("a > :nine", v.clone(), Some(it.clone())));
    assert!(check(
        "a >= :ten AND a <= :ten",
        v.clone(),
        Some(it.clone())
    ));
    assert!(check("s < :abd", v.clone(), Some(it.clone())));
    assert!(check("absent <> :s", v.clone(), Some(it.clone())));
    assert!(!check("absent = :s", v.clone(), Some(it.clone())));
    assert!(check(
        "a BETWEEN :nine AND :ten",
        v.clone(),
        Some(it.clone())
    ));
    assert!(check("a IN (:s, :ten)", v.clone(), Some(it.clone())));
    assert!(!check("a IN (:s, :nine)", v, Some(it)));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let v = json!({":t": {"BOOL": true}, ":f": {"BOOL": false}});
    let it = Some(json!({"t": {"BOOL": true}}));
    // OR binds loosest: true OR (false AND false)
    assert!(check("t = :t OR t = :f AND t = :f", v.clone(), it.clone()));
    assert!(!check(
        "(t = :t OR t = :f) AND t = :f",
        v.clone(),
        it.clone()
    ));
    // NOT binds tightest: (NOT false) AND true
    assert!(check("NOT t = :f AND t = :t", v.clone(), it.clone()));
    assert!(!check("NOT (t = :f OR t = :t)", v, it));
}

#[test]
fn functions_evaluate_like_dynamodb() {
    let it = Some(json!({
        "s": {"S": "héllo"}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]},
        "l": {"L": [{"S": "x"}, {"N": "3"}]}, "m": {"M": {"k": {"NULL": true}}}, "b": {"B": "AQID"}
    }));
    let v = json!({":x": {"S": "x"}, ":he": {"S": "hé"}, ":ll": {"S": "ll"}, ":two": {"N": "2.0"},
        ":three": {"N": "3"}, ":six": {"N": "6"}, ":S": {"S": "S"}, ":SS": {"S": "SS"}, ":b": {"B": "AgM="},
        ":one": {"N": "1"}});
    assert!(check(
        "attribute_exists(m.k) AND attribute_not_exists(m.z)",
        v.clone(),
        it.clone()
    ));
    assert!(check(
        "attribute_exists(l[1]) AND attribute_not_exists(l[2])",
        v.clone(),
        it.clone()
    ));
    assert!(check(
        "begins_with(s, :he) AND contains(s, :ll)",
        v.clone(),
        it.clone()
    ));
    assert!(check(
        "contains(ss, :x) AND contains(ns, :two) AND contains(l, :three)",
        v.clone(),
        it.clone()
    ));
    assert!(check("contains(b, :b)", v.clone(), it.clone()));
    assert!(!check("contains(ss, :two)", v.clone(), it.clone()));
    assert!(check(
        "attribute_type(s, :S) AND attribute_type(ss, :SS)",
        v.clone(),
        it.clone()
    ));
    // size: UTF-8 bytes of strings ("héllo" is 6 bytes), element counts otherwise.
    assert!(check(
        "size(s) = :six AND size(ss) = :two AND size(m) = :one",
        v.clone(),
        it.clone()
    ));
    assert!(check(
        "size(b) = :three AND size(l) = :two",
        v.clone(),
        it.clone()
    ));
    assert!(!check("size(absent) >= :one", v, it));
}

#[test]
fn missing_item_means_every_path_is_missing() {
    let v = json!({":v": {"S": "x"}});
    assert!(check("attribute_not_exists(id)", v.clone(), None));
    assert!(!check("attribute_exists(id) OR id = :v", v.clone(), None));
    assert!(check("NOT contains(id, :v)", v, None));
}

#[test]
fn names_resolve_and_reserved_words_need_them() {
    let mut c = ctx(json!({"#s": "status"}), json!({":v": {"S": "on"}}));
    let cond = c.parse_condition("#s = :v", "ConditionExpression").unwrap();
    assert!(
        cond.evaluate(Some(&item(json!({"status": {"S": "on"}}))))
            .unwrap()
    );
    c.finish().unwrap();

    let mut c = ctx(Value::Null, json!({":v": {"S": "on"}}));
    assert_eq!(
        err(c.parse_condition("a = :v AND status = :v", "ConditionExpression")),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status at offset 11"
    );
    assert_eq!(
        err(c.parse_condition("#x = :v", "FilterExpression")),
        "Invalid FilterExpression: An expression attribute name used in the document path is not defined; attribute name: #x at offset 0"
    );
    assert_eq!(
        err(c.parse_condition("a = :w", "ConditionExpression")),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :w at offset 4"
    );
}

#[test]
fn condition_syntax_and_semantic_errors() {
    let mut c = ctx(
        Value::Null,
        json!({":v": {"N": "1"}, ":w": {"S": "a"}, ":t": {"S": "XX"}}),
    );
    let mut e = |t: &str| err(c.parse_condition(t, "ConditionExpression"));
    assert_eq!(
        e(""),
        "Invalid ConditionExpression: The expression can not be empty; at offset 0"
    );
    assert_eq!(
        e("a"),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"a\" at offset 1"
    );
    assert_eq!(
        e("a = :v AND"),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\" at offset 10"
    );
    assert_eq!(
        e("a == :v"),
        "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"== :v\" at offset 3"
    );
    assert_eq!(
        e("((a = :v))"),
        "Invalid ConditionExpression: The expression has redundant parentheses; at offset 0"
    );
    assert_eq!(
        e("foo(a)"),
        "Invalid ConditionExpression: Invalid function name; function: foo at offset 0"
    );
    assert_eq!(
        e("size(a)"),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size at offset 0"
    );
    assert_eq!(
        e("attribute_exists(a) = :v"),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists at offset 0"
    );
    assert_eq!(
        e("attribute_exists(a, b)"),
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2 at offset 0"
    );
    assert_eq!(
        e("a = a"),
        "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a] at offset 4"
    );
    assert_eq!(
        e("begins_with(a, :v)"),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N at offset 0"
    );
    assert_eq!(
        e("attribute_type(a, :t)"),
        "Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M} at offset 0"
    );
    assert_eq!(
        e("a BETWEEN :v AND :w"),
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a} at offset 10"
    );
}

#[test]
fn parenthesized_operands_and_conditions_both_parse() {
    let v = json!({":v": {"N": "1"}});
    assert!(check("(a) = :v", v.clone(), Some(json!({"a": {"N": "1"}}))));
    assert!(check("(a = :v)", v.clone(), Some(json!({"a": {"N": "1"}}))));
    assert!(check(
        "(size(a)) = :v AND (NOT a = :v OR a = :v)",
        v,
        Some(json!({"a": {"S": "x"}}))
    ));
}

#[test]
fn in_allows_at_most_100_operands() {
    let values: Map<String, Value> = (0..101)
        .map(|i| (format!(":v{i}"), json!({"N": i.to_string()})))
        .collect();
    let list = |k: usize| {
        (0..k)
            .map(|i| format!(":v{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut c = ExpressionContext::new(None, Some(&values)).unwrap();
    c.parse_condition(&format!("a IN ({})", list(100)), "ConditionExpression")
        .unwrap();
    assert!(
        err(c.parse_condition(&format!("a IN ({})", list(101)), "ConditionExpression"))
            .starts_with("Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101 at offset")
    );
}

#[test]
fn finish_reports_unused_placeholders() {
    let mut c = ctx(
        json!({"#a": "a"}),
        json!({":x": {"S": "x"}, ":y": {"S": "y"}}),
    );
    c.parse_update("SET #a = :x").unwrap();
    assert_eq!(
        err(c.finish()),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:y}"
    );
    c.parse_condition("b = :y", "ConditionExpression").unwrap();
    c.finish().unwrap();
}

// ---- updates ----

fn update(text: &str, values: Value, old: Option<Value>) -> Result<Item> {
    let mut c = ctx(Value::Null, values);
    let u = c.parse_update(text)?;
    let old = old.map(item);
    u.apply(old.as_ref(), &["id"]).map(|(it, _)| it)
}

#[test]
fn exact_decimal_arithmetic_via_set_and_add() {
    let v = json!({":a": {"N": "0.1"}, ":b": {"N": "0.2"}});
    let out = update("SET x = :a + :b", v.clone(), None).unwrap();
    assert_eq!(out.get("x"), Some(&n("0.3")));
    let out = update("ADD x :b", v.clone(), Some(json!({"x": {"N": "0.1"}}))).unwrap();
    assert_eq!(out.get("x"), Some(&n("0.3")));
    let out = update("SET x = x - :a", v, Some(json!({"x": {"N": "0.3"}}))).unwrap();
    assert_eq!(out.get("x"), Some(&n("0.2")));
}

#[test]
fn set_remove_add_delete_apply_together() {
    let old = json!({"id": {"S": "k"}, "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}, "gone": {"S": "x"},
        "l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]}, "m": {"M": {"k": {"S": "v"}}}});
    let v = json!({":one": {"N": "1"}, ":c": {"SS": ["c", "a"]}, ":b": {"SS": ["b"]}, ":new": {"L": [{"N": "4"}]},
        ":s": {"S": "s"}});
    let out = update(
        "REMOVE gone, l[0], l[2] SET m.k2 = :s, l = list_append(l, :new), fresh = if_not_exists(fresh, :one) ADD n :one, tags :c DELETE spare :b",
        v,
        Some(old),
    );
    // l is both REMOVEd (l[0]) and SET: paths overlap.
    assert!(err(out).contains("Two document paths overlap with each other"));

    let old = json!({"n": {"N": "1"}, "tags": {"SS": ["a", "b"]}, "gone": {"S": "x"},
        "l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]}, "m": {"M": {"k": {"S": "v"}}}});
    let v = json!({":one": {"N": "1"}, ":c": {"SS": ["c", "a"]}, ":b": {"SS": ["b"]}, ":s": {"S": "s"}});
    let out = update(
        "REMOVE gone, l[0], l[2] SET m.k2 = :s, fresh = if_not_exists(fresh, :one) ADD n :one, tags :c DELETE spare :b",
        v,
        Some(old),
    )
    .unwrap();
    let expected = item(
        json!({"n": {"N": "2"}, "tags": {"SS": ["a", "b", "c"]}, "fresh": {"N": "1"},
        "l": {"L": [{"N": "1"}, {"N": "3"}]}, "m": {"M": {"k": {"S": "v"}, "k2": {"S": "s"}}}}),
    );
    assert_eq!(out, expected);
}

#[test]
fn set_past_the_end_of_a_list_appends_in_index_order() {
    let v = json!({":a": {"S": "a"}, ":b": {"S": "b"}});
    let out = update(
        "SET l[9] = :b, l[5] = :a",
        v,
        Some(json!({"l": {"L": [{"S": "x"}]}})),
    )
    .unwrap();
    assert_eq!(
        out.get("l"),
        Some(&AttributeValue::L(vec![
            AttributeValue::S("x".into()),
            AttributeValue::S("a".into()),
            AttributeValue::S("b".into())
        ]))
    );
}

#[test]
fn set_operands_read_the_item_before_the_update() {
    let out = update(
        "SET a = b, b = a",
        json!(null),
        Some(json!({"a": {"N": "1"}, "b": {"N": "2"}})),
    )
    .unwrap();
    assert_eq!(out.get("a"), Some(&n("2")));
    assert_eq!(out.get("b"), Some(&n("1")));
}

#[test]
fn delete_of_the_last_elements_removes_the_attribute() {
    let v = json!({":x": {"NS": ["1", "2"]}});
    let out = update(
        "DELETE s :x",
        v,
        Some(json!({"s": {"NS": ["2", "1.0"]}, "k": {"S": "k"}})),
    )
    .unwrap();
    assert_eq!(out, item(json!({"k": {"S": "k"}})));
}

#[test]
fn update_runtime_errors_leave_the_item_alone() {
    let old = json!({"s": {"S": "x"}, "m": {"M": {}}});
    let v = json!({":n": {"N": "1"}, ":ss": {"SS": ["a"]}, ":l": {"L": []}});
    let e = |t: &str| err(update(t, v.clone(), Some(old.clone())));
    assert_eq!(
        e("SET a = nope"),
        "The provided expression refers to an attribute that does not exist in the item"
    );
    assert_eq!(
        e("SET a = s + :n"),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        e("SET a = list_append(s, :l)"),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        e("ADD s :n"),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        e("DELETE s :ss"),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        e("SET x.y = :n"),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        e("SET m.a.b = :n"),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        e("SET s[0] = :n"),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        e("SET id = :n"),
        "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key"
    );
}

#[test]
fn update_parse_errors_use_dynamodb_messages() {
    let mut c = ctx(
        json!({"#a": "a"}),
        json!({":s": {"S": "x"}, ":n": {"N": "1"}}),
    );
    let mut e = |t: &str| err(c.parse_update(t));
    assert_eq!(
        e(""),
        "Invalid UpdateExpression: The expression can not be empty; at offset 0"
    );
    assert_eq!(
        e("SET x"),
        "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"x\" at offset 5"
    );
    assert_eq!(
        e("x = :s"),
        "Invalid UpdateExpression: Syntax error; token: \"x\", near: \"x =\" at offset 0"
    );
    assert_eq!(
        e("ADD x :s"),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING at offset 6"
    );
    assert_eq!(
        e("DELETE x :n"),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER at offset 9"
    );
    assert_eq!(
        e("SET a = :s REMOVE #a.b"),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b] at offset 18"
    );
    assert_eq!(
        e("SET a[1] = :s REMOVE a.b"),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, b] at offset 21"
    );
    assert_eq!(
        e("SET a = :s SET b = :s"),
        "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression; at offset 11"
    );
    assert_eq!(
        e("SET a = :s + :n"),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S at offset 8"
    );
    assert_eq!(
        e("SET a = if_not_exists(:s, :n)"),
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists at offset 8"
    );
    assert_eq!(
        e("SET a = nope(b)"),
        "Invalid UpdateExpression: Invalid function name; function: nope at offset 8"
    );
    assert_eq!(
        e("SET year = :s"),
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: year at offset 4"
    );
}

#[test]
fn touched_attributes_and_updated_paths() {
    let mut c = ctx(Value::Null, json!({":v": {"S": "v"}}));
    let u = c.parse_update("SET m.a = :v REMOVE z").unwrap();
    let old = item(
        json!({"m": {"M": {"a": {"S": "old"}, "b": {"S": "b"}}}, "z": {"S": "z"}, "k": {"S": "k"}}),
    );
    let (new, touched) = u.apply(Some(&old), &[]).unwrap();
    assert_eq!(
        touched.into_iter().collect::<Vec<_>>(),
        vec!["m".to_string(), "z".to_string()]
    );
    let paths = u.updated_paths();
    assert_eq!(
        paths.apply(&old),
        item(json!({"m": {"M": {"a": {"S": "old"}}}, "z": {"S": "z"}}))
    );
    assert_eq!(
        paths.apply(&new),
        item(json!({"m": {"M": {"a": {"S": "v"}}}}))
    );
}

// ---- projections ----

#[test]
fn projections_keep_structure() {
    let mut c = ctx(json!({"#n": "name"}), Value::Null);
    let p = c
        .parse_projection("#n, m.a, l[2], l[0].x, absent, m.zz")
        .unwrap();
    let it = item(json!({"name": {"S": "n"}, "other": {"S": "o"},
        "m": {"M": {"a": {"N": "1"}, "b": {"N": "2"}}},
        "l": {"L": [{"M": {"x": {"S": "x"}, "y": {"S": "y"}}}, {"S": "one"}, {"S": "two"}]}}));
    assert_eq!(
        p.apply(&it),
        item(json!({"name": {"S": "n"}, "m": {"M": {"a": {"N": "1"}}},
            "l": {"L": [{"M": {"x": {"S": "x"}}}, {"S": "two"}]}}))
    );
    c.finish().unwrap();
    assert_eq!(
        err(c.parse_projection("a, a.b")),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b] at offset 3"
    );
    assert!(err(c.parse_projection("a,")).contains("Syntax error; token: \"<EOF>\""));
}

// ---- key conditions ----

fn key(text: &str, sk: Option<&str>) -> Result<KeyCondition> {
    let mut c = ctx(
        json!({"#p": "pk"}),
        json!({":p": {"S": "p"}, ":a": {"N": "1"}, ":b": {"N": "5"}, ":s": {"S": "ab"}}),
    );
    c.parse_key_condition(text, "pk", sk)
}

#[test]
fn key_conditions_reduce_to_partition_and_sort() {
    let k = key("#p = :p AND sk BETWEEN :a AND :b", Some("sk")).unwrap();
    assert_eq!(k.partition, AttributeValue::S("p".into()));
    let sort = k.sort.unwrap();
    assert!(sort.matches(&n("1")) && sort.matches(&n("5")) && !sort.matches(&n("5.5")));
    assert!(!sort.matches(&AttributeValue::S("3".into())));
    let k = key(":a < sk AND pk = :p", Some("sk")).unwrap();
    assert_eq!(k.sort, Some(SortCondition::Gt(n("1"))));
    let k = key("begins_with(sk, :s) AND pk = :p", Some("sk")).unwrap();
    assert!(
        k.sort
            .as_ref()
            .unwrap()
            .matches(&AttributeValue::S("abc".into()))
    );
    assert_eq!(key("pk = :p", Some("sk")).unwrap().sort, None);
    assert_eq!(key("(pk = :p)", None).unwrap().sort, None);
}

#[test]
fn key_condition_errors() {
    assert_eq!(
        err(key("sk = :a", Some("sk"))),
        "Query condition missed key schema element: pk"
    );
    assert_eq!(
        err(key("pk = :p AND x = :a", Some("sk"))),
        "Query condition missed key schema element: sk"
    );
    assert_eq!(
        err(key("pk = :p AND sk = :a", None)),
        "Query key condition not supported"
    );
    assert_eq!(
        err(key("pk < :p", None)),
        "Query key condition not supported"
    );
    assert_eq!(
        err(key("pk = :p OR sk = :a", Some("sk"))),
        "Invalid operator used in KeyConditionExpression: OR"
    );
    assert_eq!(
        err(key("pk <> :p", None)),
        "Invalid operator used in KeyConditionExpression: <>"
    );
    assert_eq!(
        err(key("pk = :p AND contains(sk, :s)", Some("sk"))),
        "Invalid operator used in KeyConditionExpression: contains"
    );
    assert_eq!(
        err(key("pk = :p AND pk = :p", Some("sk"))),
        "KeyConditionExpressions must only contain one condition per key"
    );
    assert_eq!(
        err(key("pk.x = :p", None)),
        "KeyConditionExpressions cannot have conditions on nested attributes"
    );
    assert_eq!(
        err(key("pk = sk", Some("sk"))),
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
    );
    assert_eq!(
        err(key("size(pk) = :a", None)),
        "KeyConditionExpressions cannot contain nested operations"
    );
    assert!(err(key("pk = ", None)).starts_with("Invalid KeyConditionExpression: Syntax error"));
}

// ---- robustness ----

mod props {
    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "size",
        "if_not_exists",
        "list_append",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "a",
        "b",
        "status",
        "#n",
        "#x",
        ":v",
        ":w",
        ":u",
        "(",
        ")",
        "[",
        "]",
        "0",
        "7",
        ".",
        ",",
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        " ",
        "é",
        "!",
    ];

    fn context() -> ExpressionContext {
        ctx(
            json!({"#n": "name"}),
            json!({":v": {"N": "1"}, ":w": {"S": "s"}, ":u": {"SS": ["a"]}}),
        )
    }

    /// Every parse either succeeds or says where the problem is; nothing panics.
    fn exercise(text: &str) {
        let it = item(
            json!({"a": {"L": [{"N": "1"}]}, "b": {"M": {"c": {"S": "x"}}}, "name": {"S": "n"}}),
        );
        let mut c = context();
        let check = |r: Result<()>| {
            if let Err(e) = r {
                let m = e.to_string();
                assert!(
                    m.contains(" at offset "),
                    "no position in {m:?} for {text:?}"
                );
            }
        };
        check(c.parse_condition(text, "ConditionExpression").map(|cond| {
            let _ = cond.evaluate(Some(&it));
            let _ = cond.evaluate(None);
        }));
        check(c.parse_update(text).map(|u| {
            let _ = u.apply(Some(&it), &["k"]);
            let _ = u.apply(None, &[]);
        }));
        check(c.parse_projection(text).map(|p| {
            let _ = p.apply(&it);
        }));
        let _ = c.parse_key_condition(text, "a", Some("b"));
        let _ = c.finish();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,80}") {
            exercise(&text);
        }

        #[test]
        fn expression_shaped_strings_never_panic(words in prop::collection::vec(prop::sample::select(WORDS), 0..40)) {
            exercise(&words.join(" "));
            exercise(&words.concat());
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}a = :v{}", "(".repeat(5000), ")".repeat(5000));
        exercise(&text);
        let text = format!(
            "SET a = {}:v{}",
            "list_append(".repeat(3000),
            ", :v)".repeat(3000)
        );
        exercise(&text);
        let text = "NOT ".repeat(5000) + "a = :v";
        exercise(&text);
    }
}
