//! Reconcile tests: a fake SSO port and a tower-test Kubernetes API. Each
//! asserts the exact calls, in order, and the status and events a user sees.

mod call_budget;
mod day_two;
mod fake_sso;
mod isolation;
mod mock_api;
mod relist;
mod restart;
mod workflows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_sso::{ACCOUNT, ARN, FakeSso, Script, instance};
use kube::runtime::events::Reporter;
use serde_json::{Value, json};

use super::listing::Watch;
use super::reconcile::reconcile_object;
use super::tenancy::Mode as TenancyMode;
use super::{Context, Error, Next, Settings, Watched};
use crate::metrics::Metrics;
use crate::sso::{ErrorKind, InstanceState, SsoError};

const UID: &str = "5b1f6a0e-7d3c-4e58-9a51-0c2f1e3d4b6a";
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
    let ctx = Arc::new(Context::new(client, sso.clone(), settings, reporter, Arc::new(Metrics::default())));
    Harness { journal, cluster, sso, ctx }
}

/// An IdentityCenterInstance as the API server would send it; by default
/// with an empty spec, no status, no finalizer, not being deleted.
#[derive(Clone)]
struct TestObject {
    name: String,
    uid: String,
    created_at: String,
    resource_version: String,
    spec: Value,
    status: Value,
    finalized: bool,
    deleting: bool,
    annotations: Value,
    generation: i64,
}

fn object() -> TestObject {
    TestObject {
        name: "platform".into(),
        uid: UID.into(),
        created_at: "2026-11-28T10:00:00Z".into(),
        resource_version: "41".into(),
        spec: json!({}),
        status: Value::Null,
        finalized: false,
        deleting: false,
        annotations: json!({}),
        generation: 2,
    }
}

/// The status of an object that created the fixtures' instance in eu-west-1.
fn owned_status() -> Value {
    json!({"instanceArn": ARN, "ownership": "Created", "region": "eu-west-1"})
}

/// The same, with more fields.
fn owned_status_with(more: Value) -> Value {
    let mut status = owned_status();
    status.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
    status
}

impl TestObject {
    fn named(self, name: &str, uid: &str) -> Self {
        Self { name: name.into(), uid: uid.into(), ..self }
    }

    fn created_at(self, timestamp: &str) -> Self {
        Self { created_at: timestamp.into(), ..self }
    }

    fn resource_version(self, version: &str) -> Self {
        Self { resource_version: version.into(), ..self }
    }

    fn spec(self, spec: Value) -> Self {
        Self { spec, ..self }
    }

    fn status(self, status: Value) -> Self {
        Self { status, ..self }
    }

    /// Holds the fixtures' instance as one it created, in eu-west-1.
    fn owned(self) -> Self {
        self.status(owned_status())
    }

    /// Carries the operator's finalizer.
    fn finalized(self) -> Self {
        Self { finalized: true, ..self }
    }

    /// Has a deletionTimestamp.
    fn deleting(self) -> Self {
        Self { deleting: true, ..self }
    }

    /// At metadata.generation `generation` (2 unless set).
    fn generation(self, generation: i64) -> Self {
        Self { generation, ..self }
    }

    fn annotated(mut self, key: &str, value: &str) -> Self {
        self.annotations[key] = json!(value);
        self
    }
}

impl From<TestObject> for Value {
    fn from(object: TestObject) -> Self {
        let mut metadata = json!({
            "name": object.name, "namespace": "identity", "uid": object.uid, "generation": object.generation,
            "resourceVersion": object.resource_version, "creationTimestamp": object.created_at,
            "annotations": object.annotations,
        });
        if object.finalized {
            metadata["finalizers"] = json!(["identitycenter.dev/finalizer"]);
        }
        if object.deleting {
            metadata["deletionTimestamp"] = json!("2026-11-28T11:00:00Z");
        }
        // An instance the object created carries its ARN in the annotation, as the operator wrote it.
        let created = object.status["ownership"] == "Created" && object.status["instanceArn"].is_string();
        if created && metadata["annotations"][crate::api::INSTANCE_ARN].is_null() {
            metadata["annotations"][crate::api::INSTANCE_ARN] = object.status["instanceArn"].clone();
        }
        json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance",
            "metadata": metadata, "spec": object.spec, "status": object.status,
        })
    }
}

impl Harness {
    async fn reconcile(&self, object: impl Into<Value>) -> Next {
        self.try_reconcile(object).await.expect("reconcile reaches the API server")
    }

