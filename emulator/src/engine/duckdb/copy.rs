//! DuckDB's `COPY (query) TO '<location>' (options)` read apart: sqlparser's COPY grammar is
//! PostgreSQL's and refuses DuckDB's options (`COMPRESSION zstd`).

/// Reads `COPY ( <query> ) TO '<target>' [ ( <name> <value>, ... ) ]`: the query's text, the
/// target and the options (names upper case, values as written). `None` when `sql` is no COPY.
pub fn split_copy(sql: &str) -> Option<Result<(String, String, Vec<(String, String)>), String>> {
    let text = sql.trim().trim_end_matches(';').trim_end();
    text.get(..4).filter(|w| w.eq_ignore_ascii_case("copy"))?;
    let after = text[4..].trim_start();
    let Some(inner) = after.strip_prefix('(') else {
        return Some(Err("Not implemented Error: the local endpoint runs COPY (query) TO 's3://...' only".into()));
    };
    // The query's closing parenthesis: depth counting outside quotes.
    let (mut depth, mut quote, mut end) = (1i32, None::<char>, None);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end else { return Some(Err("Parser Error: syntax error at end of input".into())) };
    let query = inner[..end].to_owned();
    let rest = inner[end + 1..].trim_start();
    let Some(rest) = rest.get(..2).filter(|w| w.eq_ignore_ascii_case("to")).map(|_| rest[2..].trim_start()) else {
        return Some(Err("Parser Error: syntax error: COPY (query) must be followed by TO '<location>'".into()));
    };
    let Some(rest) = rest.strip_prefix('\'') else { return Some(Err("Parser Error: COPY ... TO takes a quoted location".into())) };
    let Some(close) = rest.find('\'') else { return Some(Err("Parser Error: unterminated string literal".into())) };
    let target = rest[..close].to_owned();
    let rest = rest[close + 1..].trim();
    let mut options = Vec::new();
    if let Some(body) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        for part in body.split(',') {
            let mut words = part.split_whitespace();
            let (Some(name), value) = (words.next(), words.collect::<Vec<_>>().join(" ")) else { continue };
            options.push((name.to_ascii_uppercase(), value.trim_matches('\'').to_owned()));
        }
    } else if !rest.is_empty() {
        return Some(Err(format!("Parser Error: syntax error at or near \"{rest}\"")));
    }
    Some(Ok((query, target, options)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_statements_split() {
        let (q, t, o) =
            split_copy("COPY (\nSELECT ')' AS x\n) TO 's3://b/k.parquet' (FORMAT parquet, COMPRESSION zstd);").unwrap().unwrap();
        assert_eq!((q.trim(), t.as_str()), ("SELECT ')' AS x", "s3://b/k.parquet"));
        assert_eq!(o, vec![("FORMAT".into(), "parquet".into()), ("COMPRESSION".into(), "zstd".into())]);
        assert!(split_copy("SELECT 1").is_none());
        assert!(split_copy("COPY t TO 'x'").unwrap().is_err());
    }
}
