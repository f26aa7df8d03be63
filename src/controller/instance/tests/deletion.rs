//! Deleting an object: deletionPolicy Delete deletes the instance and waits
//! until it is gone; Retain, an instance never created and ObserveOnly
//! release the object without calling AWS.

use serde_json::json;

use super::fake_sso::Script;
use super::harness;
use crate::api::{DeletionPolicy, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::Next;
use crate::sso::{Instance, InstanceState};

#[tokio::test]
async fn delete_policy_deletes_then_waits_until_gone_before_releasing() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let deleting =
        IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).owned().finalized().deleting();
    h.reconcile(deleting.clone()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "DeleteInstance"]);
    assert_eq!(h.last_status()["state"], "DELETE_IN_PROGRESS");

    h.sso.script.lock().unwrap().instances = vec![Instance::test(InstanceState::DeleteInProgress)];
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
    // An instance the object created, recorded without its Region.
    let created_nowhere = IdentityCenterInstanceStatus { region: None, ..IdentityCenterInstanceStatus::owned() };
    for (object, reason) in [
        (IdentityCenterInstance::test().owned(), "Retained"),
        (IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete), "NeverCreated"),
        (
            IdentityCenterInstance::test()
                .deletion_policy(DeletionPolicy::Delete)
                .observe_only()
                .with_status(created_nowhere),
            "ObserveOnly",
        ),
    ] {
        let h = harness(Script::default());
        h.reconcile(object.finalized().deleting()).await;
        assert!(h.journal.aws().is_empty(), "{reason}: {:?}", h.journal.aws());
        assert_eq!(h.cluster.events(), [("Normal".into(), reason.into())]);
        assert_eq!(h.journal.entries().last().unwrap(), "k8s PATCH object", "{reason}: finalizer removed");
    }
}
