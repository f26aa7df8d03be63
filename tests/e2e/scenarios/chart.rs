//! The Helm chart on the real API server: its manifests are accepted, and the
//! operator, authenticated as the chart's ServiceAccount, can do its whole
//! job with the chart's RBAC, which grants nothing beyond an allowlist, under
//! the chart's ConfigMap admission policy, which holds it to its exportTo
//! ConfigMaps. The chart's tenant roles reach the built-in view, edit and
//! admin roles, and never give a tenant /status or grants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use test_support::kubectl::Kubectl;

use crate::http::json;
use crate::process::{eventually, free_port, spawn, stop};
use crate::stack::{CONVERGE, OPERATOR, REGION, Stack};

const RELEASE_NAMESPACE: &str = "ico-system";
const SERVICE_ACCOUNT: &str = "system:serviceaccount:ico-system:identity-center-operator";
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/identity-center-operator");
/// The chart's ValidatingAdmissionPolicy (and binding) on the ServiceAccount's ConfigMap writes.
const POLICY: &str = "ico-system-identity-center-operator-configmaps";
/// A tenant's namespace, where the admin and the tenants make their own objects.
const TENANT: &str = "chart-tenant";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const EXPORT_OF: &str = "identitycenter.dev/export-of";

/// (resource, verbs) rows of `kubectl auth can-i --list` the operator may have in a watched namespace.
const ALLOWED: &[(&str, &str)] = &[
    ("events.events.k8s.io", "[create patch]"),
    ("configmaps", "[create patch]"),
    // Instances, and the children of instance sets (created and deleted by the set).
    ("identitycenterinstances.identitycenter.dev", "[get list watch patch create delete]"),
    ("identitycenterinstances.identitycenter.dev/status", "[get patch]"),
    ("identitycenterinstancesets.identitycenter.dev", "[get list watch]"),
    ("identitycenterinstancesets.identitycenter.dev/status", "[get patch]"),
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
        // The `helm test` hook's Pod runs only under `helm test`, never in an install.
        .args(["template", "identity-center-operator", CHART, "--namespace", RELEASE_NAMESPACE, "--skip-tests", "-f"])
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
    // The operator runs under the ConfigMap policy from the start, as it does once the chart is installed.
    let kinds = [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ];
    let rbac = documents(&renders[0], |k| kinds.contains(&k));
    assert!(rbac.contains(&format!("name: {POLICY}")), "the chart ships the ConfigMap policy by default");
    let applied = admin.output_with_stdin(&["apply", "-f", "-"], &rbac);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    admin.run(&["create", "namespace", TENANT]);
    wait_for_policy(&As::new(&plane.kubeconfig_as("chart-service-account", SERVICE_ACCOUNT, &[])).await).await;

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
    let uid = stack.get("platform").await.metadata.uid.unwrap();
    eventually("the operator's export, as the policy wants it", CONVERGE, || async {
        is_export(&stack.kubectl(), "ids", &uid).then_some(())
    })
    .await;
    stack.apply("platform", json!({"name": "renamed", "tags": {"a": "1"}, "deletionPolicy": "Delete", "exportTo": {"configMapName": "ids"}})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    // Its patches of the export (every reconcile) go through the policy too, and it never trips it.
    assert!(is_export(&stack.kubectl(), "ids", &uid));
    let writes = eventually("the operator to patch its export", CONVERGE, || async {
        let writes = export_writes(&*plane, "rbac");
        writes.iter().any(|(verb, code)| verb == "patch" && *code == 200).then_some(writes)
    })
    .await;
    assert!(writes.contains(&("create".to_string(), 201)), "{writes:?}");
    assert!(writes.iter().all(|(_, code)| [200, 201, 404].contains(code)), "refused export writes: {writes:?}");
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

    configmap_policy_holds_the_service_account(plane).await;
    tenant_roles_reach_view_edit_and_admin_but_never_status_or_grants(plane).await;
}

/// The operator's export exists, as the policy lets it make one: both labels (export-of the
/// object's uid), a controller ownerReference to the object, and the ids.
fn is_export(admin: &Kubectl, name: &str, uid: &str) -> bool {
    let output = admin.output(&["get", "configmap", name, "-o", "json"]);
    let Ok(config_map) = serde_json::from_slice::<Value>(&output.stdout) else { return false };
    let labels = &config_map["metadata"]["labels"];
    let owners = config_map["metadata"]["ownerReferences"].as_array().cloned().unwrap_or_default();
    labels[MANAGED_BY] == "identity-center-operator"
        && labels[EXPORT_OF] == uid
        && owners.iter().any(|o| o["uid"] == uid && o["kind"] == "IdentityCenterInstance" && o["controller"] == true)
        && config_map["data"]["instanceArn"].as_str().is_some_and(|a| a.starts_with("arn:aws:sso:::instance/"))
}

/// (verb, response code) of every ConfigMap write the ServiceAccount sent in `namespace`, from the audit log.
fn export_writes(plane: &ControlPlane, namespace: &str) -> Vec<(String, i64)> {
    let events = plane.audited_writes().into_iter().filter(|e| {
        e["stage"] == "ResponseComplete"
            && e["impersonatedUser"]["username"] == SERVICE_ACCOUNT
            && e["objectRef"]["resource"] == "configmaps"
            && e["objectRef"]["namespace"] == namespace
    });
    events
        .map(|e| {
            (e["verb"].as_str().unwrap_or_default().to_string(), e["responseStatus"]["code"].as_i64().unwrap_or(0))
        })
        .collect()
}

fn json_of(kubectl: &Kubectl, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&kubectl.run(&args)).unwrap()
}

