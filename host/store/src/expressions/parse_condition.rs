//! The grammar of ConditionExpression / FilterExpression / KeyConditionExpression:
//!
//! ```text
//! or   := and (OR and)*            -- precedence NOT > AND > OR
//! and  := not (AND not)*
//! not  := NOT not | cmp
//! cmp  := atom ( comparator atom | BETWEEN atom AND atom | IN '(' atom, ... ')' )?
//! atom := '(' or ')' | name '(' atom, ... ')' | :value | path
//! ```
//!
//! A parenthesis may hold a condition or an operand (`(a) = :v`), so the parser
//! carries a `Term` that is either until the context decides, instead of
//! backtracking.

use super::ast::{CmpOp, Condition, Operand, Path};
use super::condition::compare_values;
use super::lexer::{Token, TokenKind};
use super::parser::{Category, PResult, Parser};
use crate::value::AttributeValue;

/// Keywords of this grammar: never attribute names.
pub const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];

/// Problem ranking of condition expressions (dynalite's order).
pub const RANKING: &[Category] = &[
    Category::Parens,
    Category::UnknownFunction,
    Category::MisusedFunction,
    Category::Reserved,
    Category::Name,
    Category::Value,
    Category::OperandCount,
    Category::Distinct,
    Category::Function,
];

/// DynamoDB's limit on the values of one IN.
const MAX_IN_OPERANDS: usize = 100;

const TYPE_NAMES: &[&str] = &["S", "N", "B", "NULL", "SS", "BOOL", "L", "BS", "NS", "M"];

/// A function call whose role (condition or operand) is not known yet.
struct Call {
    name: String,
    args: Vec<Operand>,
    offset: usize,
}

enum Term {
    Cond(Condition),
    Operand(Operand),
    Call(Call),
}

/// Parses a whole condition expression.
pub fn parse(p: &mut Parser<'_>) -> PResult<Condition> {
    let (term, _) = or(p)?;
    let cond = into_condition(p, term)?;
    p.expect_end()?;
    p.first_problem(RANKING)?;
    Ok(cond)
}

fn or(p: &mut Parser<'_>) -> PResult<(Term, bool)> {
    let (mut left, mut parens) = and(p)?;
    while p.at_keyword("OR") {
        let l = into_condition(p, left)?;
        p.bump();
        let (right, _) = and(p)?;
        let r = into_condition(p, right)?;
        left = Term::Cond(Condition::Or(Box::new(l), Box::new(r)));
        parens = false;
    }
    Ok((left, parens))
}

fn and(p: &mut Parser<'_>) -> PResult<(Term, bool)> {
    let (mut left, mut parens) = not(p)?;
    while p.at_keyword("AND") {
        let l = into_condition(p, left)?;
        p.bump();
        let (right, _) = not(p)?;
        let r = into_condition(p, right)?;
        left = Term::Cond(Condition::And(Box::new(l), Box::new(r)));
        parens = false;
    }
    Ok((left, parens))
}

fn not(p: &mut Parser<'_>) -> PResult<(Term, bool)> {
    if !p.at_keyword("NOT") {
        return comparison(p);
    }
    p.bump();
    p.enter()?;
    let (inner, _) = not(p)?;
    p.leave();
    let cond = into_condition(p, inner)?;
    Ok((Term::Cond(Condition::Not(Box::new(cond))), false))
}

fn comparator(token: &Token) -> Option<CmpOp> {
    Some(match token.kind {
        TokenKind::Eq => CmpOp::Eq,
        TokenKind::Ne => CmpOp::Ne,
        TokenKind::Lt => CmpOp::Lt,
        TokenKind::Le => CmpOp::Le,
        TokenKind::Gt => CmpOp::Gt,
        TokenKind::Ge => CmpOp::Ge,
        _ => return None,
    })
}

