//! The Hive DDL Athena runs outside Trino (athena-behaviour.md): `CREATE [EXTERNAL] TABLE` with
//! Hive types, comments, `PARTITIONED BY`, `CLUSTERED BY`, `ROW FORMAT`, `STORED AS`,
//! `LOCATION`, `TBLPROPERTIES`; `ALTER TABLE ADD/DROP PARTITION`, `MSCK REPAIR TABLE`,
//! `SHOW PARTITIONS`, `SHOW CREATE TABLE/VIEW`, `SHOW TBLPROPERTIES`. A small tokenizer and
//! recursive-descent parser: sqlparser's dialects do not take Hive's `map<int, int>`,
//! `struct<a: int>` or backslash escapes in strings.

use std::collections::BTreeMap;

use crate::catalog::Column;
use crate::sql::SyntaxError;

/// A parsed Hive statement.
#[derive(Debug, Clone, PartialEq)]
pub enum HiveStatement {
    CreateTable(CreateTable),
    AddPartitions {
        table: Vec<String>,
        if_not_exists: bool,
        partitions: Vec<(Vec<(String, String)>, Option<String>)>,
    },
    DropPartitions {
        table: Vec<String>,
        if_exists: bool,
        partitions: Vec<Vec<(String, String)>>,
    },
    /// `ALTER TABLE t SET TBLPROPERTIES (...)` and other ALTER TABLE forms that change metadata.
    SetProperties {
        table: Vec<String>,
        properties: BTreeMap<String, String>,
    },
    MsckRepair {
        table: Vec<String>,
    },
    /// `VACUUM t`, `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE ...]` (Iceberg).
    Maintenance {
        table: Vec<String>,
    },
    ShowPartitions {
        table: Vec<String>,
    },
    ShowCreate {
        table: Vec<String>,
        view: bool,
    },
    ShowTblProperties {
        table: Vec<String>,
        key: Option<String>,
    },
}

impl HiveStatement {
    /// StatementType and SubstatementType, as GetQueryExecution reports them.
    pub fn kind(&self) -> (&'static str, &'static str) {
        match self {
            HiveStatement::CreateTable(_) => ("DDL", "CREATE_TABLE"),
            HiveStatement::AddPartitions { .. } => ("DDL", "ALTER_TABLE_ADD_PARTITION"),
            HiveStatement::DropPartitions { .. } => ("DDL", "ALTER_TABLE_DROP_PARTITION"),
            HiveStatement::SetProperties { .. } => ("DDL", "ALTER_TABLE_SET_TBLPROPERTIES"),
            HiveStatement::MsckRepair { .. } => ("DDL", "MSCK_REPAIR_TABLE"),
            HiveStatement::Maintenance { .. } => ("DML", "VACUUM"),
            HiveStatement::ShowPartitions { .. } => ("UTILITY", "SHOW_PARTITIONS"),
            HiveStatement::ShowCreate { view: false, .. } => ("UTILITY", "SHOW_CREATE_TABLE"),
            HiveStatement::ShowCreate { view: true, .. } => ("UTILITY", "SHOW_CREATE_VIEW"),
            HiveStatement::ShowTblProperties { .. } => ("UTILITY", "SHOW_TBLPROPERTIES"),
        }
    }
}

/// `CREATE [EXTERNAL] TABLE` without `AS SELECT`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreateTable {
    /// `[db, table]` or `[table]`, lower case.
    pub name: Vec<String>,
    pub external: bool,
    pub if_not_exists: bool,
    pub columns: Vec<Column>,
    pub comment: Option<String>,
    /// Hive partition columns (`PARTITIONED BY (b int)`).
    pub partition_keys: Vec<Column>,
    /// Iceberg partitioning (`PARTITIONED BY (day(ts), bucket(16, id), c)`), as written.
    pub partition_transforms: Vec<String>,
    /// `CLUSTERED BY (a) [SORTED BY (...)] INTO n BUCKETS`.
    pub buckets: Option<(Vec<String>, u32)>,
    pub storage: Storage,
    pub location: Option<String>,
    pub properties: BTreeMap<String, String>,
}

/// SerDe and file formats, as the Glue catalog keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Storage {
    pub serde: String,
    pub input_format: String,
    pub output_format: String,
    pub serde_params: BTreeMap<String, String>,
}

