//! UNLOAD on Athena's DuckDB engine: DuckDB has no UNLOAD, so a query read "through UNLOAD" on a
//! DuckDB workgroup with results in S3 runs as `COPY (<query>) TO '<location>' (FORMAT parquet)`,
//! whose one Parquet file is then read by the parallel Parquet reader. (With managed results
//! unload is refused: the result is read as an Arrow stream already, see `engine`.)

use crate::config::compression::UnloadCompression;
use crate::query::unload::body;

/// DuckDB's name of a Parquet compression in `COPY ... (COMPRESSION ...)`.
fn duckdb_compression(c: UnloadCompression) -> &'static str {
    match c {
        UnloadCompression::Snappy => "snappy",
        UnloadCompression::Gzip => "gzip",
        UnloadCompression::Zstd => "zstd",
        UnloadCompression::None => "uncompressed",
    }
}

/// `COPY (<sql>) TO '<staging>copy/<uuid>.parquet' (FORMAT parquet, COMPRESSION ...)` and the
/// file it writes.
pub(crate) fn copy_sql(sql: &str, staging: &str, compression: UnloadCompression) -> (String, String) {
    let file = format!("{}/copy/{}.parquet", staging.trim_end_matches('/'), uuid::Uuid::new_v4());
    let sql = format!("COPY (\n{}\n) TO '{file}' (FORMAT parquet, COMPRESSION {})", body(sql), duckdb_compression(compression));
    (sql, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_wraps_the_query() {
        let (sql, file) = copy_sql("SELECT 1;\n", "s3://b/p/", UnloadCompression::Zstd);
        assert!(file.starts_with("s3://b/p/copy/") && file.ends_with(".parquet"), "{file}");
        assert_eq!(sql, format!("COPY (\nSELECT 1\n) TO '{file}' (FORMAT parquet, COMPRESSION zstd)"));
    }
}