fn symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn comparison(p: &mut Parser<'_>) -> PResult<(Term, bool)> {
    let (left, parens) = atom(p)?;
    if let Some(op) = comparator(p.peek()) {
        let left = into_operand(p, left)?;
        p.bump();
        let right_start = p.peek().start;
        let right = operand(p)?;
        distinct(
            p,
            symbol(op),
            &left,
            std::slice::from_ref(&right),
            right_start,
        );
        return Ok((Term::Cond(Condition::Compare(op, left, right)), false));
    }
    if p.at_keyword("BETWEEN") {
        let left = into_operand(p, left)?;
        p.bump();
        let low_at = p.peek().start;
        let low = operand(p)?;
        if !p.at_keyword("AND") {
            return Err(p.syntax_error());
        }
        p.bump();
        let high = operand(p)?;
        check_bounds(p, &low, &high, low_at);
        return Ok((Term::Cond(Condition::Between(left, low, high)), false));
    }
    if p.at_keyword("IN") {
        let left = into_operand(p, left)?;
        p.bump();
        let list_at = p.peek().start;
        p.expect(&TokenKind::LParen)?;
        let list = operand_list(p)?;
        if list.len() > MAX_IN_OPERANDS {
            let message = format!(
                "The IN operator is provided with too many operands; number of operands: {}",
                list.len()
            );
            p.problem(Category::Function, list_at, message);
        }
        return Ok((Term::Cond(Condition::In(left, list)), false));
    }
    match left {
        // An operand alone is only fine when a parenthesis closes around it.
        Term::Operand(_) if p.peek().kind != TokenKind::RParen => Err(p.syntax_error()),
        other => Ok((other, parens)),
    }
}

/// `atom` in operand position.
fn operand(p: &mut Parser<'_>) -> PResult<Operand> {
    let (term, _) = atom(p)?;
    into_operand(p, term)
}

/// `atom (',' atom)* ')'` — the opening parenthesis is already consumed.
fn operand_list(p: &mut Parser<'_>) -> PResult<Vec<Operand>> {
    p.enter()?;
    let mut list = vec![operand(p)?];
    while p.eat(&TokenKind::Comma) {
        list.push(operand(p)?);
    }
    p.expect(&TokenKind::RParen)?;
    p.leave();
    Ok(list)
}

fn atom(p: &mut Parser<'_>) -> PResult<(Term, bool)> {
    let token = p.peek().clone();
    match &token.kind {
        TokenKind::LParen => {
            p.bump();
            p.enter()?;
            let (inner, parens) = or(p)?;
            p.expect(&TokenKind::RParen)?;
            p.leave();
            if parens {
                p.problem(
                    Category::Parens,
                    token.start,
                    "The expression has redundant parentheses;".into(),
                );
            }
            Ok((inner, true))
        }
        TokenKind::ValueRef(_) => {
            p.bump();
            Ok((Term::Operand(Operand::Value(p.value_ref(&token))), false))
        }
        TokenKind::Ident(name) if p.peek_at(1).kind == TokenKind::LParen && p.at_path_start() => {
            p.bump();
            p.bump();
            let args = operand_list(p)?;
            let call = Call {
                name: name.clone(),
                args,
                offset: token.start,
            };
            check_call(p, &call);
            Ok((Term::Call(call), false))
        }
        _ if p.at_path_start() => Ok((Term::Operand(Operand::Path(p.path()?)), false)),
        _ => Err(p.syntax_error()),
    }
}

fn misused(p: &mut Parser<'_>, name: &str, offset: usize) {
    let message = format!(
        "The function is not allowed to be used this way in an expression; function: {name}"
    );
    p.problem(Category::MisusedFunction, offset, message);
}

/// The term as an operand.
fn into_operand(p: &mut Parser<'_>, term: Term) -> PResult<Operand> {
    match term {
        Term::Operand(op) => Ok(op),
        Term::Call(call) if call.name == "size" => Ok(Operand::Size(Box::new(
            call.args
                .into_iter()
                .next()
                .unwrap_or(Operand::Value(AttributeValue::Null)),
        ))),
        Term::Call(call) => {
            misused(p, &call.name, call.offset);
            Ok(Operand::Value(AttributeValue::Null))
        }
        // A condition used as an operand: DynamoDB reports the token after it.
        Term::Cond(_) => Err(p.syntax_error()),
    }
}

/// The term as a condition; an operand here is a syntax error at the current token.
fn into_condition(p: &mut Parser<'_>, term: Term) -> PResult<Condition> {
    let call = match term {
        Term::Cond(c) => return Ok(c),
        Term::Operand(_) => return Err(p.syntax_error()),
        Term::Call(call) => call,
    };
    let mut args = call.args.into_iter();
    let mut arg = || args.next().unwrap_or(Operand::Value(AttributeValue::Null));
    Ok(match call.name.as_str() {
        "attribute_exists" | "attribute_not_exists" => {
            let path = match arg() {
                Operand::Path(path) => path,
                _ => Path(Vec::new()),
            };
            if call.name == "attribute_exists" {
                Condition::AttributeExists(path)
            } else {
                Condition::AttributeNotExists(path)
            }
        }
        "attribute_type" => Condition::AttributeType(arg(), arg()),
        "begins_with" => Condition::BeginsWith(arg(), arg()),
        "contains" => Condition::Contains(arg(), arg()),
        _ => {
            // size(...) alone, or an unknown function (already reported).
            misused(p, &call.name, call.offset);
            Condition::AttributeExists(Path(Vec::new()))
        }
    })
}

