//! Tells the driver which arrow crate it was built with (`DRIVER_ARROW_VERSION`, for GetInfo's
//! driver_arrow_version): the version the workspace's Cargo.lock resolved, which is the one
//! compiled in. The arrow crate exports no version constant of its own.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled for a clone
    // elsewhere is reused from a shared target directory.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = Path::new(&dir).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_else(|e| panic!("reading {}: {e}", lock.display()));
    let version = text
        .split("[[package]]")
        .find_map(|pkg| {
            let mut lines = pkg.lines().map(str::trim);
            (lines.find(|l| l.starts_with("name = "))? == "name = \"arrow\"")
                .then(|| pkg.lines().map(str::trim).find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"')))?
        })
        .unwrap_or_else(|| panic!("{} names no arrow package", lock.display()));
    println!("cargo:rustc-env=DRIVER_ARROW_VERSION={version}");
}
