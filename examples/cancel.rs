//! Cancel a long-running query after a timeout: from another task with a cancel handle, or with
//! the query's own timeout (which stops it on the server too).
mod common;

use std::time::Duration;

const LONG_QUERY: &str = "SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c";

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.build().await?;

    // A monitor cancels the query after 1 s, using the id given to the start callback.
    let canceller = conn.clone();
    let result = conn
        .query(LONG_QUERY)
        .on_start_query_execution(move |id| {
            println!("Long-running analysis started: {id}");
            let handle = canceller.cancel_handle(id);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match handle.cancel().await {
                    Ok(()) => println!("Query cancelled after the timeout"),
                    Err(e) => println!("Cancellation failed: {e}"),
                }
            });
        })
        .execute()
        .await;
    match result {
        Ok(_) => println!("Analysis completed"),
        Err(e) => println!("Query failed or was cancelled: {e}"),
    }

    // The same with the query's timeout.
    let err = conn.query(LONG_QUERY).timeout(Duration::from_secs(1)).execute().await.unwrap_err();
    println!("{err} (timeout: {})", err.is_timeout());
    Ok(())
}
