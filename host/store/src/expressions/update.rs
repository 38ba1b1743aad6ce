//! Applying an UpdateExpression to an item.
//!
//! Like DynamoDB, every operand on the right of SET is read from the item as it
//! was before the update, then the actions are applied. List indexes also refer
//! to the original list: SETs and ADDs run in ascending path order (so `a[7]`
//! and `a[9]` past the end append in index order), REMOVEs last in descending
//! order (so `REMOVE a[1], a[2]` removes the original second and third
//! elements). The input item is never modified; a failed update returns an error
//! and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use super::ast::{Path, PathElem, SetOperand, SetValue, UpdateAction};
use super::condition::lookup;
use super::projection::Projection;
use crate::error::{Result, StoreError};
use crate::value::{AttributeValue, Item};

/// A parsed UpdateExpression.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    actions: Vec<UpdateAction>,
}

fn invalid(message: &str) -> StoreError {
    StoreError::Validation(message.to_string())
}

fn missing_attribute() -> StoreError {
    invalid("The provided expression refers to an attribute that does not exist in the item")
}

fn wrong_type() -> StoreError {
    invalid("An operand in the update expression has an incorrect data type")
}

fn bad_path() -> StoreError {
    invalid("The document path provided in the update expression is invalid for update")
}

/// A resolved action: SET values already computed from the original item.
enum Step<'a> {
    Set(&'a Path, AttributeValue),
    Remove(&'a Path),
    Add(&'a Path, &'a AttributeValue),
    Delete(&'a Path, &'a AttributeValue),
}

impl<'a> Step<'a> {
    fn path(&self) -> &'a Path {
        match self {
            Step::Set(p, _) | Step::Remove(p) | Step::Add(p, _) | Step::Delete(p, _) => p,
        }
    }
}

impl Update {
    pub(crate) fn new(actions: Vec<UpdateAction>) -> Self {
        Update { actions }
    }

    /// The actions, in the order they were written.
    pub fn actions(&self) -> &[UpdateAction] {
        &self.actions
    }

    /// A projection of exactly the paths this update writes: apply it to the old
    /// and new item for ReturnValues UPDATED_OLD / UPDATED_NEW.
    pub fn updated_paths(&self) -> Projection {
        Projection::new(self.actions.iter().map(|a| a.path().clone()).collect())
    }

    /// Applies the update to a copy of `old` (`None`: the item does not exist
    /// yet; the result then holds only what the update wrote, and the caller adds
    /// the key). Returns the new item and the top-level attributes touched.
    /// Fails, changing nothing, if the update writes one of `key_attributes`.
    pub fn apply(
        &self,
        old: Option<&Item>,
        key_attributes: &[&str],
    ) -> Result<(Item, BTreeSet<String>)> {
        let item = self.apply_item(old, key_attributes)?;
        let touched = self
            .actions
            .iter()
            .map(|a| a.path().head().to_string())
            .collect();
        Ok((item, touched))
    }

