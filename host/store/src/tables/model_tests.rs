//! Model-based test: random puts, conditional updates (SET / ADD), deletes and
//! paged queries against a BTreeMap reference, checking after every write the
//! change record it produced (INSERT / MODIFY / REMOVE, none for a no-op).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::tests::{item, open};
use super::*;
use crate::value::json::item_to_json;
use crate::value::keys::KeyType;
use crate::{Item, Store, StoreError};

#[derive(Debug, Clone)]
enum Op {
    Put(u8, i8, u8),
    SetV(u8, i8, u8, bool),
    AddC(u8, i8, i8),
    Delete(u8, i8),
    Query(u8, u32, bool),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let (pk, sk) = (0u8..3, -3i8..4);
    prop_oneof![
        (pk.clone(), sk.clone(), 0u8..3).prop_map(|(p, s, v)| Op::Put(p, s, v)),
        (pk.clone(), sk.clone(), 0u8..3, any::<bool>())
            .prop_map(|(p, s, v, c)| Op::SetV(p, s, v, c)),
        (pk.clone(), sk.clone(), -2i8..3).prop_map(|(p, s, n)| Op::AddC(p, s, n)),
        (pk.clone(), sk).prop_map(|(p, s)| Op::Delete(p, s)),
        (pk, 1u32..4, any::<bool>()).prop_map(|(p, l, f)| Op::Query(p, l, f)),
    ]
}

fn key(p: u8, s: i8) -> Value {
    json!({"pk": {"S": format!("p{p}")}, "sk": {"N": s.to_string()}})
}

type Model = BTreeMap<(u8, i8), Value>;

fn update(
    store: &Store,
    p: u8,
    s: i8,
    expr: &str,
    cond: Option<&str>,
    values: Value,
) -> crate::Result<Option<Item>> {
    update_item(
        store,
        UpdateItemRequest {
            table: "model".into(),
            key: item(key(p, s)),
            update: Some(expr.into()),
            condition: cond.map(str::to_string),
            expressions: ExpressionMaps {
                names: None,
                values: values.as_object().cloned(),
            },
            ..Default::default()
        },
    )
}

/// Applies a write to the store and the model; returns (old, new) per the model.
fn write(store: &Store, model: &mut Model, op: &Op) -> (Option<Value>, Option<Value>) {
    let k = |p: u8, s: i8| (p, s);
    match *op {
        Op::Put(p, s, v) => {
            let mut new = key(p, s);
            new["v"] = json!({"N": v.to_string()});
            put_item(
                store,
                PutItemRequest {
                    table: "model".into(),
                    item: item(new.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            (model.insert(k(p, s), new.clone()), Some(new))
        }
        Op::SetV(p, s, v, must_exist) => {
            let cond = must_exist.then_some("attribute_exists(pk)");
            let result = update(
                store,
                p,
                s,
                "SET v = :v",
                cond,
                json!({":v": {"N": v.to_string()}}),
            );
            let old = model.get(&k(p, s)).cloned();
            if must_exist && old.is_none() {
                assert!(matches!(
                    result,
                    Err(StoreError::ConditionalCheckFailed { .. })
                ));
                return (None, None);
            }
            result.unwrap();
            let mut new = old.clone().unwrap_or_else(|| key(p, s));
            new["v"] = json!({"N": v.to_string()});
            model.insert(k(p, s), new.clone());
            (old, Some(new))
        }
        Op::AddC(p, s, n) => {
            update(
                store,
                p,
                s,
                "ADD c :n",
                None,
                json!({":n": {"N": n.to_string()}}),
            )
            .unwrap();
            let old = model.get(&k(p, s)).cloned();
            let mut new = old.clone().unwrap_or_else(|| key(p, s));
            let current: i64 = new["c"]["N"].as_str().map_or(0, |t| t.parse().unwrap());
            new["c"] = json!({"N": (current + i64::from(n)).to_string()});
            model.insert(k(p, s), new.clone());
            (old, Some(new))
        }
        Op::Delete(p, s) => {
            delete_item(
                store,
                DeleteItemRequest {
                    table: "model".into(),
                    key: item(key(p, s)),
                    ..Default::default()
                },
            )
            .unwrap();
            (model.remove(&k(p, s)), None)
        }
        Op::Query(..) => (None, None),
    }
}

fn check_query(store: &Store, model: &Model, p: u8, limit: u32, forward: bool) {
    let mut expected: Vec<Value> = model
        .range((p, i8::MIN)..=(p, i8::MAX))
        .map(|(_, v)| v.clone())
        .collect();
    if !forward {
        expected.reverse();
    }
    let mut got = Vec::new();
    let mut start = None;
    loop {
        let page = query(
            store,
            &QueryRequest {
                table: "model".into(),
                key_condition: "pk = :p".into(),
                expressions: ExpressionMaps {
                    names: None,
                    values: json!({":p": {"S": format!("p{p}")}}).as_object().cloned(),
                },
                limit: Some(limit),
                exclusive_start_key: start,
                forward,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(page.scanned_count <= limit as usize);
        got.extend(page.items.iter().map(item_to_json));
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
        assert!(got.len() <= expected.len(), "paging must terminate");
    }
    assert_eq!(got, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tables_behave_like_a_sorted_map(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let (_dir, store) = open();
        create_table(&store, CreateTable {
            name: "model".into(),
            partition_key: KeyAttr { name: "pk".into(), key_type: KeyType::S },
            sort_key: Some(KeyAttr { name: "sk".into(), key_type: KeyType::N }),
            billing: BillingMode::PayPerRequest,
            stream: Some(StreamViewType::NewAndOldImages),
        }).unwrap();
        let log = change_log(&store, "model").unwrap().unwrap().log;
        let mut model = Model::new();
        let mut last_seq = 0;
        for op in &ops {
            if let Op::Query(p, limit, forward) = *op {
                check_query(&store, &model, p, limit, forward);
                continue;
            }
            let (old, new) = write(&store, &mut model, op);
            let records = read_changes(&store, log, last_seq, 10).unwrap();
            let expected = match (&old, &new) {
                (None, Some(_)) => Some("INSERT"),
                (Some(a), Some(b)) if a != b => Some("MODIFY"),
                (Some(_), None) => Some("REMOVE"),
                _ => None,
            };
            prop_assert_eq!(records.len(), usize::from(expected.is_some()), "{:?}", op);
            if let Some(record) = records.first() {
                last_seq = record.sequence;
                let body = &record.event["dynamodb"];
                prop_assert_eq!(record.event["eventName"].as_str(), expected);
                prop_assert_eq!(body.get("NewImage"), new.as_ref());
                prop_assert_eq!(body.get("OldImage"), old.as_ref());
            }
        }
        let described = describe_table(&store, "model").unwrap();
        prop_assert_eq!(described.item_count, model.len() as u64);
        let bytes: usize = model.values().map(|v| crate::value::size::item_size(&item(v.clone()))).sum();
        prop_assert_eq!(described.size_bytes, bytes as u64);
    }
}
