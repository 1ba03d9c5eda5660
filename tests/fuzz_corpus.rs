//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and every crash regression input
//! (`fuzz/regressions/<target>/`) through the fuzz target bodies on stable Rust, so CI covers
//! them without nightly or libFuzzer. The bodies are `fuzz/targets.rs`, the very file the
//! `cargo fuzz` binaries include.

use std::path::{Path, PathBuf};

#[path = "../fuzz/targets.rs"]
mod targets;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// The names of the subdirectories (or `.rs` file stems) of `dir`, sorted.
fn names(dir: &Path, rs_files: bool) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| if rs_files { p.extension().is_some_and(|x| x == "rs") } else { p.is_dir() })
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

#[test]
fn every_target_has_a_binary_and_a_seed_corpus() {
    let mut known: Vec<String> = targets::TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    known.sort();
    assert_eq!(names(&fuzz_dir().join("fuzz_targets"), true), known, "fuzz/fuzz_targets/*.rs vs targets::TARGETS");
    assert_eq!(names(&fuzz_dir().join("corpus"), false), known, "fuzz/corpus/<target>/ vs targets::TARGETS");
    let regressions = fuzz_dir().join("regressions");
    if regressions.is_dir() {
        for name in names(&regressions, false) {
            assert!(known.contains(&name), "fuzz/regressions/{name}/ names no target");
        }
    }
}

#[test]
fn corpus_and_regressions_replay_cleanly() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ has no seed inputs");
        for path in corpus.iter().chain(&files(&fuzz_dir().join("regressions").join(name))) {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            replayed += 1;
            if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic)");
                failures.push(format!("{name}: {}: {message}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {replayed} inputs failed:\n{}", failures.len(), failures.join("\n"));
}
