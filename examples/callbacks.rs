//! Query execution callbacks: connection-level and execute-level, both called with the query id.
mod common;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.with_on_start_query_execution(|id| println!("Connection callback: {id}")).build().await?;
    conn.execute("SELECT * FROM many_rows").await?;
    conn.query("SELECT 1").on_start_query_execution(|id| println!("Execute callback: {id}")).execute().await?;
    Ok(())
}
