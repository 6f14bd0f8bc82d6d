//! Trino SQL parsed for DataFusion: sqlparser's generic dialect after a text-level pass for the
//! forms it cannot read, with syntax errors in Athena's `line L:C: mismatched input` shape.

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::failure::SyntaxError;

/// Parses one statement of Trino SQL (after [`preprocess`]).
pub fn parse(sql: &str) -> Result<Statement, SyntaxError> {
    let text = preprocess(sql);
    let dialect = GenericDialect {};
    let mut statements = Parser::parse_sql(&dialect, &text).map_err(|e| syntax_error(&e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SyntaxError { line: 1, column: 1, message: "mismatched input '<EOF>'. Expecting: 'SELECT', 'WITH', ...".into() }),
        _ => Err(SyntaxError { line: 1, column: 1, message: "mismatched input ';'. Expecting: <EOF>".into() }),
    }
}

fn syntax_error(msg: &str) -> SyntaxError {
    // sqlparser: "sql parser error: Expected: ..., found: x at Line: 1, Column: 7"
    let msg = msg.trim_start_matches("sql parser error: ");
    let (message, line, column) = match msg.rsplit_once(" at Line: ") {
        Some((m, pos)) => {
            let (l, c) = pos.split_once(", Column: ").unwrap_or((pos, "1"));
            (m.to_owned(), l.trim().parse().unwrap_or(1), c.trim().parse().unwrap_or(1))
        }
        None => (msg.to_owned(), 1, 1),
    };
    SyntaxError { line, column, message: format!("mismatched input. {message}") }
}

/// Text-level rewrites sqlparser cannot parse otherwise: Trino's `ROW(a T, b U)` *type* becomes
/// `STRUCT<a T, b U>`. String literals, quoted identifiers and comments are left untouched.
pub fn preprocess(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut prev_word = String::new();
    // Depth stack of parens that were opened as ROW( types and must close with '>'.
    let mut row_parens: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let end = skip_quoted(b, i);
                out.push_str(&sql[i..end]);
                i = end;
                prev_word.clear();
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                let end = b[i..].iter().position(|&x| x == b'\n').map_or(b.len(), |p| i + p);
                out.push_str(&sql[i..end]);
                i = end;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                out.push_str(&sql[i..end]);
                i = end;
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = b[i..].iter().position(|x| !(x.is_ascii_alphanumeric() || *x == b'_')).map_or(b.len(), |p| i + p);
                let word = &sql[i..end];
                let next = sql[end..].trim_start();
                let in_type = prev_word.eq_ignore_ascii_case("as") || !row_parens.is_empty();
                if word.eq_ignore_ascii_case("row") && next.starts_with('(') && in_type && !prev_word.eq_ignore_ascii_case("cast") {
                    out.push_str("STRUCT<");
                    let paren = end + (sql[end..].len() - next.len());
                    i = paren + 1;
                    depth += 1;
                    row_parens.push(depth);
                    prev_word.clear();
                    continue;
                }
                out.push_str(word);
                prev_word = word.to_owned();
                i = end;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                if row_parens.last() == Some(&depth) {
                    row_parens.pop();
                    depth -= 1;
                    out.push('>');
                    i += 1;
                    continue;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            prev_word.clear();
        }
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_position() {
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.to_string().starts_with("line 1:1: mismatched input"), "{e}");
    }

    #[test]
    fn row_types_become_structs() {
        assert_eq!(preprocess("SELECT 'AS ROW(' , CAST(x AS row(a int))"), "SELECT 'AS ROW(' , CAST(x AS STRUCT<a int>)");
    }
}
