//! ProjectionExpression: a comma-separated list of document paths, and applying
//! it to an item the way DynamoDB does — nested paths keep their enclosing maps
//! and lists, list elements picked by index are packed together in index order,
//! and a path that resolves to nothing contributes nothing.

use std::collections::BTreeMap;

use super::ast::{Path, PathElem};
use super::lexer::TokenKind;
use super::parser::{Category, PResult, Parser, check_overlap};
use crate::value::{AttributeValue, Item};

const RANKING: &[Category] = &[
    Category::Reserved,
    Category::Name,
    Category::PathOverlap,
    Category::PathConflict,
];

/// Parses `path (',' path)*`.
pub fn parse(p: &mut Parser<'_>) -> PResult<Projection> {
    let mut paths = Vec::new();
    let mut seen = Vec::new();
    loop {
        let at = p.peek().start;
        let path = p.path()?;
        check_overlap(p, &mut seen, &path, at);
        paths.push(path);
        if !p.eat(&TokenKind::Comma) {
            break;
        }
    }
    p.expect_end()?;
    p.first_problem(RANKING)?;
    Ok(Projection::new(paths))
}

/// What to keep of one value.
#[derive(Debug, Clone, PartialEq, Default)]
enum Keep {
    /// The whole value.
    #[default]
    All,
    Keys(BTreeMap<String, Keep>),
    Indexes(BTreeMap<usize, Keep>),
}

impl Keep {
    fn insert(&mut self, rest: &[PathElem]) {
        let Some((first, rest)) = rest.split_first() else {
            *self = Keep::All;
            return;
        };
        let child = match (&mut *self, first) {
            (Keep::Keys(map), PathElem::Attr(name)) => map
                .entry(name.clone())
                .or_insert_with(Keep::empty_for(rest)),
            (Keep::Indexes(map), PathElem::Index(ix)) => {
                map.entry(*ix).or_insert_with(Keep::empty_for(rest))
            }
            // Conflicting paths are rejected by the parser; keep the first shape.
            _ => return,
        };
        child.insert(rest);
    }

    fn empty_for(rest: &[PathElem]) -> impl FnOnce() -> Keep {
        let shape = match rest.first() {
            Some(PathElem::Attr(_)) => Keep::Keys(BTreeMap::new()),
            Some(PathElem::Index(_)) => Keep::Indexes(BTreeMap::new()),
            None => Keep::All,
        };
        move || shape
    }

    fn extract(&self, value: &AttributeValue) -> Option<AttributeValue> {
        match (self, value) {
            (Keep::All, v) => Some(v.clone()),
            (Keep::Keys(keep), AttributeValue::M(map)) => {
                let out: BTreeMap<_, _> = keep
                    .iter()
                    .filter_map(|(k, sub)| Some((k.clone(), sub.extract(map.get(k)?)?)))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::M(out))
            }
            (Keep::Indexes(keep), AttributeValue::L(list)) => {
                let out: Vec<_> = keep
                    .iter()
                    .filter_map(|(ix, sub)| sub.extract(list.get(*ix)?))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::L(out))
            }
            _ => None,
        }
    }
}

/// A parsed ProjectionExpression.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    paths: Vec<Path>,
    keep: BTreeMap<String, Keep>,
}

impl Projection {
    pub(crate) fn new(paths: Vec<Path>) -> Self {
        let mut keep: BTreeMap<String, Keep> = BTreeMap::new();
        for path in &paths {
            let Some((PathElem::Attr(head), rest)) = path.0.split_first() else {
                continue;
            };
            keep.entry(head.clone())
                .or_insert_with(Keep::empty_for(rest))
                .insert(rest);
        }
        Projection { paths, keep }
    }

    /// The projected paths, in written order.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The top-level attributes the projection reads.
    pub fn top_level_names(&self) -> impl Iterator<Item = &str> {
        self.keep.keys().map(String::as_str)
    }

    /// The parts of `item` the projection names.
    pub fn apply(&self, item: &Item) -> Item {
        self.keep
            .iter()
            .filter_map(|(name, keep)| Some((name.clone(), keep.extract(item.get(name)?)?)))
            .collect()
    }
}
