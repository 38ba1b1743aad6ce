//! Item sizes as DynamoDB counts them ("Item sizes and formats" in the developer
//! guide, refined by dynalite's `itemSize`, which was checked byte for byte against
//! DynamoDB's 400 KB gate):
//!
//! - an attribute costs the UTF-8 length of its name plus the size of its value;
//! - S: UTF-8 bytes; B: bytes; BOOL, NULL: 1;
//! - N: numbers are stored in base 100, so 1 byte plus one per pair of digits
//!   (pairs aligned on the decimal point), plus 1 if negative; zero is 1 byte;
//! - SS, NS, BS: the sum of the elements;
//! - L: 3 + Σ(1 + element); M: 3 + Σ(1 + key length + element).
//!
//! Also the nesting limit: a value may nest 32 levels, counting itself.

use super::{AttributeValue, Item, Number};
use crate::error::{Result, StoreError};

/// The largest item DynamoDB stores, in bytes as counted by [`item_size`].
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The deepest a value may nest, counting the attribute's own value as level 1.
pub const MAX_NESTING_DEPTH: usize = 32;

/// The size of a whole item: for each attribute, name bytes plus value size.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.size())
        .sum()
}

/// Rejects items over [`MAX_ITEM_BYTES`] with DynamoDB's message.
pub fn check_item_size(item: &Item) -> Result<()> {
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(StoreError::Validation(
            "Item size has exceeded the maximum allowed size".to_string(),
        ));
    }
    Ok(())
}

/// Rejects items with values nested deeper than [`MAX_NESTING_DEPTH`].
pub fn check_item_depth(item: &Item) -> Result<()> {
    if item.values().any(|v| v.depth() > MAX_NESTING_DEPTH) {
        return Err(StoreError::Validation(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
                .to_string(),
        ));
    }
    Ok(())
}

/// DynamoDB's size of a number: one byte of exponent plus one per base-100 digit.
pub fn number_size(n: &Number) -> usize {
    if n.is_zero() {
        return 1;
    }
    let digits = n.significant_digits() as usize;
    // When the leading digit sits at an even power of ten it starts a base-100
    // pair on its own; with an even digit count that spills one more pair.
    let extra = usize::from(digits.is_multiple_of(2) && n.adjusted_exponent() % 2 == 0);
    1 + digits.div_ceil(2) + extra + usize::from(n.is_negative())
}

impl AttributeValue {
    /// The size of this value as DynamoDB counts it (without any attribute name).
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => number_size(n),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::SS(set) => set.iter().map(String::len).sum(),
            AttributeValue::NS(set) => set.iter().map(number_size).sum(),
            AttributeValue::BS(set) => set.iter().map(Vec::len).sum(),
            AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + v.size()).sum::<usize>(),
            AttributeValue::M(map) => 3 + map.len() + item_size(map),
        }
    }

    /// How many levels this value nests, counting itself (a scalar is 1).
    pub fn depth(&self) -> usize {
        match self {
            AttributeValue::L(list) => 1 + list.iter().map(Self::depth).max().unwrap_or(0),
            AttributeValue::M(map) => 1 + map.values().map(Self::depth).max().unwrap_or(0),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).unwrap())
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_string())
    }

    #[test]
    fn numbers_cost_their_base_100_digits() {
        // Literals and sizes measured against DynamoDB (dynalite's putItem tests
        // and dynoxide's eu-west-2 measurements).
        for (literal, size) in [
            ("0", 1),
            ("-0", 1),
            ("1", 2),
            ("12", 2),
            ("123", 3),
            ("1234", 3),
            ("12345", 4),
            ("123456789", 6),
            ("12345678901234567890123456789012345678", 20),
            ("0042", 2),
            ("100", 2),
            ("1010", 3),
            ("0.0000001", 2),
            ("1E125", 2),
            ("1E-100", 2),
            ("1.5", 3),
            ("1.234", 4),
            ("3.14159", 5),
            ("100.5", 4),
            ("0.15", 2),
            ("-42", 3),
            ("-12345", 5),
            ("-1E125", 3),
            ("-0.15", 3),
        ] {
            assert_eq!(num(literal).size(), size, "{literal}");
        }
        let big = format!("{}{}", "1".repeat(38), "0".repeat(88));
        assert_eq!(num(&big).size(), 20);
        assert_eq!(num(&format!("11111{}", "0".repeat(121))).size(), 4);
        assert_eq!(num(&format!("111111{}", "0".repeat(120))).size(), 4);
        assert_eq!(num(&format!("1111111{}", "0".repeat(119))).size(), 5);
    }

    #[test]
    fn strings_count_utf8_bytes() {
        assert_eq!(s("").size(), 0);
        assert_eq!(s("abc").size(), 3);
        assert_eq!(s("é").size(), 2);
        assert_eq!(s("😀").size(), 4);
    }

    #[test]
    fn documents_and_sets() {
        assert_eq!(AttributeValue::Null.size(), 1);
        assert_eq!(AttributeValue::Bool(false).size(), 1);
        assert_eq!(AttributeValue::B(vec![1, 2, 3]).size(), 3);
        assert_eq!(AttributeValue::SS(vec!["ab".into(), "c".into()]).size(), 3);
        assert_eq!(AttributeValue::BS(vec![vec![1], vec![2, 3]]).size(), 3);
        let ns = AttributeValue::NS(vec![
            Number::parse("1").unwrap(),
            Number::parse("-42").unwrap(),
        ]);
        assert_eq!(ns.size(), 5);
        assert_eq!(AttributeValue::L(vec![]).size(), 3);
        assert_eq!(
            AttributeValue::L(vec![s("ab"), AttributeValue::Null]).size(),
            3 + 3 + 2
        );
        let map = Item::from([("ab".to_string(), s("xyz")), ("c".to_string(), num("1"))]);
        assert_eq!(
            AttributeValue::M(map.clone()).size(),
            3 + 2 + (2 + 3) + (1 + 2)
        );
        assert_eq!(item_size(&map), 5 + 3);
    }

    /// dynalite's boundary tests: a key attribute `a` and a filler `b`.
    #[test]
    fn the_400_kb_boundary() {
        let key = "0123456789";
        let item = |filler_len: usize| {
            Item::from([
                ("a".to_string(), s(key)),
                ("b".to_string(), s(&"a".repeat(filler_len))),
            ])
        };
        let fits = item(MAX_ITEM_BYTES - key.len() - 2);
        assert_eq!(item_size(&fits), MAX_ITEM_BYTES);
        assert!(check_item_size(&fits).is_ok());
        let too_big = item(MAX_ITEM_BYTES - key.len() - 1);
        assert_eq!(
            check_item_size(&too_big).unwrap_err().to_string(),
            "Item size has exceeded the maximum allowed size"
        );
    }

    #[test]
    fn nesting_is_limited_to_32_levels() {
        let nest = |levels: usize| {
            let mut v = s("leaf");
            for _ in 0..levels {
                v = AttributeValue::M(Item::from([("n".to_string(), v)]));
            }
            Item::from([("data".to_string(), v)])
        };
        assert!(check_item_depth(&nest(31)).is_ok());
        assert!(
            check_item_depth(&nest(32))
                .unwrap_err()
                .to_string()
                .starts_with("Nesting Levels have exceeded supported limits")
        );
    }
}