fn succeeded(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed: {}", String::from_utf8_lossy(&output.stderr));
}

type Answer = Result<Value, Box<kube::core::Status>>;

/// Requests sent as one identity, as they are: no read first, as `kubectl
/// patch` does (the ServiceAccount may not even get ConfigMaps), the way the
/// operator itself calls the API server.
struct As(kube::Client);

impl As {
    async fn new(kubeconfig: &Path) -> Self {
        let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
        Self(kube::Client::try_from(config).unwrap())
    }

    async fn send(&self, method: &str, path: &str, content_type: &str, body: &Value) -> Answer {
        let body = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
        let request = ::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body)
            .unwrap();
        match self.0.request::<Value>(request).await {
            Ok(answer) => Ok(answer),
            Err(kube::Error::Api(status)) => Err(status),
            Err(error) => panic!("{method} {path}: {error}"),
        }
    }

    async fn create(&self, collection: &str, object: &Value) -> Answer {
        self.send("POST", collection, "application/json", object).await
    }

    async fn json_patch(&self, path: &str, patch: &Value) -> Answer {
        self.send("PATCH", path, "application/json-patch+json", patch).await
    }

    async fn merge_patch(&self, path: &str, patch: &Value) -> Answer {
        self.send("PATCH", path, "application/merge-patch+json", patch).await
    }

    /// Server-side apply as the operator's field manager, forced past other managers' fields.
    async fn apply(&self, path: &str, object: &Value) -> Answer {
        let path = format!("{path}?fieldManager=identity-center-operator&force=true");
        self.send("PATCH", &path, "application/apply-patch+yaml", object).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, "application/json", &Value::Null).await
    }
}

fn configmaps(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/configmaps")
}

fn configmap(namespace: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/configmaps/{name}")
}

/// Refused by the chart's ConfigMap policy, 403, with a message that contains `why`.
fn refused_by_policy(answer: Answer, what: &str, why: &str) {
    let status = match answer {
        Ok(answer) => panic!("{what} was allowed: {answer}"),
        Err(status) => status,
    };
    let by_policy = format!("ValidatingAdmissionPolicy '{POLICY}' with binding '{POLICY}' denied request: ");
    assert!(
        status.code == 403 && status.reason == "Forbidden" && status.message.contains(&by_policy),
        "{what} was refused, but not by the policy: {status:?}"
    );
    assert!(status.message.contains(why), "{what}: the policy's message does not say {why:?}: {}", status.message);
}

