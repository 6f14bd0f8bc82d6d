//! The Hive DDL parser: a small recursive descent over [`crate::statements::hive::lexer`]'s
//! tokens (sqlparser's dialects do not take Hive's `map<int, int>`, `struct<a: int>` or
//! backslash escapes in strings).

use std::collections::BTreeMap;

use crate::catalog::Column;
use crate::failure::SyntaxError;
use crate::formats::storage::{LAZY_SIMPLE_SERDE, Storage};
use crate::statements::hive::ast::{CreateTable, HiveStatement};
use crate::statements::hive::lexer::{Tok, squash_spaces, tokenize};

/// The Hive statement `sql` is, if it is one; `None` leaves it to the Trino parser.
pub fn parse(sql: &str) -> Option<Result<HiveStatement, SyntaxError>> {
    // Only statements that start with one of these words can be Hive's: every other statement
    // (SELECT, INSERT, ...) goes to the Trino parser without being tokenized here.
    if !["create", "alter", "msck", "vacuum", "optimize", "show"].contains(&first_word(sql).as_str()) {
        return None;
    }
    let tokens = match tokenize(sql) {
        Ok(t) => t,
        Err(e) => return looks_hive(sql).then_some(Err(e)),
    };
    let mut p = P { t: tokens, i: 0 };
    let words: Vec<String> = p.t.iter().take(4).map(|t| t.word().unwrap_or_default()).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let result = match (w(0), w(1), w(2)) {
        ("create", "external", "table") => p.create_table(),
        ("create", "table", _) if !is_ctas(&p.t) => p.create_table(),
        ("alter", "table", _) => p.alter_table()?,
        ("msck", "repair", "table") => {
            p.i = 3;
            p.table_name().map(|table| HiveStatement::MsckRepair { table })
        }
        ("vacuum", _, _) => {
            p.i = 1;
            p.table_name().map(|table| HiveStatement::Maintenance { table, optimize: false })
        }
        ("optimize", _, _) => {
            p.i = 1;
            // The rest (`REWRITE DATA USING BIN_PACK [WHERE ...]`) changes nothing here.
            let r = p.table_name().map(|table| HiveStatement::Maintenance { table, optimize: true });
            p.i = p.t.len();
            r
        }
        ("show", "partitions", _) => {
            p.i = 2;
            p.table_name().map(|table| HiveStatement::ShowPartitions { table })
        }
        ("show", "create", "table" | "view") => {
            p.i = 3;
            let view = w(2) == "view";
            p.table_name().map(|table| HiveStatement::ShowCreate { table, view })
        }
        ("show", "tblproperties", _) => {
            p.i = 2;
            p.table_name().and_then(|table| {
                let key = if p.eat_sym('(') {
                    let k = p.string()?;
                    p.expect_sym(')')?;
                    Some(k)
                } else {
                    None
                };
                Ok(HiveStatement::ShowTblProperties { table, key })
            })
        }
        _ => return None,
    };
    Some(result.and_then(|s| if p.at_end() { Ok(s) } else { Err(p.error("<EOF>")) }))
}

/// The statement's first word, lower case, after whitespace and comments.
fn first_word(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    rest.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("").to_ascii_lowercase()
}

fn looks_hive(sql: &str) -> bool {
    let lower = sql.trim_start().to_ascii_lowercase();
    ["create external table", "msck repair", "show partitions", "show tblproperties"].iter().any(|p| lower.starts_with(p))
}

