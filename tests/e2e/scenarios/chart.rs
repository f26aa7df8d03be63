//! The Helm chart on the real API server: its manifests are accepted, and the
//! operator, authenticated as the chart's ServiceAccount, can do its whole
//! job with the chart's RBAC, which grants nothing beyond an allowlist.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::controlplane::ControlPlane;
use test_support::kubectl::Kubectl;

use crate::http::json;
use crate::process::{eventually, free_port, spawn, stop};
use crate::stack::{CONVERGE, OPERATOR, REGION, Stack};

const RELEASE_NAMESPACE: &str = "ico-system";
const SERVICE_ACCOUNT: &str = "system:serviceaccount:ico-system:identity-center-operator";
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/identity-center-operator");

/// (resource, verbs) rows of `kubectl auth can-i --list` the operator may have in a watched namespace.
const ALLOWED: &[(&str, &str)] = &[
    ("events.events.k8s.io", "[create patch]"),
    ("configmaps", "[create patch]"),
    ("identitycenterinstances.identitycenter.dev", "[get list watch patch]"),
    ("identitycenterinstances.identitycenter.dev/status", "[get patch]"),
    // Tenancy, cluster-wide: read the grants and the namespaces' labels, write the grants' status.
    ("identitycenteraccountgrants.identitycenter.dev", "[get list watch]"),
    ("identitycenteraccountgrants.identitycenter.dev/status", "[get patch]"),
    ("namespaces", "[get list watch]"),
    // Granted to every authenticated user by Kubernetes itself.
    ("selfsubjectreviews.authentication.k8s.io", "[create]"),
    ("selfsubjectaccessreviews.authorization.k8s.io", "[create]"),
    ("selfsubjectrulesreviews.authorization.k8s.io", "[create]"),
];

fn helm() -> PathBuf {
    let output =
        Command::new("bash").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/hack/install-helm.sh")).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8_lossy(&output.stdout).lines().last().unwrap().trim())
}

fn render(values: &str) -> String {
    let output = Command::new(helm())
        .args(["template", "identity-center-operator", CHART, "--namespace", RELEASE_NAMESPACE, "-f"])
        .arg(format!("{CHART}/ci/{values}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "helm template: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The documents of a rendered chart whose kind satisfies `keep`.
fn documents(rendered: &str, keep: impl Fn(&str) -> bool) -> String {
    let kept = rendered.split("\n---").filter(|doc| {
        let kind = doc.lines().find_map(|l| l.strip_prefix("kind: ")).unwrap_or_default().trim().to_string();
        !kind.is_empty() && keep(&kind)
    });
    kept.collect::<Vec<_>>().join("\n---\n")
}

pub async fn chart_rbac_is_enough_and_no_more(plane: &mut ControlPlane) {
    let admin = Kubectl::new(&plane.kubeconfig);
    // The release namespace, and the watched namespaces of ci/every-option-values.yaml.
    for namespace in [RELEASE_NAMESPACE, "identity", "team-a"] {
        admin.run(&["create", "namespace", namespace]);
    }
    // ServiceMonitor and PrometheusRule need the Prometheus operator's CRDs, which this cluster does not have.
    let renders = [render("default-values.yaml"), render("every-option-values.yaml")];
    for rendered in &renders {
        let accepted = admin.output_with_stdin(
            &["apply", "--dry-run=server", "-f", "-"],
            &documents(rendered, |k| !["ServiceMonitor", "PrometheusRule"].contains(&k)),
        );
        assert!(
            accepted.status.success(),
            "the API server refused the chart: {}",
            String::from_utf8_lossy(&accepted.stderr)
        );
    }
    let rbac = documents(&renders[0], |k| ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"].contains(&k));
    let applied = admin.output_with_stdin(&["apply", "-f", "-"], &rbac);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));

    let mut stack = Stack::start_as(
        plane,
        "rbac",
        "createSeconds: 1\ndeleteSeconds: 1\n",
        &plane.kubeconfig_as("chart-service-account", SERVICE_ACCOUNT, &[]),
    )
    .await;
    // The chart's default, tenancy enforced: its RBAC must cover the grants too.
    stack.enforce_tenancy().await;
    let grant = json!({
        "namespaces": {"names": ["rbac"]},
        "accounts": {"operatorCredentials": true},
        "deletionPolicies": ["Retain", "Delete"],
    });
    stack.grant("chart-rbac", grant).await;
    stack
        .apply("platform", json!({"name": "rbac", "deletionPolicy": "Delete", "exportTo": {"configMapName": "ids"}}))
        .await
        .unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    stack.apply("platform", json!({"name": "renamed", "tags": {"a": "1"}, "deletionPolicy": "Delete", "exportTo": {"configMapName": "ids"}})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    stack.delete("platform").await;
    stack.wait_gone("platform").await;
    assert_eq!(stack.count("DeleteInstance").await, 1);
    let reasons: Vec<String> = {
        let events: kube::Api<k8s_openapi::api::events::v1::Event> =
            kube::Api::namespaced(stack.client.clone(), "rbac");
        events.list(&Default::default()).await.unwrap().items.into_iter().filter_map(|e| e.reason).collect()
    };
    assert!(reasons.iter().any(|r| r == "InstanceDeleted"), "events were published as the ServiceAccount: {reasons:?}");

    let table = stack.kubectl().run(&["auth", "can-i", "--list", "--as", SERVICE_ACCOUNT]);
    let mut extra = Vec::new();
    for line in table.lines().skip(1) {
        // Rows without a resource are non-resource URLs (/healthz, /version...) every user has.
        let Some(resource) = line.split_whitespace().next().filter(|_| !line.starts_with(' ')) else { continue };
        let verbs = line[line.rfind('[').unwrap_or(0)..].trim();
        if !ALLOWED.contains(&(resource, verbs)) {
            extra.push(line.to_string());
        }
    }
    assert!(
        extra.is_empty(),
        "the ServiceAccount can do more than the allowlist:\n{}\nfull list:\n{table}",
        extra.join("\n")
    );
    stack.shutdown().await;
}

/// An operator whose identity may not watch IdentityCenterInstances says so
/// at error level, with what to check, and is never ready.
pub async fn a_forbidden_watch_is_an_error_with_advice(plane: &mut ControlPlane) {
    let kubeconfig = plane.kubeconfig_as("nobody", "system:serviceaccount:default:nobody", &[]);
    let dir = plane.dir.path().join("forbidden");
    std::fs::create_dir_all(&dir).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let args = ["run", "--http-addr", &addr, "--default-region", REGION].map(String::from);
    let envs = [
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIA111122223333E2EX".into()),
        ("AWS_SECRET_ACCESS_KEY", "e2e-secret".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("RUST_LOG", "info".into()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let log = dir.join("operator.log");
    let mut operator = spawn(Path::new(OPERATOR), &args, &envs, &log);
    let line = eventually("the forbidden watch to be reported", CONVERGE, || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().find(|l| l.contains("watching IdentityCenterInstances failed")).map(str::to_string)
    })
    .await;
    assert!(line.contains("ERROR") && line.contains("is the CRD installed") && line.contains("403"), "{line}");
    assert!(!line.contains('\u{1b}'), "no colour codes in a log file: {line:?}");
    let (status, _) = json("GET", &addr, "/readyz", "").await;
    assert_ne!(status, 200, "not ready while nothing could be listed");
    stop(&mut operator, Duration::from_secs(10)).await;
}
