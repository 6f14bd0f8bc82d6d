//! The commands, one file each: `query`, the catalog listings, and the connection they share.

pub mod catalog;
pub mod connect;
pub mod query;
