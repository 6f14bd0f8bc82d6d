//! Rows: row views over the batches ([`row`]), the DB-API style [`Cursor`](cursor::Cursor), and
//! the [`blocking`] facade for synchronous programs.

pub mod blocking;
pub(crate) mod cursor;
pub mod row;
