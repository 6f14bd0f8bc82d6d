//! `databases`, `tables` and `describe`: the catalog as Athena's metadata calls give it.

use athena_arrow::Connection;

use crate::failure::Failure;

pub async fn databases(conn: &Connection) -> Result<(), Failure> {
    for db in conn.list_databases().await? {
        println!("{db}");
    }
    Ok(())
}

pub async fn tables(conn: &Connection, database: Option<&str>) -> Result<(), Failure> {
    for t in conn.list_tables(database).await? {
        println!("{}", t.name);
    }
    Ok(())
}

/// `table` or `database.table` (`default_database` for the former).
pub async fn describe(conn: &Connection, table: &str, default_database: Option<&str>) -> Result<(), Failure> {
    let (db, name) = match table.split_once('.') {
        Some((db, name)) => (Some(db), name),
        None => (default_database, table),
    };
    let meta = conn.table_metadata(db, name).await?;
    for (column, type_name) in &meta.columns {
        println!("{column}\t{type_name}");
    }
    for (column, type_name) in &meta.partition_keys {
        println!("{column}\t{type_name}\tpartition key");
    }
    Ok(())
}