    /// `apply` without the set of touched attributes (which UpdateItem does
    /// not need, and which costs an allocation per attribute).
    pub fn apply_item(&self, old: Option<&Item>, key_attributes: &[&str]) -> Result<Item> {
        for action in &self.actions {
            let head = action.path().head();
            if key_attributes.contains(&head) {
                return Err(StoreError::Validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute {head}. This attribute is part of the key"
                )));
            }
        }
        let empty = Item::new();
        let base = old.unwrap_or(&empty);
        let mut steps = self
            .actions
            .iter()
            .map(|action| {
                Ok(match action {
                    UpdateAction::Set(path, value) => Step::Set(path, set_value(base, value)?),
                    UpdateAction::Remove(path) => Step::Remove(path),
                    UpdateAction::Add(path, v) => Step::Add(path, v),
                    UpdateAction::Delete(path, v) => Step::Delete(path, v),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        steps.sort_by(|a, b| match (a, b) {
            (Step::Remove(x), Step::Remove(y)) => y.cmp(x),
            (Step::Remove(_), _) => std::cmp::Ordering::Greater,
            (_, Step::Remove(_)) => std::cmp::Ordering::Less,
            _ => a.path().cmp(b.path()),
        });
        let mut item = base.clone();
        for step in steps {
            apply_step(&mut item, step)?;
        }
        Ok(item)
    }

    /// Every literal value of the actions, in the order they are written
    /// (left to right, the order the parser resolved their placeholders).
    pub(crate) fn values_mut(&mut self) -> Vec<&mut AttributeValue> {
        let mut out = Vec::new();
        for action in &mut self.actions {
            match action {
                UpdateAction::Set(_, SetValue::Operand(op)) => operand_values(op, &mut out),
                UpdateAction::Set(_, SetValue::Plus(a, b) | SetValue::Minus(a, b)) => {
                    operand_values(a, &mut out);
                    operand_values(b, &mut out);
                }
                UpdateAction::Remove(_) => {}
                UpdateAction::Add(_, v) | UpdateAction::Delete(_, v) => out.push(v),
            }
        }
        out
    }
}

fn operand_values<'a>(op: &'a mut SetOperand, out: &mut Vec<&'a mut AttributeValue>) {
    match op {
        SetOperand::Path(_) => {}
        SetOperand::Value(v) => out.push(v),
        SetOperand::IfNotExists(_, fallback) => operand_values(fallback, out),
        SetOperand::ListAppend(a, b) => {
            operand_values(a, out);
            operand_values(b, out);
        }
    }
}

fn operand(item: &Item, op: &SetOperand) -> Result<AttributeValue> {
    match op {
        SetOperand::Path(path) => lookup(item, path).cloned().ok_or_else(missing_attribute),
        SetOperand::Value(v) => Ok(v.clone()),
        SetOperand::IfNotExists(path, fallback) => match lookup(item, path) {
            Some(v) => Ok(v.clone()),
            None => operand(item, fallback),
        },
        SetOperand::ListAppend(a, b) => match (operand(item, a)?, operand(item, b)?) {
            (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                a.extend(b);
                Ok(AttributeValue::L(a))
            }
            _ => Err(wrong_type()),
        },
    }
}

fn set_value(item: &Item, value: &SetValue) -> Result<AttributeValue> {
    let (a, b, plus) = match value {
        SetValue::Operand(op) => return operand(item, op),
        SetValue::Plus(a, b) => (a, b, true),
        SetValue::Minus(a, b) => (a, b, false),
    };
    let (AttributeValue::N(x), AttributeValue::N(y)) = (operand(item, a)?, operand(item, b)?)
    else {
        return Err(wrong_type());
    };
    let n = if plus {
        x.checked_add(&y)?
    } else {
        x.checked_sub(&y)?
    };
    Ok(AttributeValue::N(n))
}

/// The map or list a path's last element lives in.
enum Parent<'a> {
    Map(&'a mut BTreeMap<String, AttributeValue>),
    List(&'a mut Vec<AttributeValue>),
}

fn container<'a>(item: &'a mut Item, prefix: &[PathElem]) -> Option<Parent<'a>> {
    let Some((first, rest)) = prefix.split_first() else {
        return Some(Parent::Map(item));
    };
    let PathElem::Attr(name) = first else {
        return None;
    };
    let mut current = item.get_mut(name)?;
    for elem in rest {
        current = match (elem, current) {
            (PathElem::Attr(name), AttributeValue::M(map)) => map.get_mut(name)?,
            (PathElem::Index(ix), AttributeValue::L(list)) => list.get_mut(*ix)?,
            _ => return None,
        };
    }
    match current {
        AttributeValue::M(map) => Some(Parent::Map(map)),
        AttributeValue::L(list) => Some(Parent::List(list)),
        _ => None,
    }
}

