//! Splits expression text into tokens. Every token remembers its byte span so
//! errors can quote the text around it and say where it is.

/// What a token is. Keywords (SET, AND, BETWEEN, ...) are plain identifiers here;
/// the parser recognises them case-insensitively where the grammar allows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `[A-Za-z_][A-Za-z0-9_]*`
    Ident(String),
    /// `#` followed by `[A-Za-z0-9_]*`: an ExpressionAttributeNames placeholder.
    NameRef(String),
    /// `:` followed by `[A-Za-z0-9_]*`: an ExpressionAttributeValues placeholder.
    ValueRef(String),
    /// A run of decimal digits (only valid as a list index).
    Digits(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character no DynamoDB expression may contain.
    Invalid(char),
    Eof,
}

/// One token and where it is in the text (byte offsets, `start..end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The identifier text, if this is an identifier.
    pub fn ident(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Ident(s) => Some(s),
            _ => None,
        }
    }

    /// True for the identifier `word`, compared case-insensitively (keywords).
    pub fn is_keyword(&self, word: &str) -> bool {
        self.ident().is_some_and(|s| s.eq_ignore_ascii_case(word))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Tokenizes `text`. Never fails: unknown characters become `Invalid` tokens so
/// the parser reports them as syntax errors with DynamoDB's wording. The last
/// token is always `Eof`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            continue;
        }
        let mut take_word = |first: Option<char>| {
            let mut word: String = first.into_iter().collect();
            let mut end = start + c.len_utf8();
            while let Some(&(i, w)) = chars.peek() {
                if !is_word_char(w) {
                    break;
                }
                word.push(w);
                end = i + w.len_utf8();
                chars.next();
            }
            (word, end)
        };
        let (kind, end) = match c {
            '#' => {
                let (w, end) = take_word(Some('#'));
                (TokenKind::NameRef(w), end)
            }
            ':' => {
                let (w, end) = take_word(Some(':'));
                (TokenKind::ValueRef(w), end)
            }
            '0'..='9' => {
                let (w, end) = take_word(Some(c));
                if w.bytes().all(|b| b.is_ascii_digit()) {
                    (TokenKind::Digits(w), end)
                } else {
                    // "1abc" is no token DynamoDB knows; report the whole word.
                    (TokenKind::Ident(w), end)
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let (w, end) = take_word(Some(c));
                (TokenKind::Ident(w), end)
            }
            _ => {
                let mut two = |next: char| chars.peek().is_some_and(|&(_, n)| n == next);
                let (kind, len) = match c {
                    '<' if two('=') => (TokenKind::Le, 2),
                    '<' if two('>') => (TokenKind::Ne, 2),
                    '>' if two('=') => (TokenKind::Ge, 2),
                    '<' => (TokenKind::Lt, 1),
                    '>' => (TokenKind::Gt, 1),
                    '=' => (TokenKind::Eq, 1),
                    '(' => (TokenKind::LParen, 1),
                    ')' => (TokenKind::RParen, 1),
                    '[' => (TokenKind::LBracket, 1),
                    ']' => (TokenKind::RBracket, 1),
                    '.' => (TokenKind::Dot, 1),
                    ',' => (TokenKind::Comma, 1),
                    '+' => (TokenKind::Plus, 1),
                    '-' => (TokenKind::Minus, 1),
                    other => (TokenKind::Invalid(other), other.len_utf8()),
                };
                if len == 2 {
                    chars.next();
                }
                (kind, start + len)
            }
        };
        tokens.push(Token { kind, start, end });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: text.len(),
        end: text.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn splits_paths_placeholders_and_operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.#b[10] <>:v_1"),
            vec![
                Ident("a".into()),
                Dot,
                NameRef("#b".into()),
                LBracket,
                Digits("10".into()),
                RBracket,
                Ne,
                ValueRef(":v_1".into()),
                Eof
            ]
        );
        assert_eq!(kinds("<=>=<>< >"), vec![Le, Ge, Ne, Lt, Gt, Eof]);
    }

    #[test]
    fn spans_are_byte_offsets_and_unknown_characters_are_tokens() {
        let tokens = tokenize("é = !");
        assert_eq!(tokens[0].kind, TokenKind::Invalid('é'));
        assert_eq!((tokens[0].start, tokens[0].end), (0, 2));
        assert_eq!(tokens[2].kind, TokenKind::Invalid('!'));
        assert_eq!(
            tokens[3],
            Token {
                kind: TokenKind::Eof,
                start: 6,
                end: 6
            }
        );
    }

    #[test]
    fn keywords_compare_case_insensitively() {
        let tokens = tokenize("between");
        assert!(tokens[0].is_keyword("BETWEEN"));
        assert!(!tokens[0].is_keyword("AND"));
    }
}
