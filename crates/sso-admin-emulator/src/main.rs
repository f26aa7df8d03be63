//! `sso-admin-emulator`: a local IAM Identity Center (SSO Admin), STS and
//! AWS Organizations endpoint on one port, for tests and sandboxes. Point an AWS SDK at it
//! with `AWS_ENDPOINT_URL=http://<listen>`; any access key works, and its
//! digits after `AKIA` name the calling account (see the README).

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use sso_admin_emulator::{Config, Emulator};

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Parser)]
#[command(version, about = "A local AWS IAM Identity Center (SSO Admin) and STS endpoint for tests")]
struct Args {
    /// Address to serve both APIs on.
    #[arg(long, env = "EMULATOR_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// YAML or JSON settings: accounts, organization, lifecycle times, faults, seed.
    #[arg(long, env = "EMULATOR_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, env = "EMULATOR_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(terminal);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    init_logging(args.log_format);
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "SSO Admin + STS + Organizations emulator listening");
    Emulator::new(config).serve(listener, shutdown_signal()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match serve(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
