//! The recursive-descent machinery every expression grammar shares: a token
//! cursor, document paths, placeholder resolution, and DynamoDB's error rules.
//!
//! DynamoDB reports a syntax error as soon as it sees one, but collects the other
//! problems of an expression (reserved words, undefined placeholders, bad operand
//! types, ...) and reports the one of highest rank, whose order differs per kind
//! of expression. `Problems` keeps the first problem of each category; the
//! grammar files supply the ranking.

use super::ast::{Path, PathElem};
use super::lexer::{Token, TokenKind, tokenize};
use super::names::Placeholders;
use super::reserved::is_reserved;
use crate::error::StoreError;
use crate::value::AttributeValue;

/// Parentheses and function calls nest at most this deep; deeper input would
/// only risk the stack, and no real expression comes close.
const MAX_DEPTH: usize = 64;

/// Kinds of non-syntax problems, ranked per expression kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    Name,
    Value,
    PathOverlap,
    PathConflict,
    OperandCount,
    Distinct,
    Operator,
    Function,
}

/// An error and the byte offset of the token it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub message: String,
    pub offset: usize,
}

pub type PResult<T> = std::result::Result<T, Located>;

/// Turns a located error into the request's ValidationException:
/// `Invalid <Kind>: <message> at offset <n>` (`n` counts characters).
pub fn to_store_error(kind: &str, text: &str, err: Located) -> StoreError {
    let chars = text
        .get(..err.offset)
        .map_or(err.offset, |s| s.chars().count());
    StoreError::Validation(format!("Invalid {kind}: {} at offset {chars}", err.message))
}

/// The shared parser state for one expression.
pub struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    /// Words this grammar uses as keywords; they can never be attribute names.
    keywords: &'static [&'static str],
    pub placeholders: &'a mut Placeholders,
    problems: Vec<(Category, Located)>,
}

