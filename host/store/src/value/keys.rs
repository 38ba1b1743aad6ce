//! Primary keys: their types, DynamoDB's validation of key values, and their
//! encoding as the byte half of the items table's `(table id, bytes)` key.
//!
//! Encoded key = partition part ‖ sort part.
//! - Partition part: a type byte, the value's length as u32 big-endian, the value
//!   bytes. Being length-prefixed it is self-delimiting, so all items of one
//!   partition form one contiguous range that starts with [`partition_prefix`],
//!   and no two partition keys share a prefix.
//! - Sort part: the sort key's order-preserving bytes ([`sort_key_bytes`]): UTF-8
//!   for S and raw bytes for B (DynamoDB orders both bytewise, unsigned), and
//!   [`Number::key_bytes`](super::Number::key_bytes) for N. It ends the key, so
//!   it needs no delimiter, and range bounds on it are plain byte ranges.

use std::fmt;
use std::str::FromStr;

use super::AttributeValue;
use crate::error::{Result, StoreError};

/// Largest partition key value, in bytes (UTF-8 for S).
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// Largest sort key value, in bytes (UTF-8 for S).
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// The scalar types a key attribute may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    /// "S", "N" or "B".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }

    /// The key type of a value, if it is a string, number or binary.
    pub fn of(value: &AttributeValue) -> Option<KeyType> {
        match value {
            AttributeValue::S(_) => Some(KeyType::S),
            AttributeValue::N(_) => Some(KeyType::N),
            AttributeValue::B(_) => Some(KeyType::B),
            _ => None,
        }
    }

    /// Byte that tags the partition part (keeps S "1" and N 1 apart should a
    /// table ever mix them).
    fn tag(self) -> u8 {
        match self {
            KeyType::S => b'S',
            KeyType::N => b'N',
            KeyType::B => b'B',
        }
    }
}

impl FromStr for KeyType {
    type Err = StoreError;

    /// Parses an AttributeType ("S", "N" or "B").
    fn from_str(text: &str) -> Result<KeyType> {
        match text {
            "S" => Ok(KeyType::S),
            "N" => Ok(KeyType::N),
            "B" => Ok(KeyType::B),
            other => Err(StoreError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            ))),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn invalid(message: String) -> StoreError {
    StoreError::Validation(message)
}

/// Checks a key attribute of an item (PutItem's Item), with PutItem's messages:
/// the type must match the schema and S/B must not be empty.
pub fn check_key_value(name: &str, expected: KeyType, value: &AttributeValue) -> Result<()> {
    if KeyType::of(value) != Some(expected) {
        return Err(invalid(format!(
            "One or more parameter values were invalid: Type mismatch for key {name} expected: {expected} actual: {}",
            value.type_name()
        )));
    }
    if let Some(kind) = empty_kind(value) {
        return Err(invalid(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
        )));
    }
    Ok(())
}

/// Checks one element of a `Key` parameter (GetItem, DeleteItem, UpdateItem,
/// ExclusiveStartKey), with the messages DynamoDB uses there.
pub fn check_key_element(name: &str, expected: KeyType, value: &AttributeValue) -> Result<()> {
    if KeyType::of(value) != Some(expected) {
        return Err(invalid(
            "The provided key element does not match the schema".to_string(),
        ));
    }
    if let Some(kind) = empty_kind(value) {
        return Err(invalid(format!(
            "One or more parameter values were invalid: The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
        )));
    }
    Ok(())
}

/// "string" or "binary" when the value is an empty S or B.
fn empty_kind(value: &AttributeValue) -> Option<&'static str> {
    match value {
        AttributeValue::S(s) if s.is_empty() => Some("string"),
        AttributeValue::B(b) if b.is_empty() => Some("binary"),
        _ => None,
    }
}

/// Checks the size limit of a partition (`is_partition`) or sort key value.
/// Numbers are always within limits (at most 38 digits).
pub fn check_key_size(is_partition: bool, value: &AttributeValue) -> Result<()> {
    let len = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        _ => return Ok(()),
    };
    if is_partition && len > MAX_PARTITION_KEY_BYTES {
        return Err(invalid(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
                .to_string(),
        ));
    }
    if !is_partition && len > MAX_SORT_KEY_BYTES {
        return Err(invalid(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
                .to_string(),
        ));
    }
    Ok(())
}

/// The order-preserving bytes of a key value. Non-key types (which validation
/// rejects before encoding) fall back to their codec bytes, so encoding stays
/// total and deterministic.
fn value_bytes(value: &AttributeValue) -> Vec<u8> {
    match value {
        AttributeValue::S(s) => s.as_bytes().to_vec(),
        AttributeValue::B(b) => b.clone(),
        AttributeValue::N(n) => n.key_bytes(),
        other => super::codec::encode_value(other),
    }
}

/// The bytes every key of the partition `pk` starts with.
pub fn partition_prefix(pk: &AttributeValue) -> Vec<u8> {
    let bytes = value_bytes(pk);
    let tag = KeyType::of(pk).map_or(0, KeyType::tag);
    // Key values are at most 2048 bytes after validation; saturate rather than
    // wrap should an unvalidated giant ever reach here.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(5 + bytes.len());
    out.push(tag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes);
    out
}