/// Refused by RBAC, 403, with a message that contains `why`.
fn refused_by_rbac(answer: Answer, what: &str, why: &str) {
    let status = match answer {
        Ok(answer) => panic!("{what} was allowed: {answer}"),
        Err(status) => status,
    };
    assert!(
        status.code == 403 && !status.message.contains("ValidatingAdmissionPolicy") && status.message.contains(why),
        "{what}: not RBAC saying {why:?}: {status:?}"
    );
}

/// Policies take effect when the API server's informer has them: until then, probe with a server dry run.
async fn wait_for_policy(operator: &As) {
    let probe = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}});
    let path = format!("{}?dryRun=All", configmaps(TENANT));
    eventually("the ConfigMap policy to be in force", CONVERGE, || async {
        match operator.create(&path, &probe).await {
            Err(status) if status.message.contains(POLICY) => Some(()),
            _ => None,
        }
    })
    .await;
}

/// Impersonating the chart's ServiceAccount, which RBAC lets create and patch
/// every ConfigMap: the policy refuses everything but its exportTo ConfigMaps.
async fn configmap_policy_holds_the_service_account(plane: &ControlPlane) {
    let admin = Kubectl::new(&plane.kubeconfig);
    let operator = As::new(&plane.kubeconfig_as("chart-service-account", SERVICE_ACCOUNT, &[])).await;
    let who = SERVICE_ACCOUNT;

    // kube-system/aws-auth: on EKS it maps IAM roles to Kubernetes groups, system:masters included.
    let node_role = "- rolearn: arn:aws:iam::111122223333:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  \
                     groups: [system:bootstrappers, system:nodes]\n";
    let aws_auth = |map_roles: &str, labels: &Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "aws-auth", "namespace": "kube-system", "labels": labels},
               "data": {"mapRoles": map_roles}})
    };
    let no_labels = json!({});
    let created = admin.output_with_stdin(&["create", "-f", "-"], &aws_auth(node_role, &no_labels).to_string());
    succeeded(&created, "creating aws-auth");
    let attacker =
        format!("{node_role}- rolearn: arn:aws:iam::999988887777:role/x\n  username: x\n  groups: [system:masters]\n");
    let path = configmap("kube-system", "aws-auth");
    let in_kube_system = format!(
        "{who} may not create or change ConfigMap kube-system/aws-auth: it never writes ConfigMaps in kube-system"
    );
    refused_by_policy(
        operator.apply(&path, &aws_auth(&attacker, &no_labels)).await,
        "SSA of aws-auth",
        &in_kube_system,
    );
    // Adding the labels does not help.
    let marked = json!({MANAGED_BY: "identity-center-operator", EXPORT_OF: "4b1f0000-0000-0000-0000-000000000000"});
    let labelled = aws_auth(&attacker, &marked);
    refused_by_policy(operator.apply(&path, &labelled).await, "SSA of aws-auth with the labels", &in_kube_system);
    let merge = json!({"data": {"mapRoles": attacker}});
    refused_by_policy(operator.merge_patch(&path, &merge).await, "merge patch of aws-auth", &in_kube_system);
    let label = json!([{"op": "add", "path": "/metadata/labels", "value": marked}]);
    refused_by_policy(operator.json_patch(&path, &label).await, "labelling aws-auth", &in_kube_system);
    // Where there is no aws-auth yet a labelled one would be a create: refused in kube-system whatever it carries.
    let fresh =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth-new", "labels": marked}});
    refused_by_policy(
        operator.create(&configmaps("kube-system"), &fresh).await,
        "a labelled ConfigMap in kube-system",
        &format!(
            "{who} may not create or change ConfigMap kube-system/aws-auth-new: it never writes ConfigMaps in kube-system"
        ),
    );
    let stored = json_of(&admin, &["get", "configmap", "aws-auth", "-n", "kube-system"]);
    assert_eq!(stored["data"]["mapRoles"], node_role, "aws-auth is as the admin wrote it");
    assert!(stored["metadata"]["labels"].is_null(), "{stored}");

    // A tenant's own ConfigMap, made by the admin in the tenant's namespace, without the labels.
    let settings = |labels: &Value, value: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": TENANT, "labels": labels},
               "data": {"featureFlags": value}})
    };
    let created = admin.output_with_stdin(&["create", "-f", "-"], &settings(&no_labels, "a,b").to_string());
    succeeded(&created, "creating the tenant's ConfigMap");
    let not_ours = format!(
        "{who} may not change ConfigMap {TENANT}/settings: it lacks the labels {MANAGED_BY}=identity-center-operator \
         and {EXPORT_OF}, so the operator did not create it"
    );
    let path = configmap(TENANT, "settings");
    let merge = json!({"data": {"featureFlags": "c"}});
    refused_by_policy(operator.merge_patch(&path, &merge).await, "patching the tenant's ConfigMap", &not_ours);
    let replace = json!([{"op": "replace", "path": "/data/featureFlags", "value": "c"}]);
    refused_by_policy(operator.json_patch(&path, &replace).await, "JSON patch of the tenant's ConfigMap", &not_ours);
    refused_by_policy(
        operator.apply(&path, &settings(&marked, "c")).await,
        "taking the tenant's ConfigMap over by adding the labels",
        &not_ours,
    );
    let stored = json_of(&admin, &["get", "configmap", "settings", "-n", TENANT]);
    assert_eq!(stored["data"]["featureFlags"], "a,b");
    assert!(stored["metadata"]["labels"].is_null(), "{stored}");

    // An export, as the operator makes it: both labels and a controller ownerReference.
    let instance = json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance",
                          "metadata": {"name": "exported", "namespace": TENANT},
                          "spec": {"name": "exported", "exportTo": {"configMapName": "ids"}}});
    succeeded(
        &admin.output_with_stdin(&["create", "-f", "-"], &instance.to_string()),
        "creating the exporting instance",
    );
    let uid = admin.run(&["get", "ici", "exported", "-n", TENANT, "-o", "jsonpath={.metadata.uid}"]);
    let owner = json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance",
                       "name": "exported", "uid": uid, "controller": true, "blockOwnerDeletion": true});
    let export = |labels: &Value, owners: &Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "ids", "labels": labels, "ownerReferences": owners},
               "data": {"instanceArn": "arn:aws:sso:::instance/ssoins-1111111111111111"}})
    };
    let both = json!({MANAGED_BY: "identity-center-operator", EXPORT_OF: uid});
    let (collection, path) = (configmaps(TENANT), configmap(TENANT, "ids"));
    refused_by_policy(
        operator.create(&collection, &export(&json!({MANAGED_BY: "identity-center-operator"}), &json!([owner]))).await,
        "an export without identitycenter.dev/export-of",
        &format!("{who} may not create ConfigMap {TENANT}/ids without the labels"),
    );
    let owned_by =
        format!("{who} may not create ConfigMap {TENANT}/ids: an exportTo ConfigMap has a controller ownerReference");
    refused_by_policy(
        operator.create(&collection, &export(&both, &json!([]))).await,
        "an export without its owner",
        &owned_by,
    );
    let other = json!([{"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance",
                        "name": "other", "uid": "4b1f0000-0000-0000-0000-000000000000", "controller": true}]);
    refused_by_policy(
        operator.create(&collection, &export(&both, &other)).await,
        "an export of another owner",
        &owned_by,
    );
    operator.create(&collection, &export(&both, &json!([owner]))).await.expect("the ServiceAccount creates its export");
    // The operator's update: a JSON patch whose test op checks the export-of label.
    let test = json!({"op": "test", "path": "/metadata/labels/identitycenter.dev~1export-of", "value": uid});
    let ids = json!({"instanceArn": "arn:aws:sso:::instance/ssoins-2222222222222222", "region": "eu-west-1"});
    let update = json!([test, {"op": "add", "path": "/data", "value": ids}]);
    operator.json_patch(&path, &update).await.expect("the ServiceAccount patches its export");
    let stored = json_of(&admin, &["get", "configmap", "ids", "-n", TENANT]);
    assert_eq!(stored["data"], ids, "{stored}");
    let labels_stay = format!(
        "{who} may not change or remove the labels {MANAGED_BY} and {EXPORT_OF} of ConfigMap {TENANT}/ids: they \
         record which IdentityCenterInstance it is the export of (export-of: {uid})"
    );
    let (export_of, managed_by) =
        ("/metadata/labels/identitycenter.dev~1export-of", "/metadata/labels/app.kubernetes.io~1managed-by");
    let other_uid = "4b1f0000-0000-0000-0000-000000000000";
    for (what, patch) in [
        ("removing export-of", json!([test, {"op": "remove", "path": export_of}])),
        ("changing export-of", json!([test, {"op": "replace", "path": export_of, "value": other_uid}])),
        ("removing managed-by", json!([test, {"op": "remove", "path": managed_by}])),
        ("changing managed-by", json!([test, {"op": "replace", "path": managed_by, "value": "Helm"}])),
        ("removing every label", json!([test, {"op": "remove", "path": "/metadata/labels"}])),
    ] {
        refused_by_policy(operator.json_patch(&path, &patch).await, what, &labels_stay);
    }
    let merge = json!({"metadata": {"labels": {EXPORT_OF: other_uid}}});
    refused_by_policy(operator.merge_patch(&path, &merge).await, "re-pointing export-of (merge patch)", &labels_stay);
    let merge = json!({"metadata": {"labels": {EXPORT_OF: null}}});
    refused_by_policy(operator.merge_patch(&path, &merge).await, "dropping export-of (merge patch)", &labels_stay);
    let orphan = json!([test, {"op": "remove", "path": "/metadata/ownerReferences"}]);
    refused_by_policy(
        operator.json_patch(&path, &orphan).await,
        "removing the export's ownerReference",
        &format!("{who} may not change the ownerReferences of ConfigMap {TENANT}/ids"),
    );
    // Deleting: RBAC gives no delete; with delete granted by mistake, the policy still refuses.
    refused_by_rbac(operator.delete(&path).await, "deleting the export", "cannot delete resource \"configmaps\"");
    admin.run(&["create", "role", "chart-too-much", "-n", TENANT, "--verb=delete", "--resource=configmaps"]);
    let subject = format!("--serviceaccount={RELEASE_NAMESPACE}:identity-center-operator");
    admin.run(&["create", "rolebinding", "chart-too-much", "-n", TENANT, "--role=chart-too-much", &subject]);
    let refusal = eventually("RBAC to let the ServiceAccount delete ConfigMaps", CONVERGE, || async {
        let answer = operator.delete(&path).await;
        (!matches!(&answer, Err(status) if status.message.contains("cannot delete resource"))).then_some(answer)
    })
    .await;
    let never = format!("{who} may not delete ConfigMap {TENANT}/ids: it never deletes ConfigMaps");
    refused_by_policy(refusal, "deleting the export with delete granted", &never);
    admin.run(&["delete", "rolebinding,role", "chart-too-much", "-n", TENANT]);
    let stored = json_of(&admin, &["get", "configmap", "ids", "-n", TENANT]);
    assert_eq!(stored["metadata"]["labels"], both, "{stored}");
    assert_eq!(stored["metadata"]["ownerReferences"], json!([owner]), "{stored}");
    assert_eq!(stored["data"], ids, "{stored}");
}

