//! `zohocrm`: Zoho CRM from the command line, on the `zohocrm` SDK's public API.
//!
//! Connect a user in any data center and environment (`login`, `import`), explore
//! (`whoami`, `users`, `modules`, `fields`), query, change and export records (`records`), and
//! make any authenticated call (`api`). Tokens live in the SDK's SQLite store; settings come
//! from flags, then `ZOHO_*` variables, then the profile file.

mod cli;
mod commands;
mod config;
mod coql;
mod fail;
mod login;
mod output;
mod v8;
mod writes;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::fail::Failure;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { fail::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.global.verbose {
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_target(true)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(fail::OTHER);
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = commands::run(cli) => result,
            // The SDK's stores write in single transactions: stopping here leaves the store
            // as it was before the interrupted write, or with the write complete.
            _ = tokio::signal::ctrl_c() => Err(Failure::new(fail::INTERRUPTED, "interrupted")),
        }
    });
    // Do not wait for blocking tasks still reading standard input.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            if std::io::stderr().is_terminal() || f.code != fail::INTERRUPTED || !f.message.is_empty() {
                eprintln!("{f}");
            }
            ExitCode::from(f.code)
        }
    }
}
