//! Athena engine version 3: Trino's SQL (DDL on Hive), Trino's type names and text, and the
//! result CSV in the results location (athena-behaviour.md).

use arrow::array::RecordBatch;
use arrow::datatypes::Field;
use datafusion::sql::sqlparser::ast::Statement;

use crate::engine::on_parser_stack;
use crate::failure::SyntaxError;
use crate::formats::result_csv::{csv_header, write_csv_rows};
use crate::statements::classify::{Kind, classify, kind};
use crate::statements::dialect::{Dialect, Prepared, Refusal};
use crate::types::ColumnInfo;

/// The engine's `EngineVersion` name.
pub const ENGINE_VERSION_3: &str = "Athena engine version 3";

#[derive(Debug, Clone, Copy, Default)]
pub struct AthenaEngineV3;

impl Dialect for AthenaEngineV3 {
    fn name(&self) -> &'static str {
        ENGINE_VERSION_3
    }

    /// Hive DDL first (Athena runs DDL on Hive, not on Trino), else one statement of Trino SQL.
    fn prepare(&self, sql: &str) -> Result<(Prepared, Kind), Refusal> {
        self.parse(sql).map_err(Refusal::Syntax)
    }

    fn column_info(&self, field: &Field) -> ColumnInfo {
        ColumnInfo::from_field(field)
    }

    fn result_header(&self, names: &[String]) -> Vec<u8> {
        csv_header(names)
    }

    fn result_rows(&self, out: &mut Vec<u8>, batch: &RecordBatch) {
        write_csv_rows(out, batch, &mut String::new());
    }
}

impl AthenaEngineV3 {
    fn parse(&self, sql: &str) -> Result<(Prepared, Kind), SyntaxError> {
        if let Some(hive) = crate::statements::hive::parser::parse(sql) {
            let hive = hive?;
            let (statement_type, substatement_type) = hive.kind();
            return Ok((Prepared::Hive(hive), kind(statement_type, substatement_type)));
        }
        on_parser_stack(|| {
            let mut statement = crate::engine::trino::parse::parse(sql)?;
            let returning = match &statement {
                Statement::Insert(i) => i.returning.is_some(),
                Statement::Update(u) => u.returning.is_some(),
                Statement::Delete(d) => d.returning.is_some(),
                _ => false,
            };
            if returning {
                // Trino has no RETURNING clause.
                return Err(SyntaxError { line: 1, column: 1, message: "mismatched input 'RETURNING'. Expecting: <EOF>".into() });
            }
            let kind = classify(&statement);
            crate::engine::trino::rewrite::rewrite(&mut statement);
            Ok((Prepared::Sql(statement), kind))
        })
    }
}