/// The type an operand is known to have before evaluation.
fn static_type(op: &Operand) -> Option<&'static str> {
    match op {
        Operand::Value(v) => Some(v.type_name()),
        Operand::Size(_) => Some("N"),
        Operand::Path(_) => None,
    }
}

fn check_call(p: &mut Parser<'_>, call: &Call) {
    let arity = match call.name.as_str() {
        "attribute_exists" | "attribute_not_exists" | "size" => 1,
        "attribute_type" | "begins_with" | "contains" => 2,
        _ => {
            let message = format!("Invalid function name; function: {}", call.name);
            p.problem(Category::UnknownFunction, call.offset, message);
            return;
        }
    };
    if call.args.len() != arity {
        let message = format!(
            "Incorrect number of operands for operator or function; operator or function: {}, number of operands: {}",
            call.name,
            call.args.len()
        );
        p.problem(Category::OperandCount, call.offset, message);
        return;
    }
    if let [first, rest @ ..] = call.args.as_slice() {
        distinct(p, &call.name, first, rest, call.offset);
    }
    check_call_types(p, call);
}

fn check_call_types(p: &mut Parser<'_>, call: &Call) {
    let wrong_type = |t: &str| {
        format!(
            "Incorrect operand type for operator or function; operator or function: {}, operand type: {t}",
            call.name
        )
    };
    match (call.name.as_str(), call.args.as_slice()) {
        ("attribute_exists" | "attribute_not_exists", [arg])
            if !matches!(arg, Operand::Path(_)) =>
        {
            let message = format!(
                "Operator or function requires a document path; operator or function: {}",
                call.name
            );
            p.problem(Category::Function, call.offset, message);
        }
        ("begins_with", args) => {
            if let Some(t) = args
                .iter()
                .filter_map(static_type)
                .find(|t| *t != "S" && *t != "B")
            {
                p.problem(Category::Function, call.offset, wrong_type(t));
            }
        }
        ("size", [arg]) => {
            if let Some(t) = static_type(arg).filter(|t| matches!(*t, "N" | "BOOL" | "NULL")) {
                p.problem(Category::Function, call.offset, wrong_type(t));
            }
        }
        ("attribute_type", [_, kind]) => match kind {
            Operand::Value(AttributeValue::S(name)) if !TYPE_NAMES.contains(&name.as_str()) => {
                let message = format!(
                    "Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                );
                p.problem(Category::Function, call.offset, message);
            }
            Operand::Value(AttributeValue::S(_)) => {}
            other => {
                let t = static_type(other).unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
                p.problem(Category::Function, call.offset, wrong_type(t));
            }
        },
        _ => {}
    }
}

/// DynamoDB rejects `a = a`, `contains(a, a)`, ...: the same path on both sides.
fn distinct(p: &mut Parser<'_>, operator: &str, first: &Operand, rest: &[Operand], offset: usize) {
    let Operand::Path(path) = first else { return };
    if rest
        .iter()
        .any(|o| matches!(o, Operand::Path(other) if other == path))
    {
        let message = format!(
            "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {path}"
        );
        p.problem(Category::Distinct, offset, message);
    }
}

fn show(v: &AttributeValue) -> String {
    let inner = match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => format!("{:?}", other),
    };
    format!("AttributeValue: {{{}:{inner}}}", v.type_name())
}

/// BETWEEN with two literal bounds: same type, lower <= upper.
fn check_bounds(p: &mut Parser<'_>, low: &Operand, high: &Operand, offset: usize) {
    let (Operand::Value(lo), Operand::Value(hi)) = (low, high) else {
        return;
    };
    let problem = if lo.type_name() != hi.type_name() {
        "The BETWEEN operator requires same data type for lower and upper bounds"
    } else if compare_values(lo, hi) == Some(std::cmp::Ordering::Greater) {
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
    } else {
        return;
    };
    let message = format!(
        "{problem}; lower bound operand: {}, upper bound operand: {}",
        show(lo),
        show(hi)
    );
    p.problem(Category::Function, offset, message);
}
