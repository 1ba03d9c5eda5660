//! Tidy checks over the repository's own text (as rust-analyzer's `tidy` test does): rules a
//! reviewer would otherwise have to remember. No build artefacts are needed, so these run in
//! milliseconds and fail with the file and line to fix.
//!
//! - library code (`src/`, outside `#[cfg(test)]`) has no `.unwrap()` / `.expect(`;
//! - every `#[allow]` / `#[expect]` says why (`reason = "…"`);
//! - no hand-written `src/` file is over 600 lines (seed data excepted);
//! - every `src/` module starts with a `//!` doc;
//! - the docs and sources name no file that is not in the repository (and nothing outside it);
//! - the SHA-256 of each spec stamped in `generated/` matches `spec/` (a freshness check that
//!   needs no build; `cargo xtask codegen --check` is the full one);
//! - the hand-written modules import each other without cycles, and so do the simulator's.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `take_while` that also yields the first item failing the predicate.
trait TakeWhileInclusive: Iterator + Sized {
    fn take_while_inclusive(self, mut keep_going: impl FnMut(&Self::Item) -> bool) -> impl Iterator<Item = Self::Item> {
        let mut done = false;
        self.take_while(move |item| {
            if done {
                return false;
            }
            done = !keep_going(item);
            true
        })
    }
}

impl<I: Iterator> TakeWhileInclusive for I {}

/// The most lines a hand-written source file may have.
const MAX_LINES: usize = 600;

/// Files that may name a place outside the repository, and why.
const OUTSIDE_REFERENCES_ALLOWED: &[(&str, &str)] = &[
    (
        "tests/contract_v8_import.rs",
        "re-imports Zoho's OpenAPI files when they are next to the repository; skipped otherwise",
    ),
    ("xtask/src/import_oas.rs", "without --from it reads the crm-oas checkout next to the repository"),
    ("tests/tidy.rs", "the rule itself"),
];

/// Files allowed over [`MAX_LINES`]: data, not logic.
const LONG_FILES_ALLOWED: &[&str] = &["src/testkit/seed/data.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// The code lines of a file before its test module, with line numbers, comments dropped.
fn library_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        let test_only = trimmed.starts_with("#[cfg(")
            && trimmed.split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == "test");
        if test_only {
            // Skip the item the attribute guards: up to the line that closes it at its indent.
            let indent = line.len() - trimmed.len();
            let close = format!("{}}}", " ".repeat(indent));
            for (_, next) in lines.by_ref() {
                if next == close || (next.trim_start().ends_with(';') && next.trim_start().starts_with("mod ")) {
                    break;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

#[test]
fn library_code_has_no_unwrap_or_expect() {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src")) {
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in library_lines(&text) {
            if line.contains(".unwrap()") || line.contains(".expect(") {
                found.push(format!("{}:{n}: {}", rel(&path), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library code must return typed errors instead of panicking (or recover, e.g. a poisoned lock with PoisonError::into_inner):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_lint_allowance_has_a_reason() {
    let mut found = Vec::new();
    let dirs = ["src", "tests", "benches", "examples", "cli/src", "cli/tests", "xtask/src", "fuzz"];
    let mut files: Vec<PathBuf> = dirs.iter().flat_map(|d| rust_files(&root().join(d))).collect();
    files.push(root().join("build.rs"));
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else { continue };
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // Spelled in pieces so that this line does not match itself.
            let allowance = ["allow(", "expect("]
                .iter()
                .any(|lint| ["#[", "#![", ", "].iter().any(|open| code.contains(&format!("{open}{lint}"))));
            // An attribute may span lines (rustfmt wraps long ones): read it to its `)]`.
            let attribute: String = text.lines().skip(i).take(8).take_while_inclusive(|l| !l.contains(")]")).collect();
            if allowance && !attribute.contains("reason") {
                found.push(format!("{}:{}: {}", rel(&path), i + 1, code));
            }
        }
    }
    assert!(found.is_empty(), "say why with `reason = \"…\"` (and prefer #[expect]):\n{}", found.join("\n"));
}

#[test]
fn no_hand_written_source_file_is_over_600_lines() {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src")) {
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        if lines > MAX_LINES && !LONG_FILES_ALLOWED.contains(&rel(&path).as_str()) {
            found.push(format!("{}: {lines} lines", rel(&path)));
        }
    }
    assert!(found.is_empty(), "split these by concern (at most {MAX_LINES} lines):\n{}", found.join("\n"));
}

#[test]
fn every_module_has_a_doc_comment() {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src")) {
        let text = fs::read_to_string(&path).unwrap();
        if !text.lines().any(|l| l.starts_with("//!")) {
            found.push(rel(&path));
        }
    }
    assert!(found.is_empty(), "start each module with a `//!` doc saying what it holds:\n{}", found.join("\n"));
}

/// Repository paths named in `text`: `docs/…`, `spec/…`, `tests/…`, … with a file extension.
fn named_paths(text: &str) -> Vec<String> {
    const ROOTS: &[&str] =
        &["docs/", "spec/", "tests/", "examples/", "benches/", "generated/", "fuzz/", "xtask/", "cli/", ".ci/"];
    const EXTENSIONS: &[&str] = &[".md", ".rs", ".yaml", ".json", ".toml", ".txt", ".csv", ".snap"];
    let mut out = Vec::new();
    for (start, _) in text.char_indices() {
        let rest = &text[start..];
        let Some(prefix) = ROOTS.iter().find(|r| rest.starts_with(**r)) else { continue };
        // Only at a word start: `…/docs/x.md` (a URL or another repository's path) is not ours.
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':')) {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')))
            .unwrap_or(rest.len());
        let candidate = rest[..end].trim_end_matches('.');
        if candidate.len() > prefix.len()
            && EXTENSIONS.iter().any(|e| candidate.ends_with(e))
            && !candidate.contains('*')
        {
            out.push(candidate.to_owned());
        }
    }
    out
}

#[test]
fn no_reference_dangles() {
    let mut files: Vec<PathBuf> = ["src", "tests", "benches", "examples", "cli/src", "xtask/src"]
        .iter()
        .flat_map(|d| rust_files(&root().join(d)))
        .collect();
    files.extend(["README.md", "build.rs"].iter().map(|f| root().join(f)));
    if let Ok(entries) = fs::read_dir(root().join("docs")) {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "md")));
    }
    let mut found = BTreeSet::new();
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else { continue };
        let outside_allowed = OUTSIDE_REFERENCES_ALLOWED.iter().any(|(file, _)| rel(&path) == *file);
        for (i, line) in text.lines().enumerate() {
            if !outside_allowed && (line.contains("../shared") || line.contains("FACTS §")) {
                found.insert(format!("{}:{}: points outside the repository: {}", rel(&path), i + 1, line.trim()));
            }
            for named in named_paths(line) {
                if !root().join(&named).exists() {
                    found.insert(format!("{}:{}: {named} does not exist", rel(&path), i + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "dangling references:\n{}", found.into_iter().collect::<Vec<_>>().join("\n"));
}

#[test]
fn generated_code_is_stamped_with_the_current_spec() {
    let mut checked = 0;
    for path in rust_files(&root().join("generated")) {
        let text = fs::read_to_string(&path).unwrap();
        let mut header = text.lines().take(3);
        let source = header.next().and_then(|l| l.split(" from ").nth(1)).map(str::trim);
        let stamp = header.next().and_then(|l| l.strip_prefix("// spec sha256: ")).map(str::trim);
        let (Some(source), Some(stamp)) = (source, stamp) else {
            panic!("{}: no `@generated … from <spec>` / `spec sha256:` header", rel(&path));
        };
        let spec = fs::read(root().join(source)).unwrap_or_else(|e| panic!("{}: {source}: {e}", rel(&path)));
        let actual: String = Sha256::digest(&spec).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            stamp,
            actual,
            "{} was generated from another version of {source}: run `cargo xtask codegen`",
            rel(&path)
        );
        checked += 1;
    }
    assert!(checked >= 2, "expected the generated clients in generated/, found {checked}");
}

/// The module a `crate::…` path lands in, at the graph's granularity.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// `crate::a::b` paths (and `super::` inside the simulator) in the code lines of `text`.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (_, line) in library_lines(text) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let path: Vec<String> = tail
                .split("::")
                .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
                .take_while(|seg| !seg.is_empty())
                .collect();
            out.push(path);
            rest = tail;
        }
        // `use crate::{a, b::C}` groups.
        if let Some(group) = line.trim_start().strip_prefix("use crate::{") {
            for item in group.split(',') {
                let first: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !first.is_empty() {
                    out.push(vec![first]);
                }
            }
        }
    }
    out
}

fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, graph, &mut state, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

/// The top-level module of a file under `src/` (`client` for `src/client/raw.rs`).
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root().join("src")).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib" && name != "bin").then(|| name.to_owned())
}

#[test]
fn the_hand_written_modules_import_each_other_without_cycles() {
    // One node per top-level module (a directory module is one node). The generated clients
    // (`accounts`, `crm`, `crm_v8`) name only their context type, by construction; they are
    // leaves here. The simulator is checked on its own below.
    let mut graph = Graph::new();
    for path in rust_files(&root().join("src")) {
        let Some(from) = top_module(&path) else { continue };
        if from == "testkit" {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let targets = graph.entry(from.clone()).or_default();
        for p in crate_paths(&text) {
            if let Some(to) = p.first()
                && *to != from
                && root().join("src").join(format!("{to}.rs")).exists()
                    | root().join("src").join(to).join("mod.rs").exists()
                && to != "testkit"
            {
                targets.insert(to.clone());
            }
        }
    }
    assert!(graph.len() > 10, "the module graph looks empty: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle among src/ modules: {}\n(graph: {graph:#?})", cycle.join(" -> "));
    }
}

#[test]
fn the_simulator_modules_import_each_other_without_cycles() {
    let base = root().join("src").join("testkit");
    let module_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(&base).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?.trim_end_matches(".rs").to_owned();
        (first != "mod").then_some(first)
    };
    let mut graph = Graph::new();
    for path in rust_files(&base) {
        let Some(from) = module_of(&path) else { continue };
        let text = fs::read_to_string(&path).unwrap();
        let targets = graph.entry(from.clone()).or_default();
        let depth = path.strip_prefix(&base).map(|r| r.components().count()).unwrap_or(1);
        for (_, line) in library_lines(&text) {
            let mut found = Vec::new();
            let mut rest = line;
            while let Some(i) = rest.find("crate::testkit::") {
                rest = &rest[i + "crate::testkit::".len()..];
                found.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>());
            }
            // `super::x` from a top-level simulator file (or `super::super::x` one level down).
            let sup = if depth == 1 || path.ends_with("mod.rs") { "super::" } else { "super::super::" };
            let mut rest = line;
            while let Some(i) = rest.find(sup) {
                rest = &rest[i + sup.len()..];
                if rest.starts_with("super::") {
                    continue;
                }
                found.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>());
            }
            for to in found {
                if !to.is_empty()
                    && to != from
                    && (base.join(format!("{to}.rs")).exists() || base.join(&to).join("mod.rs").exists())
                {
                    targets.insert(to);
                }
            }
        }
    }
    assert!(graph.len() > 5, "the simulator's module graph looks empty: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle among the simulator's modules: {}\n(graph: {graph:#?})", cycle.join(" -> "));
    }
}
