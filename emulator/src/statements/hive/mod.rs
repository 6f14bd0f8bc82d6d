//! The Hive DDL Athena runs outside Trino (athena-behaviour.md): `CREATE [EXTERNAL] TABLE` with
//! Hive types, comments, `PARTITIONED BY`, `CLUSTERED BY`, `ROW FORMAT`, `STORED AS`,
//! `LOCATION`, `TBLPROPERTIES`; `ALTER TABLE ADD/DROP PARTITION`, `MSCK REPAIR TABLE`,
//! `SHOW PARTITIONS`, `SHOW CREATE TABLE/VIEW`, `SHOW TBLPROPERTIES`. A small tokenizer and
//! recursive-descent parser.

pub mod ast;
pub mod lexer;
pub mod parser;
