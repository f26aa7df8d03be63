//! One object per AWS account: the claim decides which object may act, an
//! object keeps to the account and instance it holds, a stale cache cannot
//! write over what it did not see, and a gone object leaves nothing behind.

use std::sync::Arc;
use std::time::Duration;

use super::fake_sso::Script;
use super::{harness, observe_older_holder, watched};
use crate::api::{DeletionPolicy, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::instance::index::forget_object;
use crate::controller::instance::reconcile::reconcile_object;
use crate::controller::listing::Watch;
use crate::controller::{Error, Next, Watched};
use crate::fixtures::ACCOUNT;
use crate::sso::{Instance, InstanceState};

#[tokio::test]
async fn a_second_object_for_the_same_account_is_refused_without_create() {
    let h = harness(Script::default());
    observe_older_holder(&h);
    h.reconcile(IdentityCenterInstance::test().finalized()).await;

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
    let marker = IdentityCenterInstanceStatus::create_requested("2026-11-28T10:00:01Z");
    let stale = IdentityCenterInstance::test().with_status(marker.clone()).finalized();
    let stored = stale
        .clone()
        .with_status(IdentityCenterInstanceStatus {
            instance_arn: Some("arn:aws:sso:::instance/ssoins-2222222222222222".into()),
            ..marker
        })
        .at_resource_version("42");
    h.store(&stored);
    let cached = watched(&stale);
    let result = reconcile_object(Arc::new(cached), h.ctx.clone()).await;

    assert!(matches!(&result, Err(Error::Kube(kube::Error::Api(s))) if s.code == 409), "{result:?}");
    assert!(h.journal.entries().contains(&"k8s PATCH status 409".to_string()), "{:?}", h.journal.entries());
    let stored = serde_json::to_value(&stored).unwrap();
    assert_eq!(*h.cluster.fresh.lock().unwrap(), stored, "the stored ARN is untouched");
    assert!(h.cluster.events().is_empty(), "nothing reported from the stale view");
}

#[tokio::test]
async fn an_object_gone_from_the_cluster_leaves_no_failure_count_and_drops_its_own_role_session() {
    let h = harness(Script::default());
    let role = "arn:aws:iam::444455556666:role/admin";
    let with_role =
        |name: &str, uid: &str| -> Watched { watched(&IdentityCenterInstance::test().role(role).named(name, uid)) };
    let (first, second) = (with_role("first", "uid-1"), with_role("second", "uid-2"));
    for watched in [&first, &second] {
        let valid = watched.0.as_ref().unwrap();
        h.ctx.claims.observe(valid, h.ctx.tenancy.acting(valid));
    }
    h.ctx.record_failure("uid-1");

    forget_object(&h.ctx, &first);
    assert_eq!(h.ctx.record_failure("uid-1"), 0, "its failure count went with it");
    assert_eq!(h.journal.entries(), [format!("sessions forget {role} for identity/first")], "second keeps its own");
}

#[tokio::test]
async fn no_claim_is_decided_before_every_watched_namespace_has_listed() {
    let h = harness(Script::default());
    let identity = h.ctx.listing.expect(Watch::Objects("identity".into()));
    let _team_b = h.ctx.listing.expect(Watch::Objects("team-b".into()));
    identity.listed();
    let action = h.reconcile(IdentityCenterInstance::test().finalized()).await;
    assert!(!h.journal.aws().contains(&"CreateInstance".to_string()), "team-b may hold the account");
    assert!(h.cluster.status_writes().is_empty());
    assert_eq!(action, Next::after(Duration::from_secs(2)));
}

#[tokio::test]
async fn a_changed_role_account_stalls_instead_of_losing_the_instance() {
    let h = harness(Script::default());
    let recorded = IdentityCenterInstanceStatus {
        target_account_id: Some(ACCOUNT.into()),
        ..IdentityCenterInstanceStatus::owned()
    };
    let moved = IdentityCenterInstance::test()
        .deletion_policy(DeletionPolicy::Delete)
        .role("arn:aws:iam::999988887777:role/x")
        .with_status(recorded)
        .finalized();
    h.reconcile(moved.clone()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "AccountChanged".into()));
    h.reconcile(moved.deleting()).await;
    assert!(h.journal.aws().is_empty(), "nothing is asked of the wrong account: {:?}", h.journal.aws());
    assert!(!h.journal.entries().contains(&"k8s PATCH object".to_string()), "the finalizer stays");
}

#[tokio::test]
async fn observe_only_then_manage_does_not_take_over_another_accounts_instance() {
    let org = Instance::test(InstanceState::Active).owned_by("999999999999");
    let h = harness(Script { instances: vec![org], ..Default::default() });
    h.reconcile(IdentityCenterInstance::test().spec_name("mine").owned().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "NotOwnedByTargetAccount".into()));
    let writes: Vec<String> =
        h.journal.aws().into_iter().filter(|c| c.starts_with("Update") || c.contains("Tag")).collect();
    assert!(writes.is_empty(), "{writes:?}");
}