/// `CREATE TABLE ... AS SELECT` / `WITH (...) AS` goes to the Trino parser.
fn is_ctas(tokens: &[Tok]) -> bool {
    let mut depth = 0i32;
    for t in tokens {
        match t {
            Tok::Sym('(') => depth += 1,
            Tok::Sym(')') => depth -= 1,
            Tok::Word(w) if depth == 0 && w.eq_ignore_ascii_case("as") => return true,
            _ => {}
        }
    }
    false
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    fn peek_word(&self) -> Option<String> {
        self.t.get(self.i).and_then(Tok::word)
    }

    fn error(&self, expecting: &str) -> SyntaxError {
        let found = match self.t.get(self.i) {
            Some(Tok::Word(w)) | Some(Tok::Num(w)) => format!("'{w}'"),
            Some(Tok::Str(s)) | Some(Tok::DStr(s)) => format!("'{s}'"),
            Some(Tok::Sym(c)) => format!("'{c}'"),
            None => "'<EOF>'".into(),
        };
        SyntaxError { line: 1, column: 1, message: format!("mismatched input {found}. Expecting: {expecting}") }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_words(&mut self, ws: &[&str]) -> bool {
        let save = self.i;
        for w in ws {
            if !self.eat_word(w) {
                self.i = save;
                return false;
            }
        }
        true
    }

    fn expect_words(&mut self, ws: &[&str]) -> Result<(), SyntaxError> {
        if self.eat_words(ws) { Ok(()) } else { Err(self.error(&format!("'{}'", ws.join(" ").to_ascii_uppercase()))) }
    }

    fn eat_sym(&mut self, c: char) -> bool {
        if self.t.get(self.i) == Some(&Tok::Sym(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, c: char) -> Result<(), SyntaxError> {
        if self.eat_sym(c) { Ok(()) } else { Err(self.error(&format!("'{c}'"))) }
    }

    fn ident(&mut self) -> Result<String, SyntaxError> {
        match self.t.get(self.i) {
            Some(Tok::Word(w)) | Some(Tok::DStr(w)) => {
                self.i += 1;
                Ok(w.to_ascii_lowercase())
            }
            _ => Err(self.error("<identifier>")),
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        match self.t.get(self.i) {
            Some(Tok::Str(s)) | Some(Tok::DStr(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            _ => Err(self.error("<string>")),
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        match self.t.get(self.i) {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(n.clone())
            }
            _ => Err(self.error("<integer>")),
        }
    }

    fn table_name(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut parts = vec![self.ident()?];
        while self.eat_sym('.') {
            parts.push(self.ident()?);
        }
        Ok(parts)
    }

    /// A Hive type up to the next top-level `,`, `)` or `COMMENT`: `map<int,int>`,
    /// `struct<a:int,b:array<string>>`, `decimal(10,1)`, lower case without spaces.
    fn hive_type(&mut self) -> Result<String, SyntaxError> {
        if !matches!(self.t.get(self.i), Some(Tok::Word(_))) {
            return Err(self.error("<type>"));
        }
        let mut out = String::new();
        let mut depth = 0i32;
        loop {
            match self.t.get(self.i) {
                None => break,
                Some(Tok::Sym(',' | ')')) if depth == 0 => break,
                Some(Tok::Word(w)) if depth == 0 && w.eq_ignore_ascii_case("comment") => break,
                Some(Tok::Sym(c)) => {
                    match c {
                        '<' | '(' => depth += 1,
                        '>' | ')' => depth -= 1,
                        _ => {}
                    }
                    out.push(*c);
                }
                Some(Tok::Word(w)) => {
                    if out.ends_with(|ch: char| ch.is_alphanumeric() || ch == '_') {
                        out.push(' ');
                    }
                    out.push_str(&w.to_ascii_lowercase());
                }
                Some(Tok::Num(n)) => out.push_str(n),
                Some(Tok::Str(_)) | Some(Tok::DStr(_)) => return Err(self.error("<type>")),
            }
            self.i += 1;
        }
        if out.is_empty() || depth != 0 {
            return Err(self.error("<type>"));
        }
        Ok(out)
    }

    fn column_list(&mut self, with_types: bool) -> Result<Vec<Column>, SyntaxError> {
        self.expect_sym('(')?;
        let mut cols = Vec::new();
        loop {
            let name = self.ident()?;
            let type_name = if with_types { self.hive_type()? } else { String::new() };
            let mut col = Column::new(&name, &type_name);
            if self.eat_word("comment") {
                col.comment = Some(self.string()?);
            }
            cols.push(col);
            if !self.eat_sym(',') {
                break;
            }
        }
        self.expect_sym(')')?;
        Ok(cols)
    }

    /// `('k'='v', ...)`.
    fn properties(&mut self) -> Result<BTreeMap<String, String>, SyntaxError> {
        self.expect_sym('(')?;
        let mut props = BTreeMap::new();
        loop {
            let k = self.string()?;
            self.expect_sym('=')?;
            let v = self.string()?;
            props.insert(k, v);
            if !self.eat_sym(',') {
                break;
            }
        }
        self.expect_sym(')')?;
        Ok(props)
    }

    /// Raw text of a parenthesised, comma-separated list (Iceberg partition transforms).
    fn raw_list(&mut self) -> Result<Vec<String>, SyntaxError> {
        self.expect_sym('(')?;
        let mut items = vec![String::new()];
        let mut depth = 0;
        loop {
            let Some(t) = self.t.get(self.i).cloned() else { return Err(self.error("')'")) };
            self.i += 1;
            match t {
                Tok::Sym(')') if depth == 0 => break,
                Tok::Sym(',') if depth == 0 => items.push(String::new()),
                Tok::Sym(c) => {
                    if c == '(' {
                        depth += 1;
                    } else if c == ')' {
                        depth -= 1;
                    }
                    items.last_mut().expect("one item").push(c);
                }
                Tok::Word(w) | Tok::Num(w) => {
                    let cur = items.last_mut().expect("one item");
                    if cur.ends_with(|ch: char| ch.is_alphanumeric() || ch == '_') {
                        cur.push(' ');
                    }
                    cur.push_str(&w.to_ascii_lowercase());
                }
                Tok::Str(s) | Tok::DStr(s) => items.last_mut().expect("one item").push_str(&format!("'{s}'")),
            }
        }
        Ok(items)
    }

    fn create_table(&mut self) -> Result<HiveStatement, SyntaxError> {
        self.expect_words(&["create"])?;
        let external = self.eat_word("external");
        self.expect_words(&["table"])?;
        let if_not_exists = self.eat_words(&["if", "not", "exists"]);
        let mut ct = CreateTable { name: self.table_name()?, external, if_not_exists, ..Default::default() };
        ct.columns = self.column_list(true)?;
        let mut row_serde: Option<String> = None;
        let mut delimited: BTreeMap<String, String> = BTreeMap::new();
        let mut serde_props: BTreeMap<String, String> = BTreeMap::new();
        let mut stored: Option<Storage> = None;
        while !self.at_end() {
            if self.eat_word("comment") {
                // Glue keeps a table comment with its whitespace runs squashed to one space.
                ct.comment = Some(self.string()?.split_whitespace().collect::<Vec<_>>().join(" "));
            } else if self.eat_words(&["partitioned", "by"]) {
                // Hive: `(name type, ...)`; Iceberg: `(col, day(ts), bucket(16, id))`.
                let save = self.i;
                match self.column_list(true) {
                    Ok(cols) => ct.partition_keys = cols,
                    Err(_) => {
                        self.i = save;
                        ct.partition_transforms = self.raw_list()?;
                    }
                }
            } else if self.eat_words(&["clustered", "by"]) {
                let cols = self.column_list(false)?.into_iter().map(|c| c.name).collect();
                if self.eat_words(&["sorted", "by"]) {
                    self.raw_list()?;
                }
                self.expect_words(&["into"])?;
                let n = self.number()?.parse().map_err(|_| self.error("<integer>"))?;
                self.expect_words(&["buckets"])?;
                ct.buckets = Some((cols, n));
            } else if self.eat_words(&["row", "format", "delimited"]) {
                row_serde = Some(LAZY_SIMPLE_SERDE.into());
                loop {
                    if self.eat_words(&["fields", "terminated", "by"]) {
                        let d = self.string()?;
                        delimited.insert("field.delim".into(), d.clone());
                        delimited.insert("serialization.format".into(), d);
                        if self.eat_words(&["escaped", "by"]) {
                            delimited.insert("escape.delim".into(), self.string()?);
                        }
                    } else if self.eat_words(&["collection", "items", "terminated", "by"]) {
                        delimited.insert("collection.delim".into(), self.string()?);
                    } else if self.eat_words(&["map", "keys", "terminated", "by"]) {
                        delimited.insert("mapkey.delim".into(), self.string()?);
                    } else if self.eat_words(&["lines", "terminated", "by"]) {
                        delimited.insert("line.delim".into(), self.string()?);
                    } else if self.eat_words(&["null", "defined", "as"]) {
                        delimited.insert("serialization.null.format".into(), self.string()?);
                    } else {
                        break;
                    }
                }
            } else if self.eat_words(&["row", "format", "serde"]) {
                row_serde = Some(self.string()?);
                if self.eat_words(&["with", "serdeproperties"]) {
                    serde_props.extend(self.properties()?);
                }
            } else if self.eat_words(&["with", "serdeproperties"]) {
                serde_props.extend(self.properties()?);
            } else if self.eat_words(&["stored", "as", "inputformat"]) {
                let input = self.string()?;
                self.expect_words(&["outputformat"])?;
                let output = self.string()?;
                stored = Some(Storage {
                    serde: LAZY_SIMPLE_SERDE.into(),
                    input_format: input,
                    output_format: output,
                    serde_params: BTreeMap::new(),
                });
            } else if self.eat_words(&["stored", "as"]) {
                let name = self.ident()?;
                stored = Some(Storage::stored_as(&name).ok_or_else(|| SyntaxError {
                    line: 1,
                    column: 1,
                    message: format!("mismatched input '{name}'. Expecting: PARQUET, TEXTFILE, ORC, AVRO, JSON"),
                })?);
            } else if self.eat_word("location") {
                ct.location = Some(self.string()?);
            } else if self.eat_word("tblproperties") {
                ct.properties.extend(self.properties()?);
            } else {
                return Err(self.error("COMMENT, PARTITIONED BY, ROW FORMAT, STORED AS, LOCATION, TBLPROPERTIES"));
            }
        }
        let iceberg = ct.properties.get("table_type").is_some_and(|t| t.eq_ignore_ascii_case("iceberg"));
        let mut storage = match (stored, &row_serde) {
            (Some(mut s), Some(serde)) => {
                s.serde = serde.clone();
                s
            }
            (Some(s), None) => s,
            // Without STORED AS: text formats; a JSON SerDe's table gets Hive's plain
            // IgnoreKeyTextOutputFormat (as PyAthena's recorded tests show Glue keeping it).
            (None, Some(serde)) if serde.to_ascii_lowercase().contains("json") => Storage {
                serde: serde.clone(),
                output_format: "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat".into(),
                ..Storage::text()
            },
            (None, Some(serde)) => Storage { serde: serde.clone(), ..Storage::text() },
            (None, None) if iceberg => Storage::parquet(),
            (None, None) => Storage::text(),
        };
        // FIELDS TERMINATED BY sets `serialization.format` to the delimiter too.
        storage.serde_params.extend(delimited);
        // SerDe property values keep their line breaks, with runs of spaces squashed (as the
        // `avro.schema.literal` PyAthena's tests recorded against Athena shows).
        storage.serde_params.extend(serde_props.into_iter().map(|(k, v)| (k, squash_spaces(&v))));
        ct.storage = storage;
        Ok(HiveStatement::CreateTable(ct))
    }

    /// `PARTITION (k = v, ...)`.
    fn partition_spec(&mut self) -> Result<Vec<(String, String)>, SyntaxError> {
        self.expect_words(&["partition"])?;
        self.expect_sym('(')?;
        let mut spec = Vec::new();
        loop {
            let k = self.ident()?;
            self.expect_sym('=')?;
            let v = match self.t.get(self.i) {
                Some(Tok::Str(s)) | Some(Tok::DStr(s)) => s.clone(),
                Some(Tok::Num(n)) => n.clone(),
                Some(Tok::Word(w)) => w.clone(),
                _ => return Err(self.error("<value>")),
            };
            self.i += 1;
            spec.push((k, v));
            if !self.eat_sym(',') {
                break;
            }
        }
        self.expect_sym(')')?;
        Ok(spec)
    }

    /// The ALTER TABLE forms Hive runs; `None` for the others (left to the Trino parser).
    fn alter_table(&mut self) -> Option<Result<HiveStatement, SyntaxError>> {
        self.i = 2;
        let table = match self.table_name() {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let result = if self.eat_words(&["add", "columns"]) || self.eat_words(&["replace", "columns"]) {
            let replace = self.t[self.i - 2].word().as_deref() == Some("replace");
            self.column_list(true).map(|columns| HiveStatement::AddColumns { table, columns, replace })
        } else if self.eat_words(&["add", "column"]) {
            (|| {
                let name = self.ident()?;
                let mut column = Column::new(&name, &self.hive_type()?);
                if self.eat_word("comment") {
                    column.comment = Some(self.string()?);
                }
                Ok(HiveStatement::AddColumns { table, columns: vec![column], replace: false })
            })()
        } else if self.eat_word("add") {
            let if_not_exists = self.eat_words(&["if", "not", "exists"]);
            let mut partitions = Vec::new();
            let r: Result<(), SyntaxError> = (|| {
                while self.peek_word().as_deref() == Some("partition") {
                    let spec = self.partition_spec()?;
                    let location = if self.eat_word("location") { Some(self.string()?) } else { None };
                    partitions.push((spec, location));
                }
                Ok(())
            })();
            if partitions.is_empty() {
                return None;
            }
            r.map(|_| HiveStatement::AddPartitions { table, if_not_exists, partitions })
        } else if self.eat_words(&["drop", "column"]) {
            self.ident().map(|column| HiveStatement::DropColumn { table, column })
        } else if self.eat_word("drop") {
            let if_exists = self.eat_words(&["if", "exists"]);
            if self.peek_word().as_deref() != Some("partition") {
                return None;
            }
            let mut partitions = Vec::new();
            let r: Result<(), SyntaxError> = (|| {
                loop {
                    partitions.push(self.partition_spec()?);
                    if !self.eat_sym(',') {
                        break;
                    }
                }
                Ok(())
            })();
            r.map(|_| HiveStatement::DropPartitions { table, if_exists, partitions })
        } else if self.eat_words(&["set", "tblproperties"]) {
            self.properties().map(|properties| HiveStatement::SetProperties { table, properties })
        } else if self.eat_words(&["set", "location"]) {
            self.string().map(|location| HiveStatement::SetLocation { table, location })
        } else if self.eat_word("change") {
            self.eat_word("column");
            (|| {
                let old = self.ident()?;
                let name = self.ident()?;
                let mut new = Column::new(&name, &self.hive_type()?);
                if self.eat_word("comment") {
                    new.comment = Some(self.string()?);
                }
                Ok(HiveStatement::ChangeColumn { table, old, new })
            })()
        } else if self.eat_words(&["rename", "to"]) {
            self.table_name().map(|to| HiveStatement::Rename { table, to })
        } else {
            return None;
        };
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::storage::{FileKind, PARQUET_SERDE};

    fn create(sql: &str) -> CreateTable {
        match parse(sql).expect("a Hive statement").expect("parses") {
            HiveStatement::CreateTable(ct) => ct,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_external_table_as_pyathena_writes_it() {
        let ct = create(
            "CREATE EXTERNAL TABLE IF NOT EXISTS s.one_row (number_of_rows INT COMMENT 'some comment')\n\
             COMMENT 'table comment'\n\
             ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' STORED AS TEXTFILE\n\
             LOCATION 's3://b/p/one_row/';",
        );
        assert_eq!(ct.name, ["s", "one_row"]);
        assert!(ct.external && ct.if_not_exists);
        assert_eq!(ct.columns, [Column { name: "number_of_rows".into(), type_name: "int".into(), comment: Some("some comment".into()) }]);
        assert_eq!(ct.comment.as_deref(), Some("table comment"));
        assert_eq!(ct.location.as_deref(), Some("s3://b/p/one_row/"));
        assert_eq!(ct.storage.serde, LAZY_SIMPLE_SERDE);
        let params: Vec<(&str, &str)> = ct.storage.serde_params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(params, [("field.delim", "\t"), ("line.delim", "\n"), ("serialization.format", "\t")]);
    }

    #[test]
    fn hive_types_partitions_buckets_and_properties() {
        let ct = create(
            "CREATE EXTERNAL TABLE t (m MAP<int, int>, s STRUCT<a: int, b: array<struct<c:string>>>, d DECIMAL(10, 1), `x` string COMMENT 'it\\'s')\n\
             PARTITIONED BY (b INT, c STRING) CLUSTERED BY (d) INTO 4 BUCKETS STORED AS PARQUET LOCATION 's3://b/t/'\n\
             TBLPROPERTIES ('parquet.compress'='SNAPPY', 'skip.header.line.count'='1')",
        );
        let types: Vec<&str> = ct.columns.iter().map(|c| c.type_name.as_str()).collect();
        assert_eq!(types, ["map<int,int>", "struct<a:int,b:array<struct<c:string>>>", "decimal(10,1)", "string"]);
        assert_eq!(ct.columns[3].comment.as_deref(), Some("it's"));
        assert_eq!(ct.partition_keys.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(ct.buckets, Some((vec!["d".to_owned()], 4)));
        assert_eq!(ct.storage.serde, PARQUET_SERDE);
        assert_eq!(ct.properties.get("parquet.compress").map(String::as_str), Some("SNAPPY"));
    }

    #[test]
    fn iceberg_transforms_serdes_and_other_statements() {
        let ct = create(
            "CREATE TABLE t (id bigint, ts timestamp) PARTITIONED BY (day(ts), bucket(16, id)) LOCATION 's3://b/i/' TBLPROPERTIES ('table_type'='ICEBERG')",
        );
        assert_eq!(ct.partition_transforms, ["day(ts)", "bucket(16,id)"]);
        assert_eq!(ct.storage.serde, PARQUET_SERDE);
        let ct = create(
            "CREATE EXTERNAL TABLE c (a string) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' \
             WITH SERDEPROPERTIES ('separatorChar' = ',', 'escapeChar' = '\\\\') LOCATION 's3://b/c/'",
        );
        assert_eq!(ct.storage.reader(), FileKind::OpenCsv);
        assert_eq!(ct.storage.serde_params.get("escapeChar").map(String::as_str), Some("\\"));
        let ct = create("CREATE EXTERNAL TABLE d (a string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\001' LOCATION 's3://b/d/'");
        assert_eq!(ct.storage.serde_params.get("field.delim").map(String::as_str), Some("\u{1}"));
        assert!(parse("CREATE TABLE x AS SELECT 1").is_none());
        assert!(parse("SELECT 'CREATE EXTERNAL TABLE t (a int)'").is_none());
        assert!(matches!(parse("-- set-up\n/* one */ CREATE EXTERNAL TABLE t (a int)"), Some(Ok(HiveStatement::CreateTable(_)))));
        assert!(parse("CREATE TABLE x WITH (format = 'PARQUET') AS SELECT 1").is_none());
        assert_eq!(
            parse("ALTER TABLE t ADD IF NOT EXISTS PARTITION (b=1) LOCATION 's3://b/t/b=1/' PARTITION (b = '2')").unwrap().unwrap(),
            HiveStatement::AddPartitions {
                table: vec!["t".into()],
                if_not_exists: true,
                partitions: vec![(vec![("b".into(), "1".into())], Some("s3://b/t/b=1/".into())), (vec![("b".into(), "2".into())], None)],
            }
        );
        assert_eq!(parse("MSCK REPAIR TABLE db.t").unwrap().unwrap(), HiveStatement::MsckRepair { table: vec!["db".into(), "t".into()] });
        assert_eq!(parse("SHOW PARTITIONS t").unwrap().unwrap(), HiveStatement::ShowPartitions { table: vec!["t".into()] });
        assert_eq!(
            parse("SHOW CREATE VIEW \"db\".\"v\";").unwrap().unwrap(),
            HiveStatement::ShowCreate { table: vec!["db".into(), "v".into()], view: true }
        );
        assert!(parse("CREATE EXTERNAL TABLE t (a int) STORED AS NOPE").unwrap().is_err());
        assert!(parse("CREATE EXTERNAL TABLE t (a int").unwrap().is_err());
    }
}
