//! The client-side cache: reuse an earlier identical execution (same query id).
mod common;

use std::time::Duration;

use athena_arrow::CacheConfig;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.build().await?;
    let first = conn.execute("SELECT * FROM one_row").await?;
    println!("{}", first.query_id());
    let cached = conn.query("SELECT * FROM one_row").cache(CacheConfig::new(10, Duration::ZERO)).execute().await?;
    println!("{}", cached.query_id()); // the same query id
    // The last 100 executions within one hour.
    let cached = conn.query("SELECT * FROM one_row").cache(CacheConfig::new(100, Duration::from_secs(3600))).execute().await?;
    assert_eq!(cached.query_id(), first.query_id());
    Ok(())
}