/// The sort part of a key: what follows [`partition_prefix`]. Byte order equals
/// DynamoDB's sort order for values of one key type.
pub fn sort_key_bytes(sk: &AttributeValue) -> Vec<u8> {
    value_bytes(sk)
}

/// The full encoded primary key: partition part, then the sort part if the table
/// has a sort key.
pub fn encode_key(pk: &AttributeValue, sk: Option<&AttributeValue>) -> Vec<u8> {
    let mut out = partition_prefix(pk);
    if let Some(sk) = sk {
        out.extend_from_slice(&sort_key_bytes(sk));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::value::Number;
    use crate::value::testing::arb_number;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_string())
    }

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).unwrap())
    }

    fn message(result: Result<()>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn key_types_parse_and_print() {
        for t in [KeyType::S, KeyType::N, KeyType::B] {
            assert_eq!(t.as_str().parse::<KeyType>().unwrap(), t);
        }
        assert!("BOOL".parse::<KeyType>().is_err());
        assert_eq!(KeyType::of(&AttributeValue::Null), None);
    }

    #[test]
    fn item_key_messages_match_dynamodb() {
        assert_eq!(
            message(check_key_value("RecordID", KeyType::N, &s("x"))),
            "One or more parameter values were invalid: Type mismatch for key RecordID expected: N actual: S"
        );
        assert_eq!(
            message(check_key_value(
                "a",
                KeyType::S,
                &AttributeValue::SS(vec!["a".into()])
            )),
            "One or more parameter values were invalid: Type mismatch for key a expected: S actual: SS"
        );
        assert_eq!(
            message(check_key_value("X", KeyType::S, &s(""))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: X"
        );
        assert_eq!(
            message(check_key_value("b", KeyType::B, &AttributeValue::B(vec![]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: b"
        );
        assert!(check_key_value("a", KeyType::N, &n("0")).is_ok());
    }

    #[test]
    fn key_element_messages_match_dynamodb() {
        assert_eq!(
            message(check_key_element("a", KeyType::S, &n("1"))),
            "The provided key element does not match the schema"
        );
        assert_eq!(
            message(check_key_element("a", KeyType::S, &s(""))),
            "One or more parameter values were invalid: The AttributeValue for a key attribute cannot contain an empty string value. Key: a"
        );
    }

    #[test]
    fn key_size_limits() {
        assert!(check_key_size(true, &s(&"a".repeat(2048))).is_ok());
        assert_eq!(
            message(check_key_size(true, &s(&"a".repeat(2049)))),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        assert!(check_key_size(false, &AttributeValue::B(vec![0; 1024])).is_ok());
        assert_eq!(
            message(check_key_size(false, &s(&"é".repeat(513)))),
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        );
        assert!(check_key_size(true, &n("9.9999999999999999999999999999999999999E+125")).is_ok());
    }

    #[test]
    fn sort_keys_follow_the_partition_prefix() {
        let key = encode_key(&s("p"), Some(&s("sk")));
        assert!(key.starts_with(&partition_prefix(&s("p"))));
        assert_eq!(
            &key[partition_prefix(&s("p")).len()..],
            sort_key_bytes(&s("sk")).as_slice()
        );
        assert_eq!(encode_key(&s("p"), None), partition_prefix(&s("p")));
    }

    fn arb_key_value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            ".{0,6}".prop_map(AttributeValue::S),
            "[ab]{0,4}".prop_map(AttributeValue::S),
            arb_number().prop_map(AttributeValue::N),
            vec(any::<u8>(), 0..6).prop_map(AttributeValue::B),
            vec(0u8..3, 0..4).prop_map(AttributeValue::B),
        ]
    }

    /// DynamoDB's order for two sort keys of one type.
    fn dynamodb_cmp(a: &AttributeValue, b: &AttributeValue) -> Option<std::cmp::Ordering> {
        match (a, b) {
            (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
            (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
            (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
            _ => None,
        }
    }

    proptest! {
        #[test]
        fn encoded_order_is_dynamodb_order(pk in arb_key_value(), a in arb_key_value(), b in arb_key_value()) {
            if let Some(expected) = dynamodb_cmp(&a, &b) {
                prop_assert_eq!(encode_key(&pk, Some(&a)).cmp(&encode_key(&pk, Some(&b))), expected);
                prop_assert_eq!(sort_key_bytes(&a).cmp(&sort_key_bytes(&b)), expected);
            }
        }

        #[test]
        fn partitions_never_collide(p in arb_key_value(), q in arb_key_value(), ps in arb_key_value(), qs in arb_key_value()) {
            prop_assume!(p != q);
            let (pp, qp) = (partition_prefix(&p), partition_prefix(&q));
            prop_assert!(!pp.starts_with(&qp) && !qp.starts_with(&pp));
            // So no key of one partition falls in the other's range.
            prop_assert!(!encode_key(&p, Some(&ps)).starts_with(&qp));
            prop_assert!(!encode_key(&q, Some(&qs)).starts_with(&pp));
        }
    }
}
