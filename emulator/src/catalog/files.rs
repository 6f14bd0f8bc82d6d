//! The files of a table on disk: its data files (Hive skips hidden ones) and the `k=v/`
//! folders of its partitions.

use std::path::{Path, PathBuf};

use crate::catalog::Table;

/// `k=v/k2=v2/` folders under a table's data dir, in partition-key order.
pub fn discovered_partitions(t: &Table, dir: &Path) -> Vec<(Vec<String>, PathBuf)> {
    let mut found = vec![(Vec::new(), dir.to_path_buf())];
    for key in &t.partition_keys {
        let mut next = Vec::new();
        for (values, d) in found {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some((k, v)) = name.split_once('=')
                    && k.eq_ignore_ascii_case(&key.name)
                    && e.path().is_dir()
                {
                    let mut values = values.clone();
                    values.push(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
                    next.push((values, e.path()));
                }
            }
        }
        found = next;
    }
    if t.partition_keys.is_empty() { vec![] } else { found }
}

/// Data files in `dir` (and its sub-folders when `recursive`), sorted; Hive skips names
/// starting with `_` or `.`.
pub fn data_files(dir: &Path, recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(['_', '.']) {
            continue;
        }
        let p = e.path();
        if !p.is_dir() {
            out.push(p);
        } else if recursive {
            out.extend(data_files(&p, true));
        }
    }
    out.sort();
    out
}

/// Whether a directory holds any file (recursively): UNLOAD refuses a non-empty prefix.
pub fn dir_has_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() { dir_has_files(&p) } else { true }
    })
}