    /// Reconciles `object`, which the (mock) API server also stores.
    async fn try_reconcile(&self, object: impl Into<Value>) -> Result<Next, Error> {
        let object: Value = object.into();
        *self.cluster.fresh.lock().unwrap() = object.clone();
        let object: Watched = serde_json::from_value(object).unwrap();
        if let Ok(valid) = &object.0 {
            self.ctx.claims.observe(valid, self.ctx.tenancy.acting(valid));
        }
        reconcile_object(Arc::new(object), self.ctx.clone()).await
    }

    /// Reconciles the object as the (mock) API server has it now.
    async fn reconcile_current(&self) -> Next {
        let current = self.cluster.fresh.lock().unwrap().clone();
        self.reconcile(current).await
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

fn created_at(mut instance: crate::sso::Instance, at: &str) -> crate::sso::Instance {
    instance.created_date = Some(at.parse().unwrap());
    instance
}

fn error(operation: &'static str, kind: ErrorKind, message: &str) -> SsoError {
    SsoError::new(operation, kind, message)
}

#[tokio::test]
async fn a_new_object_creates_once_and_records_the_arn_before_anything_else() {
    let h = harness(Script { instances: vec![instance(InstanceState::CreateInProgress)], ..Default::default() });
    let spec = json!({"name": "platform", "tags": {"team": "platform"}});
    let action = h.reconcile(object().spec(spec)).await;

    assert_eq!(
        h.journal.entries(),
        [
            "sso GetCallerIdentity",
            "k8s PATCH object",
            "k8s GET status",
            "k8s PATCH status",
            &format!(
                "sso CreateInstance token={UID} name=Some(\"platform\") tags={{\"identitycenter.dev/cluster\": \
                 \"test-cluster\", \"identitycenter.dev/managed-by\": \"identity-center-operator\", \
                 \"identitycenter.dev/name\": \"platform\", \"identitycenter.dev/namespace\": \"identity\", \"team\": \
                 \"platform\"}} region=eu-west-1"
            ),
            "k8s PATCH status",
            "k8s POST event",
        ]
    );
    let sent = h.cluster.sent();
    assert!(sent[0].body["metadata"]["finalizers"] == json!(["identitycenter.dev/finalizer"]), "finalizer first");
    let writes = h.cluster.status_writes();
    assert!(writes[0]["createRequestedAt"].is_string() && writes[0]["instanceArn"].is_null(), "marker before the call");
    assert_eq!(writes[1]["instanceArn"], ARN, "ARN right after CreateInstance returned, as the next call");
    assert_eq!(writes[1]["region"], "eu-west-1");
    assert_eq!(writes.len(), 2, "the ARN and the conditions go in one write");
    let status_patch = sent.iter().find(|s| s.method == "PATCH" && s.path.ends_with("/status")).unwrap();
    assert!(
        status_patch.query.contains("fieldManager=identity-center-operator")
            && status_patch.query.contains("force=true"),
        "{}",
        status_patch.query
    );
    assert_eq!(h.condition("Ready"), ("False".into(), "CreateRequested".into()));
    assert_eq!(h.condition("Synced").0, "True");
    assert_eq!(h.last_status()["observedGeneration"], 2);
    assert_eq!(h.cluster.events(), [("Normal".into(), "CreateRequested".into())]);
    assert_eq!(action, Next::after(Duration::from_secs(2)), "first polls are quick");

    h.reconcile_current().await;
    assert_eq!(h.journal.aws().last().unwrap(), "DescribeInstance", "the next look is a DescribeInstance");
    assert_eq!(h.last_status()["state"], "CREATE_IN_PROGRESS");
    assert_eq!(h.condition("Ready"), ("False".into(), "Creating".into()));
    assert!(!h.journal.aws().iter().skip(2).any(|c| c == "CreateInstance"), "created once");
}

#[tokio::test]
async fn after_a_crash_between_create_and_status_the_instance_is_found_not_created_again() {
    let listed = vec![created_at(instance(InstanceState::Active), "2026-11-28T10:00:02.5Z")];
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], listed, ..Default::default() });
    let marker = json!({"createRequestedAt": "2026-11-28T10:00:01Z", "region": "eu-west-1"});
    h.reconcile(object().spec(json!({"name": "platform"})).status(marker).finalized()).await;

    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "ListInstances", "ListTagsForResource"], "its tags confirm it");
    assert_eq!(h.cluster.status_writes()[0]["instanceArn"], ARN, "the found ARN is recorded at once");
    assert!(h.cluster.events().contains(&("Normal".into(), "InstanceRecovered".into())));
    h.reconcile_current().await;
    let aws = h.journal.aws();
    assert!(!aws.contains(&"CreateInstance".to_string()), "{aws:?}");
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
}

