//! Cursor iteration: rows as a stream, and as an iterator with the blocking facade.
mod common;

use futures::StreamExt;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.clone().build().await?;
    let result = conn.execute("SELECT * FROM many_rows LIMIT 10").await?;
    let mut rows = std::pin::pin!(result.rows());
    while let Some(row) = rows.next().await {
        println!("{:?}", row?.values());
    }
    // The same with the blocking facade (on a thread without a runtime).
    let builder = ep.builder.clone();
    std::thread::spawn(move || -> athena_arrow::Result<()> {
        let conn = athena_arrow::blocking::Connection::connect(builder)?;
        for row in conn.execute("SELECT * FROM many_rows LIMIT 3")? {
            println!("blocking: {:?}", row?.values());
        }
        Ok(())
    })
    .join()
    .expect("thread")?;
    Ok(())
}
