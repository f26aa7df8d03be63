//! An SSO Admin (2020-07-20) and STS emulator, faithful to the service
//! model, with fault injection and a call log. Serves both APIs on one port.

#![forbid(unsafe_code)]

mod calls;
pub mod config;
mod error;
mod faults;
mod http;
pub mod iam;
mod organizations;
mod pages;
mod sso;
mod sts;
mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use tokio::net::TcpListener;

pub use calls::{AssumeRoleRecord, Call};
pub use config::{Config, FaultRule, Faults, KmsKeyFault, KmsRefusal, RateLimit};
use error::ApiError;
use faults::{FaultState, Injection};
use organizations::OrganizationsState;
use sso::SsoState;
use sts::StsState;
use sts::input::AssumeRoleInput;

/// The APIs served on the one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Sso,
    Sts,
    Organizations,
}

/// Who is calling, and where, as the request's signature says.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub access_key: String,
    pub account: String,
    pub region: String,
    pub request_id: String,
}

struct Inner {
    config: Config,
    rng: StdRng,
    sso: SsoState,
    sts: StsState,
    organizations: OrganizationsState,
    faults: FaultState,
    calls: calls::CallLog,
}

/// A handle on the emulator's state; cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<Inner>>,
}

/// An emulator serving on a port, stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub emulator: Emulator,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Emulator {
    /// # Panics
    ///
    /// If `config` fails [`Config::validate`] ([`Config::from_file`] and
    /// [`Emulator::start`] refuse such settings with an error instead).
    pub fn new(mut config: Config) -> Self {
        if let Err(error) = config.validate() {
            panic!("invalid emulator settings: {error}");
        }
        let mut rng = config.seed.map_or_else(|| StdRng::from_rng(&mut rand::rng()), StdRng::seed_from_u64);
        // First: it adds its management account and members to the settings the others read.
        let organizations = OrganizationsState::seeded(&mut config, &mut rng);
        let sso = SsoState::seeded(&config, &mut rng);
        let inner = Inner {
            organizations,
            faults: FaultState::new(config.faults.clone()),
            calls: calls::CallLog::new(config.call_log_limit),
            rng,
            sso,
            sts: StsState::default(),
            config,
        };
        Self { inner: Arc::new(Mutex::new(inner)) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, http::router(self)).with_graceful_shutdown(shutdown).await
    }

    /// Starts serving on a free loopback port, in this process.
    pub async fn start(config: Config) -> std::io::Result<Running> {
        config.validate().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let emulator = Self::new(config);
        let serving = emulator.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = serving.serve(listener, std::future::pending()).await {
                tracing::error!(%error, "emulator stopped");
            }
        });
        Ok(Running { addr, emulator, task })
    }

    /// Every call answered so far (up to the configured limit), oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.all()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.faults().clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults.replace(faults);
    }

    fn log(&self, call: Call) {
        self.lock().calls.push(call);
    }

    fn account_of(&self, access_key: &str) -> Result<String, ApiError> {
        let inner = self.lock();
        inner.sts.session_account(access_key).unwrap_or_else(|| Ok(inner.config.account_of(access_key)))
    }

    /// Service control policies of the caller's organization (for SSO Admin
    /// and Organizations actions), then IAM-style authorization when
    /// configured: every action the operation needs must be allowed by the
    /// caller's identity policy (its role's, for a session). Trust policies
    /// are AssumeRole's own check, in `sts`.
    fn authorize(&self, caller: &Caller, service: Service, operation: &str, params: &Value) -> Result<(), ApiError> {
        let inner = self.lock();
        let principal = inner.sts.principal(&inner.config, &caller.access_key, &caller.account);
        let actions = iam::required_actions(service, operation, params);
        if service != Service::Sts
            && let Some(action) = inner.organizations.scp_denied(&caller.account, &actions)
        {
            return Err(ApiError::access_denied(format!(
                "User: {} is not authorized to perform: {action} with an explicit deny in a service control policy",
                principal.arn
            )));
        }
        let Some(iam_config) = &inner.config.iam else { return Ok(()) };
        let organizations = &inner.config.account_organizations;
        match service {
            Service::Sso | Service::Organizations => {
                let context = iam::context::own_account(&principal, organizations, &caller.region, operation, params);
                iam::check_identity(iam_config, &principal, &actions, None, &context).map_err(ApiError::access_denied)
            }
            Service::Sts if operation == "AssumeRole" => {
                let params = serde_json::from_value(params.clone()).unwrap_or_default();
                let input = AssumeRoleInput::read(&params);
                // STS validates the request before it authorizes it.
                let role_arn = input.validate()?.role_arn;
                let context = iam::context::assume_role(&principal, organizations, &caller.region, &input);
                iam::check_identity(iam_config, &principal, &actions, Some(role_arn), &context)
                    .map_err(|message| ApiError::new(403, "AccessDenied", message))
            }
            Service::Sts => Ok(()),
        }
    }

    fn roll_faults(&self, operation: &str, account: &str) -> Injection {
        let inner = &mut *self.lock();
        inner.faults.roll(&mut inner.rng, operation, account)
    }

    fn dispatch(&self, caller: &Caller, service: Service, operation: &str, params: &Value) -> Result<String, ApiError> {
        let inner = &mut *self.lock();
        match service {
            Service::Sso => {
                if operation == "CreateInstance" && !inner.organizations.account_instances_allowed(&caller.account) {
                    return Err(ApiError::access_denied(sso::ACCOUNT_INSTANCES_NOT_ALLOWED));
                }
                inner.sso.call(&inner.config, &mut inner.rng, caller, operation, params).map(|v| v.to_string())
            }
            Service::Organizations => inner
                .organizations
                .call(&mut inner.config, &mut inner.rng, caller, operation, params)
                .map(|v| v.to_string()),
            Service::Sts => {
                let params = serde_json::from_value(params.clone()).unwrap_or_default();
                inner.sts.call(&inner.config, &mut inner.rng, caller, operation, &params)
            }
        }
    }
}