/// The slot a path names: its parent and the last element, checked to match.
fn slot<'a>(item: &'a mut Item, path: &'a Path) -> Result<(Parent<'a>, &'a PathElem)> {
    let (last, prefix) = path.0.split_last().ok_or_else(bad_path)?;
    match (container(item, prefix).ok_or_else(bad_path)?, last) {
        (Parent::Map(m), PathElem::Attr(_)) => Ok((Parent::Map(m), last)),
        (Parent::List(l), PathElem::Index(_)) => Ok((Parent::List(l), last)),
        _ => Err(bad_path()),
    }
}

fn get<'a>(parent: &'a Parent<'_>, elem: &PathElem) -> Option<&'a AttributeValue> {
    match (parent, elem) {
        (Parent::Map(m), PathElem::Attr(name)) => m.get(name),
        (Parent::List(l), PathElem::Index(ix)) => l.get(*ix),
        _ => None,
    }
}

fn put(parent: Parent<'_>, elem: &PathElem, value: AttributeValue) {
    match (parent, elem) {
        (Parent::Map(m), PathElem::Attr(name)) => {
            m.insert(name.clone(), value);
        }
        (Parent::List(l), PathElem::Index(ix)) => match l.get_mut(*ix) {
            Some(slot) => *slot = value,
            // DynamoDB appends when the index is past the end.
            None => l.push(value),
        },
        _ => {}
    }
}

fn remove(parent: Parent<'_>, elem: &PathElem) {
    match (parent, elem) {
        (Parent::Map(m), PathElem::Attr(name)) => {
            m.remove(name);
        }
        (Parent::List(l), PathElem::Index(ix)) if *ix < l.len() => {
            l.remove(*ix);
        }
        _ => {}
    }
}

fn apply_step(item: &mut Item, step: Step<'_>) -> Result<()> {
    let (parent, elem) = slot(item, step.path())?;
    match step {
        Step::Set(_, value) => put(parent, elem, value),
        Step::Remove(_) => remove(parent, elem),
        Step::Add(_, value) => {
            let new = add(get(&parent, elem), value)?;
            put(parent, elem, new);
        }
        Step::Delete(_, value) => match delete(get(&parent, elem), value)? {
            Some(Some(new)) => put(parent, elem, new),
            Some(None) => remove(parent, elem),
            None => {}
        },
    }
    Ok(())
}

fn union<T: PartialEq + Clone>(old: &[T], new: &[T]) -> Vec<T> {
    let mut out = old.to_vec();
    for v in new {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// ADD: numbers add (a missing attribute counts as 0), sets take the union.
fn add(existing: Option<&AttributeValue>, value: &AttributeValue) -> Result<AttributeValue> {
    use AttributeValue::*;
    Ok(match (existing, value) {
        (None, v) => v.clone(),
        (Some(N(a)), N(b)) => N(a.checked_add(b)?),
        (Some(SS(a)), SS(b)) => SS(union(a, b)),
        (Some(NS(a)), NS(b)) => NS(union(a, b)),
        (Some(BS(a)), BS(b)) => BS(union(a, b)),
        _ => return Err(wrong_type()),
    })
}

/// DELETE: set difference. `None`: nothing to do (no attribute);
/// `Some(None)`: the set became empty, so the attribute goes away.
fn delete(
    existing: Option<&AttributeValue>,
    value: &AttributeValue,
) -> Result<Option<Option<AttributeValue>>> {
    use AttributeValue::*;
    fn minus<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        a.iter().filter(|v| !b.contains(v)).cloned().collect()
    }
    let Some(existing) = existing else {
        return Ok(None);
    };
    let result = match (existing, value) {
        (SS(a), SS(b)) => SS(minus(a, b)),
        (NS(a), NS(b)) => NS(minus(a, b)),
        (BS(a), BS(b)) => BS(minus(a, b)),
        _ => return Err(wrong_type()),
    };
    let empty = matches!(&result, SS(s) if s.is_empty())
        || matches!(&result, NS(s) if s.is_empty())
        || matches!(&result, BS(s) if s.is_empty());
    Ok(Some(if empty { None } else { Some(result) }))
}
