//! Athena's parameterized queries (qmark): per connection and per execute.
mod common;

use athena_arrow::{Param, ParamStyle};

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.clone().with_paramstyle(ParamStyle::Qmark).build().await?;
    let mut result = conn.query("SELECT col_string FROM one_row_complex WHERE col_string = ?").bind("a string").execute().await?;
    println!("{:?}", result.fetch_all().await?);

    // Per execute, with the parameter as verbatim SQL text (as PyAthena passes it).
    let conn = ep.builder.build().await?;
    let mut result = conn
        .query("SELECT col_string FROM one_row_complex WHERE col_string = ?")
        .paramstyle(ParamStyle::Qmark)
        .bind(Param::Literal("'a string'".into()))
        .execute()
        .await?;
    println!("{:?}", result.fetch_all().await?);
    Ok(())
}
