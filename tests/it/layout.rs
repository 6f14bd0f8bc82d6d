//! The library's and the endpoint's layouts follow their data flow, and stay so: this test reads
//! `src/` and `emulator/src/` and checks the rules the READMEs state.
//!
//! - Library: `decode` (schema mapper, text converter, nested values, CSV) imports nothing from
//!   query, results, fetch or rows: only itself and `error`. `fetch` imports only itself and `error`;
//!   `error` imports nothing.
//! - Endpoint: arrows only run down its flow, `protocol` -> `statements` -> `engine` ->
//!   `catalog` -> `formats` -> `types` / `failure` / `config` (a step may skip steps below it,
//!   never name one above it or a sibling of its rank).
//! - In both: no two files import each other, directly or through others (no cycles), modules
//!   are named by their `crate::` path (no `super::`), and no file has more than 600 lines of
//!   code (its `#[cfg(test)]` module excluded).
//! - The library never depends on the emulator outside tests, benches and examples, and the
//!   emulator never depends on the library.
//!
//! An edge is any `crate::a::b` path in a file's code (comments and the file's `#[cfg(test)]`
//! module excluded); `crate::Name` resolves through the root's `pub use` lines, and to the root
//! itself for items it defines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, as its path relative to `src/` without `.rs` / `/mod.rs`.
fn modules(dir: &Path, src: &Path, out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(&path, src, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut name = rel.to_string_lossy().replace('\\', "/");
            if let Some(parent) = name.strip_suffix("/mod") {
                name = parent.to_owned();
            }
            out.insert(name, path);
        }
    }
}

/// The code of a file: comment lines and the trailing `#[cfg(test)]` module removed.
fn code(text: &str) -> String {
    let end = text.find("\n#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `crate::` in `code`, as segments (`crate::decode::schema::X` -> [decode, schema, X]).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `athena_crate::`
        }
        let mut segments = Vec::new();
        let mut s = rest;
        loop {
            let ident: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if ident.is_empty() {
                // `crate::{a, b}` groups: each member is a path of its own.
                if s.starts_with('{') {
                    let close = s.find('}').unwrap_or(s.len());
                    for member in s[1..close].split(',') {
                        let member = member.trim();
                        if !member.is_empty() {
                            let mut path = segments.clone();
                            path.extend(member.split("::").map(|p| p.trim().to_owned()));
                            out.push(path);
                        }
                    }
                }
                break;
            }
            s = &s[ident.len()..];
            segments.push(ident);
            match s.strip_prefix("::") {
                Some(r) => s = r,
                None => break,
            }
        }
        if !segments.is_empty() {
            out.push(segments);
        }
    }
    out
}

/// Root re-exports: item name -> module path it comes from (from `pub use a::b::{X, Y};` lines).
fn root_exports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    let lib = code(lib);
    for stmt in lib.split(';') {
        let stmt = stmt.trim().trim_start_matches("#[cfg(feature = \"datafusion\")]").trim();
        let Some(path) = stmt.strip_prefix("pub use ") else { continue };
        let (prefix, names) = match path.split_once("::{") {
            Some((p, n)) => (p, n.trim_end_matches('}').split(',').map(str::trim).collect::<Vec<_>>()),
            None => match path.rsplit_once("::") {
                Some((p, n)) => (p, vec![n]),
                None => continue,
            },
        };
        let prefix: Vec<String> = prefix.split("::").map(str::to_owned).collect();
        for name in names.into_iter().filter(|n| !n.is_empty()) {
            let name = name.split(" as ").last().unwrap().trim();
            let mut full = prefix.clone();
            // A module re-exported whole (`pub use decode::csv`) is that module.
            if name.chars().next().is_some_and(char::is_lowercase) {
                full.push(name.to_owned());
            }
            map.insert(name.to_owned(), full);
        }
    }
    map
}

