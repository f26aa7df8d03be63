//! Enforced tenancy: without a grant nothing reaches AWS, a grant's default
//! role is the one acted through, and what a gone object held through it is
//! forgotten.

use std::time::Duration;

use serde_json::json;

use super::fake_sso::Script;
use super::{grant, harness_with_tenancy, watched};
use crate::api::{DeletionPolicy, IdentityCenterAccountGrant, IdentityCenterInstance};
use crate::controller::Next;
use crate::controller::instance::index::forget_object;
use crate::controller::tenancy::Mode as TenancyMode;
use crate::sso::{Instance, InstanceState};

const DEFAULT_ROLE: &str = "arn:aws:iam::222233334444:role/tenant-default";

/// A grant of namespace identity (the fixtures') whose objects act through `role` when they name none.
fn grant_with_default_role(role: &str) -> IdentityCenterAccountGrant {
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
    let next = h.reconcile(IdentityCenterInstance::test().role("arn:aws:iam::222233334444:role/admin")).await;
    assert_eq!(h.journal.entries(), ["k8s PATCH status", "k8s POST event"], "no AWS call, no finalizer");
    assert_eq!(h.condition("Stalled"), ("True".into(), "NotPermitted".into()));
    assert_eq!(h.cluster.events(), [("Warning".into(), "NotPermitted".into())]);
    assert_eq!(next, Next::after(Duration::from_secs(300)), "a grant change brings it back, or this recheck");
}

#[tokio::test]
async fn a_grants_default_role_is_the_one_acted_through() {
    let h = harness_with_tenancy(
        Script { instances: vec![Instance::test(InstanceState::CreateInProgress)], ..Default::default() },
        TenancyMode::Enforced,
    );
    h.ctx.tenancy.fill(vec![grant_with_default_role(DEFAULT_ROLE)], vec![]);
    h.reconcile(IdentityCenterInstance::test()).await;
    let create = h.journal.entries().into_iter().find(|e| e.starts_with("sso CreateInstance")).expect("created");
    assert!(create.ends_with(&format!("role={DEFAULT_ROLE}")), "{create}");
    assert_eq!(h.last_status()["targetAccountId"], "222233334444");
}

#[tokio::test]
async fn a_deleted_object_no_grant_admits_any_more_is_released_without_delete_instance() {
    let h = harness_with_tenancy(Script::default(), TenancyMode::Enforced);
    h.ctx.tenancy.fill(vec![], vec![]);
    let deleting =
        IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).owned().finalized().deleting();
    let next = h.reconcile(deleting).await;
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
    let gone = watched(&IdentityCenterInstance::test());
    forget_object(&h.ctx, &gone);
    assert_eq!(h.journal.entries(), [format!("sessions forget {DEFAULT_ROLE} for identity/platform")]);
}
