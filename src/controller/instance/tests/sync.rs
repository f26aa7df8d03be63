//! Keeping an ACTIVE instance in sync with its spec: its name and tags, its
//! export ConfigMap, no write when nothing changed, and Ready kept through a
//! transient error.

use super::fake_sso::Script;
use super::{RESYNC, error, harness, requeue_seconds};
use crate::api::{ExportTo, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::Next;
use crate::fixtures::{ACCOUNT, ARN};
use crate::sso::{ErrorKind, Instance, InstanceState};

#[tokio::test]
async fn an_active_instance_gets_the_specs_name_and_only_the_tag_difference() {
    let mut described = Instance::test(InstanceState::Active);
    described.name = Some("old-name".into());
    let tags = [("keep", "1"), ("stale", "x")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let h = harness(Script { instances: vec![described], tags, ..Default::default() });
    let object = IdentityCenterInstance::test().spec_name("new-name").tags(&[("keep", "1"), ("added", "2")]);
    let action = h.reconcile(object.owned().finalized()).await;

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

#[tokio::test]
async fn a_settled_object_writes_no_status_when_nothing_changed() {
    let described = Instance::test(InstanceState::Active).created_at("2026-11-28T10:00:02.345Z");
    let h = harness(Script { instances: vec![described], ..Default::default() });
    let object = IdentityCenterInstance::test().spec_name("platform");
    h.reconcile(object.clone().owned().finalized()).await;
    // What the operator wrote, back as the next reconcile reads it.
    let settled: IdentityCenterInstanceStatus = serde_json::from_value(h.last_status()).unwrap();
    let before = h.cluster.sent().len();
    h.reconcile(object.with_status(settled).finalized()).await;
    let writes = h.cluster.sent()[before..].iter().filter(|s| s.method != "GET").count();
    assert_eq!(writes, 0, "no status write, no event: {:?}", &h.cluster.sent()[before..]);
}

#[tokio::test]
async fn a_transient_error_on_a_ready_instance_keeps_ready_and_reports_synced() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    h.reconcile(IdentityCenterInstance::test().owned().finalized()).await;
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
async fn an_export_configmap_the_operator_did_not_make_for_the_object_is_left_untouched() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    // The API server's answer when the patch's test of the export-of label fails.
    h.cluster.refuse_next("PATCH", "configmap", 422);
    let exported = IdentityCenterInstance::test()
        .with_spec(|spec| spec.export_to = Some(ExportTo { config_map_name: "sso-ids".into() }));
    let next = h.reconcile(exported.owned().finalized()).await;
    assert!(h.journal.entries().contains(&"k8s PATCH configmap 422".to_string()), "{:?}", h.journal.entries());
    assert!(!h.journal.entries().iter().any(|e| e.starts_with("k8s POST configmap")), "nothing made in its place");
    assert_eq!(h.condition("Stalled"), ("True".into(), "ExportConflict".into()));
    assert_eq!(h.last_status()["instanceArn"], ARN, "the instance stays recorded");
    assert_eq!(h.cluster.events(), [("Warning".into(), "ExportConflict".into())]);
    assert_eq!(next, Next::on_change(), "until the spec names another ConfigMap");
}
