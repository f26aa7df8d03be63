//! Reconcile tests: a fake SSO port and a tower-test Kubernetes API. Each
//! asserts the exact calls, in order, and the status and events a user sees.
//! This file is the harness; the tests are in one file per topic, and their
//! objects come from `crate::fixtures`.

mod account_claims;
mod call_budget;
mod create;
mod day_two;
mod deletion;
mod failures;
mod fake_sso;
mod instance_features;
mod isolation;
mod mock_api;
mod observe_only;
mod relist;
mod restart;
mod sync;
mod tenancy;
mod workflows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_sso::{FakeSso, Script};
use kube::runtime::events::Reporter;
use serde_json::{Value, json};

use super::reconcile::reconcile_object;
use crate::api::{IdentityCenterAccountGrant, IdentityCenterInstance};
use crate::controller::tenancy::Mode as TenancyMode;
use crate::controller::{Context, Error, Next, Settings, Watched};
use crate::metrics::Metrics;
use crate::sso::{ErrorKind, SsoError};

const RESYNC: Duration = Duration::from_secs(600);

/// Every call, to AWS and to Kubernetes, in the order it was made.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The calls that reached AWS, without their details.
    fn aws(&self) -> Vec<String> {
        let aws = self.entries().into_iter().filter_map(|e| e.strip_prefix("sso ").map(String::from));
        aws.map(|e| e.split(' ').next().unwrap().to_string()).collect()
    }
}

struct Harness {
    journal: Journal,
    cluster: mock_api::Cluster,
    sso: Arc<FakeSso>,
    ctx: Arc<Context>,
}

fn harness(script: Script) -> Harness {
    harness_with_tenancy(script, TenancyMode::Open)
}

fn harness_with_tenancy(script: Script, tenancy: TenancyMode) -> Harness {
    let journal = Journal::default();
    let cluster = mock_api::Cluster::default();
    let client = mock_api::client(cluster.clone(), journal.clone());
    let sso = FakeSso::new(journal.clone(), script);
    let settings = Settings {
        default_region: Some("eu-west-1".into()),
        resync_interval: RESYNC,
        namespaces: vec![],
        tenancy,
        concurrency: 16,
        cluster_name: "test-cluster".into(),
    };
    let reporter = Reporter { controller: "identity-center-operator".into(), instance: Some("test".into()) };
    let organizations = Arc::new(crate::controller::instance_set::read::tests::FakeOrganization::default());
    let ctx =
        Arc::new(Context::new(client, sso.clone(), organizations, settings, reporter, Arc::new(Metrics::default())));
    Harness { journal, cluster, sso, ctx }
}

/// `object` as the watch delivers it: parsed from the JSON the API server sends.
fn watched(object: &IdentityCenterInstance) -> Watched {
    serde_json::from_value(serde_json::to_value(object).unwrap()).unwrap()
}

impl Harness {
    async fn reconcile(&self, object: IdentityCenterInstance) -> Next {
        self.try_reconcile(object).await.expect("reconcile reaches the API server")
    }

    /// Reconciles `object`, which the (mock) API server also stores.
    async fn try_reconcile(&self, object: IdentityCenterInstance) -> Result<Next, Error> {
        self.try_reconcile_raw(serde_json::to_value(object).unwrap()).await
    }

    /// Reconciles `object` as JSON, for what no `IdentityCenterInstance` can
    /// hold: an object the schema would refuse, or the API server's copy.
    async fn try_reconcile_raw(&self, object: Value) -> Result<Next, Error> {
        *self.cluster.fresh.lock().unwrap() = object.clone();
        let object: Watched = serde_json::from_value(object).unwrap();
        if let Ok(valid) = &object.0 {
            self.ctx.claims.observe(valid, self.ctx.tenancy.acting(valid));
        }
        reconcile_object(Arc::new(object), self.ctx.clone()).await
    }

    /// Reconciles the object as the (mock) API server has it now. Its JSON is
    /// passed on as it is, so that nothing the operator wrote is lost on the way.
    async fn reconcile_current(&self) -> Next {
        let current = self.cluster.fresh.lock().unwrap().clone();
        self.try_reconcile_raw(current).await.expect("reconcile reaches the API server")
    }

    /// The (mock) API server holds `object` from now on, whatever the watch cache shows.
    fn store(&self, object: &IdentityCenterInstance) {
        *self.cluster.fresh.lock().unwrap() = serde_json::to_value(object).unwrap();
    }

    fn last_status(&self) -> Value {
        self.cluster.status_writes().last().cloned().expect("a status write")
    }

    fn condition(&self, type_: &str) -> (String, String) {
        let status = self.last_status();
        let found = status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == type_).cloned().unwrap();
        (found["status"].as_str().unwrap().into(), found["reason"].as_str().unwrap().into())
    }
}

/// The requeue delay in seconds; None waits for a change.
fn requeue_seconds(next: &Next) -> Option<f64> {
    next.delay().map(|delay| delay.as_secs_f64())
}

fn error(operation: &'static str, kind: ErrorKind, message: &str) -> SsoError {
    SsoError::new(operation, kind, message)
}

/// Another, older object that holds the account and its instance, as the watch saw it.
fn observe_older_holder(h: &Harness) {
    let older = IdentityCenterInstance::test().named("first", "another-uid").created_at("2026-01-01T00:00:00Z");
    let older = older.owned().finalized();
    h.ctx.claims.observe(&older, h.ctx.tenancy.acting(&older));
}

fn grant(spec: Value) -> IdentityCenterAccountGrant {
    serde_json::from_value(json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
        "metadata": {"name": "identity-team"}, "spec": spec,
    }))
    .unwrap()
}
