//! The grammar of UpdateExpression:
//!
//! ```text
//! update  := section+                       -- each of SET/REMOVE/ADD/DELETE once
//! section := SET set (',' set)* | REMOVE path (',' path)*
//!          | ADD path :value (',' ...)* | DELETE path :value (',' ...)*
//! set     := path '=' value
//! value   := '(' value ')' | term (('+' | '-') term)?
//! term    := '(' term ')' | if_not_exists(path, term) | list_append(term, term)
//!          | :value | path
//! ```

use super::ast::{Path, SetOperand, SetValue, UpdateAction};
use super::lexer::TokenKind;
use super::parser::{Category, PResult, Parser, check_overlap};
use crate::value::AttributeValue;

/// Keywords of this grammar: never attribute names.
pub const KEYWORDS: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];

/// Problem ranking of update expressions (dynalite's order).
const RANKING: &[Category] = &[
    Category::Reserved,
    Category::UnknownFunction,
    Category::Section,
    Category::Name,
    Category::Value,
    Category::PathOverlap,
    Category::PathConflict,
    Category::Operator,
    Category::Function,
];

/// Parses a whole update expression into its actions, in written order.
pub fn parse(p: &mut Parser<'_>) -> PResult<Vec<UpdateAction>> {
    let mut actions = Vec::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut paths = Vec::new();
    loop {
        let token = p.peek().clone();
        let Some(section) = KEYWORDS.iter().copied().find(|k| token.is_keyword(k)) else {
            return Err(p.syntax_error());
        };
        p.bump();
        if sections.contains(&section) {
            let message =
                format!("The \"{section}\" section can only be used once in an update expression;");
            p.problem(Category::Section, token.start, message);
        }
        sections.push(section);
        loop {
            let at = p.peek().start;
            let action = action(p, section)?;
            check_overlap(p, &mut paths, action.path(), at);
            actions.push(action);
            if !p.eat(&TokenKind::Comma) {
                break;
            }
        }
        if p.peek().kind == TokenKind::Eof {
            break;
        }
    }
    p.first_problem(RANKING)?;
    Ok(actions)
}

fn action(p: &mut Parser<'_>, section: &str) -> PResult<UpdateAction> {
    let path = p.path()?;
    Ok(match section {
        "SET" => {
            p.expect(&TokenKind::Eq)?;
            UpdateAction::Set(path, set_value(p)?)
        }
        "REMOVE" => UpdateAction::Remove(path),
        _ => {
            let token = p.peek().clone();
            if !matches!(token.kind, TokenKind::ValueRef(_)) {
                return Err(p.syntax_error());
            }
            p.bump();
            let value = p.value_ref(&token);
            check_operator(p, section, &value, token.start);
            if section == "ADD" {
                UpdateAction::Add(path, value)
            } else {
                UpdateAction::Delete(path, value)
            }
        }
    })
}

/// ADD takes a number or a set; DELETE only a set.
fn check_operator(p: &mut Parser<'_>, section: &str, value: &AttributeValue, offset: usize) {
    let shown = match value {
        AttributeValue::N(_) if section == "ADD" => return,
        AttributeValue::SS(_) | AttributeValue::NS(_) | AttributeValue::BS(_) => return,
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Null => "NULL",
        AttributeValue::Bool(_) => "BOOLEAN",
        AttributeValue::L(_) => "LIST",
        AttributeValue::M(_) => "MAP",
    };
    let message = format!(
        "Incorrect operand type for operator or function; operator: {section}, operand type: {shown}"
    );
    p.problem(Category::Operator, offset, message);
}

/// One side of a SET: either a parenthesized value or `term (+|- term)?`.
enum Side {
    Value(SetValue),
    Term(SetOperand),
}

fn set_value(p: &mut Parser<'_>) -> PResult<SetValue> {
    let start = p.peek().start;
    let left = side(p)?;
    let plus = p.peek().kind == TokenKind::Plus;
    if !plus && p.peek().kind != TokenKind::Minus {
        return Ok(match left {
            Side::Value(v) => v,
            Side::Term(t) => SetValue::Operand(t),
        });
    }
    let Side::Term(left) = left else {
        return Err(p.syntax_error());
    };
    p.bump();
    let Side::Term(right) = side(p)? else {
        return Err(p.syntax_error());
    };
    let name = if plus { "+" } else { "-" };
    check_types(p, name, &[&left, &right], "N", start);
    Ok(if plus {
        SetValue::Plus(left, right)
    } else {
        SetValue::Minus(left, right)
    })
}

fn side(p: &mut Parser<'_>) -> PResult<Side> {
    if p.peek().kind != TokenKind::LParen {
        return Ok(Side::Term(term(p)?));
    }
    p.bump();
    p.enter()?;
    let inner = set_value(p)?;
    p.expect(&TokenKind::RParen)?;
    p.leave();
    Ok(match inner {
        SetValue::Operand(t) => Side::Term(t),
        other => Side::Value(other),
    })
}

fn term(p: &mut Parser<'_>) -> PResult<SetOperand> {
    let token = p.peek().clone();
    match &token.kind {
        TokenKind::LParen => {
            p.bump();
            p.enter()?;
            let inner = term(p)?;
            p.expect(&TokenKind::RParen)?;
            p.leave();
            Ok(inner)
        }
        TokenKind::ValueRef(_) => {
            p.bump();
            Ok(SetOperand::Value(p.value_ref(&token)))
        }
        TokenKind::Ident(name) if p.peek_at(1).kind == TokenKind::LParen && p.at_path_start() => {
            p.bump();
            p.bump();
            p.enter()?;
            let mut args = vec![term(p)?];
            while p.eat(&TokenKind::Comma) {
                args.push(term(p)?);
            }
            p.expect(&TokenKind::RParen)?;
            p.leave();
            Ok(function(p, name, args, token.start))
        }
        _ => Ok(SetOperand::Path(p.path()?)),
    }
}

fn function(p: &mut Parser<'_>, name: &str, args: Vec<SetOperand>, offset: usize) -> SetOperand {
    let placeholder = SetOperand::Value(AttributeValue::Null);
    if name != "if_not_exists" && name != "list_append" {
        p.problem(
            Category::UnknownFunction,
            offset,
            format!("Invalid function name; function: {name}"),
        );
        return placeholder;
    }
    let [first, second] = <[SetOperand; 2]>::try_from(args).unwrap_or_else(|args| {
        let message = format!(
            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
            args.len()
        );
        p.problem(Category::Function, offset, message);
        [placeholder.clone(), placeholder.clone()]
    });
    if name == "list_append" {
        check_types(p, name, &[&first, &second], "L", offset);
        return SetOperand::ListAppend(Box::new(first), Box::new(second));
    }
    match first {
        SetOperand::Path(path) => SetOperand::IfNotExists(path, Box::new(second)),
        _ => {
            let message = format!(
                "Operator or function requires a document path; operator or function: {name}"
            );
            p.problem(Category::Function, offset, message);
            SetOperand::IfNotExists(Path(Vec::new()), Box::new(second))
        }
    }
}

/// Literal operands of `+`, `-` and list_append must have the type they need.
fn check_types(p: &mut Parser<'_>, name: &str, args: &[&SetOperand], wanted: &str, offset: usize) {
    for arg in args {
        if let SetOperand::Value(v) = arg
            && v.type_name() != wanted
        {
            let message = format!(
                "Incorrect operand type for operator or function; operator or function: {name}, operand type: {}",
                v.type_name()
            );
            p.problem(Category::Function, offset, message);
            return;
        }
    }
}
