//! Developer tasks for zohocrm: `cargo xtask codegen [--check]`, `cargo xtask import-oas`,
//! `cargo xtask fuzz [--seconds N] [--target T]` (see [`fuzz`]) and `cargo xtask soak` (see [`soak`]).
//!
//! `codegen` checks the zohocrm package (default features and every v8 group) and copies what its build script
//! wrote into `$OUT_DIR` to `generated/`, so the committed copy comes from the very generator
//! the build uses. `--check` compares instead of copying and fails with a one-line fix.

mod fuzz;
mod import_oas;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

mod soak;

/// The files build.rs writes, in `$OUT_DIR` and in `generated/`.
const FILES: &[&str] = &[
    "accounts.rs",
    "crm.rs",
    "crm_v8_core.rs",
    "crm_v8_records.rs",
    "crm_v8_settings.rs",
    "crm_v8_bulk.rs",
    "crm_v8_email.rs",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["fuzz", rest @ ..] => workspace_root().and_then(|root| fuzz::run(&root, rest)),
        ["soak", rest @ ..] => workspace_root().and_then(|root| soak::soak(&root, rest)),
        ["import-oas", rest @ ..] => workspace_root()
            .and_then(|root| import_oas::run(&root, &rest.iter().map(|s| s.to_string()).collect::<Vec<_>>())),
        _ => Err("usage: cargo xtask codegen [--check] | import-oas [--from <dir>] [--groups a,b] [--check] | fuzz [--seconds N] [--target T] | soak [--minutes-simulated N] [--connections N] [--kills N]"
            .to_owned()),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout the task runs on, found at run time from the current directory: a compile-time
/// path (`env!("CARGO_MANIFEST_DIR")`) would name whichever checkout built the binary, which a
/// shared target directory may have deleted since.
fn workspace_root() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let located = Command::new(cargo)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo locate-project: {e}"))?;
    let manifest = String::from_utf8_lossy(&located.stdout).trim().to_owned();
    match Path::new(&manifest).parent() {
        Some(root) if located.status.success() && !manifest.is_empty() => Ok(root.to_path_buf()),
        _ => {
            Err("cargo locate-project found no workspace here; run cargo xtask inside the zohocrm checkout".to_owned())
        }
    }
}

/// Builds zohocrm and returns the `OUT_DIR` of its build script.
fn build_out_dir(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(root)
        // Every v8 group, so generated/ is complete whatever features users pick; `check` runs the
        // build script without compiling the (large) generated v8 code to machine code.
        .args([
            "check",
            "--package",
            "zohocrm",
            "--lib",
            "--features",
            "v8-all",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err("cargo check failed; fix the spec error above, then run `cargo xtask codegen` again".to_owned());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_ours = message["reason"] == "build-script-executed"
            && message["package_id"].as_str().is_some_and(|id| id.contains("zohocrm"));
        if let (true, Some(out_dir)) = (is_ours, message["out_dir"].as_str()) {
            return Ok(PathBuf::from(out_dir));
        }
    }
    Err("cargo did not report zohocrm's build-script OUT_DIR".to_owned())
}

fn codegen(check: bool) -> Result<String, String> {
    let root = workspace_root()?;
    let out_dir = build_out_dir(&root)?;
    let target = root.join("generated");
    let mut stale = Vec::new();
    for file in FILES {
        let fresh = std::fs::read(out_dir.join(file)).map_err(|e| format!("{}: {e}", out_dir.join(file).display()))?;
        let committed = std::fs::read(target.join(file)).ok();
        if committed.as_deref() == Some(fresh.as_slice()) {
            continue;
        }
        stale.push(format!("generated/{file}"));
        if !check {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
            std::fs::write(target.join(file), &fresh).map_err(|e| format!("generated/{file}: {e}"))?;
        }
    }
    match (check, stale.is_empty()) {
        (_, true) => Ok("generated/ is up to date with spec/".to_owned()),
        (true, false) => Err(format!(
            "{} stale: spec/ changed without regenerating; run `cargo xtask codegen` and commit generated/",
            stale.join(", ")
        )),
        (false, false) => Ok(format!("regenerated {}", stale.join(", "))),
    }
}
