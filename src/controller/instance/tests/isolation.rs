//! Tenant isolation: an object acts on an instance only while it holds the
//! account's claim, an instance it only observed never becomes its own, and
//! a grant is decided again at the moment of each write.

use std::sync::Arc;

use serde_json::json;

use super::fake_sso::Script;
use super::{Harness, grant, harness, harness_with_tenancy, observe_older_holder};
use crate::api::{
    DeletionPolicy, IdentityCenterAccountGrant, IdentityCenterInstance, IdentityCenterInstanceStatus, InstanceOwnership,
};
use crate::controller::tenancy::Mode as TenancyMode;
use crate::fixtures::ARN;
use crate::sso::{Instance, InstanceState};

/// The fixtures' instance, held as `ownership` in eu-west-1.
fn held_as(ownership: InstanceOwnership) -> IdentityCenterInstanceStatus {
    IdentityCenterInstanceStatus { ownership: Some(ownership), ..IdentityCenterInstanceStatus::owned() }
}

fn finalizer_writes(h: &Harness) -> usize {
    h.journal.entries().iter().filter(|e| *e == "k8s PATCH object").count()
}

/// The AWS writes the journal shows, refused ones aside.
fn aws_writes(h: &Harness) -> Vec<String> {
    let reads = ["GetCallerIdentity", "DescribeInstance", "ListInstances", "ListTagsForResource"];
    h.journal.aws().into_iter().filter(|c| !reads.contains(&c.as_str())).collect()
}

#[tokio::test]
async fn an_observer_that_switches_to_manage_neither_claims_nor_writes_the_creators_instance() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    observe_older_holder(&h);
    // Older than the creator, and it recorded the creator's ARN while it observed.
    let switched = IdentityCenterInstance::test()
        .created_at("2025-01-01T00:00:00Z")
        .spec_name("hijacked")
        .tags(&[("owner", "team-b")])
        .deletion_policy(DeletionPolicy::Delete)
        .with_status(held_as(InstanceOwnership::Observed));
    h.reconcile(switched).await;

    assert_eq!(h.condition("Stalled"), ("True".into(), "AccountAlreadyManaged".into()));
    assert!(aws_writes(&h).is_empty(), "{:?}", h.journal.aws());
    assert_eq!(finalizer_writes(&h), 0, "a refused object gets no finalizer, so its deletion holds nothing");
}

#[tokio::test]
async fn a_deletion_by_an_object_that_does_not_hold_the_account_releases_it_without_delete_instance() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    observe_older_holder(&h);
    let status = held_as(InstanceOwnership::Adopted);
    let deleting = IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).with_status(status);
    let deleting = deleting.finalized().deleting();
    h.reconcile(deleting).await;

    assert!(aws_writes(&h).is_empty(), "no DeleteInstance: {:?}", h.journal.aws());
    let released = h.cluster.sent().into_iter().rfind(|s| s.path.ends_with("/platform")).unwrap();
    assert_eq!(released.body["metadata"]["finalizers"], json!([]), "released");
    assert_eq!(h.cluster.events(), [("Warning".into(), "AccountAlreadyManaged".into())]);
}

#[tokio::test]
async fn an_observed_arn_is_never_deleted() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let status = held_as(InstanceOwnership::Observed);
    let deleting = IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).with_status(status);
    h.reconcile(deleting.finalized().deleting()).await;
    assert!(aws_writes(&h).is_empty(), "{:?}", h.journal.aws());
    assert_eq!(h.cluster.events(), [("Normal".into(), "NeverCreated".into())]);
}

fn deleting_team_grant(deletion_policies: &[&str]) -> IdentityCenterAccountGrant {
    grant(json!({
        "namespaces": {"names": ["identity"]},
        "accounts": {"operatorCredentials": true},
        "deletionPolicies": deletion_policies,
    }))
}

#[tokio::test]
async fn a_grant_narrowed_while_aws_answers_stops_the_delete_instance_that_follows() {
    let h = harness_with_tenancy(
        Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() },
        TenancyMode::Enforced,
    );
    h.ctx.tenancy.fill(vec![deleting_team_grant(&["Retain", "Delete"])], vec![]);
    let tenancy = h.ctx.tenancy.clone();
    h.sso.script.lock().unwrap().while_describing =
        Some(Arc::new(move || tenancy.regrant(vec![deleting_team_grant(&["Retain"])])));
    let deleting = IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).owned();
    h.reconcile(deleting.finalized().deleting()).await;

    assert!(h.journal.aws().contains(&"DescribeInstance".to_string()), "the deletion began: {:?}", h.journal.aws());
    assert!(h.journal.entries().contains(&"refused DeleteInstance".to_string()), "{:?}", h.journal.entries());
    assert!(aws_writes(&h).is_empty(), "no DeleteInstance reached AWS: {:?}", h.journal.aws());
    let released = h.cluster.sent().into_iter().rfind(|s| s.path.ends_with("/platform")).unwrap();
    assert_eq!(released.body["metadata"]["finalizers"], json!([]), "let go, the instance left in AWS");
    assert_eq!(h.cluster.events(), [("Warning".into(), "NotPermitted".into())]);
}

#[tokio::test]
async fn a_grant_removed_while_aws_answers_stops_the_rename_and_reports_the_refusal() {
    let h = harness_with_tenancy(
        Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() },
        TenancyMode::Enforced,
    );
    h.ctx.tenancy.fill(vec![deleting_team_grant(&["Retain"])], vec![]);
    let tenancy = h.ctx.tenancy.clone();
    h.sso.script.lock().unwrap().while_describing = Some(Arc::new(move || tenancy.regrant(vec![])));
    h.reconcile(IdentityCenterInstance::test().spec_name("renamed").owned().finalized()).await;

    assert!(h.journal.entries().contains(&"refused UpdateInstance".to_string()), "{:?}", h.journal.entries());
    assert!(aws_writes(&h).is_empty(), "{:?}", h.journal.aws());
    assert_eq!(h.condition("Stalled"), ("True".into(), "NotPermitted".into()));
    assert_eq!(h.last_status()["instanceArn"], ARN, "nothing is lost");
}
