//! DuckDB's SQL on DataFusion: parsed with sqlparser's DuckDB dialect, then rewritten so that
//! DataFusion computes DuckDB's result types: casts and typed literals to the Arrow type DuckDB
//! exports (tagged with the DuckDB name where the Arrow type does not tell it, [`typed_udf`]),
//! numeric literals typed as DuckDB types them (INTEGER, BIGINT, HUGEINT, DECIMAL(w,s), DOUBLE),
//! `/` as DuckDB's floating division and `//` as integer division, unnamed columns named as
//! DuckDB names them. What DuckDB computes differently and is not rewritten here is listed in
//! the endpoint's README (`sum` of integers is BIGINT here, HUGEINT in DuckDB, for one).
//!
//! [`types`] reads DuckDB type names.

pub mod copy;
pub mod types;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BinaryArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::sql::sqlparser::ast::*;
use datafusion::sql::sqlparser::dialect::DuckDbDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::engine::duckdb::types::{DuckType, parse_type};
use crate::formats::duckdb_types::DUCKDB_TYPE;

/// Name of the UDF that tags a value with its DuckDB type name (see [`typed_udf`]).
pub const TYPED: &str = "duckdb_typed";

/// Name of the UDF that makes a BLOB of text or bytes (see [`blob_udf`]).
pub const BLOB: &str = "duckdb_blob";

/// Name of the UDF that reads a HUGEINT literal (see [`hugeint_udf`]).
pub const HUGEINT: &str = "duckdb_hugeint";

/// A DuckDB error: its class (`Parser`, `Catalog`, `Binder`, ...) and message, as DuckDB words it.
#[derive(Debug, Clone, PartialEq)]
pub struct DuckError(pub String);

/// Parses one statement of DuckDB's SQL and rewrites it for DataFusion.
pub fn prepare(sql: &str) -> Result<Statement, DuckError> {
    let mut statements = Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| DuckError(parser_error(&e.to_string())))?;
    let mut statement = match statements.len() {
        1 => statements.remove(0),
        0 => return Err(DuckError("Parser Error: syntax error at end of input".into())),
        _ => return Err(DuckError("Parser Error: a DuckDB query runs one statement; found several".into())),
    };
    rewrite(&mut statement)?;
    Ok(statement)
}

/// `sql parser error: Expected: ..., found: SELEC at Line: 1, Column: 1` -> DuckDB's
/// `Parser Error: syntax error at or near "SELEC"`.
fn parser_error(msg: &str) -> String {
    let found = msg.split_once("found: ").map(|(_, rest)| rest.split(" at Line:").next().unwrap_or(rest).trim());
    match found {
        Some("EOF") | None => "Parser Error: syntax error at end of input".into(),
        Some(token) => format!("Parser Error: syntax error at or near \"{token}\""),
    }
}

