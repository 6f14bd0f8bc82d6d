//! Result reuse (Athena engine v3): per connection and per execute.
mod common;

use std::time::Duration;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.clone().with_result_reuse(Duration::from_secs(60 * 60)).build().await?;
    let first = conn.execute("SELECT * FROM one_row").await?;
    let second = conn.execute("SELECT * FROM one_row").await?;
    println!("{} reused: {}", first.query_id(), first.info().reused_previous_result);
    println!("{} reused: {}", second.query_id(), second.info().reused_previous_result);

    let conn = ep.builder.build().await?;
    let third = conn.query("SELECT * FROM one_row").work_group("primary").result_reuse(Duration::from_secs(60 * 60)).execute().await?;
    println!("{} reused: {}", third.query_id(), third.info().reused_previous_result);
    Ok(())
}
