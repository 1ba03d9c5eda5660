//! `cargo xtask soak [--minutes-simulated N] [--connections N] [--kills N]`: the long
//! reliability run — the soak test (tests/soak.rs) at full size and the SIGKILL loops
//! (tests/kill_loops.rs) at the full count per store — with its summary printed.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The size of the run.
struct Options {
    minutes: u32,
    connections: u32,
    kills: u32,
}

const USAGE: &str = "usage: cargo xtask soak [--minutes-simulated N] [--connections N] [--kills N]";

fn parse(args: &[&str]) -> Result<Options, String> {
    let mut o = Options { minutes: 120, connections: 100, kills: 100 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value =
            it.next().and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| format!("{flag} needs a number; {USAGE}"))?;
        match *flag {
            "--minutes-simulated" => o.minutes = value,
            "--connections" => o.connections = value,
            "--kills" => o.kills = value,
            other => return Err(format!("unknown option {other}; {USAGE}")),
        }
    }
    Ok(o)
}

/// Runs the soak and kill-loop tests at the requested size; their output (the summary table)
/// goes straight to the terminal.
pub fn soak(root: &Path, args: &[&str]) -> Result<String, String> {
    let o = parse(args)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["test", "--package", "zohocrm", "--all-features", "--test", "soak", "--test", "kill_loops"])
        .args(["--", "--nocapture", "--test-threads=1"])
        .env("ZOHOCRM_SOAK_MINUTES", o.minutes.to_string())
        .env("ZOHOCRM_SOAK_CONNECTIONS", o.connections.to_string())
        .env("ZOHOCRM_KILL_LOOPS", o.kills.to_string())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if status.success() {
        Ok(format!(
            "soak passed: {} connections, {} simulated minutes, {} kills per store, {secs:.0} s",
            o.connections, o.minutes, o.kills
        ))
    } else {
        Err(format!("soak failed after {secs:.0} s (see the test output above)"))
    }
}
