//! The `identity-center-operator` command line: `run` starts the operator
//! (clients, the AWS port and its wrappers, the HTTP endpoints, then
//! `lifecycle::run`), `crd` prints the CRDs.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use kube::runtime::events::Reporter;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::controller::{self, Context, Settings, TenancyMode};
use crate::leader::{Elector, FenceLayer, Leadership};
use crate::lifecycle::{self, Lease, Stopped};
use crate::metrics::Metrics;
use crate::server;
use crate::sso::{Metering, Rate, RateLimiter, RateLimits, SessionLimits, Wrapped, aws::AwsSsoAdmin};

/// Runs what the command line asks for.
pub async fn execute(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Crd { plural } => crds(plural.as_deref()).map(|yaml| print!("{yaml}")),
        Command::Run(args) => run(*args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Parser)]
#[command(version, about = "Manages AWS IAM Identity Center instances as Kubernetes objects")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator.
    Run(Box<RunArgs>),
    /// Print the CRDs as YAML: all, or the one named by its plural
    /// (identitycenterinstances, identitycenteraccountgrants, identitycenterinstancesets).
    Crd { plural: Option<String> },
}

#[derive(Clone, Copy, ValueEnum)]
enum Tenancy {
    Enforced,
    Open,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Region for objects without spec.region.
    #[arg(long, env = "ICO_DEFAULT_REGION")]
    default_region: Option<String>,
    /// How often a settled object is re-checked for drift.
    #[arg(long, env = "ICO_RESYNC_INTERVAL", default_value = "10m", value_parser = at_least_a_second)]
    resync_interval: Duration,
    /// This cluster's name, in the ownership tags of every instance the operator creates.
    #[arg(long, env = "ICO_CLUSTER_NAME", default_value = "kubernetes", value_parser = controller::instance::ownership::cluster_name)]
    cluster_name: String,
    /// Objects reconciled at once.
    #[arg(long, env = "ICO_CONCURRENCY", default_value_t = 16)]
    concurrency: u16,
    /// AWS calls per second, all accounts together.
    #[arg(long, env = "ICO_AWS_RATE", default_value_t = 500.0, value_parser = positive)]
    aws_rate: f64,
    /// Calls allowed at once above --aws-rate.
    #[arg(long, env = "ICO_AWS_BURST", default_value_t = 100.0, value_parser = positive)]
    aws_burst: f64,
    /// AWS calls per second into one account (IAM Identity Center allows 20).
    #[arg(long, env = "ICO_AWS_ACCOUNT_RATE", default_value_t = 20.0, value_parser = positive)]
    aws_account_rate: f64,
    /// Calls into one account allowed at once above --aws-account-rate.
    #[arg(long, env = "ICO_AWS_ACCOUNT_BURST", default_value_t = 20.0, value_parser = positive)]
    aws_account_burst: f64,
    /// Assumed-role credentials unused this long are dropped.
    #[arg(long, env = "ICO_ROLE_SESSION_IDLE", default_value = "30m", value_parser = humantime::parse_duration)]
    role_session_idle: Duration,
    /// At most this many roles' credentials are kept at once.
    #[arg(long, env = "ICO_ROLE_SESSIONS_MAX", default_value_t = 10_000)]
    role_sessions_max: usize,
    /// enforced: an object acts only where an IdentityCenterAccountGrant admits
    /// it; open: any object may act in any account the operator can reach.
    #[arg(long, env = "ICO_TENANCY", value_enum, default_value = "enforced")]
    tenancy: Tenancy,
    /// Namespaces to watch, comma-separated; all when empty.
    #[arg(long, env = "ICO_WATCH_NAMESPACES", value_delimiter = ',')]
    watch_namespaces: Vec<String>,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "ICO_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Elect a leader on a Lease; needed with more than one replica.
    #[arg(long, env = "ICO_LEADER_ELECTION", default_value_t = false)]
    leader_election: bool,
    /// Namespace of the Lease; defaults to POD_NAMESPACE.
    #[arg(long, env = "ICO_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, env = "ICO_LEADER_ELECTION_LEASE", default_value = "identity-center-operator")]
    leader_election_lease: String,
    #[arg(long, env = "ICO_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

impl RunArgs {
    /// What reconciles need of the arguments.
    fn settings(&self, default_region: Option<String>) -> Settings {
        Settings {
            concurrency: self.concurrency,
            cluster_name: self.cluster_name.clone(),
            default_region,
            resync_interval: self.resync_interval,
            namespaces: self.watch_namespaces.iter().filter(|ns| !ns.is_empty()).cloned().collect(),
            tenancy: match self.tenancy {
                Tenancy::Enforced => TenancyMode::Enforced,
                Tenancy::Open => TenancyMode::Open,
            },
        }
    }
}

/// A resync interval: a humantime duration of a second or more.
fn at_least_a_second(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text} is shorter than a second"));
    }
    Ok(duration)
}

/// A rate or burst: a number above zero.
fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("{text} is not a number above zero")),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Colour codes belong on a terminal, not in a log file or a log collector.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(terminal);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
fn cancel_on_signal(shutdown: CancellationToken) -> Result<(), std::io::Error> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = shutdown.cancelled() => return,
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}

