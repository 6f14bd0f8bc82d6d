//! Query with parameters (pyformat): `%(name)s` placeholders, `%%` for a literal `%`.
mod common;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;
    let conn = ep.builder.build().await?;
    let mut result = conn
        .query("SELECT col_string FROM one_row_complex WHERE col_string = %(param)s OR col_string LIKE 'a%%'")
        .param("param", "a string")
        .execute()
        .await?;
    println!("{}", result.info().query);
    println!("{:?}", result.fetch_all().await?);
    Ok(())
}
