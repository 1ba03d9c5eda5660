//! `zoho-sim`: runs the local Zoho simulator until SIGINT/SIGTERM, after printing its endpoint
//! table as one line of JSON on stdout.
//!
//! ```text
//! cargo run --features testkit --bin zoho-sim -- [--port N] [--request-log N]
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use zohocrm::testkit::{SimConfig, Simulator};

fn usage() -> &'static str {
    "usage: zoho-sim [--port N] [--request-log N]\n  Runs the Zoho simulator on 127.0.0.1 (port N, or a free port), prints one JSON line with its endpoints, default client and users, and serves until SIGINT/SIGTERM.\n  --request-log N: how many of the most recent requests GET /_sim/requests keeps (default 10000; counts cover them all)."
}

fn parse_args() -> Result<SimConfig, String> {
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{what} needs a value"));
        match name.as_str() {
            "--port" | "-p" => {
                let v = value("--port")?;
                config.port = v.parse().map_err(|_| format!("--port expects a number from 0 to 65535, got `{v}`"))?;
            }
            "--request-log" => {
                let v = value("--request-log")?;
                config.request_log = v.parse().map_err(|_| format!("--request-log expects a number, got `{v}`"))?;
            }
            "--help" | "-h" => return Err(String::new()),
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok(config)
}

async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("zoho-sim: {e}");
            }
            eprintln!("{}", usage());
            return if e.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zoho-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sim = match Simulator::start_with(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("zoho-sim: {e}");
                return ExitCode::FAILURE;
            }
        };
        let line = sim.info_line();
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            eprintln!("zoho-sim: cannot write to stdout");
            return ExitCode::FAILURE;
        }
        drop(out);
        stopped().await;
        sim.shutdown();
        ExitCode::SUCCESS
    })
}