#[tokio::test]
async fn recovery_never_takes_an_older_instance_of_the_account_for_its_own() {
    // The account's instance predates the marker: the organization's, or one
    // another object retained. The same ClientToken is sent again instead.
    let older = created_at(instance(InstanceState::Active), "2026-01-01T00:00:00Z");
    let h = harness(Script {
        listed: vec![older],
        instances: vec![instance(InstanceState::CreateInProgress)],
        ..Default::default()
    });
    let marker = json!({"createRequestedAt": "2026-11-28T10:00:01Z", "region": "eu-west-1"});
    h.reconcile(object().status(marker).finalized()).await;
    let aws = h.journal.aws();
    assert_eq!(aws[..3], ["GetCallerIdentity", "ListInstances", "CreateInstance"], "{aws:?}");
    assert!(!h.cluster.events().contains(&("Normal".into(), "InstanceRecovered".into())));
    let writes = h.cluster.status_writes();
    assert_eq!(writes[0]["createRequestedAt"], "2026-11-28T10:00:01Z", "the first marker is kept");
}

#[tokio::test]
async fn a_definite_refusal_clears_the_create_marker() {
    let text = "Organization management account is not allowed to perform the operation.";
    let h = harness(Script {
        errors: [("CreateInstance", error("CreateInstance", ErrorKind::Conflict, text))].into(),
        ..Default::default()
    });
    h.reconcile(object().spec(json!({"deletionPolicy": "Delete"})).finalized()).await;
    assert!(h.last_status()["createRequestedAt"].is_null(), "nothing was created: {}", h.last_status());

    let unanswered = [("CreateInstance", error("CreateInstance", ErrorKind::Transport, "connection reset"))];
    let h = harness(Script { errors: unanswered.into(), ..Default::default() });
    h.reconcile(object().finalized()).await;
    assert!(h.last_status()["createRequestedAt"].is_string(), "an unanswered call may have created it");
}