/// Rewrites DuckDB forms in place for DataFusion.
pub fn rewrite(statement: &mut Statement) -> Result<(), DuckError> {
    let mut r = Rewriter { keep: HashSet::new() };
    match statement.visit(&mut r) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Rewriter {
    /// Addresses of literals that stay as written (ordinals, LIMIT, interval counts, table
    /// function arguments, subscripts).
    keep: HashSet<usize>,
}

impl Rewriter {
    fn keep(&mut self, e: &Expr) {
        self.keep.insert(e as *const Expr as usize);
    }
}

impl VisitorMut for Rewriter {
    type Break = DuckError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<DuckError> {
        if let Some(order_by) = &query.order_by
            && let OrderByKind::Expressions(exprs) = &order_by.kind
        {
            for e in exprs {
                self.keep(&e.expr);
            }
        }
        if let Some(limit) = &query.limit_clause {
            match limit {
                LimitClause::LimitOffset { limit, offset, .. } => {
                    if let Some(l) = limit {
                        self.keep(l);
                    }
                    if let Some(o) = offset {
                        self.keep(&o.value);
                    }
                }
                LimitClause::OffsetCommaLimit { offset, limit } => {
                    self.keep(offset);
                    self.keep(limit);
                }
            }
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
                for e in exprs {
                    self.keep(e);
                }
            }
            name_columns(select);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<DuckError> {
        if let TableFactor::Table { args: Some(args), .. } = factor {
            for a in &args.args {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = a {
                    self.keep(e);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<DuckError> {
        match expr {
            Expr::Interval(i) => self.keep(&i.value),
            Expr::CompoundFieldAccess { access_chain, .. } => {
                for a in access_chain.iter() {
                    if let AccessExpr::Subscript(Subscript::Index { index }) = a {
                        self.keep(index);
                    }
                }
            }
            Expr::Function(Function { over: Some(WindowType::WindowSpec(spec)), .. }) => {
                if let Some(frame) = &spec.window_frame {
                    for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                        if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) = bound {
                            self.keep(e);
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<DuckError> {
        let kept = self.keep.contains(&(expr as *const Expr as usize));
        let replacement = match expr {
            Expr::Cast { expr: inner, data_type, .. } => match parse_type(&data_type.to_string()) {
                Ok(t) => Some(cast_to(std::mem::replace(inner.as_mut(), Expr::value(Value::Null)), &t)),
                Err(e) => return ControlFlow::Break(DuckError(e.0)),
            },
            Expr::TypedString(ts) => {
                let value = Expr::Value(ts.value.clone());
                match parse_type(&ts.data_type.to_string()) {
                    Ok(t) => Some(cast_to(value, &t)),
                    Err(e) => return ControlFlow::Break(DuckError(e.0)),
                }
            }
            Expr::Value(v) if !kept => match &v.value {
                Value::Number(n, _) => number(n),
                _ => None,
            },
            Expr::BinaryOp { op: BinaryOperator::Divide, left, right } => {
                // DuckDB's `/` divides as DOUBLE (`5 / 2` is 2.5); `//` is integer division.
                let l = std::mem::replace(left.as_mut(), Expr::value(Value::Null));
                let r = std::mem::replace(right.as_mut(), Expr::value(Value::Null));
                let double = DuckType { arrow: DataType::Float64, tag: None };
                Some(Expr::BinaryOp {
                    op: BinaryOperator::Divide,
                    left: Box::new(cast_to(l, &double)),
                    right: Box::new(cast_to(r, &double)),
                })
            }
            Expr::BinaryOp { op: op @ BinaryOperator::DuckIntegerDivide, .. } => {
                *op = BinaryOperator::Divide;
                None
            }
            _ => None,
        };
        if let Some(r) = replacement {
            *expr = r;
        }
        ControlFlow::Continue(())
    }
}

/// A numeric literal typed as DuckDB types it: INTEGER, BIGINT, HUGEINT, then DOUBLE for whole
/// numbers; DECIMAL(width, scale) for `1.50` (DOUBLE beyond 38 digits); DOUBLE with an exponent.
fn number(text: &str) -> Option<Expr> {
    let t = if text.contains(['e', 'E']) {
        DuckType { arrow: DataType::Float64, tag: None }
    } else if let Some((int, frac)) = text.split_once('.') {
        // DuckDB's width counts the digits as written (`0.5` is DECIMAL(2,1)).
        let digits = int.trim_start_matches(['-', '+']).len().max(1) + frac.len();
        if digits > 38 {
            DuckType { arrow: DataType::Float64, tag: None }
        } else {
            DuckType { arrow: DataType::Decimal128(digits as u8, frac.len() as i8), tag: None }
        }
    } else if text.parse::<i32>().is_ok() {
        DuckType { arrow: DataType::Int32, tag: None }
    } else if text.parse::<i64>().is_ok() {
        return None; // DataFusion's own type: BIGINT
    } else if text.parse::<i128>().is_ok() {
        // Up to i128's 39 digits, beyond what a cast to decimal(38, 0) takes: DuckDB exports
        // HUGEINT as decimal128(38, 0) whatever its digits.
        let literal = call(HUGEINT, vec![Expr::value(Value::SingleQuotedString(text.to_owned()))]);
        return Some(call(TYPED, vec![literal, Expr::value(Value::SingleQuotedString("HUGEINT".into()))]));
    } else {
        DuckType { arrow: DataType::Float64, tag: None }
    };
    Some(cast_to(Expr::value(Value::SingleQuotedString(text.to_owned())), &t))
}

/// `arrow_cast(expr, '<arrow type>')`, wrapped in [`TYPED`] when the DuckDB name must be kept.
fn cast_to(expr: Expr, t: &DuckType) -> Expr {
    if t.arrow == DataType::Binary {
        // Text to BLOB reads DuckDB's `\xNN` escapes.
        return call(BLOB, vec![expr]);
    }
    let cast = call("arrow_cast", vec![expr, Expr::value(Value::SingleQuotedString(t.arrow.to_string()))]);
    let cast = match &t.tag {
        Some(tag) if tag == "UUID" => call("lower", vec![cast]),
        _ => cast,
    };
    match &t.tag {
        Some(tag) => call(TYPED, vec![cast, Expr::value(Value::SingleQuotedString(tag.clone()))]),
        None => cast,
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// DuckDB names an unnamed result column after its expression as written (`1`, `'a'`,
/// `(a + 1)`, `count_star()`), a column reference after the column.
fn name_columns(select: &mut Select) {
    for item in select.projection.iter_mut() {
        if let SelectItem::UnnamedExpr(e) = item {
            if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                continue;
            }
            let name = column_name(e);
            let expr = std::mem::replace(e, Expr::value(Value::Null));
            *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', name) };
        }
    }
}

fn column_name(e: &Expr) -> String {
    match e {
        Expr::BinaryOp { .. } => format!("({e})"),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("count") && f.args.to_string() == "(*)" => "count_star()".into(),
        Expr::Cast { kind: CastKind::DoubleColon, expr, data_type, .. } => format!("CAST({expr} AS {data_type})"),
        Expr::Nested(inner) => column_name(inner),
        other => other.to_string(),
    }
}

/// `duckdb_typed(value, 'NAME')`: the value unchanged, its field tagged with DuckDB type `NAME`
/// (metadata [`DUCKDB_TYPE`]) so that a result column's DuckDB type survives where its Arrow
/// type is shared (HUGEINT, UUID, JSON, ENUM).
pub fn typed_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Typed { signature: Signature::new(TypeSignature::Any(2), Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Typed {
    signature: Signature,
}

impl ScalarUDFImpl for Typed {
    fn name(&self) -> &str {
        TYPED
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[0].clone())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let Some(Some(ScalarValue::Utf8(Some(name)))) = args.scalar_arguments.get(1) else {
            return plan_err!("{TYPED} takes a constant type name");
        };
        let input = &args.arg_fields[0];
        let field = Field::new(TYPED, input.data_type().clone(), true).with_metadata([(DUCKDB_TYPE.to_owned(), name.clone())].into());
        Ok(Arc::new(field))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(args.args[0].clone())
    }
}

/// `duckdb_hugeint('170141183460469231731687303715884105727')`: a whole number of up to i128's
/// range as `decimal128(38, 0)`, as DuckDB exports HUGEINT (39-digit values included).
pub fn hugeint_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Hugeint { signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Hugeint {
    signature: Signature,
}

impl ScalarUDFImpl for Hugeint {
    fn name(&self) -> &str {
        HUGEINT
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let parse = |s: Option<&str>| -> DfResult<Option<i128>> {
            s.map(|s| {
                s.trim()
                    .parse::<i128>()
                    .map_err(|_| DataFusionError::Execution(format!("Conversion Error: Could not convert string '{s}' to INT128")))
            })
            .transpose()
        };
        match &args.args[0] {
            ColumnarValue::Scalar(ScalarValue::Utf8(s)) => Ok(ColumnarValue::Scalar(ScalarValue::Decimal128(parse(s.as_deref())?, 38, 0))),
            ColumnarValue::Array(a) => {
                let strings = a.as_string::<i32>();
                let values: Vec<Option<i128>> = strings.iter().map(parse).collect::<DfResult<_>>()?;
                let array = arrow::array::Decimal128Array::from(values).with_precision_and_scale(38, 0)?;
                Ok(ColumnarValue::Array(Arc::new(array)))
            }
            other => plan_err!("{HUGEINT} takes text, not {}", other.data_type()),
        }
    }
}

/// `duckdb_blob(x)`: bytes as they are; text as DuckDB casts it to BLOB, each `\xNN` escape one
/// byte (`'\x00ab'::BLOB` is the three bytes 00 61 62).
pub fn blob_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Blob { signature: Signature::any(1, Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Blob {
    signature: Signature,
}

/// DuckDB's text-to-BLOB conversion.
fn unescape_blob(s: &str) -> DfResult<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let hex =
                b.get(i + 1..i + 4).filter(|h| (h[0] == b'x' || h[0] == b'X') && h[1].is_ascii_hexdigit() && h[2].is_ascii_hexdigit());
            let Some(h) = hex else {
                return Err(DataFusionError::Execution(format!(
                    "Conversion Error: Invalid hex escape code encountered in string -> blob conversion of string \"{s}\""
                )));
            };
            out.push(u8::from_str_radix(std::str::from_utf8(&h[1..]).expect("hex digits"), 16).expect("two hex digits"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

impl ScalarUDFImpl for Blob {
    fn name(&self) -> &str {
        BLOB
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let out: ArrayRef = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let strings = arrow::compute::cast(&array, &DataType::Utf8)?;
                let values: Vec<Option<Vec<u8>>> =
                    strings.as_string::<i32>().iter().map(|s| s.map(unescape_blob).transpose()).collect::<DfResult<_>>()?;
                Arc::new(BinaryArray::from_iter(values))
            }
            _ => arrow::compute::cast(&array, &DataType::Binary)?,
        };
        Ok(match &args.args[0] {
            ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            ColumnarValue::Array(_) => ColumnarValue::Array(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_casts_are_typed_as_duckdb_types_them() {
        let s = prepare("SELECT 1 AS a, 1.50 AS b, 1e3 AS c, 'x'::UUID AS d, 5 / 2 AS e FROM t ORDER BY 1 LIMIT 2").unwrap().to_string();
        assert!(s.contains("arrow_cast('1', 'Int32') AS a"), "{s}");
        assert!(s.contains("arrow_cast('1.50', 'Decimal128(3, 2)') AS b"), "{s}");
        assert!(s.contains("arrow_cast('1e3', 'Float64') AS c"), "{s}");
        assert!(s.contains("duckdb_typed(lower(arrow_cast('x', 'Utf8')), 'UUID') AS d"), "{s}");
        assert!(s.ends_with("ORDER BY 1 LIMIT 2"), "{s}");
        assert_eq!(prepare("SELEC 1").unwrap_err().0, "Parser Error: syntax error at or near \"SELEC\"");
        assert_eq!(prepare("SELECT 1::NOPE").unwrap_err().0, "Catalog Error: Type with name NOPE does not exist!");
    }

    #[test]
    fn unnamed_columns_are_named_as_duckdb_names_them() {
        let s = prepare("SELECT 1 + 1, count(*), a FROM t").unwrap().to_string();
        assert!(s.contains("AS \"(1 + 1)\""), "{s}");
        assert!(s.contains("AS \"count_star()\""), "{s}");
    }
}
