//! One module per command group.

mod project;
mod serve;
mod whoami;

use crate::cli::{Cli, Command};
use crate::client::Client;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        command => {
            crate::logging::init(crate::cli::LogFormat::Text, tracing_subscriber::filter::LevelFilter::WARN);
            let client = Client::new(&cli.client.server, cli.client.token.clone())?;
            let format = cli.client.format;
            match command {
                Command::Serve(_) => unreachable_serve(),
                Command::Whoami => whoami::run(&client, format).await,
                Command::Project(cmd) => project::run(&client, format, cmd).await,
            }?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `serve` is handled above; this keeps the match exhaustive without a panic.
fn unreachable_serve() -> Result<()> {
    anyhow::bail!("internal: serve dispatched twice")
}
