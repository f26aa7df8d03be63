//! Creating an instance: CreateInstance is sent once, its ARN recorded before
//! anything else, and a crash, a refusal, a lost lease or a stale cache never
//! makes a second instance.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::fake_sso::Script;
use super::{error, harness, watched};
use crate::api::{DeletionPolicy, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::Next;
use crate::controller::instance::reconcile::reconcile_object;
use crate::fixtures::{ARN, UID};
use crate::sso::{ErrorKind, Instance, InstanceState};

#[tokio::test]
async fn a_new_object_creates_once_and_records_the_arn_before_anything_else() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::CreateInProgress)], ..Default::default() });
    let action = h.reconcile(IdentityCenterInstance::test().spec_name("platform").tags(&[("team", "platform")])).await;

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
    let listed = vec![Instance::test(InstanceState::Active).created_at("2026-11-28T10:00:02.5Z")];
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], listed, ..Default::default() });
    let marker = IdentityCenterInstanceStatus::create_requested("2026-11-28T10:00:01Z");
    h.reconcile(IdentityCenterInstance::test().spec_name("platform").with_status(marker).finalized()).await;

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
    let older = Instance::test(InstanceState::Active).created_at("2026-01-01T00:00:00Z");
    let h = harness(Script {
        listed: vec![older],
        instances: vec![Instance::test(InstanceState::CreateInProgress)],
        ..Default::default()
    });
    let marker = IdentityCenterInstanceStatus::create_requested("2026-11-28T10:00:01Z");
    h.reconcile(IdentityCenterInstance::test().with_status(marker).finalized()).await;
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
    h.reconcile(IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).finalized()).await;
    assert!(h.last_status()["createRequestedAt"].is_null(), "nothing was created: {}", h.last_status());

    let unanswered = [("CreateInstance", error("CreateInstance", ErrorKind::Transport, "connection reset"))];
    let h = harness(Script { errors: unanswered.into(), ..Default::default() });
    h.reconcile(IdentityCenterInstance::test().finalized()).await;
    assert!(h.last_status()["createRequestedAt"].is_string(), "an unanswered call may have created it");
}

#[tokio::test]
async fn a_fenced_create_ends_without_another_write_and_looks_again_soon() {
    let fenced = [("CreateInstance", error("CreateInstance", ErrorKind::NotLeader, "lease lost"))];
    let h = harness(Script { errors: fenced.into(), ..Default::default() });
    let next = h.try_reconcile(IdentityCenterInstance::test().finalized()).await.expect("not a failed reconcile");

    let writes = h.cluster.status_writes();
    assert_eq!(writes.len(), 1, "only the marker, written before the call: {writes:?}");
    assert!(writes[0]["createRequestedAt"].is_string());
    assert_eq!(h.cluster.events(), [], "a fenced replica reports nothing");
    assert_eq!(next, Next::after(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_stale_cache_without_the_arn_does_not_create_again() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let stale = IdentityCenterInstance::test().finalized();
    let fresh = stale.clone().owned();
    let object = watched(&stale);
    h.store(&fresh);
    reconcile_object(Arc::new(object), h.ctx.clone()).await.unwrap();
    assert!(!h.journal.aws().contains(&"CreateInstance".to_string()), "{:?}", h.journal.aws());
    assert_eq!(h.last_status()["instanceArn"], ARN);
}
