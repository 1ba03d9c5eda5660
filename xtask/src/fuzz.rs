//! `cargo xtask fuzz [--seconds N] [--target T]`: runs the cargo-fuzz targets of `fuzz/` (every
//! one, or `T`) for N seconds each (default 60) and prints executions, exec/s, corpus size and
//! crashes per target. Any crash makes the task fail.
//!
//! New inputs go to `fuzz/target/xtask-corpus/<target>/`; the committed seeds in
//! `fuzz/corpus/<target>/` are only read. Crash inputs land in `fuzz/artifacts/<target>/`
//! (cargo-fuzz's place); copy one to `fuzz/regressions/<target>/` with the fix, and
//! `tests/fuzz_corpus.rs` replays it on stable from then on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The toolchain cargo-fuzz needs (libFuzzer instrumentation is nightly-only).
const TOOLCHAIN: &str = "+nightly";

/// What one target's run measured.
struct Run {
    target: String,
    executions: u64,
    per_second: u64,
    corpus: u64,
    crashes: usize,
    log: PathBuf,
}

/// Parses `fuzz [--seconds N] [--target T]` and runs it.
pub fn run(root: &Path, args: &[&str]) -> Result<String, String> {
    let usage = "usage: cargo xtask fuzz [--seconds N] [--target T]";
    let mut seconds: u64 = 60;
    let mut only: Option<String> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (*arg, args.next()) {
            ("--seconds", Some(n)) => {
                seconds = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("--seconds {n:?}: {usage}"))?;
            }
            ("--target", Some(t)) => only = Some((*t).to_owned()),
            _ => return Err(usage.to_owned()),
        }
    }
    let fuzz_dir = root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    let chosen = match only {
        Some(t) if all.contains(&t) => vec![t],
        Some(t) => return Err(format!("no fuzz target {t:?}; the targets are: {}", all.join(", "))),
        None => all,
    };
    let version = cargo().arg("fuzz").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !version.is_ok_and(|s| s.success()) {
        return Err("cargo-fuzz (with the nightly toolchain) is missing: rustup toolchain install nightly \
                    && cargo install cargo-fuzz --locked"
            .to_owned());
    }

    // One build for every chosen target; the runs below then find it up to date.
    let mut build = cargo();
    build.current_dir(root).args(["fuzz", "build"]);
    if let [one] = chosen.as_slice() {
        build.arg(one);
    }
    let built = build.status().map_err(|e| format!("cannot run cargo fuzz build: {e}"))?;
    if !built.success() {
        return Err("cargo fuzz build failed (see above)".to_owned());
    }

    let mut runs = Vec::new();
    for target in &chosen {
        eprintln!("fuzzing {target} for {seconds} s");
        runs.push(run_one(root, target, seconds)?);
    }
    let table = table(&runs);
    let crashed: Vec<&Run> = runs.iter().filter(|r| r.crashes > 0).collect();
    if crashed.is_empty() {
        return Ok(table);
    }
    let details: Vec<String> = crashed
        .iter()
        .map(|r| {
            format!(
                "{}: see {} and fuzz/artifacts/{}/; reproduce with `cargo +nightly fuzz run {} <input>`",
                r.target,
                r.log.display(),
                r.target,
                r.target
            )
        })
        .collect();
    Err(format!("{table}\ncrashes found:\n{}", details.join("\n")))
}

/// `cargo +nightly` through the rustup proxy: `$CARGO` is the stable cargo binary itself, which
/// takes no toolchain argument.
fn cargo() -> Command {
    let mut command = Command::new("cargo");
    command.arg(TOOLCHAIN).env_remove("RUSTUP_TOOLCHAIN");
    command
}

/// The target names: the `fuzz/fuzz_targets/*.rs` file stems, sorted.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("no fuzz targets in {}", dir.display()));
    }
    Ok(names)
}

/// The files in `dir` (0 when it does not exist).
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).filter(|e| e.path().is_file()).count())
        .unwrap_or(0)
}

fn run_one(root: &Path, target: &str, seconds: u64) -> Result<Run, String> {
    let fuzz_dir = root.join("fuzz");
    let scratch = fuzz_dir.join("target").join("xtask-corpus").join(target);
    let logs = fuzz_dir.join("target").join("xtask-logs");
    for dir in [&scratch, &logs] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let artifacts = fuzz_dir.join("artifacts").join(target);
    let artifacts_before = count_files(&artifacts);
    let output = cargo()
        .current_dir(root)
        .args(["fuzz", "run", target])
        .arg(&scratch)
        .arg(fuzz_dir.join("corpus").join(target))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        // A single input running this long is a hang, reported as a crash.
        .arg("-timeout=20")
        .arg("-print_final_stats=1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo fuzz run {target}: {e}"))?;
    let log = logs.join(format!("{target}.log"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    std::fs::write(&log, &text).map_err(|e| format!("{}: {e}", log.display()))?;

    let stat =
        |name: &str| text.lines().rev().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()));
    // libFuzzer's status lines: `#123456\tDONE   cov: 812 ft: 2001 corp: 345/40Kb ...`.
    let last_status = text.lines().rev().find(|l| l.starts_with('#') && l.contains(" corp: "));
    let from_status = |key: &str| {
        last_status.and_then(|l| {
            let field =
                if key == "#" { l.strip_prefix('#')?.split_whitespace().next()? } else { l.split(key).nth(1)? };
            field.split(['/', ' ', '\t']).next()?.parse::<u64>().ok()
        })
    };
    let executions = stat("stat::number_of_executed_units:").or_else(|| from_status("#")).unwrap_or(0);
    let per_second = stat("stat::average_exec_per_sec:").unwrap_or_else(|| executions / seconds.max(1));
    let corpus = from_status(" corp: ").unwrap_or(0);
    let mut crashes = count_files(&artifacts).saturating_sub(artifacts_before);
    if !output.status.success() && crashes == 0 {
        crashes = 1; // a failure that left no input behind (a build error, an abort): still a failure
    }
    Ok(Run { target: target.to_owned(), executions, per_second, corpus, crashes, log })
}

fn table(runs: &[Run]) -> String {
    let mut out = format!("{:<18} {:>12} {:>9} {:>7} {:>8}\n", "target", "executions", "exec/s", "corpus", "crashes");
    for r in runs {
        out.push_str(&format!(
            "{:<18} {:>12} {:>9} {:>7} {:>8}\n",
            r.target, r.executions, r.per_second, r.corpus, r.crashes
        ));
    }
    let total: u64 = runs.iter().map(|r| r.executions).sum();
    let crashes: usize = runs.iter().map(|r| r.crashes).sum();
    out.push_str(&format!("{:<18} {:>12} {:>9} {:>7} {:>8}", "total", total, "", "", crashes));
    out
}
