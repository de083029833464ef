//! One module per command group.

mod alerting;
mod analyze;
mod audit;
mod compliance;
mod dataset;
pub(crate) mod drift;
mod governance;
mod identities;
mod lineage;
mod model;
mod monitoring;
mod ood;
mod predict;
mod project;
mod report;
mod risk;
mod serve;
mod validate;
mod whoami;
mod window_estimates;

use crate::cli::{Cli, Command};
use crate::client::Client;
use anyhow::Result;
use std::process::ExitCode;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        // Local work: no server, no runtime needed.
        Command::Drift(args) => drift::run(args, cli.client.format),
        // A back-test of local files needs no server; a registered reference is fetched below.
        Command::Monitor(crate::cli::MonitorGroup::Windows(crate::cli::MonitorCommand::Analyze(args)))
            if !analyze::is_registered(&args.reference) =>
        {
            analyze::run(args, cli.client.format)
        }
        // Out-of-distribution scores of local files need no server either.
        Command::Ood(args) if !analyze::is_registered(&args.reference) => ood::run(None, cli.client.format, args).await,
        // Verifying a data directory or an export needs no server either.
        Command::Audit(cmd @ crate::cli::AuditCommand::Verify { data_dir: Some(_), .. })
        | Command::Audit(cmd @ crate::cli::AuditCommand::Verify { file: Some(_), .. }) => {
            audit::run(None, cli.client.format, cmd).await
        }
        command => {
            crate::logging::init(crate::cli::LogFormat::Text, tracing_subscriber::filter::LevelFilter::WARN);
            let client = Client::new(&cli.client.server, cli.client.token.clone(), cli.client.ca_cert.as_deref())?;
            // Formats a command does not accept were refused in `main` (`cli::formats_of`).
            let format = cli.client.format;
            match command {
                Command::Serve(_) | Command::Drift(_) => unreachable_local(),
                Command::Whoami => whoami::run(&client, format).await,
                Command::Project(cmd) => project::run(&client, format, cmd).await,
                Command::Dataset(cmd) => dataset::run(&client, format, cmd).await,
                Command::Model(crate::cli::ModelCommand::Verify { version, file, public_key, record }) => {
                    let record = record.as_deref();
                    return governance::verify(&client, format, &version, &file, public_key.as_deref(), record).await;
                }
                Command::Model(crate::cli::ModelCommand::Promote { version, to, reason, wait, timeout }) => {
                    let wait = wait.then_some(timeout);
                    return governance::promote(&client, format, &version, &to, &reason, wait).await;
                }
                Command::Model(cmd) => model::run(&client, format, cmd).await,
                Command::User(cmd) => identities::user(&client, format, cmd).await,
                Command::Token(cmd) => identities::token(&client, format, cmd).await,
                Command::Evidence(cmd) => governance::evidence(&client, format, cmd).await,
                Command::Promotion(cmd) => governance::promotion(&client, format, cmd).await,
                Command::Policy(cmd) => governance::policy(&client, format, cmd).await,
                Command::Risk(cmd) => risk::risk(&client, format, cmd).await,
                Command::Taxonomy(cmd) => risk::taxonomy(&client, format, cmd).await,
                Command::Log(args) => return monitoring::log(&client, format, args).await,
                Command::Label(args) => return monitoring::label(&client, format, args).await,
                Command::Monitor(crate::cli::MonitorGroup::Windows(crate::cli::MonitorCommand::Analyze(args))) => {
                    return analyze::run_registered(&client, format, args).await;
                }
                Command::Monitor(crate::cli::MonitorGroup::Windows(cmd)) => {
                    monitoring::monitor(&client, format, cmd).await
                }
                Command::Monitor(crate::cli::MonitorGroup::Alerts(cmd)) => {
                    alerting::monitor(&client, format, cmd).await
                }
                Command::Incident(cmd) => alerting::incident(&client, format, cmd).await,
                Command::Webhook(cmd) => alerting::webhook(&client, format, cmd).await,
                Command::Compliance(cmd) => compliance::report(&client, format, cmd).await,
                Command::Control(cmd) => compliance::control(&client, format, cmd).await,
                Command::Lineage(args) => lineage::run(&client, format, args).await,
                Command::Predict(args) => predict::run(&client, format, args).await,
                Command::Report(cmd) => report::run(&client, format, cmd).await,
                Command::Validate(args) => validate::run(&client, format, args).await,
                Command::Stress(args) => validate::stress(&client, format, args).await,
                Command::Explain(args) => validate::explain(&client, format, args).await,
                Command::ExplainRecord(args) => validate::explain_record(&client, format, args).await,
                Command::Audit(cmd) => return audit::run(Some(&client), format, cmd).await,
                Command::Ood(args) => return ood::run(Some(&client), format, args).await,
            }?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Local commands are handled above; this keeps the match exhaustive without a panic.
fn unreachable_local() -> Result<()> {
    anyhow::bail!("internal: a local command was dispatched as a client command")
}