#[tokio::test]
async fn a_fenced_create_ends_without_another_write_and_looks_again_soon() {
    let fenced = [("CreateInstance", error("CreateInstance", ErrorKind::NotLeader, "lease lost"))];
    let h = harness(Script { errors: fenced.into(), ..Default::default() });
    let next = h.try_reconcile(object().finalized()).await.expect("not a failed reconcile");

    let writes = h.cluster.status_writes();
    assert_eq!(writes.len(), 1, "only the marker, written before the call: {writes:?}");
    assert!(writes[0]["createRequestedAt"].is_string());
    assert_eq!(h.cluster.events(), [], "a fenced replica reports nothing");
    assert_eq!(next, Next::after(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_stale_cache_without_the_arn_does_not_create_again() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    let stale = object().finalized();
    let fresh = stale.clone().owned();
    let object: Watched = serde_json::from_value(stale.into()).unwrap();
    *h.cluster.fresh.lock().unwrap() = fresh.into();
    reconcile_object(Arc::new(object), h.ctx.clone()).await.unwrap();
    assert!(!h.journal.aws().contains(&"CreateInstance".to_string()), "{:?}", h.journal.aws());
    assert_eq!(h.last_status()["instanceArn"], ARN);
}

#[tokio::test]
async fn an_active_instance_gets_the_specs_name_and_only_the_tag_difference() {
    let mut described = instance(InstanceState::Active);
    described.name = Some("old-name".into());
    let tags = [("keep", "1"), ("stale", "x")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let h = harness(Script { instances: vec![described], tags, ..Default::default() });
    let spec = json!({"name": "new-name", "tags": {"keep": "1", "added": "2"}});
    let action = h.reconcile(object().spec(spec).owned().finalized()).await;

    let aws: Vec<String> = h.journal.entries().into_iter().filter(|e| e.starts_with("sso ")).collect();
    assert_eq!(
        aws,
        [
            "sso GetCallerIdentity".to_string(),
            format!("sso DescribeInstance {ARN}"),
            "sso UpdateInstance name=new-name".into(),
            "sso ListTagsForResource".into(),
            "sso UntagResource [\"stale\"]".into(),
            "sso TagResource {\"added\": \"2\"}".into(),
        ]
    );
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
    assert_eq!(h.last_status()["identityStoreId"], "d-1234567890");
    assert_eq!(h.last_status()["ownerAccountId"], ACCOUNT);
    let events: Vec<String> = h.cluster.events().into_iter().map(|(_, reason)| reason).collect();
    assert_eq!(events, ["InstanceRenamed", "TagsUpdated", "InstanceActive"]);
    let resync = requeue_seconds(&action).expect("a settled object is looked at again");
    assert!(
        (RESYNC.as_secs_f64() / 2.0..=RESYNC.as_secs_f64() * 1.5).contains(&resync),
        "drift is re-checked about once a resync interval, spread: {resync}s"
    );
}

/// Another, older object that holds the account and its instance, as the watch saw it.
fn observe_older_holder(h: &Harness) {
    let older = object().named("first", "another-uid").created_at("2026-01-01T00:00:00Z").owned().finalized();
    let older: crate::api::IdentityCenterInstance = serde_json::from_value(older.into()).unwrap();
    h.ctx.claims.observe(&older, h.ctx.tenancy.acting(&older));
}

#[tokio::test]
async fn a_second_object_for_the_same_account_is_refused_without_create() {
    let h = harness(Script::default());
    observe_older_holder(&h);
    h.reconcile(object().finalized()).await;

    assert_eq!(h.journal.aws(), ["GetCallerIdentity"], "no CreateInstance");
    assert_eq!(h.condition("Stalled"), ("True".into(), "AccountAlreadyManaged".into()));
    let message = h.last_status()["conditions"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("identity/first") && message.contains(ACCOUNT), "{message}");
    assert_eq!(h.cluster.events(), [("Warning".into(), "AccountAlreadyManaged".into())]);
}

#[tokio::test]
async fn a_write_from_a_stale_cache_fails_instead_of_erasing_what_it_did_not_see() {
    let h = harness(Script::default());
    observe_older_holder(&h);
    // The API server has this object's ARN; the watch cache does not show it yet.
    let stale =
        object().status(json!({"createRequestedAt": "2026-11-28T10:00:01Z", "region": "eu-west-1"})).finalized();
    let stored: Value = stale
        .clone()
        .status(json!({
            "createRequestedAt": "2026-11-28T10:00:01Z", "region": "eu-west-1",
            "instanceArn": "arn:aws:sso:::instance/ssoins-2222222222222222",
        }))
        .resource_version("42")
        .into();
    *h.cluster.fresh.lock().unwrap() = stored.clone();
    let cached: Watched = serde_json::from_value(stale.into()).unwrap();
    let result = reconcile_object(Arc::new(cached), h.ctx.clone()).await;

    assert!(matches!(&result, Err(Error::Kube(kube::Error::Api(s))) if s.code == 409), "{result:?}");
    assert!(h.journal.entries().contains(&"k8s PATCH status 409".to_string()), "{:?}", h.journal.entries());
    assert_eq!(*h.cluster.fresh.lock().unwrap(), stored, "the stored ARN is untouched");
    assert!(h.cluster.events().is_empty(), "nothing reported from the stale view");
}

#[tokio::test]
async fn an_object_gone_from_the_cluster_leaves_no_failure_count_and_drops_its_own_role_session() {
    let h = harness(Script::default());
    let role = "arn:aws:iam::444455556666:role/admin";
    let with_role = |name: &str, uid: &str| -> Watched {
        let value = object().spec(json!({"credentials": {"roleArn": role}})).named(name, uid);
        serde_json::from_value(value.into()).unwrap()
    };
    let (first, second) = (with_role("first", "uid-1"), with_role("second", "uid-2"));
    for watched in [&first, &second] {
        let valid = watched.0.as_ref().unwrap();
        h.ctx.claims.observe(valid, h.ctx.tenancy.acting(valid));
    }
    h.ctx.record_failure("uid-1");

    super::index::forget_object(&h.ctx, &first);
    assert_eq!(h.ctx.record_failure("uid-1"), 0, "its failure count went with it");
    assert_eq!(h.journal.entries(), [format!("sessions forget {role} for identity/first")], "second keeps its own");
}

#[tokio::test]
async fn no_claim_is_decided_before_every_watched_namespace_has_listed() {
    let h = harness(Script::default());
    let identity = h.ctx.listing.expect(Watch::Objects("identity".into()));
    let _team_b = h.ctx.listing.expect(Watch::Objects("team-b".into()));
    identity.listed();
    let action = h.reconcile(object().finalized()).await;
    assert!(!h.journal.aws().contains(&"CreateInstance".to_string()), "team-b may hold the account");
    assert!(h.cluster.status_writes().is_empty());
    assert_eq!(action, Next::after(Duration::from_secs(2)));
}

#[tokio::test]
async fn an_account_that_already_has_an_instance_is_named_with_how_to_adopt_it() {
    let errors = [(
        "CreateInstance",
        error("CreateInstance", ErrorKind::Conflict, "An instance already exists in this account"),
    )];
    let h =
        harness(Script { errors: errors.into(), listed: vec![instance(InstanceState::Active)], ..Default::default() });
    let action = h.reconcile(object().finalized()).await;

    assert_eq!(h.condition("Stalled"), ("True".into(), "InstanceAlreadyExists".into()));
    let message = h.last_status()["conditions"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains(&format!("spec.instanceArn: {ARN}")), "{message}");
    assert_eq!(action, Next::on_change(), "terminal until the spec changes");
}

#[tokio::test]
async fn the_management_account_stalls_with_advice() {
    let text = "Organization management account is not allowed to perform the operation.";
    let h = harness(Script {
        errors: [("CreateInstance", error("CreateInstance", ErrorKind::Conflict, text))].into(),
        ..Default::default()
    });
    let action = h.reconcile(object().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "ManagementAccount".into()));
    assert_eq!(h.condition("Ready"), ("False".into(), "ManagementAccount".into()));
    assert_eq!(action, Next::on_change());
    assert_eq!(h.journal.aws().iter().filter(|c| *c == "CreateInstance").count(), 1);
}

#[tokio::test]
async fn throttling_is_retried_with_growing_jittered_backoff() {
    let errors = [("DescribeInstance", error("DescribeInstance", ErrorKind::Throttling, "Rate exceeded"))];
    let h = harness(Script { errors: errors.into(), ..Default::default() });
    let settled = object().owned().finalized();
    let mut delays = vec![h.reconcile(settled).await];
    for _ in 0..2 {
        delays.push(h.reconcile_current().await);
    }
    assert_eq!(h.condition("Synced"), ("False".into(), "Throttled".into()));
    assert_eq!(h.condition("Stalled").0, "False", "throttling is recoverable");
    let seconds: Vec<f64> = delays.iter().map(|d| requeue_seconds(d).unwrap()).collect();
    for (attempt, (got, full)) in seconds.iter().zip([5.0, 10.0, 20.0]).enumerate() {
        assert!(*got >= full / 2.0 && *got <= full, "attempt {attempt}: {got}s not in [{}, {full}]", full / 2.0);
    }
    assert_eq!(h.cluster.events(), [("Warning".into(), "Throttled".into())], "one event per transition, not per retry");
}

#[tokio::test]
async fn create_failed_is_terminal_with_the_aws_reason_verbatim() {
    let mut failed = instance(InstanceState::CreateFailed);
    failed.state_reason = Some("Identity store quota reached".into());
    let h = harness(Script { instances: vec![failed], ..Default::default() });
    let action = h.reconcile(object().owned().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "CreateFailed".into()));
    assert_eq!(h.last_status()["stateReason"], "Identity store quota reached");
    assert_eq!(h.cluster.events(), [("Warning".into(), "CreateFailed".into())]);
    assert_eq!(action, Next::on_change());
}

#[tokio::test]
async fn an_instance_deleted_outside_kubernetes_is_reported_not_recreated() {
    let h = harness(Script::default());
    h.reconcile(object().status(owned_status_with(json!({"state": "ACTIVE"}))).finalized()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListInstances"]);
    assert_eq!(h.condition("Ready"), ("False".into(), "InstanceNotFound".into()));
    assert_eq!(h.last_status()["instanceArn"], ARN, "the ARN is never lost");
    assert_eq!(h.cluster.events(), [("Warning".into(), "InstanceNotFound".into())]);
}

#[tokio::test]
async fn describe_answers_for_the_recorded_arn_only() {
    let mut other = instance(InstanceState::Active);
    other.arn = "arn:aws:sso:::instance/ssoins-2222222222222222".into();
    let h = harness(Script { instances: vec![other.clone()], listed: vec![other], ..Default::default() });
    h.reconcile(object().status(owned_status_with(json!({"state": "ACTIVE"}))).finalized()).await;
    assert_eq!(h.journal.entries()[1], format!("sso DescribeInstance {ARN}"));
    assert_eq!(h.condition("Ready"), ("False".into(), "InstanceNotFound".into()), "another instance is not this one");
    assert_eq!(h.last_status()["instanceArn"], ARN);
}

#[tokio::test]
async fn delete_policy_deletes_then_waits_until_gone_before_releasing() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    let status = owned_status();
    let deleting = object().spec(json!({"deletionPolicy": "Delete"})).status(status).finalized().deleting();
    h.reconcile(deleting.clone()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "DeleteInstance"]);
    assert_eq!(h.last_status()["state"], "DELETE_IN_PROGRESS");

    h.sso.script.lock().unwrap().instances = vec![instance(InstanceState::DeleteInProgress)];
    h.reconcile(deleting.clone()).await;
    assert_eq!(h.journal.aws().iter().filter(|c| *c == "DeleteInstance").count(), 1, "sent once");

    h.sso.script.lock().unwrap().instances.clear();
    let action = h.reconcile(deleting).await;
    assert_eq!(h.journal.aws()[4..], ["DescribeInstance", "ListInstances"], "AccessDenied confirmed by ListInstances");
    let last = h.cluster.sent().into_iter().rfind(|s| s.path.ends_with("/platform")).unwrap();
    assert_eq!(last.body["metadata"]["finalizers"], json!([]), "finalizer released");
    assert!(h.cluster.events().contains(&("Normal".into(), "InstanceDeleted".into())));
    assert_eq!(action, Next::on_change());
}