/// This control plane runs no kube-controller-manager, so no clusterrole
/// aggregation controller: the test does its work once, for view, edit and
/// admin in that order (edit aggregates view, admin aggregates edit), from
/// their own aggregationRule. Returns their rules as they were.
fn aggregate_built_in_roles(admin: &Kubectl) -> Vec<(&'static str, Value)> {
    let mut before = Vec::new();
    for role in ["view", "edit", "admin"] {
        let built_in = json_of(admin, &["get", "clusterrole", role]);
        before.push((role, built_in["rules"].clone()));
        let mut rules: Vec<Value> = Vec::new();
        let mut sources = Vec::new();
        for selector in built_in["aggregationRule"]["clusterRoleSelectors"].as_array().expect("an aggregated role") {
            assert!(selector.get("matchExpressions").is_none(), "{selector}");
            let labels = selector["matchLabels"].as_object().unwrap();
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect();
            for source in json_of(admin, &["get", "clusterroles", "-l", &labels.join(",")])["items"].as_array().unwrap()
            {
                sources.push(source["metadata"]["name"].as_str().unwrap().to_string());
                for rule in source["rules"].as_array().into_iter().flatten() {
                    if source["metadata"]["name"] != role && !rules.contains(rule) {
                        rules.push(rule.clone());
                    }
                }
            }
        }
        if role != "admin" {
            let chart_role = format!("{RELEASE_NAMESPACE}-identity-center-operator-{role}");
            assert!(sources.contains(&chart_role), "{role} aggregates {sources:?}, not {chart_role}");
        }
        admin.run(&["patch", "clusterrole", role, "--type", "merge", "-p", &json!({"rules": rules}).to_string()]);
    }
    before
}

