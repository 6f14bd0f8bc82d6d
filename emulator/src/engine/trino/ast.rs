//! Small builders and readers of sqlparser expressions shared by the Trino rewrites.

use datafusion::sql::sqlparser::ast::*;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::formats::value_text::Zone;

pub fn parse_expr(text: &str) -> Expr {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|e| panic!("internal rewrite produced invalid SQL {text:?}: {e}"))
}

pub fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast { kind: CastKind::Cast, expr: Box::new(expr), data_type, array: false, format: None }
}

pub fn function_args(f: &Function) -> Option<Vec<&Expr>> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        FunctionArguments::None => Some(vec![]),
        FunctionArguments::Subquery(_) => None,
    }
}

pub fn literal_text(v: &ValueWithSpan) -> Option<&str> {
    match &v.value {
        Value::SingleQuotedString(s) => Some(s),
        _ => None,
    }
}

/// `expr` (a count of `unit` since the epoch, or a timestamp) as `timestamp with time zone` in `zone`.
pub fn zoned(expr: &str, unit: &str, zone: &Zone) -> Expr {
    parse_expr(&format!("arrow_cast({expr}, 'Timestamp({unit}, \"{}\")')", zone.arrow_name()))
}

/// `x -> body` as sqlparser's generic dialect reads it (a JSON arrow whose left operand is the
/// parameter, binding tighter than the body's operators) as a lambda.
pub fn lambda_of(e: &Expr) -> Option<Expr> {
    fn take_param(e: &mut Expr) -> Option<Ident> {
        match e {
            Expr::BinaryOp { left, op: BinaryOperator::Arrow, right } => match left.as_ref() {
                Expr::Identifier(id) => {
                    let id = id.clone();
                    *e = (**right).clone();
                    Some(id)
                }
                _ => None,
            },
            Expr::BinaryOp { left, .. } => take_param(left),
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => take_param(inner),
            _ => None,
        }
    }
    let mut body = e.clone();
    let param = take_param(&mut body)?;
    Some(Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::One(LambdaFunctionParameter { name: param, data_type: None }),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// An integer literal's value (through the INTEGER casts this rewriter puts on them, and `-`).
pub fn int_literal(e: &Expr) -> Option<i32> {
    match e {
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse().ok(),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => int_literal(expr),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => int_literal(expr).map(|v| -v),
        _ => None,
    }
}

/// A string literal's text.
pub fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => literal_text(v),
        _ => None,
    }
}
