//! The compression of UNLOAD's Parquet files, as a type with a parse error that lists the
//! valid names.

use std::fmt;
use std::str::FromStr;

/// The compressions UNLOAD's Parquet files can be written with.
pub(crate) const COMPRESSIONS: &[&str] = &["SNAPPY", "GZIP", "ZSTD", "NONE"];

/// The compression of UNLOAD's Parquet files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnloadCompression {
    /// Fast to decode (the default here; Athena's own default for Parquet is GZIP).
    #[default]
    Snappy,
    Gzip,
    Zstd,
    None,
}

impl UnloadCompression {
    /// The name UNLOAD's `compression` property takes.
    pub fn as_str(&self) -> &'static str {
        match self {
            UnloadCompression::Snappy => "SNAPPY",
            UnloadCompression::Gzip => "GZIP",
            UnloadCompression::Zstd => "ZSTD",
            UnloadCompression::None => "NONE",
        }
    }
}

impl fmt::Display for UnloadCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An UNLOAD compression name that is none of [`UnloadCompression`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown UNLOAD compression {0:?}; valid: {valid}", valid = COMPRESSIONS.join(", "))]
pub struct UnknownCompression(pub String);

impl FromStr for UnloadCompression {
    type Err = UnknownCompression;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "SNAPPY" => UnloadCompression::Snappy,
            "GZIP" => UnloadCompression::Gzip,
            "ZSTD" => UnloadCompression::Zstd,
            "NONE" => UnloadCompression::None,
            _ => return Err(UnknownCompression(s.to_owned())),
        })
    }
}
