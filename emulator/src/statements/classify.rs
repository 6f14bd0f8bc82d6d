//! How Athena classifies a statement: StatementType and SubstatementType, as
//! GetQueryExecution reports them.

use datafusion::sql::sqlparser::ast::{ObjectType, Statement};

/// StatementType and SubstatementType, as GetQueryExecution reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub statement_type: &'static str,
    pub substatement_type: &'static str,
}

pub const fn kind(statement_type: &'static str, substatement_type: &'static str) -> Kind {
    Kind { statement_type, substatement_type }
}

/// How Athena classifies a statement.
pub fn classify(stmt: &Statement) -> Kind {
    match stmt {
        Statement::Query(_) => kind("DML", "SELECT"),
        Statement::Explain { .. } => kind("DML", "EXPLAIN"),
        Statement::Insert(_) => kind("DML", "INSERT"),
        Statement::Update(_) => kind("DML", "UPDATE"),
        Statement::Delete(_) => kind("DML", "DELETE"),
        Statement::Merge(_) => kind("DML", "MERGE"),
        Statement::Unload { .. } => kind("DML", "UNLOAD"),
        Statement::CreateTable(ct) if ct.query.is_some() => kind("DDL", "CREATE_TABLE_AS_SELECT"),
        Statement::CreateTable(_) => kind("DDL", "CREATE_TABLE"),
        Statement::CreateView(_) => kind("DDL", "CREATE_VIEW"),
        Statement::CreateDatabase { .. } | Statement::CreateSchema { .. } => kind("DDL", "CREATE_DATABASE"),
        Statement::Drop { object_type: ObjectType::Table, .. } => kind("DDL", "DROP_TABLE"),
        Statement::Drop { object_type: ObjectType::View, .. } => kind("DDL", "DROP_VIEW"),
        Statement::Drop { object_type: ObjectType::Schema | ObjectType::Database, .. } => kind("DDL", "DROP_DATABASE"),
        Statement::Drop { .. } => kind("DDL", "DROP_TABLE"),
        Statement::AlterTable(_) => kind("DDL", "ALTER_TABLE"),
        Statement::ShowTables { .. } => kind("UTILITY", "SHOW_TABLES"),
        Statement::ShowDatabases { .. } | Statement::ShowSchemas { .. } => kind("UTILITY", "SHOW_DATABASES"),
        Statement::ShowColumns { .. } => kind("UTILITY", "SHOW_COLUMNS"),
        Statement::ShowCreate { .. } => kind("UTILITY", "SHOW_CREATE_TABLE"),
        Statement::ExplainTable { .. } => kind("UTILITY", "DESCRIBE_TABLE"),
        _ => kind("UTILITY", "UNKNOWN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::trino::parse::parse;

    #[test]
    fn classifies_like_athena() {
        let k = |sql: &str| {
            let k = classify(&parse(sql).unwrap());
            (k.statement_type, k.substatement_type)
        };
        assert_eq!(k("SELECT 1"), ("DML", "SELECT"));
        assert_eq!(k("-- c\nWITH a AS (SELECT 1) SELECT * FROM a"), ("DML", "SELECT"));
        assert_eq!(k("VALUES (1), (2)"), ("DML", "SELECT"));
        assert_eq!(k("EXPLAIN SELECT 1"), ("DML", "EXPLAIN"));
        assert_eq!(k("INSERT INTO t VALUES (1)"), ("DML", "INSERT"));
        assert_eq!(k("CREATE TABLE t AS SELECT 1 AS a"), ("DDL", "CREATE_TABLE_AS_SELECT"));
        assert_eq!(k("SHOW TABLES"), ("UTILITY", "SHOW_TABLES"));
        assert_eq!(k("SHOW DATABASES"), ("UTILITY", "SHOW_DATABASES"));
        assert_eq!(k("DESCRIBE one_row"), ("UTILITY", "DESCRIBE_TABLE"));
        assert_eq!(k("UNLOAD (SELECT 1 AS a) TO 's3://b/p/' WITH (format = 'PARQUET')"), ("DML", "UNLOAD"));
    }
}
