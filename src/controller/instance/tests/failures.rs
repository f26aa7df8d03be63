//! What goes wrong and what the user is told: throttling, AWS refusals and
//! failed creates, an instance deleted outside Kubernetes, the API server's
//! refusals and conflicts, and an object the schema would have refused.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::fake_sso::Script;
use super::{error, harness, requeue_seconds, watched};
use crate::api::{IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::instance::reconcile::reconcile_object;
use crate::controller::instance::run::retry_delay;
use crate::controller::{Error, Next};
use crate::fixtures::{ARN, time};
use crate::sso::{ErrorKind, Instance, InstanceState};

#[tokio::test]
async fn an_account_that_already_has_an_instance_is_named_with_how_to_adopt_it() {
    let errors = [(
        "CreateInstance",
        error("CreateInstance", ErrorKind::Conflict, "An instance already exists in this account"),
    )];
    let h = harness(Script {
        errors: errors.into(),
        listed: vec![Instance::test(InstanceState::Active)],
        ..Default::default()
    });
    let action = h.reconcile(IdentityCenterInstance::test().finalized()).await;

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
    let action = h.reconcile(IdentityCenterInstance::test().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "ManagementAccount".into()));
    assert_eq!(h.condition("Ready"), ("False".into(), "ManagementAccount".into()));
    assert_eq!(action, Next::on_change());
    assert_eq!(h.journal.aws().iter().filter(|c| *c == "CreateInstance").count(), 1);
}

#[tokio::test]
async fn throttling_is_retried_with_growing_jittered_backoff() {
    let errors = [("DescribeInstance", error("DescribeInstance", ErrorKind::Throttling, "Rate exceeded"))];
    let h = harness(Script { errors: errors.into(), ..Default::default() });
    let settled = IdentityCenterInstance::test().owned().finalized();
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
    let mut failed = Instance::test(InstanceState::CreateFailed);
    failed.state_reason = Some("Identity store quota reached".into());
    let h = harness(Script { instances: vec![failed], ..Default::default() });
    let action = h.reconcile(IdentityCenterInstance::test().owned().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "CreateFailed".into()));
    assert_eq!(h.last_status()["stateReason"], "Identity store quota reached");
    assert_eq!(h.cluster.events(), [("Warning".into(), "CreateFailed".into())]);
    assert_eq!(action, Next::on_change());
}

#[tokio::test]
async fn an_instance_deleted_outside_kubernetes_is_reported_not_recreated() {
    let h = harness(Script::default());
    let active = IdentityCenterInstanceStatus::owned().with_state("ACTIVE");
    h.reconcile(IdentityCenterInstance::test().with_status(active).finalized()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListInstances"]);
    assert_eq!(h.condition("Ready"), ("False".into(), "InstanceNotFound".into()));
    assert_eq!(h.last_status()["instanceArn"], ARN, "the ARN is never lost");
    assert_eq!(h.cluster.events(), [("Warning".into(), "InstanceNotFound".into())]);
}

#[tokio::test]
async fn describe_answers_for_the_recorded_arn_only() {
    let mut other = Instance::test(InstanceState::Active);
    other.arn = "arn:aws:sso:::instance/ssoins-2222222222222222".into();
    let h = harness(Script { instances: vec![other.clone()], listed: vec![other], ..Default::default() });
    let active = IdentityCenterInstanceStatus::owned().with_state("ACTIVE");
    h.reconcile(IdentityCenterInstance::test().with_status(active).finalized()).await;
    assert_eq!(h.journal.entries()[1], format!("sso DescribeInstance {ARN}"));
    assert_eq!(h.condition("Ready"), ("False".into(), "InstanceNotFound".into()), "another instance is not this one");
    assert_eq!(h.last_status()["instanceArn"], ARN);
}

#[tokio::test]
async fn a_malformed_object_is_reported_on_its_status_without_losing_its_arn() {
    let h = harness(Script::default());
    let recorded = IdentityCenterInstanceStatus {
        create_requested_at: Some(time("2026-11-28T10:00:01Z")),
        ..IdentityCenterInstanceStatus::owned()
    };
    let mut bad = serde_json::to_value(IdentityCenterInstance::test().with_status(recorded).finalized()).unwrap();
    // A spec the schema would refuse: no IdentityCenterInstanceSpec can hold it, so it goes in as JSON.
    bad["spec"] = json!({"tags": "not-a-map", "deletionPolicy": "Sometimes"});
    let action = h.try_reconcile_raw(bad).await.expect("reconcile reaches the API server");
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
async fn a_finalizer_write_on_a_stale_version_is_refused_and_retried_soon() {
    let h = harness(Script::default());
    // The watch cache saw version 41; the API server has 42 (someone edited the object).
    h.store(&IdentityCenterInstance::test().at_resource_version("42"));
    let cached = watched(&IdentityCenterInstance::test());
    let result = reconcile_object(Arc::new(cached), h.ctx.clone()).await;
    // The account is asked first: the claim on it comes before the finalizer.
    assert_eq!(h.journal.entries(), ["sso GetCallerIdentity", "k8s PATCH object 409"], "no write reached AWS");
    let error = result.expect_err("the conflict leaves reconcile for the error policy");
    assert!(matches!(&error, Error::Kube(kube::Error::Api(status)) if status.code == 409), "{error}");
    assert_eq!(retry_delay(&error, 0, 0.0), Duration::from_secs(1), "the cache catches up within moments");
}

#[tokio::test]
async fn api_server_refusals_of_a_status_write_go_to_the_error_policy() {
    for code in [422, 500, 503] {
        let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
        h.cluster.refuse_next("PATCH", "status", code);
        let result = h.try_reconcile(IdentityCenterInstance::test().owned().finalized()).await;
        let error = result.expect_err("a refused status write fails the reconcile");
        assert!(matches!(&error, Error::Kube(kube::Error::Api(status)) if status.code == code), "{code}: {error}");
        assert!(h.cluster.events().is_empty(), "{code}: no event for a transition that was not written");
        assert_eq!(retry_delay(&error, 0, 0.0), Duration::from_secs(5), "{code}");
    }
}
