//! Athena's query engines, by the names Athena gives them in `EngineVersion`.

use std::fmt;
use std::str::FromStr;

/// The engine names a query or connection may select, exactly as Athena spells them.
pub(crate) const ENGINE_NAMES: &[&str] = &["Athena engine version 3", "DuckDB"];

/// An Athena query engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Athena engine version 3 (Trino): results as CSV in S3, or UNLOAD to Parquet.
    V3,
    /// Athena's DuckDB engine (Preview): DuckDB's SQL; managed results read as an Arrow stream.
    DuckDb,
}

impl Engine {
    /// The name Athena gives the engine (`EngineVersion.SelectedEngineVersion`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Engine::V3 => ENGINE_NAMES[0],
            Engine::DuckDb => ENGINE_NAMES[1],
        }
    }

    /// The engine of an `EffectiveEngineVersion` Athena reports; names this client does not
    /// know (older engine versions) are read as engine version 3's kind of results.
    pub(crate) fn of_effective(name: Option<&str>) -> Engine {
        match name {
            Some("DuckDB") => Engine::DuckDb,
            _ => Engine::V3,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a workgroup runs: its effective engine and whether its results are Athena-managed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkGroupEngine {
    pub engine: Engine,
    pub managed: bool,
    /// The workgroup's output location, if it names one.
    pub output_location: Option<String>,
}

/// An engine name that is none of Athena's (names are exact and case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {0:?}; valid: {valid} (exactly so spelled)", valid = ENGINE_NAMES.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "))]
pub struct UnknownEngine(pub String);

impl FromStr for Engine {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Athena engine version 3" => Ok(Engine::V3),
            "DuckDB" => Ok(Engine::DuckDb),
            _ => Err(UnknownEngine(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        assert_eq!("DuckDB".parse::<Engine>().unwrap(), Engine::DuckDb);
        assert_eq!("Athena engine version 3".parse::<Engine>().unwrap(), Engine::V3);
        let e = "duckdb".parse::<Engine>().unwrap_err();
        assert_eq!(e.to_string(), "unknown engine \"duckdb\"; valid: \"Athena engine version 3\", \"DuckDB\" (exactly so spelled)");
        assert!("AUTO".parse::<Engine>().is_err());
    }
}
