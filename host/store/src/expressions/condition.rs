//! Evaluating conditions with DynamoDB's semantics: values of different types
//! never compare (the comparison is false, not an error), numbers compare
//! numerically, strings and binaries by their bytes, sets ignore order, and a
//! missing item behaves as an item where every path is missing.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{CmpOp, Condition, Operand, Path, PathElem};
use crate::error::Result;
use crate::value::{AttributeValue, Item, Number};

/// The value at `path` in `item`, if there is one.
pub fn lookup<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let mut elems = path.0.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for elem in elems {
        current = match (elem, current) {
            (PathElem::Attr(name), AttributeValue::M(map)) => map.get(name)?,
            (PathElem::Index(ix), AttributeValue::L(list)) => list.get(*ix)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Orders two values of the same orderable type (N, S, B); `None` otherwise.
pub fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// DynamoDB equality: same type and value; sets compare as sets, at any depth.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue::*;
    match (a, b) {
        (SS(x), SS(y)) => same_members(x, y),
        (NS(x), NS(y)) => same_members(x, y),
        (BS(x), BS(y)) => same_members(x, y),
        (L(x), L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (M(x), M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// `size(...)`: string and binary length in bytes, element count of sets,
/// lists and maps; other types have no size (the comparison is then false).
pub fn size_of(value: &AttributeValue) -> Option<AttributeValue> {
    let len = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::SS(s) => s.len(),
        AttributeValue::NS(s) => s.len(),
        AttributeValue::BS(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        _ => return None,
    };
    Number::parse(&len.to_string()).ok().map(AttributeValue::N)
}

fn resolve<'a>(item: Option<&'a Item>, operand: &'a Operand) -> Option<Cow<'a, AttributeValue>> {
    match operand {
        Operand::Path(path) => item.and_then(|i| lookup(i, path)).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(inner) => size_of(resolve(item, inner)?.as_ref()).map(Cow::Owned),
    }
}

fn compare(op: CmpOp, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    let equal = matches!((a, b), (Some(x), Some(y)) if values_equal(x, y));
    let order = match (a, b) {
        (Some(x), Some(y)) => compare_values(x, y),
        _ => None,
    };
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => !equal,
        CmpOp::Lt => order == Some(Ordering::Less),
        CmpOp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
    }
}

fn begins_with(a: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (a, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
        _ => false,
    }
}

fn contains(a: &AttributeValue, needle: &AttributeValue) -> bool {
    match (a, needle) {
        (AttributeValue::S(s), AttributeValue::S(n)) => s.contains(n.as_str()),
        (AttributeValue::B(b), AttributeValue::B(n)) => {
            n.is_empty() || b.windows(n.len()).any(|w| w == n.as_slice())
        }
        (AttributeValue::SS(set), AttributeValue::S(n)) => set.contains(n),
        (AttributeValue::NS(set), AttributeValue::N(n)) => set.contains(n),
        (AttributeValue::BS(set), AttributeValue::B(n)) => set.contains(n),
        (AttributeValue::L(list), n) => list.iter().any(|v| values_equal(v, n)),
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition against `item` (`None`: the item does not exist).
    pub fn evaluate(&self, item: Option<&Item>) -> Result<bool> {
        let get = |op| resolve(item, op);
        Ok(match self {
            Condition::And(a, b) => a.evaluate(item)? && b.evaluate(item)?,
            Condition::Or(a, b) => a.evaluate(item)? || b.evaluate(item)?,
            Condition::Not(a) => !a.evaluate(item)?,
            Condition::Compare(op, a, b) => compare(*op, get(a).as_deref(), get(b).as_deref()),
            Condition::Between(v, lo, hi) => match (get(v), get(lo), get(hi)) {
                (Some(v), Some(lo), Some(hi)) => {
                    matches!(
                        compare_values(&v, &lo),
                        Some(Ordering::Greater | Ordering::Equal)
                    ) && matches!(
                        compare_values(&v, &hi),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                }
                _ => false,
            },
            Condition::In(v, list) => get(v).is_some_and(|v| {
                list.iter()
                    .any(|o| get(o).is_some_and(|o| values_equal(&v, &o)))
            }),
            Condition::AttributeExists(path) => item.and_then(|i| lookup(i, path)).is_some(),
            Condition::AttributeNotExists(path) => item.and_then(|i| lookup(i, path)).is_none(),
            Condition::AttributeType(a, t) => match (get(a), get(t)) {
                (Some(a), Some(t)) => {
                    matches!(&*t, AttributeValue::S(name) if name == a.type_name())
                }
                _ => false,
            },
            Condition::BeginsWith(a, p) => {
                matches!((get(a), get(p)), (Some(a), Some(p)) if begins_with(&a, &p))
            }
            Condition::Contains(a, n) => {
                matches!((get(a), get(n)), (Some(a), Some(n)) if contains(&a, &n))
            }
        })
    }
}
