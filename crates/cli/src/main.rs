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

use clap::FromArgMatches;
use std::process::ExitCode;

/// Exit status of a command that could not do its work (1 is kept for "the check found
/// something", e.g. `drift --fail-on-drift`; clap also uses 2 for bad usage).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let matches = cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `--format` given before the command is the global flag, which takes every format:
    // checked here against what the command accepts.
    let path = command_path(&matches);
    let accepted = cli::formats_of(&path);
    if !accepted.contains(&cli.client.format) {
        let names: Vec<&str> = accepted.iter().map(|f| f.name()).collect();
        eprintln!(
            "error: riskops {} prints --format {}, not {}",
            path.join(" "),
            names.join(", "),
            cli.client.format.name()
        );
        return ExitCode::from(EXIT_ERROR);
    }
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

/// The names of the subcommands given, outermost first: `["compliance", "report"]`.
fn command_path(matches: &clap::ArgMatches) -> Vec<&str> {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name);
        current = sub;
    }
    path
}

/// `riskops dataset show x | head` closes stdout early; Rust's print! then panics. A
/// command whose reader left has nothing more to say: exit quietly, as other tools do
/// (status 141, a SIGPIPE death), instead of printing a panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
