//! What a Hive DDL statement says, as parsed by [`crate::statements::hive::parser`].

use std::collections::BTreeMap;

use crate::catalog::Column;
use crate::formats::storage::Storage;

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
    /// `ALTER TABLE t ADD COLUMNS (...)`, or `REPLACE COLUMNS (...)` when `replace`.
    AddColumns {
        table: Vec<String>,
        columns: Vec<Column>,
        replace: bool,
    },
    /// `ALTER TABLE t CHANGE [COLUMN] old new type [COMMENT '...']`.
    ChangeColumn {
        table: Vec<String>,
        old: String,
        new: Column,
    },
    /// `ALTER TABLE t SET LOCATION 's3://...'`.
    SetLocation {
        table: Vec<String>,
        location: String,
    },
    /// `ALTER TABLE t RENAME TO u` (Iceberg tables only, as in Athena).
    Rename {
        table: Vec<String>,
        to: Vec<String>,
    },
    /// `ALTER TABLE t DROP [COLUMN] c` (Iceberg tables only, as in Athena).
    DropColumn {
        table: Vec<String>,
        column: String,
    },
    /// `VACUUM t`, or `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE ...]` when `optimize`
    /// (Iceberg).
    Maintenance {
        table: Vec<String>,
        optimize: bool,
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
            HiveStatement::AddColumns { replace: false, .. } => ("DDL", "ALTER_TABLE_ADD_COLUMNS"),
            HiveStatement::AddColumns { replace: true, .. } => ("DDL", "ALTER_TABLE_REPLACE_COLUMNS"),
            HiveStatement::ChangeColumn { .. } => ("DDL", "ALTER_TABLE_CHANGE_COLUMN"),
            HiveStatement::SetLocation { .. } => ("DDL", "ALTER_TABLE_SET_LOCATION"),
            HiveStatement::Rename { .. } => ("DDL", "ALTER_TABLE_RENAME_TO"),
            HiveStatement::DropColumn { .. } => ("DDL", "ALTER_TABLE_DROP_COLUMN"),
            HiveStatement::Maintenance { optimize: false, .. } => ("DML", "VACUUM"),
            HiveStatement::Maintenance { optimize: true, .. } => ("DML", "OPTIMIZE"),
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
