//! Hive DDL's tokens: words, `'...'`/`"..."` strings with backslash escapes, numbers, symbols.

use crate::failure::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Word(String),
    Str(String),
    /// `"..."`: a string in Hive DDL, a quoted identifier in Trino statements (SHOW CREATE VIEW).
    DStr(String),
    Num(String),
    Sym(char),
}

impl Tok {
    pub fn word(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }
}

/// Hive string literals: `'...'` or `"..."` with backslash escapes (`\t`, `\n`, `\'`, `\u0001`;
/// octal `\001` is turned into `\u0001` by the tokenizer).
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

pub fn tokenize(sql: &str) -> Result<Vec<Tok>, SyntaxError> {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // 1-based line of position `at`, for errors.
    let line = |at: usize| b[..at.min(b.len())].iter().filter(|&&c| c == '\n').count() as u64 + 1;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c == '-' && b.get(i + 1) == Some(&'-') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let mut raw = String::new();
            let start = i;
            i += 1;
            loop {
                let Some(&ch) = b.get(i) else {
                    return Err(SyntaxError {
                        line: line(start),
                        column: 1,
                        message: "mismatched input '<EOF>': unterminated string".into(),
                    });
                };
                if ch == '\\' {
                    // Octal escapes are decoded here, where the digits are at hand.
                    if b.get(i + 1).is_some_and(|d| d.is_digit(8)) {
                        let mut j = i + 1;
                        let mut v = 0u32;
                        while j < b.len() && j < i + 4 && b[j].is_digit(8) {
                            v = v * 8 + b[j].to_digit(8).unwrap_or(0);
                            j += 1;
                        }
                        raw.push_str(&format!("\\u{v:04x}"));
                        i = j;
                        continue;
                    }
                    raw.push(ch);
                    if let Some(&n) = b.get(i + 1) {
                        raw.push(n);
                    }
                    i += 2;
                    continue;
                }
                if ch == c {
                    if b.get(i + 1) == Some(&c) {
                        raw.push(c);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                raw.push(ch);
                i += 1;
            }
            out.push(if c == '"' { Tok::DStr(unescape(&raw)) } else { Tok::Str(unescape(&raw)) });
        } else if c == '`' {
            let end = b[i + 1..].iter().position(|&x| x == '`').map(|p| i + 1 + p).ok_or_else(|| SyntaxError {
                line: line(i),
                column: 1,
                message: "mismatched input '<EOF>': unterminated identifier".into(),
            })?;
            out.push(Tok::Word(b[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(b[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(b[start..i].iter().collect()));
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Runs of spaces squashed to one, as Glue keeps SerDe property values.
pub fn squash_spaces(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}
