//! Proptest strategies for attribute values, shared by every test in the crate
//! that needs arbitrary numbers, values or items.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::{AttributeValue, Item, Number};

/// Any valid DynamoDB number: zero, small everyday values, and values anywhere in
/// the range with 1 to 38 significant digits.
pub fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        1 => Just(Number::ZERO),
        3 => (any::<i32>(), -6i32..=6).prop_map(|(c, e)| number(i128::from(c), e)),
        3 => (1u32..=38, any::<u128>(), any::<bool>(), -130i32..=125).prop_map(
            |(digits, raw, negative, adjusted)| {
                let low = 10u128.pow(digits - 1);
                let coefficient = low + raw % (low * 9);
                let signed = if negative { -(coefficient as i128) } else { coefficient as i128 };
                number(signed, adjusted - (digits as i32 - 1))
            }
        ),
    ]
}

fn number(coefficient: i128, exponent: i32) -> Number {
    Number::parse(&format!("{coefficient}e{exponent}")).unwrap_or_else(|e| {
        panic!("strategy built an invalid number {coefficient}e{exponent}: {e}")
    })
}

/// A non-empty set built from `element`, without duplicates (order kept).
fn arb_set<T: Clone + PartialEq + std::fmt::Debug>(
    element: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T>> {
    vec(element, 1..5).prop_map(|items| {
        let mut set: Vec<T> = Vec::with_capacity(items.len());
        for item in items {
            if !set.contains(&item) {
                set.push(item);
            }
        }
        set
    })
}

/// Attribute names: short, sometimes non-ASCII.
pub fn arb_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_é#:.]{1,8}"
}

/// Any scalar value or set (no M or L).
pub fn arb_scalar() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        ".{0,12}".prop_map(AttributeValue::S),
        arb_number().prop_map(AttributeValue::N),
        vec(any::<u8>(), 0..12).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        arb_set(".{0,6}").prop_map(AttributeValue::SS),
        arb_set(arb_number()).prop_map(AttributeValue::NS),
        arb_set(vec(any::<u8>(), 0..6)).prop_map(AttributeValue::BS),
    ]
}

/// Any valid attribute value, including nested M and L a few levels deep.
pub fn arb_attribute_value() -> impl Strategy<Value = AttributeValue> {
    arb_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            btree_map(arb_name(), inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

/// Any item of up to 6 attributes.
pub fn arb_item() -> impl Strategy<Value = Item> {
    btree_map(arb_name(), arb_attribute_value(), 0..6)
}
