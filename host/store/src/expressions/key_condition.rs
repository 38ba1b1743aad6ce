//! KeyConditionExpression: parsed with the condition grammar, then reduced to
//! "partition key = :v [AND one sort key condition]" with DynamoDB's messages
//! for everything else. Attribute types against the key schema are the table
//! layer's check ("Condition parameter type does not match schema type").

use std::cmp::Ordering;

use super::ast::{CmpOp, Condition, Operand, Path};
use super::condition::compare_values;
use crate::error::{Result, StoreError};
use crate::value::AttributeValue;

/// The key condition of a Query.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCondition {
    /// The partition key value (always an equality).
    pub partition: AttributeValue,
    /// The condition on the sort key, if any.
    pub sort: Option<SortCondition>,
}

/// A condition on the sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl SortCondition {
    /// True when the sort key value `v` satisfies the condition. Values of a
    /// different type never match.
    pub fn matches(&self, v: &AttributeValue) -> bool {
        let cmp = |bound: &AttributeValue| compare_values(v, bound);
        match self {
            SortCondition::Eq(b) => cmp(b) == Some(Ordering::Equal),
            SortCondition::Lt(b) => cmp(b) == Some(Ordering::Less),
            SortCondition::Le(b) => matches!(cmp(b), Some(Ordering::Less | Ordering::Equal)),
            SortCondition::Gt(b) => cmp(b) == Some(Ordering::Greater),
            SortCondition::Ge(b) => matches!(cmp(b), Some(Ordering::Greater | Ordering::Equal)),
            SortCondition::Between(lo, hi) => {
                matches!(cmp(lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(hi), Some(Ordering::Less | Ordering::Equal))
            }
            SortCondition::BeginsWith(prefix) => match (v, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
                _ => false,
            },
        }
    }
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Validation(message.into())
}

/// One leaf of the key condition: which attribute, and its condition.
struct Leaf {
    name: String,
    condition: SortCondition,
}

/// Reduces a parsed condition to a key condition for the given key schema.
pub fn convert(cond: &Condition, pk: &str, sk: Option<&str>) -> Result<KeyCondition> {
    let mut leaves = Vec::new();
    collect(cond, &mut leaves)?;
    if leaves.len() > 2 {
        return Err(invalid("Conditions can be of length 1 or 2 only"));
    }
    let find = |name: &str| leaves.iter().position(|l| l.name == name);
    if sk.is_none() && leaves.len() > 1 {
        return Err(invalid("Query key condition not supported"));
    }
    let Some(p) = find(pk) else {
        return Err(invalid(format!(
            "Query condition missed key schema element: {pk}"
        )));
    };
    let s = match sk {
        Some(sk) => match find(sk) {
            Some(ix) => Some(ix),
            None if leaves.len() > 1 => {
                return Err(invalid(format!(
                    "Query condition missed key schema element: {sk}"
                )));
            }
            None => None,
        },
        None => None,
    };
    let mut leaves: Vec<Option<Leaf>> = leaves.into_iter().map(Some).collect();
    let partition = match leaves
        .get_mut(p)
        .and_then(Option::take)
        .map(|l| l.condition)
    {
        Some(SortCondition::Eq(v)) => v,
        _ => return Err(invalid("Query key condition not supported")),
    };
    let sort = s
        .and_then(|ix| leaves.get_mut(ix).and_then(Option::take))
        .map(|l| l.condition);
    Ok(KeyCondition { partition, sort })
}

fn not_allowed(name: &str) -> StoreError {
    invalid(format!(
        "Invalid operator used in KeyConditionExpression: {name}"
    ))
}

fn collect(cond: &Condition, leaves: &mut Vec<Leaf>) -> Result<()> {
    let leaf = match cond {
        Condition::And(a, b) => {
            collect(a, leaves)?;
            return collect(b, leaves);
        }
        Condition::Or(..) => return Err(not_allowed("OR")),
        Condition::Not(..) => return Err(not_allowed("NOT")),
        Condition::In(..) => return Err(not_allowed("IN")),
        Condition::Compare(CmpOp::Ne, ..) => return Err(not_allowed("<>")),
        Condition::AttributeExists(_) => return Err(not_allowed("attribute_exists")),
        Condition::AttributeNotExists(_) => return Err(not_allowed("attribute_not_exists")),
        Condition::AttributeType(..) => return Err(not_allowed("attribute_type")),
        Condition::Contains(..) => return Err(not_allowed("contains")),
        Condition::Compare(op, a, b) => compare_leaf(*op, a, b)?,
        Condition::Between(a, lo, hi) => {
            let name = first_operand_key(a, "BETWEEN", &[lo, hi])?;
            Leaf {
                name,
                condition: SortCondition::Between(value(lo)?, value(hi)?),
            }
        }
        Condition::BeginsWith(a, prefix) => {
            let name = first_operand_key(a, "begins_with", &[prefix])?;
            Leaf {
                name,
                condition: SortCondition::BeginsWith(value(prefix)?),
            }
        }
    };
    if leaves.iter().any(|l| l.name == leaf.name) {
        return Err(invalid(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    leaves.push(leaf);
    Ok(())
}

fn check_no_size(ops: &[&Operand]) -> Result<()> {
    if ops.iter().any(|o| matches!(o, Operand::Size(_))) {
        return Err(invalid(
            "KeyConditionExpressions cannot contain nested operations",
        ));
    }
    Ok(())
}

fn key_name(path: &Path) -> Result<String> {
    if path.is_nested() {
        return Err(invalid(
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ));
    }
    Ok(path.head().to_string())
}

fn multiple() -> StoreError {
    invalid(
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
    )
}

fn first_operand_key(first: &Operand, op: &str, rest: &[&Operand]) -> Result<String> {
    let mut all = vec![first];
    all.extend_from_slice(rest);
    check_no_size(&all)?;
    let Operand::Path(path) = first else {
        return Err(invalid(format!(
            "Invalid condition in KeyConditionExpression: {op} operator must have the key attribute as its first operand"
        )));
    };
    if rest.iter().any(|o| matches!(o, Operand::Path(_))) {
        return Err(multiple());
    }
    key_name(path)
}

fn value(op: &Operand) -> Result<AttributeValue> {
    match op {
        Operand::Value(v) => Ok(v.clone()),
        _ => Err(multiple()),
    }
}

/// `k op :v` or `:v op k` (flipped so the key is on the left).
fn compare_leaf(op: CmpOp, a: &Operand, b: &Operand) -> Result<Leaf> {
    check_no_size(&[a, b])?;
    let (path, v, op) = match (a, b) {
        (Operand::Path(_), Operand::Path(_)) => return Err(multiple()),
        (Operand::Path(p), Operand::Value(v)) => (p, v, op),
        (Operand::Value(v), Operand::Path(p)) => (p, v, flip(op)),
        _ => {
            return Err(invalid(
                "Invalid condition in KeyConditionExpression: No key attribute specified",
            ));
        }
    };
    let v = v.clone();
    let condition = match op {
        CmpOp::Eq | CmpOp::Ne => SortCondition::Eq(v),
        CmpOp::Lt => SortCondition::Lt(v),
        CmpOp::Le => SortCondition::Le(v),
        CmpOp::Gt => SortCondition::Gt(v),
        CmpOp::Ge => SortCondition::Ge(v),
    };
    Ok(Leaf {
        name: key_name(path)?,
        condition,
    })
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}
