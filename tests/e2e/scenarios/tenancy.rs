//! Tenancy enforced: a cluster-scoped grant decides which namespace may act
//! in which account, before any AWS call.

use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;
use sso_admin_emulator::Call;

use identity_center_operator::api::IdentityCenterAccountGrant;

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

const ROLE: &str = "arn:aws:iam::222233334444:role/identity-center-admin";
const GRANT: &str = "tenancy-e2e";

async fn grant_admits(stack: &Stack, count: u32) {
    let grants: Api<IdentityCenterAccountGrant> = Api::all(stack.client.clone());
    eventually(&format!("the grant to report {count} admitted"), CONVERGE, || async {
        let status = grants.get(GRANT).await.unwrap().status?;
        let ready = status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
        (status.admitted == count && ready).then_some(())
    })
    .await;
}

async fn warnings(stack: &Stack) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(stack.client.clone(), &stack.namespace);
    let listed = events.list(&ListParams::default()).await.unwrap().items;
    let warnings = listed.into_iter().filter(|e| e.type_.as_deref() == Some("Warning"));
    warnings.map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default())).collect()
}

fn operations(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| format!("{}:{}", c.service, c.operation)).collect()
}

pub async fn grants_decide_before_any_aws_call(plane: &mut ControlPlane) {
    let stack = Stack::start_enforced(plane, "tenancy", "createSeconds: 1\ndeleteSeconds: 1\n").await;
    let spec = json!({"name": "tenant", "deletionPolicy": "Delete", "credentials": {"roleArn": ROLE}});
    stack.apply("tenant", spec.clone()).await.unwrap();

    // No grant: refused before any AWS call, with what would admit it.
    let refused = stack.wait_for("tenant", "Stalled", "True").await;
    let stalled = refused.condition("Stalled").unwrap();
    assert_eq!(stalled.reason, "NotPermitted");
    for part in ["Namespace tenancy", ROLE, "deletionPolicy Delete", "IdentityCenterAccountGrant"] {
        assert!(stalled.message.contains(part), "{part:?} in {}", stalled.message);
    }
    assert!(refused.finalizers().is_empty(), "a refused object gets no finalizer");
    assert!(
        operations(&stack.calls().await).is_empty(),
        "no AssumeRole, no GetCallerIdentity: {:?}",
        stack.calls().await
    );
    let warned = warnings(&stack).await;
    assert!(warned.iter().any(|(reason, note)| reason == "NotPermitted" && note.contains(ROLE)), "{warned:?}");

    // A grant: the object proceeds by itself, nobody re-applies it.
    stack
        .grant(
            GRANT,
            json!({
                "namespaces": {"names": ["tenancy"]},
                "accounts": {"roleArns": [ROLE]},
                "deletionPolicies": ["Retain", "Delete"],
            }),
        )
        .await;
    let ready = stack.wait_for("tenant", "Ready", "True").await;
    let arn = ready.status.and_then(|s| s.instance_arn).expect("an ARN");
    assert_eq!(stack.count("CreateInstance").await, 1);
    grant_admits(&stack, 1).await;

    // Narrowed: no Delete any more. The object stalls; nothing is deleted in AWS.
    stack.grant(GRANT, json!({"namespaces": {"names": ["tenancy"]}, "accounts": {"roleArns": [ROLE]}})).await;
    let narrowed = stack.wait_for("tenant", "Stalled", "True").await;
    assert_eq!(narrowed.condition("Stalled").unwrap().reason, "NotPermitted");
    assert_eq!(narrowed.status.and_then(|s| s.instance_arn).as_deref(), Some(arn.as_str()), "the ARN is kept");
    grant_admits(&stack, 0).await;

    // Deleting it releases it without DeleteInstance.
    stack.delete("tenant").await;
    stack.wait_gone("tenant").await;
    assert_eq!(stack.count("DeleteInstance").await, 0, "a narrowed grant never deletes an instance");
    let left = stack.instances_of("222233334444").await;
    assert_eq!(left.len(), 1, "the instance is left in AWS: {left:?}");
    let warned = warnings(&stack).await;
    assert!(
        warned.iter().any(|(reason, note)| reason == "NotPermitted" && note.contains("without DeleteInstance")),
        "{warned:?}"
    );

    let grants: Api<IdentityCenterAccountGrant> = Api::all(stack.client.clone());
    grants.delete(GRANT, &DeleteParams::default()).await.unwrap();
    stack.shutdown().await;
}
