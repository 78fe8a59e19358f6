//! The layering docs/architecture.md describes, checked on the source text so that it stays true:
//! every top-level module uses only the layers below it (so no two import each other), no contract
//! uses another, and the files of one contract do not import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules each module may use (`crate::<name>`), besides itself. `lib.rs`, the
/// composition root, and the `frontdesk` command may use them all.
const MAY_USE: &[(&str, &[&str])] = &[
    // Settings produce the store's connection options.
    ("config", &["store"]),
    ("domain", &[]),
    ("store", &["domain"]),
    ("app", &["domain", "store"]),
    ("http", &["app", "domain", "config"]),
    ("contracts", &["http", "app", "domain"]),
    ("web", &["http", "app", "domain"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir).expect("src is readable").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// The file's code without its comments, so that prose naming a module is no import, and without
/// its unit tests, which may compose a whole server to exercise one layer.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("source is readable");
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names that follow `prefix` in `code`: `a` in `prefix a::b`, and `a`, `b` in `prefix {a::x, b}`.
fn heads_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut heads = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            heads.extend(group_heads(group));
        } else {
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !word.is_empty() {
                heads.insert(word);
            }
        }
    }
    heads
}

/// The first name of each path in a `{...}` use group (the text after its `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut word = String::new();
    let mut at_start = true;
    for c in group.chars() {
        if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            heads.push(std::mem::take(&mut word));
            at_start = false;
        }
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if c.is_whitespace() => {}
            _ => at_start = false,
        }
    }
    heads
}

/// The top-level module a file under src/ belongs to (`None` for the root and the command).
fn top_module(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).expect("under src");
    let first = relative.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(file) => Some(file.to_owned()),
        None if first == "bin" => None,
        None => Some(first),
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = MAY_USE.iter().copied().collect();
    let mut wrong = Vec::new();
    for path in rust_files(&src()) {
        let Some(module) = top_module(&path) else { continue };
        let Some(may_use) = allowed.get(module.as_str()) else {
            wrong.push(format!("{}: module {module} is not in MAY_USE", path.display()));
            continue;
        };
        for used in heads_after(&code(&path), "crate::") {
            if used != module && !may_use.contains(&used.as_str()) {
                wrong.push(format!("{} uses crate::{used}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering:\n{}", wrong.join("\n"));
}

#[test]
fn no_contract_uses_another() {
    let mut wrong = Vec::new();
    for path in rust_files(&src().join("contracts")) {
        let code = code(&path);
        for reach in ["crate::contracts", "super::super"] {
            if code.contains(reach) {
                wrong.push(format!("{} reaches {reach}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "contracts are leaves:\n{}", wrong.join("\n"));
}

/// Whether the graph has a cycle; returns one if so.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_files_of_a_contract_do_not_import_each_other_in_a_circle() {
    let mut contracts: Vec<_> = fs::read_dir(src().join("contracts"))
        .expect("contracts is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    contracts.sort();
    assert!(contracts.len() >= 5, "every contract is found");
    for dir in contracts {
        // mod.rs is the contract's root: it composes its files, which may use what it declares.
        let files: BTreeMap<String, PathBuf> = rust_files(&dir)
            .into_iter()
            .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p)))
            .filter(|(stem, _)| stem != "mod")
            .collect();
        let edges: BTreeMap<String, BTreeSet<String>> = files
            .iter()
            .map(|(stem, path)| {
                let used = heads_after(&code(path), "super::");
                (stem.clone(), used.into_iter().filter(|u| u != stem && files.contains_key(u)).collect())
            })
            .collect();
        assert_eq!(cycle(&edges), None, "{}: files importing each other", dir.display());
    }
}

#[test]
fn the_checks_see_grouped_and_nested_imports() {
    let code = "use crate::{app::AppError, http::{body::Fields, status}};\nuse super::{auth::X, error};";
    assert_eq!(heads_after(code, "crate::"), BTreeSet::from(["app".to_owned(), "http".to_owned()]));
    assert_eq!(heads_after(code, "super::"), BTreeSet::from(["auth".to_owned(), "error".to_owned()]));
    let circle = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert!(cycle(&circle).is_some());
    let line = BTreeMap::from([("a".to_owned(), BTreeSet::from(["b".to_owned()])), ("b".to_owned(), BTreeSet::new())]);
    assert_eq!(cycle(&line), None);
}