/// `kubectl auth can-i` as `user` in the tenant namespace (or cluster-wide, without one).
fn can_i(admin: &Kubectl, user: &str, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let (resource, subresource) = resource.split_once('/').map_or((resource, None), |(r, s)| (r, Some(s)));
    let resource = format!("{resource}.identitycenter.dev");
    let subresource = subresource.map(|s| format!("--subresource={s}"));
    let mut args = vec!["auth", "can-i", verb, &resource, "--as", user];
    args.extend(subresource.as_deref());
    args.extend(namespace.map_or(["--all-namespaces", ""], |n| ["-n", n]).into_iter().filter(|a| !a.is_empty()));
    let output = admin.output(&args);
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(answer == "yes" || answer == "no", "can-i {args:?}: {answer} {}", String::from_utf8_lossy(&output.stderr));
    answer == "yes"
}

/// Users bound to the built-in roles get the chart's tenant rights through
/// aggregation: view reads, edit and admin also write instances; none of them
/// ever writes /status or a grant, even bound cluster-wide.
async fn tenant_roles_reach_view_edit_and_admin_but_never_status_or_grants(plane: &ControlPlane) {
    let admin = Kubectl::new(&plane.kubeconfig);
    let before = aggregate_built_in_roles(&admin);
    let (viewer, editor, tenant_admin, editor_everywhere) =
        ("tenant-viewer", "tenant-editor", "tenant-admin", "tenant-editor-everywhere");
    for (user, role) in [(viewer, "view"), (editor, "edit"), (tenant_admin, "admin")] {
        admin.run(&["create", "rolebinding", user, "-n", TENANT, "--clusterrole", role, "--user", user]);
    }
    admin.run(&["create", "clusterrolebinding", editor_everywhere, "--clusterrole=edit", "--user", editor_everywhere]);
    let tenant = Some(TENANT);
    // RBAC's caches follow the bindings within moments: wait for the rights each user must have.
    eventually("the tenant bindings to be in force", CONVERGE, || async {
        let all = [
            can_i(&admin, viewer, "list", "identitycenterinstances", tenant),
            can_i(&admin, editor, "create", "identitycenterinstances", tenant),
            can_i(&admin, tenant_admin, "create", "identitycenterinstances", tenant),
            can_i(&admin, editor_everywhere, "create", "identitycenterinstances", None),
        ];
        all.iter().all(|&yes| yes).then_some(())
    })
    .await;
    for (user, verb, resource, namespace, allowed) in [
        (viewer, "get", "identitycenterinstances", tenant, true),
        (viewer, "watch", "identitycenterinstances", tenant, true),
        (viewer, "create", "identitycenterinstances", tenant, false),
        (viewer, "patch", "identitycenterinstances", tenant, false),
        (viewer, "patch", "identitycenterinstances/status", tenant, false),
        (viewer, "create", "identitycenteraccountgrants", None, false),
        (editor, "list", "identitycenterinstances", tenant, true),
        (editor, "update", "identitycenterinstances", tenant, true),
        (editor, "patch", "identitycenterinstances", tenant, true),
        (editor, "delete", "identitycenterinstances", tenant, true),
        (editor, "deletecollection", "identitycenterinstances", tenant, true),
        (editor, "patch", "identitycenterinstances/status", tenant, false),
        (editor, "update", "identitycenterinstances/status", tenant, false),
        (editor, "create", "identitycenteraccountgrants", None, false),
        (editor, "list", "identitycenteraccountgrants", None, false),
        (tenant_admin, "patch", "identitycenterinstances/status", tenant, false),
        (tenant_admin, "update", "identitycenterinstances/status", tenant, false),
        (tenant_admin, "create", "identitycenteraccountgrants", None, false),
        (editor_everywhere, "list", "identitycenteraccountgrants", None, true),
        (editor_everywhere, "create", "identitycenteraccountgrants", None, false),
        (editor_everywhere, "patch", "identitycenteraccountgrants", None, false),
        (editor_everywhere, "delete", "identitycenteraccountgrants", None, false),
        (editor_everywhere, "patch", "identitycenteraccountgrants/status", None, false),
        (editor_everywhere, "patch", "identitycenterinstances/status", None, false),
        (editor_everywhere, "update", "identitycenterinstances/status", None, false),
    ] {
        assert_eq!(
            can_i(&admin, user, verb, resource, namespace),
            allowed,
            "{user} {verb} {resource} in {namespace:?}"
        );
    }

    // And with real requests.
    let (viewer_as, editor_as) = (
        As::new(&plane.kubeconfig_as(viewer, viewer, &[])).await,
        As::new(&plane.kubeconfig_as(editor, editor, &[])).await,
    );
    let tenant_admin_as = As::new(&plane.kubeconfig_as(tenant_admin, tenant_admin, &[])).await;
    let everywhere_as = As::new(&plane.kubeconfig_as(editor_everywhere, editor_everywhere, &[])).await;
    let instances = format!("/apis/identitycenter.dev/v1alpha1/namespaces/{TENANT}/identitycenterinstances");
    let instance = |name: &str| {
        json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance",
               "metadata": {"name": name}, "spec": {"name": name}})
    };
    editor_as.create(&instances, &instance("by-editor")).await.expect("edit: create an IdentityCenterInstance");
    let status = format!("{instances}/by-editor/status");
    let forged =
        json!({"status": {"instanceArn": "arn:aws:sso:::instance/ssoins-7777777777777777", "ownership": "Created"}});
    let no_status = "cannot patch resource \"identitycenterinstances/status\"";
    refused_by_rbac(editor_as.merge_patch(&status, &forged).await, "edit: patch status", no_status);
    refused_by_rbac(tenant_admin_as.merge_patch(&status, &forged).await, "admin: patch status", no_status);
    refused_by_rbac(everywhere_as.merge_patch(&status, &forged).await, "edit cluster-wide: patch status", no_status);
    let grants = "/apis/identitycenter.dev/v1alpha1/identitycenteraccountgrants";
    let grant = json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
                       "metadata": {"name": "tenant-self-service"},
                       "spec": {"namespaces": {"names": [TENANT]}, "accounts": {"operatorCredentials": true}}});
    let no_grants = "cannot create resource \"identitycenteraccountgrants\"";
    refused_by_rbac(editor_as.create(grants, &grant).await, "edit: create a grant", no_grants);
    refused_by_rbac(tenant_admin_as.create(grants, &grant).await, "admin: create a grant", no_grants);
    refused_by_rbac(everywhere_as.create(grants, &grant).await, "edit cluster-wide: create a grant", no_grants);
    let listed = viewer_as.send("GET", &instances, "application/json", &Value::Null).await.expect("view: list");
    let names: Vec<&str> =
        listed["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert!(names.contains(&"by-editor"), "{names:?}");
    refused_by_rbac(
        viewer_as.create(&instances, &instance("by-viewer")).await,
        "view: create",
        "cannot create resource \"identitycenterinstances\"",
    );
    let stored = json_of(&admin, &["get", "ici", "by-editor", "-n", TENANT]);
    assert!(stored["status"].get("instanceArn").is_none(), "{stored}");

    admin.run(&["delete", "clusterrolebinding", editor_everywhere]);
    for (role, rules) in before {
        admin.run(&["patch", "clusterrole", role, "--type", "merge", "-p", &json!({"rules": rules}).to_string()]);
    }
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