async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    init_logging(args.log_format);
    let kube_config = kube::Config::infer().await?;
    let leadership = if args.leader_election { Leadership::elected() } else { Leadership::unconditional() };
    // Every write of the controller passes the fence; the elector renews through a client of its own.
    let client =
        kube::client::ClientBuilder::try_from(kube_config.clone())?.with_layer(&FenceLayer(leadership.clone())).build();
    let metrics = Arc::new(Metrics::default());
    let sessions = SessionLimits { idle: args.role_session_idle, capacity: args.role_sessions_max };
    let rates = RateLimits {
        global: Rate { per_second: args.aws_rate, burst: args.aws_burst },
        per_account: Rate { per_second: args.aws_account_rate, burst: args.aws_account_burst },
    };
    let default_region = args.default_region.clone().or_else(|| std::env::var("AWS_REGION").ok());
    let aws = AwsSsoAdmin::from_env(sessions, default_region.clone(), leadership.clone()).await;
    let sso = Wrapped::new(Wrapped::new(aws, RateLimiter::new(rates)), Metering::new(metrics.clone()));
    let identity =
        std::env::var("POD_NAME").unwrap_or_else(|_| format!("identity-center-operator-{}", std::process::id()));
    let settings = args.settings(default_region);
    let reporter = Reporter { controller: controller::FIELD_MANAGER.into(), instance: Some(identity.clone()) };
    let sso = Arc::new(sso);
    let ctx = Arc::new(Context::new(client, sso.clone(), sso, settings, reporter, metrics.clone()));

    // One token: SIGTERM, Ctrl-C and a lost lease all cancel it, and everything stops on it.
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())?;
    let http = tokio::spawn(server::serve(
        args.http_addr,
        server::router(metrics.clone(), ctx.listing.clone()),
        shutdown.clone().cancelled_owned(),
    ));
    let elector = match args.leader_election {
        true => {
            let namespace = args
                .leader_election_namespace
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .ok_or("leader election needs --leader-election-namespace or POD_NAMESPACE")?;
            let lease_client = kube::Client::try_from(kube_config)?;
            Some(Elector::new(lease_client, &namespace, &args.leader_election_lease, &identity, leadership))
        }
        false => None,
    };
    let lease = elector.as_ref().map(|elector| elector as &dyn Lease);
    let controllers = |leading: CancellationToken| {
        let instances = controller::instance::run(ctx.clone(), shutdown.clone(), leading.clone());
        let sets = controller::instance_set::run(ctx, shutdown.clone(), leading);
        async move {
            futures::future::join(instances, sets).await;
        }
    };
    let stopped = lifecycle::run(lease, shutdown.clone(), &metrics, controllers).await;
    http.abort();
    tracing::info!("stopped");
    match stopped {
        Stopped::Shutdown => Ok(()),
        Stopped::LostLeadership => Err("lost leadership".into()),
    }
}

/// The CRDs as one YAML stream; only the one whose plural is `only`, if given.
fn crds(only: Option<&str>) -> Result<String, Box<dyn std::error::Error>> {
    let crds = api::crds();
    let chosen: Vec<_> = crds.iter().filter(|crd| only.is_none_or(|plural| crd.spec.names.plural == plural)).collect();
    if chosen.is_empty() {
        return Err(format!("no CRD named {}", only.unwrap_or_default()).into());
    }
    Ok(chosen.into_iter().map(serde_yaml::to_string).collect::<Result<Vec<_>, _>>()?.join("---\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from([&["identity-center-operator", "run"], args].concat()).unwrap();
        match cli.command {
            Command::Run(args) => *args,
            Command::Crd { .. } => panic!("parsed as crd"),
        }
    }

    #[test]
    fn defaults_enforce_tenancy_and_resync_every_ten_minutes() {
        let settings = run_args(&[]).settings(None);
        assert_eq!(settings.tenancy, TenancyMode::Enforced);
        assert_eq!(settings.resync_interval, Duration::from_secs(600));
        assert_eq!(settings.cluster_name, "kubernetes");
        assert!(settings.namespaces.is_empty(), "all namespaces");
    }

    #[test]
    fn watched_namespaces_are_a_comma_separated_list_without_empties() {
        let settings =
            run_args(&["--watch-namespaces", "a,,b", "--tenancy", "open"]).settings(Some("eu-west-1".into()));
        assert_eq!(settings.namespaces, ["a", "b"]);
        assert_eq!(settings.tenancy, TenancyMode::Open);
        assert_eq!(settings.default_region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn intervals_and_rates_that_cannot_work_are_refused_with_the_reason() {
        let refused = |args: &[&str]| {
            let all = [&["identity-center-operator", "run"], args].concat();
            Cli::try_parse_from(all).err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert!(refused(&["--resync-interval", "500ms"]).contains("shorter than a second"));
        assert!(refused(&["--aws-rate", "0"]).contains("not a number above zero"));
        assert!(refused(&["--aws-account-burst", "NaN"]).contains("not a number above zero"));
        assert!(refused(&["--cluster-name", "a*b"]).contains("cannot be in an AWS tag value"));
    }

    #[test]
    fn crd_prints_one_by_its_plural_or_all_and_names_an_unknown_one() {
        let instances = crds(Some("identitycenterinstances")).unwrap();
        assert!(instances.contains("kind: IdentityCenterInstance\n") && !instances.contains("\n---\n"));
        assert_eq!(crds(None).unwrap().matches("kind: CustomResourceDefinition").count(), 3);
        assert_eq!(crds(Some("widgets")).unwrap_err().to_string(), "no CRD named widgets");
    }
}
