//! `riskops`: the command line for every riskops workflow, and `riskops serve`.
//!
//! Parsing is clap's ([`cli`]); each command lives in [`commands`] and talks to a server
//! through [`client`], except `serve`, which runs one. Output is a readable default or, with
//! `--format json`, one JSON document on stdout ([`output`]).

mod cli;
mod client;
mod commands;
mod config;
mod logging;
mod output;
mod progress;

use clap::Parser;
use std::process::ExitCode;

/// Exit status of a command that could not do its work (1 is kept for "the check found
/// something", e.g. `drift --fail-on-drift`; clap also uses 2 for bad usage).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
