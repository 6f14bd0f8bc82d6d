//! Basic usage: execute, description, fetch_all.
mod common;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.build().await?;
    let mut cursor = conn.cursor();
    cursor.execute("SELECT * FROM one_row").await?;
    println!("{:?}", cursor.description());
    println!("{:?}", cursor.fetch_all().await?);
    let info = cursor.info().expect("executed");
    println!("query {} wrote {:?}", info.query_id, info.output_location);
    Ok(())
}