#[tokio::test]
async fn retain_and_never_created_release_without_calling_aws() {
    for (spec, status, reason) in [
        (json!({}), owned_status(), "Retained"),
        (json!({"deletionPolicy": "Delete"}), json!(null), "NeverCreated"),
        (
            json!({"deletionPolicy": "Delete", "managementPolicy": "ObserveOnly"}),
            json!({"instanceArn": ARN, "ownership": "Created"}),
            "ObserveOnly",
        ),
    ] {
        let h = harness(Script::default());
        h.reconcile(object().spec(spec).status(status).finalized().deleting()).await;
        assert!(h.journal.aws().is_empty(), "{reason}: {:?}", h.journal.aws());
        assert_eq!(h.cluster.events(), [("Normal".into(), reason.into())]);
        assert_eq!(h.journal.entries().last().unwrap(), "k8s PATCH object", "{reason}: finalizer removed");
    }
}

#[tokio::test]
async fn observe_only_never_writes_to_aws_nor_adds_a_finalizer() {
    let h = harness(Script {
        instances: vec![instance(InstanceState::Active)],
        listed: vec![instance(InstanceState::Active)],
        ..Default::default()
    });
    let spec =
        json!({"managementPolicy": "ObserveOnly", "name": "other-name", "exportTo": {"configMapName": "sso-ids"}});
    h.reconcile(object().spec(spec)).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "ListInstances", "DescribeInstance"]);
    assert!(!h.journal.entries().contains(&"k8s PATCH object".to_string()), "no finalizer");
    assert_eq!(h.condition("Ready"), ("True".into(), "Observed".into()));
    assert!(h.journal.entries().contains(&"k8s PATCH configmap 404".to_string()), "an update is tried first");
    let export = h.cluster.sent().into_iter().find(|s| s.method == "POST" && s.path.contains("/configmaps"));
    let export = export.expect("then the ConfigMap is made");
    assert!(export.query.contains(&format!("fieldManager=identity-center-operator%2F{UID}")), "{}", export.query);
    assert_eq!(
        export.body["data"],
        json!({"instanceArn": ARN, "identityStoreId": "d-1234567890", "ownerAccountId": ACCOUNT, "region": "eu-west-1"})
    );
    assert_eq!(export.body["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(export.body["metadata"]["labels"]["identitycenter.dev/export-of"], UID);
    assert_eq!(h.last_status()["ownership"], "Observed", "an observed instance is never the object's own");
}

#[tokio::test]
async fn a_settled_object_writes_no_status_when_nothing_changed() {
    let described = created_at(instance(InstanceState::Active), "2026-11-28T10:00:02.345Z");
    let h = harness(Script { instances: vec![described], ..Default::default() });
    let spec = json!({"name": "platform"});
    h.reconcile(object().spec(spec.clone()).owned().finalized()).await;
    let settled = h.last_status();
    let before = h.cluster.sent().len();
    h.reconcile(object().spec(spec).status(settled).finalized()).await;
    let writes = h.cluster.sent()[before..].iter().filter(|s| s.method != "GET").count();
    assert_eq!(writes, 0, "no status write, no event: {:?}", &h.cluster.sent()[before..]);
}

#[tokio::test]
async fn a_malformed_object_is_reported_on_its_status_without_losing_its_arn() {
    let h = harness(Script::default());
    let recorded = owned_status_with(json!({"createRequestedAt": "2026-11-28T10:00:01Z"}));
    let bad = object().spec(json!({"tags": "not-a-map", "deletionPolicy": "Sometimes"})).status(recorded).finalized();
    let action = h.reconcile(bad).await;
    assert!(h.journal.aws().is_empty());
    let patch = h.cluster.sent().into_iter().find(|s| s.path.ends_with("/status")).unwrap();
    assert_eq!(patch.content_type, "application/merge-patch+json", "a merge patch leaves the recorded fields alone");
    assert_eq!(
        patch.body["status"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["conditions", "observedGeneration"]
    );
    assert_eq!(h.condition("Stalled"), ("True".into(), "InvalidObject".into()));
    assert_eq!(action, Next::on_change());
}

#[tokio::test]
async fn a_transient_error_on_a_ready_instance_keeps_ready_and_reports_synced() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    h.reconcile(object().owned().finalized()).await;
    assert_eq!(h.condition("Ready").0, "True");
    h.sso
        .script
        .lock()
        .unwrap()
        .errors
        .insert("ListTagsForResource", error("ListTagsForResource", ErrorKind::Throttling, "slow down"));
    h.reconcile_current().await;
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()), "kubectl wait and Argo CD do not flap");
    assert_eq!(h.condition("Synced"), ("False".into(), "Throttled".into()));
}

