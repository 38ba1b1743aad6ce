//! DynamoDB expressions: ConditionExpression, FilterExpression, UpdateExpression,
//! ProjectionExpression and KeyConditionExpression.
//!
//! Each expression is tokenized and parsed once per request by a
//! recursive-descent parser into a typed tree whose `#names` and `:values` are
//! already resolved; evaluation then works on items directly. UpdateExpressions
//! are also kept in a small per-thread cache of parses (`cache`), so a function
//! sending the same update for every record parses it once.
//!
//! ```ignore
//! let mut ctx = ExpressionContext::new(names, values)?;   // the request's maps
//! let update = ctx.parse_update("SET score = score + :inc")?;
//! let cond = ctx.parse_condition("attribute_exists(id)", "ConditionExpression")?;
//! ctx.finish()?;                      // rejects placeholders no expression used
//! if !cond.evaluate(old.as_ref())? { /* ConditionalCheckFailed */ }
//! let (new_item, touched) = update.apply(old.as_ref(), &["id"])?;
//! ```
//!
//! Errors are `StoreError::Validation` with DynamoDB's message texts. Parse
//! errors read `Invalid <Kind>: <DynamoDB message> at offset <n>`, where `n` is
//! the character offset of the offending token (eddy's addition). Errors found
//! while applying an expression to an item, and the reductions of a key
//! condition to the key schema, carry DynamoDB's text alone.
//!
//! Decisions where DynamoDB's documentation is silent: `size()` of a string
//! counts UTF-8 bytes; parentheses and function calls nest at most 64 deep.

mod ast;
mod cache;
mod condition;
mod key_condition;
mod lexer;
mod names;
mod parse_condition;
mod parse_update;
mod parser;
mod projection;
mod reserved;
mod update;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use ast::{CmpOp, Condition, Operand, Path, PathElem, SetOperand, SetValue, UpdateAction};
pub use condition::{compare_values, lookup, values_equal};
pub use key_condition::{KeyCondition, SortCondition};
pub use projection::Projection;
pub use reserved::is_reserved;
pub use update::Update;

use crate::error::Result;
use names::Placeholders;
use parser::{PResult, Parser, empty_error, to_store_error};

/// The ExpressionAttributeNames / ExpressionAttributeValues of one request,
/// shared by all of its expressions.
#[derive(Debug, Clone)]
pub struct ExpressionContext {
    placeholders: Placeholders,
}

impl ExpressionContext {
    /// Validates the request's placeholder maps (keys like `#n` / `:v`, values in
    /// DynamoDB JSON), with DynamoDB's messages.
    pub fn new(
        names: Option<&Map<String, Value>>,
        values: Option<&Map<String, Value>>,
    ) -> Result<Self> {
        Ok(ExpressionContext {
            placeholders: Placeholders::new(names, values)?,
        })
    }

    /// `new`, with the ExpressionAttributeValues parsed already (see
    /// `Placeholders::with_values`).
    pub fn with_values(names: Option<&Map<String, Value>>, values: crate::Item) -> Result<Self> {
        Ok(ExpressionContext {
            placeholders: Placeholders::with_values(names, values)?,
        })
    }

    fn run<T>(
        &mut self,
        kind: &str,
        text: &str,
        keywords: &'static [&'static str],
        grammar: impl FnOnce(&mut Parser<'_>) -> PResult<T>,
    ) -> Result<T> {
        if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
            return Err(to_store_error(kind, text, empty_error()));
        }
        let mut parser = Parser::new(text, keywords, &mut self.placeholders);
        grammar(&mut parser).map_err(|e| to_store_error(kind, text, e))
    }

    /// Parses a condition; `kind` ("ConditionExpression" or "FilterExpression")
    /// names it in error messages.
    pub fn parse_condition(&mut self, text: &str, kind: &str) -> Result<Condition> {
        self.run(
            kind,
            text,
            parse_condition::KEYWORDS,
            parse_condition::parse,
        )
    }

    /// Parses an UpdateExpression (or takes it from the thread's cache of
    /// parses, see `cache`: same result, same placeholders marked used).
    pub fn parse_update(&mut self, text: &str) -> Result<Update> {
        if let Some(update) = cache::lookup(text, &mut self.placeholders) {
            return Ok(update);
        }
        self.placeholders.start_trace();
        let parsed = self.run("UpdateExpression", text, parse_update::KEYWORDS, |p| {
            let actions = parse_update::parse(p)?;
            p.expect_end()?;
            Ok(actions)
        });
        let trace = self.placeholders.take_trace();
        let update = Update::new(parsed?);
        if let Some(trace) = trace {
            cache::insert(text, &self.placeholders, &update, trace);
        }
        Ok(update)
    }

    /// Parses a ProjectionExpression.
    pub fn parse_projection(&mut self, text: &str) -> Result<Projection> {
        self.run("ProjectionExpression", text, &[], projection::parse)
    }

    /// Parses a KeyConditionExpression for a table (or index) whose partition
    /// key is `pk` and sort key, if any, is `sk`.
    pub fn parse_key_condition(
        &mut self,
        text: &str,
        pk: &str,
        sk: Option<&str>,
    ) -> Result<KeyCondition> {
        let kind = "KeyConditionExpression";
        let cond = self.run(
            kind,
            text,
            parse_condition::KEYWORDS,
            parse_condition::parse,
        )?;
        key_condition::convert(&cond, pk, sk)
    }

    /// Call after parsing all of the request's expressions: errors when a name
    /// or value placeholder was given but never used.
    pub fn finish(&self) -> Result<()> {
        self.placeholders.check_all_used()
    }
}
