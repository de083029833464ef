//! One module per command group.

mod drift;
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
        // Local work: no server, no runtime needed.
        Command::Drift(args) => drift::run(args, cli.client.format),
        command => {
            crate::logging::init(crate::cli::LogFormat::Text, tracing_subscriber::filter::LevelFilter::WARN);
            let client = Client::new(&cli.client.server, cli.client.token.clone())?;
            let format = cli.client.format;
            if format == crate::cli::Format::Html {
                anyhow::bail!("--format html is for reports (riskops drift); this command prints text or json");
            }
            match command {
                Command::Serve(_) | Command::Drift(_) => unreachable_local(),
                Command::Whoami => whoami::run(&client, format).await,
                Command::Project(cmd) => project::run(&client, format, cmd).await,
            }?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Local commands are handled above; this keeps the match exhaustive without a panic.
fn unreachable_local() -> Result<()> {
    anyhow::bail!("internal: a local command was dispatched as a client command")
}
