//! Bytes on disk: objects and their layout ([`objects`]), engine version 3's value text
//! ([`value_text`]) and result CSV ([`result_csv`]), Hive's text SerDes ([`hivetext`]), table
//! storage kinds ([`storage`]), and the writers of table files ([`table_files`]) and Trino's
//! Parquet ([`trino_parquet`]).

pub mod hivetext;
pub mod objects;
pub mod result_csv;
pub mod storage;
pub mod table_files;
pub mod trino_parquet;
pub mod value_text;