/// The module (file) a path names: its longest prefix that is a module (`lib` for the root's own
/// items).
fn resolve(path: &[String], mods: &BTreeMap<String, PathBuf>, exports: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let mut path = path.to_vec();
    if let Some(first) = path.first()
        && let Some(target) = exports.get(first)
        && !mods.contains_key(first.as_str())
    {
        let mut full = target.clone();
        full.extend(path.drain(1..));
        path = full;
    }
    (1..=path.len()).rev().map(|n| path[..n].join("/")).find(|m| mods.contains_key(m)).or_else(|| {
        let root_item = path.first().is_some_and(|p| p.chars().next().is_some_and(char::is_uppercase));
        root_item.then(|| "lib".to_owned())
    })
}

/// Lines of code in a file, its trailing `#[cfg(test)]` module excluded.
fn code_lines(text: &str) -> usize {
    text[..text.find("\n#[cfg(test)]\n").unwrap_or(text.len())].lines().count()
}

/// The largest file a module may be, in lines of code.
const MAX_LINES: usize = 600;

/// The import graph of the crate whose sources are in `src` (relative to the workspace root).
fn graph_of(src: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join(src);
    let mut mods = BTreeMap::new();
    modules(&src, &src, &mut mods);
    let exports = root_exports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut graph = BTreeMap::new();
    for (name, path) in &mods {
        let full = std::fs::read_to_string(path).unwrap();
        assert!(
            code_lines(&full) <= MAX_LINES,
            "{}: {} lines of code, more than {MAX_LINES}: split it along the flow",
            path.display(),
            code_lines(&full)
        );
        if name == "lib" {
            continue;
        }
        let text = code(&full);
        assert!(!text.contains("super::"), "{name}: name modules by their crate:: path, not super::");
        let mut deps = BTreeSet::new();
        for p in crate_paths(&text) {
            let target = resolve(&p, &mods, &exports).unwrap_or_else(|| panic!("{name}: cannot resolve crate::{}", p.join("::")));
            // A folder's mod.rs declaring its children is not an import of them.
            if target != *name && target != "lib" {
                deps.insert(target);
            }
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    graph_of("src")
}

fn step(module: &str) -> &str {
    module.split('/').next().unwrap()
}

#[test]
fn lower_steps_never_import_higher_ones() {
    let graph = graph();
    assert!(graph.len() > 20, "expected the library's modules, found {:?}", graph.keys());
    let mut broken = Vec::new();
    for (module, deps) in &graph {
        let allowed: &[&str] = match step(module) {
            "error" => &[],
            "fetch" => &["error", "fetch"],
            "decode" => &["error", "decode"],
            _ => continue,
        };
        for dep in deps {
            if !allowed.contains(&step(dep)) {
                broken.push(format!("{module} imports {dep}"));
            }
        }
    }
    assert!(broken.is_empty(), "layout rules broken:\n{}", broken.join("\n"));
}

/// The endpoint's steps by rank along its flow: a module may import its own step and steps of a
/// higher rank only. `None`: the binary's and the root's helpers, which may import anything.
fn endpoint_rank(step: &str) -> Option<u8> {
    Some(match step {
        "protocol" => 0,
        "fixtures" => 1,
        "statements" => 1,
        "engine" => 2,
        "catalog" => 3,
        "formats" => 4,
        "types" | "failure" | "config" => 5,
        "cli" | "main" | "lib" => return None,
        other => panic!("emulator/src/{other}: a step the layout rules do not know; give it a rank in endpoint_rank"),
    })
}

#[test]
fn the_endpoint_imports_only_down_its_flow() {
    let graph = graph_of("emulator/src");
    assert!(graph.contains_key("protocol/athena/executions") && graph.contains_key("engine/trino/rewrite"), "{:?}", graph.keys());
    let broken = upward_arrows(&graph);
    assert!(broken.is_empty(), "the endpoint's layout rules broken (arrows must run down the flow):\n{}", broken.join("\n"));
}

/// The endpoint's imports that run up its flow or sideways between steps of one rank.
fn upward_arrows(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut broken = Vec::new();
    for (module, deps) in graph {
        let Some(rank) = endpoint_rank(step(module)) else { continue };
        for dep in deps {
            let ok = step(dep) == step(module) || endpoint_rank(step(dep)).is_some_and(|r| r > rank);
            if !ok {
                broken.push(format!("{module} imports {dep}"));
            }
        }
    }
    broken
}

#[test]
fn modules_import_each_other_in_no_cycle() {
    for src in ["src", "emulator/src"] {
        if let Some(cycle) = cycle_in(&graph_of(src)) {
            panic!("import cycle in {src}: {}", cycle.join(" -> "));
        }
    }
}

/// A cycle of `graph`, if it has one.
fn cycle_in(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search; a back edge is a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, bool>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(true) => return None,
            Some(false) => {
                let at = stack.iter().position(|s| *s == m).unwrap();
                let mut cycle: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(m, false);
        stack.push(m);
        for dep in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(dep, graph, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m, true);
        None
    }
    let mut state = BTreeMap::new();
    graph.keys().find_map(|m| visit(m, graph, &mut state, &mut Vec::new()))
}

/// The `[section]` of a Cargo.toml as text (up to the next section).
fn section<'a>(toml: &'a str, name: &str) -> &'a str {
    let header = format!("\n[{name}]\n");
    let Some(start) = toml.find(&header) else { return "" };
    let body = &toml[start + header.len()..];
    &body[..body.find("\n[").unwrap_or(body.len())]
}