#[tokio::test]
async fn a_changed_role_account_stalls_instead_of_losing_the_instance() {
    let h = harness(Script::default());
    let recorded = owned_status_with(json!({"targetAccountId": ACCOUNT}));
    let spec = json!({"deletionPolicy": "Delete", "credentials": {"roleArn": "arn:aws:iam::999988887777:role/x"}});
    h.reconcile(object().spec(spec.clone()).status(recorded.clone()).finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "AccountChanged".into()));
    h.reconcile(object().spec(spec).status(recorded).finalized().deleting()).await;
    assert!(h.journal.aws().is_empty(), "nothing is asked of the wrong account: {:?}", h.journal.aws());
    assert!(!h.journal.entries().contains(&"k8s PATCH object".to_string()), "the finalizer stays");
}

#[tokio::test]
async fn observe_only_then_manage_does_not_take_over_another_accounts_instance() {
    let mut org = instance(InstanceState::Active);
    org.owner_account_id = Some("999999999999".into());
    let h = harness(Script { instances: vec![org], ..Default::default() });
    h.reconcile(object().spec(json!({"name": "mine"})).owned().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "NotOwnedByTargetAccount".into()));
    let writes: Vec<String> =
        h.journal.aws().into_iter().filter(|c| c.starts_with("Update") || c.contains("Tag")).collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn an_export_configmap_the_operator_did_not_make_for_the_object_is_left_untouched() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    // The API server's answer when the patch's test of the export-of label fails.
    h.cluster.refuse_next("PATCH", "configmap", 422);
    let spec = json!({"exportTo": {"configMapName": "sso-ids"}});
    let next = h.reconcile(object().spec(spec).owned().finalized()).await;
    assert!(h.journal.entries().contains(&"k8s PATCH configmap 422".to_string()), "{:?}", h.journal.entries());
    assert!(!h.journal.entries().iter().any(|e| e.starts_with("k8s POST configmap")), "nothing made in its place");
    assert_eq!(h.condition("Stalled"), ("True".into(), "ExportConflict".into()));
    assert_eq!(h.last_status()["instanceArn"], ARN, "the instance stays recorded");
    assert_eq!(h.cluster.events(), [("Warning".into(), "ExportConflict".into())]);
    assert_eq!(next, Next::on_change(), "until the spec names another ConfigMap");
}