pub const LAZY_SIMPLE_SERDE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";
pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
const TEXT_INPUT: &str = "org.apache.hadoop.mapred.TextInputFormat";
const TEXT_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

impl Storage {
    /// A SerDe and its formats, with Hive's default `serialization.format` of `1`.
    fn of(serde: &str, input_format: &str, output_format: &str) -> Self {
        Storage {
            serde: serde.into(),
            input_format: input_format.into(),
            output_format: output_format.into(),
            serde_params: [("serialization.format".to_owned(), "1".to_owned())].into(),
        }
    }

    pub fn parquet() -> Self {
        Storage::of(
            PARQUET_SERDE,
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        )
    }

    pub fn text() -> Self {
        Storage::of(LAZY_SIMPLE_SERDE, TEXT_INPUT, TEXT_OUTPUT)
    }

    /// `STORED AS <name>` (a `ROW FORMAT SERDE` given too replaces the SerDe).
    fn stored_as(name: &str) -> Option<Self> {
        Some(match name {
            "parquet" => Storage::parquet(),
            "textfile" => Storage::text(),
            "orc" => Storage::of(
                "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
                "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
                "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            ),
            "avro" => Storage::of(
                "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
                "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
                "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
            ),
            "json" => Storage::of("org.apache.hive.hcatalog.data.JsonSerDe", TEXT_INPUT, TEXT_OUTPUT),
            _ => return None,
        })
    }

    /// How the endpoint reads the table's files.
    pub fn reader(&self) -> FileKind {
        let serde = self.serde.to_ascii_lowercase();
        if serde.contains("parquet") {
            FileKind::Parquet
        } else if serde.contains("opencsv") {
            FileKind::OpenCsv
        } else if serde.contains("json") {
            FileKind::Json
        } else if serde.contains("lazysimple") || serde.contains("lazybinary") {
            FileKind::LazySimple
        } else {
            FileKind::Unsupported
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Parquet,
    LazySimple,
    OpenCsv,
    Json,
    Unsupported,
}

fn squash_spaces(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

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
        ("alter", "table", _) => match p.alter_table() {
            Some(r) => r,
            None => return None,
        },
        ("msck", "repair", "table") => {
            p.i = 3;
            p.table_name().map(|table| HiveStatement::MsckRepair { table })
        }
        ("vacuum", _, _) => {
            p.i = 1;
            p.table_name().map(|table| HiveStatement::Maintenance { table })
        }
        ("optimize", _, _) => {
            p.i = 1;
            // The rest (`REWRITE DATA USING BIN_PACK [WHERE ...]`) changes nothing here.
            let r = p.table_name().map(|table| HiveStatement::Maintenance { table });
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    /// `"..."`: a string in Hive DDL, a quoted identifier in Trino statements (SHOW CREATE VIEW).
    DStr(String),
    Num(String),
    Sym(char),
}

impl Tok {
    fn word(&self) -> Option<String> {
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

fn tokenize(sql: &str) -> Result<Vec<Tok>, SyntaxError> {
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
        let result = if self.eat_word("add") {
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
        } else {
            return None;
        };
        Some(result)
    }
}

/// The query of `CREATE [OR REPLACE] VIEW name AS <query>` as written.
pub fn view_body(sql: &str) -> Option<String> {
    let tokens_end = |s: &str| s.trim().trim_end_matches(';').trim().to_owned();
    let lower = sql.to_ascii_lowercase();
    let at = lower.find("view")?;
    // The first ` AS ` (any whitespace around it) after the view's name, outside quotes.
    let b = sql.as_bytes();
    let mut i = at + 4;
    let mut quote: Option<u8> = None;
    while i + 2 < b.len() {
        match quote {
            Some(q) if b[i] == q => quote = None,
            Some(_) => {}
            None if matches!(b[i], b'"' | b'`' | b'\'') => quote = Some(b[i]),
            None if b[i].is_ascii_whitespace()
                && lower[i + 1..].starts_with("as")
                && b.get(i + 3).is_some_and(|c| c.is_ascii_whitespace() || *c == b'(') =>
            {
                return Some(tokens_end(&sql[i + 3..]));
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// A view's query as Trino's formatter prints it for SHOW CREATE VIEW (`SELECT a\nFROM\n  t`),
/// for the plain SELECTs it can lay out; other queries as written.
pub fn format_view_query(sql: &str) -> Vec<String> {
    use datafusion::sql::sqlparser::ast::{SetExpr, Statement};
    let plain = || sql.lines().map(str::to_owned).collect();
    let Ok(Statement::Query(q)) = crate::sql::parse(sql) else { return plain() };
    let SetExpr::Select(select) = q.body.as_ref() else { return plain() };
    if q.with.is_some() || select.from.len() != 1 {
        return plain();
    }
    let items: Vec<String> = select.projection.iter().map(|p| p.to_string()).collect();
    let mut lines = vec![format!("SELECT {}", items.join(", ")), "FROM".to_owned(), format!("  {}", select.from[0])];
    if let Some(w) = &select.selection {
        lines.push(format!("WHERE {w}"));
    }
    if let datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &select.group_by
        && !exprs.is_empty()
    {
        lines.push(format!("GROUP BY {}", exprs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")));
    }
    if let Some(order) = &q.order_by {
        lines.push(order.to_string());
    }
    if let Some(limit) = &q.limit_clause {
        lines.push(limit.to_string().trim().to_owned());
    }
    lines
}

/// `SHOW CREATE TABLE` text in Hive's layout (the layout is Hive's; it was not compared line by
/// line with Athena's output).
pub fn show_create_table(db: &str, table: &crate::catalog::Table) -> Vec<String> {
    let quote = |s: &str| s.replace('\'', "\\'");
    let mut lines = vec![format!("CREATE EXTERNAL TABLE `{db}`.`{}`(", table.name)];
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| match &c.comment {
            Some(comment) => format!("  `{}` {} COMMENT '{}'", c.name, c.type_name, quote(comment)),
            None => format!("  `{}` {}", c.name, c.type_name),
        })
        .collect();
    let n = cols.len();
    for (i, c) in cols.into_iter().enumerate() {
        lines.push(if i + 1 < n { format!("{c},") } else { format!("{c})") });
    }
    if let Some(c) = &table.comment {
        lines.push(format!("COMMENT '{}'", quote(c)));
    }
    if !table.partition_keys.is_empty() {
        lines.push("PARTITIONED BY ( ".into());
        let n = table.partition_keys.len();
        for (i, c) in table.partition_keys.iter().enumerate() {
            lines.push(format!("  `{}` {}{}", c.name, c.type_name, if i + 1 < n { "," } else { ")" }));
        }
    }
    let storage = table.storage();
    lines.push("ROW FORMAT SERDE ".into());
    lines.push(format!("  '{}' ", storage.serde));
    let params: Vec<_> =
        storage.serde_params.iter().filter(|(k, _)| k.as_str() != "serialization.format" || storage.serde_params.len() > 1).collect();
    if !params.is_empty() {
        lines.push("WITH SERDEPROPERTIES ( ".into());
        let n = params.len();
        for (i, (k, v)) in params.into_iter().enumerate() {
            let v = v.replace('\t', "\\t").replace('\n', "\\n");
            lines.push(format!("  '{k}'='{v}'{}", if i + 1 < n { ", " } else { ") " }));
        }
    }
    lines.push("STORED AS INPUTFORMAT ".into());
    lines.push(format!("  '{}' ", storage.input_format));
    lines.push("OUTPUTFORMAT ".into());
    lines.push(format!("  '{}'", storage.output_format));
    lines.push("LOCATION".into());
    lines.push(format!("  '{}'", table.location.trim_end_matches('/')));
    lines.push("TBLPROPERTIES (".into());
    let props: Vec<String> = table.properties.iter().map(|(k, v)| format!("  '{k}'='{}'", quote(v))).collect();
    let n = props.len();
    for (i, p) in props.into_iter().enumerate() {
        lines.push(if i + 1 < n { format!("{p},") } else { format!("{p})") });
    }
    if n == 0 {
        lines.push(")".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn show_create_table_closes_what_it_opens() {
        let t = crate::catalog::Table {
            storage: Some(Storage::parquet()),
            ..crate::catalog::Table::new("t", vec![Column::new("a", "int")], "s3://b/t/".into())
        };
        let text = show_create_table("db", &t).join("\n");
        assert_eq!(text.matches('(').count(), text.matches(')').count(), "{text}");
        assert!(!text.contains("SERDEPROPERTIES"), "only serialization.format=1: nothing to show\n{text}");
        assert!(text.ends_with("LOCATION\n  's3://b/t'\nTBLPROPERTIES (\n)"), "{text}");
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