#[test]
fn library_and_emulator_stay_independent() {
    let root = root();
    let lib = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(!section(&lib, "dependencies").contains("athena-emulator"), "the library depends on the emulator");
    assert!(section(&lib, "dev-dependencies").contains("athena-emulator"), "tests start the emulator");
    let emulator = std::fs::read_to_string(root.join("emulator/Cargo.toml")).unwrap();
    for s in ["dependencies", "dev-dependencies", "build-dependencies"] {
        assert!(!section(&emulator, s).contains("athena-arrow"), "the emulator's {s} name the library");
    }
    let src = root.join("src");
    let mut mods = BTreeMap::new();
    modules(&src, &src, &mut mods);
    for (name, path) in mods {
        assert!(!std::fs::read_to_string(path).unwrap().contains("athena_emulator"), "src/{name} uses the emulator");
    }
}

#[test]
fn the_checker_sees_edges() {
    // The rules above are only as good as the parser: check it on a known shape.
    let text = "use crate::decode::schema::{ColumnInfo, arrow_type};\nuse crate::{Connection, Query};\n// crate::rows::row\nfn f() -> crate::error::Result<()> {}\n#[cfg(test)]\nmod tests {\n    use crate::rows::row;\n}";
    let paths: BTreeSet<String> = crate_paths(&code(text)).iter().map(|p| p.join("::")).collect();
    let expected: BTreeSet<String> =
        ["decode::schema", "decode::schema::ColumnInfo", "decode::schema::arrow_type", "Connection", "Query", "error::Result"]
            .map(String::from)
            .into();
    assert_eq!(paths, expected);
    let graph = graph();
    assert!(graph["query"].contains("results"), "{:?}", graph["query"]);
    assert!(graph["results/csv"].contains("fetch"), "{:?}", graph["results/csv"]);
    let endpoint = graph_of("emulator/src");
    assert!(endpoint["statements/select"].contains("engine"), "{:?}", endpoint["statements/select"]);
    assert!(endpoint["fixtures"].contains("catalog"), "{:?}", endpoint["fixtures"]);
    // A cycle and an upward arrow are found where they are.
    let edges = |list: &[(&str, &str)]| -> BTreeMap<String, BTreeSet<String>> {
        list.iter().map(|(m, d)| (m.to_string(), BTreeSet::from([d.to_string()]))).collect()
    };
    let looped = edges(&[("a", "b"), ("b", "c"), ("c", "a")]);
    assert_eq!(cycle_in(&looped), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    assert_eq!(
        upward_arrows(&edges(&[("catalog/files", "engine/session"), ("types", "failure")])),
        ["catalog/files imports engine/session", "types imports failure"]
    );
    assert!(upward_arrows(&edges(&[("protocol/athena", "catalog"), ("engine/trino/parse", "engine")])).is_empty());
    assert_eq!(code_lines("a\nb\n#[cfg(test)]\nmod tests {\n}\n"), 2);
}