#[tokio::test]
async fn a_finalizer_write_on_a_stale_version_is_refused_and_retried_soon() {
    let h = harness(Script::default());
    // The watch cache saw version 41; the API server has 42 (someone edited the object).
    *h.cluster.fresh.lock().unwrap() = object().resource_version("42").into();
    let cached: Watched = serde_json::from_value(object().into()).unwrap();
    let result = reconcile_object(Arc::new(cached), h.ctx.clone()).await;
    // The account is asked first: the claim on it comes before the finalizer.
    assert_eq!(h.journal.entries(), ["sso GetCallerIdentity", "k8s PATCH object 409"], "no write reached AWS");
    let error = result.expect_err("the conflict leaves reconcile for the error policy");
    assert!(matches!(&error, Error::Kube(kube::Error::Api(status)) if status.code == 409), "{error}");
    assert_eq!(super::run::retry_delay(&error, 0, 0.0), Duration::from_secs(1), "the cache catches up within moments");
}

#[tokio::test]
async fn api_server_refusals_of_a_status_write_go_to_the_error_policy() {
    for code in [422, 500, 503] {
        let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
        h.cluster.refuse_next("PATCH", "status", code);
        let result = h.try_reconcile(object().owned().finalized()).await;
        let error = result.expect_err("a refused status write fails the reconcile");
        assert!(matches!(&error, Error::Kube(kube::Error::Api(status)) if status.code == code), "{code}: {error}");
        assert!(h.cluster.events().is_empty(), "{code}: no event for a transition that was not written");
        assert_eq!(super::run::retry_delay(&error, 0, 0.0), Duration::from_secs(5), "{code}");
    }
}