impl<'a> Parser<'a> {
    pub fn new(
        text: &'a str,
        keywords: &'static [&'static str],
        placeholders: &'a mut Placeholders,
    ) -> Self {
        Parser {
            text,
            tokens: tokenize(text),
            at: 0,
            depth: 0,
            keywords,
            placeholders,
            problems: Vec::new(),
        }
    }

    /// The current token (`Eof` once the input is used up).
    pub fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `n` places ahead of the current one.
    pub fn peek_at(&self, n: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        let ix = self.at.saturating_add(n).min(last);
        // `tokenize` always ends with Eof, so the vector is never empty.
        &self.tokens[ix]
    }

    pub fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    /// True (and consumes it) when the current token is `kind`.
    pub fn eat(&mut self, kind: &TokenKind) -> bool {
        if &self.peek().kind == kind {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, kind: &TokenKind) -> PResult<Token> {
        if &self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.syntax_error())
        }
    }

    /// True when the current token is the keyword `word` of this grammar.
    pub fn at_keyword(&self, word: &str) -> bool {
        self.peek().is_keyword(word)
    }

    fn is_grammar_keyword(&self, token: &Token) -> bool {
        self.keywords.iter().any(|k| token.is_keyword(k))
    }

    /// DynamoDB's syntax error about the current token:
    /// `Syntax error; token: "<tok>", near: "<prev> <tok> <next>"`.
    pub fn syntax_error(&self) -> Located {
        let token = self.peek();
        let shown = if token.kind == TokenKind::Eof {
            "<EOF>"
        } else {
            self.text.get(token.start..token.end).unwrap_or("")
        };
        let from = if self.at > 0 {
            self.tokens[self.at - 1].start
        } else {
            token.start
        };
        let to = self.peek_at(1).end.max(token.end);
        let near = self.text.get(from..to).unwrap_or("");
        Located {
            message: format!("Syntax error; token: \"{shown}\", near: \"{near}\""),
            offset: token.start,
        }
    }

    /// Remembers a non-syntax problem; only the first of each category counts.
    pub fn problem(&mut self, category: Category, offset: usize, message: String) {
        if !self.problems.iter().any(|(c, _)| *c == category) {
            self.problems.push((category, Located { message, offset }));
        }
    }

    /// After a successful parse: the highest-ranked recorded problem, if any.
    pub fn first_problem(&self, ranking: &[Category]) -> PResult<()> {
        for category in ranking {
            if let Some((_, located)) = self.problems.iter().find(|(c, _)| c == category) {
                return Err(located.clone());
            }
        }
        Ok(())
    }

    /// Requires the whole input to have been consumed.
    pub fn expect_end(&self) -> PResult<()> {
        if self.peek().kind == TokenKind::Eof {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Enters one level of parentheses or function call.
    pub fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Located {
                message: format!(
                    "The expression is nested too deeply; at most {MAX_DEPTH} levels of parentheses and function calls are allowed"
                ),
                offset: self.peek().start,
            });
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Resolves `:name`, recording an error (and returning NULL) when undefined.
    pub fn value_ref(&mut self, token: &Token) -> AttributeValue {
        let TokenKind::ValueRef(key) = &token.kind else {
            return AttributeValue::Null;
        };
        match self.placeholders.value(key) {
            Some(v) => v,
            None => {
                let message = format!(
                    "An expression attribute value used in expression is not defined; attribute value: {key}"
                );
                self.problem(Category::Value, token.start, message);
                AttributeValue::Null
            }
        }
    }

    /// True when the current token can start a document path.
    pub fn at_path_start(&self) -> bool {
        let token = self.peek();
        match &token.kind {
            TokenKind::NameRef(_) => true,
            TokenKind::Ident(_) => !self.is_grammar_keyword(token),
            _ => false,
        }
    }

    /// One path element name: an identifier (not reserved) or a `#name`.
    fn path_name(&mut self) -> PResult<String> {
        let token = self.peek().clone();
        match &token.kind {
            TokenKind::Ident(word) if !self.is_grammar_keyword(&token) => {
                self.bump();
                if is_reserved(word) {
                    let message =
                        format!("Attribute name is a reserved keyword; reserved keyword: {word}");
                    self.problem(Category::Reserved, token.start, message);
                }
                Ok(word.clone())
            }
            TokenKind::NameRef(key) => {
                self.bump();
                Ok(self.placeholders.name(key).unwrap_or_else(|| {
                    let message = format!(
                        "An expression attribute name used in the document path is not defined; attribute name: {key}"
                    );
                    self.problem(Category::Name, token.start, message);
                    key.clone()
                }))
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// `name ( '.' name | '[' digits ']' )*`
    pub fn path(&mut self) -> PResult<Path> {
        let mut elems = vec![PathElem::Attr(self.path_name()?)];
        loop {
            if self.eat(&TokenKind::Dot) {
                elems.push(PathElem::Attr(self.path_name()?));
            } else if self.peek().kind == TokenKind::LBracket {
                self.bump();
                let TokenKind::Digits(digits) = &self.peek().kind else {
                    return Err(self.syntax_error());
                };
                let Ok(index) = digits.parse::<usize>() else {
                    return Err(self.syntax_error());
                };
                self.bump();
                self.expect(&TokenKind::RBracket)?;
                elems.push(PathElem::Index(index));
            } else {
                return Ok(Path(elems));
            }
        }
    }
}

/// Checks `path` against the paths already written by this expression
/// (UpdateExpression, ProjectionExpression): none may contain another.
pub fn check_overlap(parser: &mut Parser<'_>, seen: &mut Vec<Path>, path: &Path, offset: usize) {
    for earlier in seen.iter() {
        let mut conflict = false;
        let mut diverged = false;
        for (a, b) in earlier.0.iter().zip(path.0.iter()) {
            match (a, b) {
                (PathElem::Attr(x), PathElem::Attr(y)) if x != y => diverged = true,
                (PathElem::Index(x), PathElem::Index(y)) if x != y => diverged = true,
                (PathElem::Attr(_), PathElem::Index(_))
                | (PathElem::Index(_), PathElem::Attr(_)) => conflict = true,
                _ => continue,
            }
            break;
        }
        if conflict {
            let message = format!(
                "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {path}"
            );
            parser.problem(Category::PathConflict, offset, message);
        } else if !diverged {
            let message = format!(
                "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {path}"
            );
            parser.problem(Category::PathOverlap, offset, message);
        }
    }
    seen.push(path.clone());
}

/// The error for an empty (or all-whitespace) expression.
pub fn empty_error() -> Located {
    Located {
        message: "The expression can not be empty;".into(),
        offset: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_path(text: &str) -> PResult<Path> {
        let mut p = Placeholders::default();
        let mut parser = Parser::new(text, &["AND"], &mut p);
        let path = parser.path()?;
        parser.expect_end()?;
        parser.first_problem(&[Category::Reserved, Category::Name])?;
        Ok(path)
    }

    #[test]
    fn parses_nested_paths_with_indexes() {
        let path = parse_path("a.b[2] [10].c").unwrap();
        assert_eq!(path.to_string(), "[a, b, [2], [10], c]");
    }

    #[test]
    fn syntax_errors_quote_the_token_and_its_neighbours() {
        let err = parse_path("a.b[x]").unwrap_err();
        assert_eq!(err.message, "Syntax error; token: \"x\", near: \"[x]\"");
        assert_eq!(err.offset, 4);
        let err = parse_path("a.").unwrap_err();
        assert_eq!(err.message, "Syntax error; token: \"<EOF>\", near: \".\"");
        assert_eq!(err.offset, 2);
    }

    #[test]
    fn reserved_words_and_undefined_names_are_reported_at_their_token() {
        let err = parse_path("a.status").unwrap_err();
        assert_eq!(
            err.message,
            "Attribute name is a reserved keyword; reserved keyword: status"
        );
        assert_eq!(err.offset, 2);
        let err = parse_path("a.#s").unwrap_err();
        assert_eq!(
            err.message,
            "An expression attribute name used in the document path is not defined; attribute name: #s"
        );
        assert!(parse_path("AND").is_err());
        assert!(parse_path("a[99999999999999999999999]").is_err());
    }

    #[test]
    fn store_errors_count_characters() {
        let err = Located {
            message: "m".into(),
            offset: 3,
        };
        let e = to_store_error("UpdateExpression", "é x", err);
        assert_eq!(e.to_string(), "Invalid UpdateExpression: m at offset 2");
    }
}
