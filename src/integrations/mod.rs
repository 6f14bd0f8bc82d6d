//! Integrations with other Arrow engines, each behind its own feature.

#[cfg(feature = "datafusion")]
pub mod datafusion;