fn grant(spec: Value) -> crate::api::IdentityCenterAccountGrant {
    serde_json::from_value(json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
        "metadata": {"name": "identity-team"}, "spec": spec,
    }))
    .unwrap()
}

const DEFAULT_ROLE: &str = "arn:aws:iam::222233334444:role/tenant-default";

/// A grant of namespace identity (the fixtures') whose objects act through `role` when they name none.
fn grant_with_default_role(role: &str) -> crate::api::IdentityCenterAccountGrant {
    grant(json!({
        "namespaces": {"names": ["identity"]},
        "accounts": {"accountIds": ["999999999999"]},
        "defaultRole": {"roleArn": role},
    }))
}

#[tokio::test]
async fn without_a_grant_nothing_reaches_aws_and_no_finalizer_is_added() {
    let h = harness_with_tenancy(Script::default(), TenancyMode::Enforced);
    h.ctx.tenancy.fill(vec![], vec![]);
    let spec = json!({"credentials": {"roleArn": "arn:aws:iam::222233334444:role/admin"}});
    let next = h.reconcile(object().spec(spec)).await;
    assert_eq!(h.journal.entries(), ["k8s PATCH status", "k8s POST event"], "no AWS call, no finalizer");
    assert_eq!(h.condition("Stalled"), ("True".into(), "NotPermitted".into()));
    assert_eq!(h.cluster.events(), [("Warning".into(), "NotPermitted".into())]);
    assert_eq!(next, Next::after(Duration::from_secs(300)), "a grant change brings it back, or this recheck");
}

#[tokio::test]
async fn a_grants_default_role_is_the_one_acted_through() {
    let h = harness_with_tenancy(
        Script { instances: vec![instance(InstanceState::CreateInProgress)], ..Default::default() },
        TenancyMode::Enforced,
    );
    h.ctx.tenancy.fill(vec![grant_with_default_role(DEFAULT_ROLE)], vec![]);
    h.reconcile(object()).await;
    let create = h.journal.entries().into_iter().find(|e| e.starts_with("sso CreateInstance")).expect("created");
    assert!(create.ends_with(&format!("role={DEFAULT_ROLE}")), "{create}");
    assert_eq!(h.last_status()["targetAccountId"], "222233334444");
}

#[tokio::test]
async fn a_deleted_object_no_grant_admits_any_more_is_released_without_delete_instance() {
    let h = harness_with_tenancy(Script::default(), TenancyMode::Enforced);
    h.ctx.tenancy.fill(vec![], vec![]);
    let status = owned_status();
    let next =
        h.reconcile(object().spec(json!({"deletionPolicy": "Delete"})).status(status).finalized().deleting()).await;
    assert_eq!(h.journal.entries(), ["k8s POST event", "k8s PATCH object"], "no AWS call: {:?}", h.journal.entries());
    let last = h.cluster.sent().into_iter().rfind(|s| s.path.ends_with("/platform")).unwrap();
    assert_eq!(last.body["metadata"]["finalizers"], json!([]), "released");
    assert_eq!(h.cluster.events(), [("Warning".into(), "NotPermitted".into())]);
    assert_eq!(next, Next::on_change());
}

#[tokio::test]
async fn the_default_role_session_of_a_gone_object_is_forgotten() {
    let h = harness_with_tenancy(Script::default(), TenancyMode::Enforced);
    h.ctx.tenancy.fill(vec![grant_with_default_role(DEFAULT_ROLE)], vec![]);
    let gone: Watched = serde_json::from_value(object().into()).unwrap();
    super::index::forget_object(&h.ctx, &gone);
    assert_eq!(h.journal.entries(), [format!("sessions forget {DEFAULT_ROLE} for identity/platform")]);
}
