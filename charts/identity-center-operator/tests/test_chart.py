#!/usr/bin/env python3
"""Checks the Helm chart with a real Helm: lint, render, and what users rely on.

    python3 charts/identity-center-operator/tests/test_chart.py

Helm comes from $HELM, else the pinned build cached by hack/install-helm.sh
(built on first use). Prints one line per check and "N passed, M failed";
exits non-zero when any check fails.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CHART = os.path.dirname(HERE)
REPO = os.path.normpath(os.path.join(CHART, "..", ".."))
NS = "ico-system"
RELEASE = "identity-center-operator"

EXPECTED_RULES = {
    ("identitycenter.dev", "identitycenterinstances", "get"),
    ("identitycenter.dev", "identitycenterinstances", "list"),
    ("identitycenter.dev", "identitycenterinstances", "watch"),
    ("identitycenter.dev", "identitycenterinstances", "patch"),
    # An instance set's children.
    ("identitycenter.dev", "identitycenterinstances", "create"),
    ("identitycenter.dev", "identitycenterinstances", "delete"),
    ("identitycenter.dev", "identitycenterinstances/status", "get"),
    ("identitycenter.dev", "identitycenterinstances/status", "patch"),
    ("identitycenter.dev", "identitycenterinstancesets", "get"),
    ("identitycenter.dev", "identitycenterinstancesets", "list"),
    ("identitycenter.dev", "identitycenterinstancesets", "watch"),
    ("identitycenter.dev", "identitycenterinstancesets/status", "get"),
    ("identitycenter.dev", "identitycenterinstancesets/status", "patch"),
    ("events.k8s.io", "events", "create"),
    ("events.k8s.io", "events", "patch"),
    ("", "configmaps", "create"),
    ("", "configmaps", "patch"),
}
TENANCY_RULES = {
    ("identitycenter.dev", "identitycenteraccountgrants", "get"),
    ("identitycenter.dev", "identitycenteraccountgrants", "list"),
    ("identitycenter.dev", "identitycenteraccountgrants", "watch"),
    ("identitycenter.dev", "identitycenteraccountgrants/status", "get"),
    ("identitycenter.dev", "identitycenteraccountgrants/status", "patch"),
    ("", "namespaces", "get"),
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
}
TENANT_VIEW_RULES = {
    ("identitycenter.dev", "identitycenterinstances", "get"),
    ("identitycenter.dev", "identitycenterinstances", "list"),
    ("identitycenter.dev", "identitycenterinstances", "watch"),
    ("identitycenter.dev", "identitycenterinstancesets", "get"),
    ("identitycenter.dev", "identitycenterinstancesets", "list"),
    ("identitycenter.dev", "identitycenterinstancesets", "watch"),
    ("identitycenter.dev", "identitycenteraccountgrants", "get"),
    ("identitycenter.dev", "identitycenteraccountgrants", "list"),
    ("identitycenter.dev", "identitycenteraccountgrants", "watch"),
}
TENANT_EDIT_RULES = {
    ("identitycenter.dev", resource, v)
    for resource in ("identitycenterinstances", "identitycenterinstancesets")
    for v in ("create", "update", "patch", "delete", "deletecollection")
}
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
POLICY_LABELS = ("app.kubernetes.io/managed-by", "identitycenter.dev/export-of")
LEASE_RULES = {
    ("coordination.k8s.io", "leases", "create", None),
    ("coordination.k8s.io", "leases", "get", "L"),
    ("coordination.k8s.io", "leases", "update", "L"),
}


def find_helm():
    if os.environ.get("HELM"):
        return os.environ["HELM"]
    out = subprocess.run(
        [os.path.join(REPO, "hack", "install-helm.sh")],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    return out.strip().splitlines()[-1]


HELM = None
HELM_ERROR = None


def helm(*args):
    if HELM is None:
        raise AssertionError("no helm: %s" % HELM_ERROR)
    return subprocess.run([HELM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def render_all(*args):
    """Every document `helm template` prints, the chart's hooks (`helm test`) included."""
    p = helm("template", RELEASE, CHART, "--namespace", NS, *args)
    if p.returncode != 0:
        raise AssertionError("helm template %s failed:\n%s" % (" ".join(args), p.stderr))
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def is_hook(doc):
    return "helm.sh/hook" in (doc["metadata"].get("annotations") or {})


def render(*args):
    """The release's own objects: what `helm install` applies, without its hooks."""
    return [d for d in render_all(*args) if not is_hook(d)]


def hooks(*args):
    return [d for d in render_all(*args) if is_hook(d)]


def ci(name):
    return ["-f", os.path.join(CHART, "ci", name)]


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name=None):
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, "want one %s%s, got %d" % (kind, " " + name if name else "", len(found))
    return found[0]


def operator(docs):
    deps = [d for d in of_kind(docs, "Deployment")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] == "operator"]
    assert len(deps) == 1, "want one operator Deployment, got %d" % len(deps)
    return deps[0]


def container_env(dep):
    c = dep["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in c.get("env", [])}


def env_value(dep, name):
    e = container_env(dep).get(name)
    return None if e is None else e.get("value")


def rules_of(role):
    out = set()
    for r in role["rules"]:
        for g in r["apiGroups"]:
            for res in r["resources"]:
                for v in r["verbs"]:
                    names = r.get("resourceNames")
                    out.add((g, res, v) if names is None else (g, res, v, tuple(names)))
    return out


def assert_restricted(dep):
    """Pod Security Standard "restricted", plus what this chart promises."""
    spec = dep["spec"]["template"]["spec"]
    psc = spec["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc.get("runAsUser", psc.get("runAsUser")) == 65532, c["name"]
        assert sc.get("seccompProfile", psc["seccompProfile"])["type"] == "RuntimeDefault"
        assert not sc.get("privileged", False)


def assert_namespaces(docs):
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IdentityCenterAccountGrant",
                      "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    for d in docs:
        if d["kind"] in cluster_scoped:
            assert "namespace" not in d["metadata"], d["metadata"]["name"]
        elif d["kind"] not in ("Role", "RoleBinding") or "leader-election" in d["metadata"]["name"]:
            assert d["metadata"].get("namespace") == NS, "%s/%s not in %s" % (d["kind"], d["metadata"]["name"], NS)


def tenant_role(role):
    return any(k.startswith(AGGREGATE) for k in role["metadata"].get("labels", {}))


def assert_tenant_roles(docs, fullname):
    """The two aggregated tenant roles, exactly: never a /status subresource, never a write on grants."""
    tenant = {r["metadata"]["name"]: r for r in of_kind(docs, "ClusterRole") if tenant_role(r)}
    view, edit = "%s-%s-view" % (NS, fullname), "%s-%s-edit" % (NS, fullname)
    assert sorted(tenant) == sorted([view, edit]), sorted(tenant)
    aggregates = {n: {k[len(AGGREGATE):] for k, v in r["metadata"]["labels"].items() if k.startswith(AGGREGATE)}
                  for n, r in tenant.items()}
    assert aggregates == {view: {"view"}, edit: {"edit"}}, aggregates
    for name, role in tenant.items():
        assert all(role["metadata"]["labels"][AGGREGATE + a] == "true" for a in aggregates[name])
        assert "aggregationRule" not in role, name
        for rule in role["rules"]:
            assert rule["apiGroups"] == ["identitycenter.dev"], (name, rule)
            assert not any("/" in r for r in rule["resources"]), ("a tenant role names a subresource", name, rule)
            assert "resourceNames" not in rule and "nonResourceURLs" not in rule, (name, rule)
            assert "*" not in rule["verbs"] and "*" not in rule["resources"], (name, rule)
    assert rules_of(tenant[view]) == TENANT_VIEW_RULES, rules_of(tenant[view]) ^ TENANT_VIEW_RULES
    assert rules_of(tenant[edit]) == TENANT_EDIT_RULES, rules_of(tenant[edit]) ^ TENANT_EDIT_RULES
    assert not of_kind(docs, "ClusterRoleBinding") or all(
        b["roleRef"]["name"] not in tenant for b in of_kind(docs, "ClusterRoleBinding")), "tenant roles are not bound"


def configmap_policy(docs, fullname, service_account, namespace=NS):
    """The ValidatingAdmissionPolicy on the operator's ConfigMap writes, and its binding."""
    name = "%s-%s-configmaps" % (namespace, fullname)
    policy = one(docs, "ValidatingAdmissionPolicy", name)
    binding = one(docs, "ValidatingAdmissionPolicyBinding", name)
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"] == {"policyName": name, "validationActions": ["Deny"]}, binding["spec"]
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert "paramKind" not in spec
    assert spec["matchConstraints"] == {"resourceRules": [{
        "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"],
        "operations": ["CREATE", "UPDATE", "DELETE"]}]}, spec["matchConstraints"]
    user = "system:serviceaccount:%s:%s" % (namespace, service_account)
    assert [c["expression"] for c in spec["matchConditions"]] == \
        ['request.userInfo.username == "%s"' % user], spec["matchConditions"]
    text = json.dumps(spec)
    for label in POLICY_LABELS:
        assert label in text, label
    operations = []
    for v in spec["validations"]:
        assert v["reason"] == "Forbidden", v
        assert v["message"].strip() and v["messageExpression"].strip(), v
        assert "variables.target" in v["messageExpression"], "every message names the ConfigMap: %s" % v
        operations.append(re.findall(r"request\.operation != '(\w+)'", v["expression"]))
    # Delete first (always refused), then creates and updates; every operation is covered.
    assert operations[0] == ["DELETE"] and spec["validations"][0]["expression"] == "request.operation != 'DELETE'"
    assert {op for ops in operations for op in ops} == {"CREATE", "UPDATE", "DELETE"}, operations
    return policy, binding


def forbidden_namespaces(policy):
    found = [re.fullmatch(r"!\(request\.namespace in (\[.*\])\)", v["expression"])
             for v in policy["spec"]["validations"]]
    found = [json.loads(m.group(1)) for m in found if m]
    assert len(found) <= 1, found
    return found[0] if found else []


# --- checks -----------------------------------------------------------------

def check_app_version_follows_crate():
    chart = yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))
    cargo = open(os.path.join(REPO, "Cargo.toml")).read()
    m = re.search(r'^\[package\][^\[]*?^version\s*=\s*"([^"]+)"', cargo, re.M | re.S)
    assert m, "no [package] version in Cargo.toml"
    assert chart["appVersion"] == m.group(1), "appVersion %s != crate %s" % (chart["appVersion"], m.group(1))


def make_lint(values):
    def check():
        p = helm("lint", "--strict", CHART, "--namespace", NS, *ci(values))
        assert p.returncode == 0, "helm lint failed:\n" + p.stdout + p.stderr
    return check


def check_defaults():
    docs = render(*ci("default-values.yaml"))
    assert_namespaces(docs)
    dep = operator(docs)
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "ghcr.io/identity-center-operator/identity-center-operator:0.1.0", c["image"]
    assert c["args"] == ["run"], c["args"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    env = container_env(dep)
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env_value(dep, "ICO_LEADER_ELECTION") == "false"
    assert env_value(dep, "ICO_HTTP_ADDR") == "0.0.0.0:8080"
    assert env_value(dep, "ICO_RESYNC_INTERVAL") == "10m"
    assert env_value(dep, "ICO_CONCURRENCY") == "16"
    assert env_value(dep, "ICO_AWS_ACCOUNT_RATE") == "20"
    assert env_value(dep, "ICO_ROLE_SESSION_IDLE") == "30m"
    assert env_value(dep, "ICO_LOG_FORMAT") == "json"
    for absent in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "ICO_DEFAULT_REGION",
                   "ICO_LEADER_ELECTION_LEASE", "ICO_WATCH_NAMESPACES"):
        assert absent not in env, absent
    assert_restricted(dep)
    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["name"] == "identity-center-operator"
    assert pod["serviceAccountName"] == "identity-center-operator"
    assert env_value(dep, "ICO_TENANCY") == "enforced", "a fresh install enforces grants"
    cr = one(docs, "ClusterRole", NS + "-identity-center-operator")
    assert rules_of(cr) == EXPECTED_RULES, rules_of(cr) ^ EXPECTED_RULES
    tenancy = one(docs, "ClusterRole", NS + "-identity-center-operator-tenancy")
    assert rules_of(tenancy) == TENANCY_RULES, rules_of(tenancy) ^ TENANCY_RULES
    for role in (cr, tenancy):
        crb = one(docs, "ClusterRoleBinding", role["metadata"]["name"])
        assert crb["roleRef"]["name"] == role["metadata"]["name"]
        assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "identity-center-operator", "namespace": NS}]
    assert_tenant_roles(docs, RELEASE)
    policy, _ = configmap_policy(docs, RELEASE, "identity-center-operator")
    assert forbidden_namespaces(policy) == ["kube-system", "kube-public", "kube-node-lease"]
    assert not of_kind(docs, "IdentityCenterAccountGrant"), "no grant unless the values name one"
    assert not of_kind(docs, "Role") and not of_kind(docs, "RoleBinding")
    for kind in ("PodDisruptionBudget", "ServiceMonitor", "NetworkPolicy", "ConfigMap"):
        assert not of_kind(docs, kind), kind
    svc = one(docs, "Service")
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def check_service_account_name_is_stable():
    docs = render("--set", "fullnameOverride=something-else")
    assert one(docs, "ServiceAccount")["metadata"]["name"] == "identity-center-operator"
    docs = render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=existing")
    assert not of_kind(docs, "ServiceAccount")
    assert operator(docs)["spec"]["template"]["spec"]["serviceAccountName"] == "existing"
    assert [b["subjects"][0]["name"] for b in of_kind(docs, "ClusterRoleBinding")] == ["existing", "existing"]
    configmap_policy(docs, RELEASE, "existing")


def check_every_option():
    docs = render(*ci("every-option-values.yaml"))
    assert_namespaces(docs)
    dep = operator(docs)
    assert dep["spec"]["replicas"] == 2
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"].endswith("@sha256:" + "0123456789abcdef" * 4), c["image"]
    assert c["args"] == ["run", "--log-format=text"]
    assert env_value(dep, "ICO_LEADER_ELECTION") == "true"
    assert env_value(dep, "ICO_LEADER_ELECTION_LEASE") == "identity-center-operator-ci"
    assert env_value(dep, "ICO_LEADER_ELECTION_NAMESPACE") == NS
    assert env_value(dep, "ICO_WATCH_NAMESPACES") == "identity,team-a"
    assert env_value(dep, "ICO_AWS_RATE") == "100"
    assert env_value(dep, "ICO_AWS_ACCOUNT_BURST") == "10"
    assert env_value(dep, "ICO_ROLE_SESSIONS_MAX") == "500"
    assert env_value(dep, "ICO_DEFAULT_REGION") == "eu-west-1"
    assert env_value(dep, "AWS_REGION") == "eu-west-1"
    assert env_value(dep, "ICO_HTTP_ADDR") == "[::]:9090"
    # The emulator wins over aws.endpointUrl; the secret wins over dummy keys.
    assert env_value(dep, "AWS_ENDPOINT_URL") == \
        "http://identity-center-operator-ci-emulator.%s.svc:4566" % NS
    assert env_value(dep, "AWS_ENDPOINT_URL_SSO_ADMIN") == "https://sso.eu-west-1.amazonaws.com"
    env = container_env(dep)
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == \
        {"name": "aws-sandbox-credentials", "key": "access-key-id"}
    assert env["AWS_SESSION_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env_value(dep, "RUST_BACKTRACE") == "1"
    assert_restricted(dep)
    # Namespaced mode: cluster-wide, only what tenancy reads (grants, namespaces).
    operator_roles = [r for r in of_kind(docs, "ClusterRole") if not tenant_role(r)]
    assert len(operator_roles) == 1, [r["metadata"]["name"] for r in operator_roles]
    tenancy = operator_roles[0]
    assert tenancy["metadata"]["name"].endswith("-tenancy") and rules_of(tenancy) == TENANCY_RULES
    assert one(docs, "ClusterRoleBinding")["roleRef"]["name"] == tenancy["metadata"]["name"]
    assert_tenant_roles(docs, "identity-center-operator-ci")
    policy, _ = configmap_policy(docs, "identity-center-operator-ci", "identity-center-operator")
    assert forbidden_namespaces(policy) == ["kube-system", "kube-public", "kube-node-lease", "platform-secrets"]
    assert env_value(dep, "ICO_TENANCY") == "enforced"
    grants = {g["metadata"]["name"]: g["spec"] for g in of_kind(docs, "IdentityCenterAccountGrant")}
    assert sorted(grants) == ["platform", "team-a"], sorted(grants)
    assert grants["team-a"]["namespaces"] == {"names": ["team-a"]}
    assert grants["platform"]["defaultRole"]["externalId"] == "platform-ext"
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in of_kind(docs, "Role")}
    for ns in ("identity", "team-a"):
        role = roles[(ns, "identity-center-operator-ci")]
        assert rules_of(role) == EXPECTED_RULES, (ns, rules_of(role) ^ EXPECTED_RULES)
    lease_role = roles[(NS, "identity-center-operator-ci-leader-election")]
    want = {(g, r, v) if n is None else (g, r, v, ("identity-center-operator-ci",)) for g, r, v, n in LEASE_RULES}
    assert rules_of(lease_role) == want, rules_of(lease_role) ^ want
    assert len(roles) == 3, sorted(roles)
    assert len(of_kind(docs, "RoleBinding")) == 3
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    sm = one(docs, "ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["port"] == "http-metrics"
    one(docs, "NetworkPolicy")
    emu = one(docs, "Deployment", "identity-center-operator-ci-emulator")
    ec = emu["spec"]["template"]["spec"]["containers"][0]
    assert ec["args"][:2] == ["--listen", "0.0.0.0:4566"], ec["args"]
    assert "--config" in ec["args"]
    assert_restricted(emu)
    one(docs, "Service", "identity-center-operator-ci-emulator")
    one(docs, "ConfigMap", "identity-center-operator-ci-emulator")


def check_replicas_turn_on_leader_election():
    docs = render("--set", "replicaCount=3")
    dep = operator(docs)
    assert env_value(dep, "ICO_LEADER_ELECTION") == "true"
    assert env_value(dep, "ICO_LEADER_ELECTION_LEASE") == RELEASE
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    one(docs, "PodDisruptionBudget")
    one(docs, "Role", RELEASE + "-leader-election")


def check_forced_leader_election_single_replica():
    docs = render("--set", "leaderElection.enabled=true")
    assert env_value(operator(docs), "ICO_LEADER_ELECTION") == "true"
    one(docs, "Role", RELEASE + "-leader-election")
    assert not of_kind(docs, "PodDisruptionBudget")


def check_emulator_sandbox():
    docs = render("--set", "emulator.enabled=true")
    dep = operator(docs)
    assert env_value(dep, "AWS_ENDPOINT_URL") == "http://%s-emulator.%s.svc:4566" % (RELEASE, NS)
    assert env_value(dep, "AWS_ACCESS_KEY_ID") == "test"
    assert env_value(dep, "AWS_SECRET_ACCESS_KEY") == "test"
    assert env_value(dep, "AWS_REGION") == "us-east-1"
    emu = one(docs, "Deployment", RELEASE + "-emulator")
    c = emu["spec"]["template"]["spec"]["containers"][0]
    app_version = operator(docs)["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
    assert c["image"] == "ghcr.io/identity-center-operator/sso-admin-emulator:" + app_version, c["image"]
    assert c["args"] == ["--listen", "0.0.0.0:4566"], c["args"]
    svc = one(docs, "Service", RELEASE + "-emulator")
    assert svc["spec"]["ports"][0]["port"] == 4566
    assert not of_kind(docs, "ConfigMap")


def make_schema_rejects(*args):
    def check():
        p = helm("template", RELEASE, CHART, "--namespace", NS, *args)
        assert p.returncode != 0, "helm template %s was accepted" % " ".join(args)
        assert "schema" in p.stderr, "helm template %s failed, not on the schema:\n%s" % (" ".join(args), p.stderr)
    return check


def check_alerts_and_dashboard():
    docs = render(*ci("every-option-values.yaml"))
    rule = one(docs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    with open(os.path.join(CHART, "files", "prometheus-rules.yaml")) as f:
        file_rules = yaml.safe_load(f)
    # Verbatim but for each runbook_url's base (prometheusRule.runbookBaseUrl, checked below).
    drop = lambda spec: json.loads(re.sub(r'"runbook_url": "[^"#]*#', '"runbook_url": "#', json.dumps(spec)))
    assert drop(rule["spec"]) == drop(file_rules), "the PrometheusRule is the tested rule file, verbatim"
    alerts = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert alerts == ["IdentityCenterInstancesStalled", "IdentityCenterAwsErrors",
                      "IdentityCenterOperatorNoLeader", "IdentityCenterReconcileErrors"], alerts
    dashboard = one(docs, "ConfigMap", "identity-center-operator-ci-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["annotations"]["grafana_folder"] == "Identity"
    with open(os.path.join(CHART, "files", "grafana-dashboard.json")) as f:
        assert json.loads(dashboard["data"]["identity-center-operator.json"]) == json.load(f)
    defaults = render(*ci("default-values.yaml"))
    assert not of_kind(defaults, "PrometheusRule") and not of_kind(defaults, "ConfigMap")


def check_alert_rules_with_promtool():
    promtool = os.environ.get("PROMTOOL") or subprocess.run(
        [os.path.join(REPO, "hack", "install-promtool.sh")],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout.strip().splitlines()[-1]
    out = subprocess.run([promtool, "test", "rules", os.path.join(HERE, "prometheus-rules.test.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode == 0, out.stdout
    out = subprocess.run([promtool, "check", "rules", os.path.join(CHART, "files", "prometheus-rules.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode == 0, out.stdout


def check_tenancy_open():
    docs = render("--set", "tenancy=open")
    assert env_value(operator(docs), "ICO_TENANCY") == "open"
    names = [r["metadata"]["name"] for r in of_kind(docs, "ClusterRole") if not tenant_role(r)]
    assert names == [NS + "-identity-center-operator"], names


def check_configmap_policy_follows_the_release():
    docs = render("--namespace", "operators", "--set", "fullnameOverride=ico")
    configmap_policy(docs, "ico", "identity-center-operator", namespace="operators")
    docs = render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=")
    configmap_policy(docs, RELEASE, "default")
    # Namespaced mode: the same policy; RBAC already keeps it to the watched namespaces.
    configmap_policy(render("--set", "watchNamespaces={identity}"), RELEASE, "identity-center-operator")
    # With rbac.create off the policy stays: it holds the ServiceAccount whoever grants its RBAC.
    configmap_policy(render("--set", "rbac.create=false"), RELEASE, "identity-center-operator")


def check_configmap_policy_off():
    docs = render("--set", "configMapPolicy.enabled=false")
    assert not of_kind(docs, "ValidatingAdmissionPolicy") and not of_kind(docs, "ValidatingAdmissionPolicyBinding")
    one(docs, "ClusterRole", NS + "-identity-center-operator")
    docs = render("--set-json", "configMapPolicy.forbiddenNamespaces=[]")
    policy, _ = configmap_policy(docs, RELEASE, "identity-center-operator")
    assert forbidden_namespaces(policy) == []


def check_configmap_policy_needs_1_30():
    p = helm("template", RELEASE, CHART, "--namespace", NS, "--kube-version", "1.29.4")
    assert p.returncode != 0 and "configMapPolicy.enabled" in p.stderr and "1.30" in p.stderr, p.stderr
    docs = render("--kube-version", "1.29.4", "--set", "configMapPolicy.enabled=false")
    assert not of_kind(docs, "ValidatingAdmissionPolicy")
    configmap_policy(render("--kube-version", "1.30.0"), RELEASE, "identity-center-operator")


def check_tenant_roles_off():
    for args in (["--set", "rbac.tenantRoles=false"], ["--set", "rbac.create=false"]):
        docs = render(*args)
        assert not [r["metadata"]["name"] for r in of_kind(docs, "ClusterRole") if tenant_role(r)], args
    docs = render("--set", "rbac.tenantRoles=false")
    assert rules_of(one(docs, "ClusterRole", NS + "-identity-center-operator")) == EXPECTED_RULES


def check_no_role_grants_tenants_status():
    """Whatever the values, no aggregated role names a /status subresource or writes grants."""
    for args in ([], ci("every-option-values.yaml"), ["--set", "watchNamespaces={a,b}"], ["--set", "tenancy=open"]):
        for role in of_kind(render(*args), "ClusterRole"):
            if not tenant_role(role):
                continue
            for rule in role["rules"]:
                assert not any(r.endswith("/status") or r == "*" for r in rule["resources"]), (args, rule)
                if "identitycenteraccountgrants" in rule["resources"]:
                    assert set(rule["verbs"]) <= {"get", "list", "watch"}, (args, rule)


# --- alerts: runbooks and labels --------------------------------------------

RULES = os.path.join(CHART, "files", "prometheus-rules.yaml")
RUNBOOKS = os.path.join(REPO, "docs", "runbooks.md")
# What every runbook section says, in this order.
RUNBOOK_PARTS = ("**What it means.**", "**What to check.**", "**What to do")
# Labels the scrape adds that an alert may still group by: only `pod`, for an
# alert about one replica. `namespace`, `job`, `instance`, `service` name the
# operator's own scrape target, never an IdentityCenterInstance.
REPLICA_LABELS = {"pod"}
AGGREGATIONS = r"(?:sum|min|max|avg|group|stddev|stdvar|count|count_values|bottomk|topk|quantile|limitk|limit_ratio)"
SERIES = re.compile(r"\bidentity_center_operator_[a-z_]+\b")


def chart_yaml():
    with open(os.path.join(CHART, "Chart.yaml")) as f:
        return yaml.safe_load(f)


def values_yaml():
    with open(os.path.join(CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def default_runbook_base():
    """docs/runbooks.md in the repository the chart names as its home."""
    return chart_yaml()["home"].rstrip("/") + "/blob/main/docs/runbooks.md"


def alert_rules():
    with open(RULES) as f:
        return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]


def github_anchor(heading):
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_sections():
    """{anchor: body} of the level-2 sections of docs/runbooks.md."""
    with open(RUNBOOKS) as f:
        text = f.read()
    sections = {}
    parts = re.split(r"(?m)^## (.+)$", text)
    for heading, body in zip(parts[1::2], parts[2::2]):
        anchor = github_anchor(heading)
        assert anchor not in sections, "two sections of docs/runbooks.md share the anchor #" + anchor
        sections[anchor] = body
    return sections


def metric_labels():
    """{series: labels} of every series /metrics serves, read from the operator's
    source (src/metrics.rs or src/metrics/): each Family's label struct, the
    field it is registered from, and the suffixes its type gives it."""
    paths = [os.path.join(REPO, "src", "metrics.rs")] + sorted(
        glob.glob(os.path.join(REPO, "src", "metrics", "**", "*.rs"), recursive=True))
    text = "\n".join(open(p).read() for p in paths if os.path.exists(p))
    assert text, "neither src/metrics.rs nor src/metrics/ exists"
    prefix = re.search(r'Registry::with_prefix\(\s*"(\w+)"\s*\)', text)
    assert prefix, "no Registry::with_prefix(...) in the metrics source"
    label_sets = {
        m.group(1): re.findall(r"(?m)^\s*(?:pub\s+)?(\w+)\s*:", m.group(2))
        for m in re.finditer(r"#\[derive\([^\]]*\bEncodeLabelSet\b[^\]]*\)\]\s*(?:pub\s+)?struct\s+(\w+)\s*\{(.*?)\}",
                             text, re.S)
    }
    struct = re.search(r"pub struct Metrics\s*\{(.*?)\n\}", text, re.S)
    assert struct, "no `pub struct Metrics` in the metrics source"
    fields = {}
    for m in re.finditer(r"(?m)^\s*(?:pub\s+)?(\w+)\s*:\s*(?:Family<\s*(\w+)\s*,\s*(\w+)\s*>|(Counter|Gauge|Histogram)\b)",
                         struct.group(1)):
        name, label_struct, family_kind, plain_kind = m.groups()
        if label_struct:
            assert label_struct in label_sets, "label set %s of %s not found" % (label_struct, name)
            fields[name] = (family_kind, set(label_sets[label_struct]))
        else:
            fields[name] = (plain_kind, set())
    series = {}
    registered = re.findall(r'register\(\s*"(\w+)"\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*(\w+)\s*\.clone\(\)', text, re.S)
    assert registered, "no registry.register(...) call in the metrics source"
    for name, field in registered:
        assert field in fields, "%s is registered from %s, which is no field of Metrics" % (name, field)
        kind, labels = fields[field]
        family = "%s_%s" % (prefix.group(1), name)
        if kind == "Counter":
            series[family + "_total"] = labels
        elif kind == "Histogram":
            series.update({family + "_count": labels, family + "_sum": labels, family + "_bucket": labels | {"le"}})
        else:
            series[family] = labels
    return series


def closing(text, open_at):
    """Index of the parenthesis that closes the one at open_at."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise AssertionError("unbalanced parentheses in %r" % text)


def grouping_clauses(expr):
    """(keyword, labels, the expression they apply to) of every by (...),
    without (...), on (...), ignoring (...), group_left/right (...) in expr."""
    def labels(inner):
        return [l.strip() for l in inner.split(",") if l.strip()]
    found = []
    # sum by (a) (body)
    for m in re.finditer(r"\b%s\s+(by|without)\s*\(([^)]*)\)\s*\(" % AGGREGATIONS, expr):
        body_at = m.end() - 1
        found.append((m.group(1), labels(m.group(2)), expr[body_at:closing(expr, body_at) + 1]))
    # sum (body) by (a)
    for m in re.finditer(r"\b%s\s*\(" % AGGREGATIONS, expr):
        body_at = m.end() - 1
        end = closing(expr, body_at)
        after = re.match(r"\s*(by|without)\s*\(([^)]*)\)", expr[end + 1:])
        if after:
            found.append((after.group(1), labels(after.group(2)), expr[body_at:end + 1]))
    # Vector matching: the labels must be on both sides.
    for m in re.finditer(r"\b(on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        found.append((m.group(1), labels(m.group(2)), expr))
    return found


def label_problems(expr, series):
    """What is wrong with the labels expr groups or matches by, given {series: labels}."""
    problems = []
    for series_name in sorted(set(SERIES.findall(expr)) - set(series)):
        problems.append("%s is not a series of the operator's (src/metrics.rs)" % series_name)
    for keyword, names, body in grouping_clauses(expr):
        used = [n for n in SERIES.findall(body) if n in series]
        carried = set.intersection(*(series[n] for n in used)) if used else set()
        for label in names:
            if label not in carried | REPLICA_LABELS:
                problems.append("%s (%s): %s carries no label %r (it has %s)" % (
                    keyword, ", ".join(names), " and ".join(sorted(set(used))) or "no operator series",
                    label, sorted(carried) or "none"))
    return problems


def check_alert_runbooks():
    rules = alert_rules()
    assert rules, "no alert in " + RULES
    base = default_runbook_base()
    assert values_yaml()["prometheusRule"]["runbookBaseUrl"] == base, "prometheusRule.runbookBaseUrl is not " + base
    sections = runbook_sections()
    alerts = {r["alert"].lower(): r["alert"] for r in rules}
    assert sorted(sections) == sorted(alerts), \
        "docs/runbooks.md's sections %s are not one per alert %s" % (sorted(sections), sorted(alerts))
    for rule in rules:
        url = (rule.get("annotations") or {}).get("runbook_url")
        assert url, "alert %s has no runbook_url" % rule["alert"]
        assert "#" in url, "%s: runbook_url %s has no #anchor" % (rule["alert"], url)
        where, anchor = url.split("#", 1)
        assert where == base, "%s: runbook_url %s does not point at %s" % (rule["alert"], url, base)
        assert anchor in sections, "%s: #%s is no heading of docs/runbooks.md (%s)" % (
            rule["alert"], anchor, sorted(sections))
        assert anchor == rule["alert"].lower(), "%s: its section is #%s" % (rule["alert"], anchor)
        body = sections[anchor]
        at = [body.find(part) for part in RUNBOOK_PARTS]
        assert all(i >= 0 for i in at) and at == sorted(at), \
            "docs/runbooks.md#%s does not say, in order: %s" % (anchor, ", ".join(RUNBOOK_PARTS))
        assert "kubectl " in body, "docs/runbooks.md#%s gives no kubectl command to check" % anchor


def check_prometheus_rule_runbook_base():
    with open(RULES) as f:
        file_rules = yaml.safe_load(f)
    # The defaults: the rule file verbatim, which promtool tests.
    rule = one(render("--set", "prometheusRule.enabled=true"), "PrometheusRule")
    assert rule["spec"] == file_rules, "with the default runbookBaseUrl the PrometheusRule is the rule file verbatim"
    # ci/every-option-values.yaml points the runbooks elsewhere: only runbook_url changes, anchor kept.
    custom = yaml.safe_load(open(os.path.join(CHART, "ci", "every-option-values.yaml")))["prometheusRule"]["runbookBaseUrl"]
    assert custom != default_runbook_base()
    rendered = one(render(*ci("every-option-values.yaml")), "PrometheusRule")["spec"]
    for group, want_group in zip(rendered["groups"], file_rules["groups"]):
        for got, want in zip(group["rules"], want_group["rules"]):
            anchor = want["annotations"]["runbook_url"].split("#", 1)[1]
            assert got["annotations"]["runbook_url"] == custom + "#" + anchor, got["annotations"]["runbook_url"]
            strip = lambda r: {**r, "annotations": {k: v for k, v in r["annotations"].items() if k != "runbook_url"}}
            assert strip(got) == strip(want), "only runbook_url follows runbookBaseUrl: %s" % got["alert"]
    # A rule without a runbook_url refuses to render.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "chart")
        shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("tests", "argocd"))
        broken = yaml.safe_load(open(RULES))
        del broken["groups"][0]["rules"][-1]["annotations"]["runbook_url"]
        with open(os.path.join(copy, "files", "prometheus-rules.yaml"), "w") as f:
            yaml.safe_dump(broken, f)
        p = helm("template", RELEASE, copy, "--set", "prometheusRule.enabled=true")
        assert p.returncode != 0 and "runbook_url" in p.stderr, "a rule without runbook_url rendered:\n" + p.stderr


def check_alert_labels():
    series = metric_labels()
    # The source, read: the families the README lists, with their labels.
    assert series.get("identity_center_operator_objects") == {"state", "reason"}, series
    assert series.get("identity_center_operator_aws_calls_total") == {"operation", "outcome"}, series
    assert series.get("identity_center_operator_leader") == set(), series
    # The check itself catches what it is for.
    bad = label_problems('sum by (namespace, reason) (identity_center_operator_objects{state="stalled"})', series)
    assert len(bad) == 1 and "'namespace'" in bad[0], bad
    assert label_problems("sum(rate(identity_center_operator_reconciles_total[5m])) by (outcome, le)", series)
    assert not label_problems("max by (pod) (identity_center_operator_leader)", series)
    problems = []
    for rule in alert_rules():
        expr = rule["expr"]
        assert SERIES.search(expr), "%s queries no series of the operator's" % rule["alert"]
        problems += ["%s: %s" % (rule["alert"], p) for p in label_problems(expr, series)]
        # What the annotations print must be on the alert: a by (...) label or one of the rule's own.
        shown = set(rule.get("labels") or {})
        for keyword, names, _ in grouping_clauses(expr):
            shown |= set(names) if keyword == "by" else set()
        for label in re.findall(r"\$labels\.(\w+)", json.dumps(rule.get("annotations") or {})):
            if label not in shown:
                problems.append("%s: its annotations print $labels.%s, which the alert does not carry" % (
                    rule["alert"], label))
    assert not problems, "\n".join(problems)


def not_sent_outcomes():
    """The ErrorKind variants of src/sso/error.rs documented as "Not sent", as /metrics spells them."""
    with open(os.path.join(REPO, "src", "sso", "error.rs")) as f:
        text = f.read()
    body = re.search(r"pub enum ErrorKind\s*\{(.*?)\n\}", text, re.S)
    assert body, "no ErrorKind in src/sso/error.rs"
    found = set()
    for m in re.finditer(r"((?:\s*///[^\n]*\n)+)\s*(\w+)", body.group(1)):
        if re.search(r"///\s*Not sent", m.group(1)):
            found.add(m.group(2))
    return found


def check_aws_error_alert_counts_sent_calls():
    outcomes = not_sent_outcomes()
    assert {"NotLeader", "NotPermitted", "RateLimited"} <= outcomes, outcomes
    rule = next(r for r in alert_rules() if r["alert"] == "IdentityCenterAwsErrors")
    selectors = re.findall(r"identity_center_operator_aws_calls_total\{([^}]*)\}", rule["expr"])
    assert len(selectors) == 2, "a ratio of two selectors: %s" % selectors
    excluded = []
    for selector in selectors:
        m = re.search(r'outcome!~"([^"]*)"', selector)
        assert m, "%s counts calls the operator never sent" % selector
        excluded.append(set(m.group(1).split("|")))
    failed, total = excluded
    assert failed == outcomes | {"success"}, "the failures leave out %s, want success and %s" % (failed, outcomes)
    assert total == outcomes, "the calls sent leave out %s, want %s" % (total, outcomes)


# --- helm test ---------------------------------------------------------------

def chart_crds():
    """{name: CRD} of the chart's crds/."""
    crds = {}
    for path in sorted(glob.glob(os.path.join(CHART, "crds", "*.yaml"))):
        with open(path) as f:
            crd = yaml.safe_load(f)
        crds[crd["metadata"]["name"]] = crd
    assert len(crds) >= 2, "crds/ holds %s" % sorted(crds)
    return crds


def annotations(doc):
    return doc["metadata"].get("annotations") or {}


def policies(doc):
    return set(annotations(doc).get("helm.sh/hook-delete-policy", "").split(","))


def assert_test_hook(values_args, fullname, image, port):
    """The helm test hook, as rendered with values_args: a Pod and its RBAC, nothing more."""
    found = hooks(*values_args)
    assert sorted(d["kind"] for d in found) == ["ClusterRole", "ClusterRoleBinding", "Pod", "ServiceAccount"], \
        [(d["kind"], d["metadata"]["name"]) for d in found]
    for d in found:
        assert annotations(d)["helm.sh/hook"] == "test", (d["kind"], annotations(d))
        assert d["metadata"]["labels"]["app.kubernetes.io/component"] == "test", d["metadata"]["labels"]
    assert_namespaces(found)
    pod, sa = one(found, "Pod"), one(found, "ServiceAccount")
    role, binding = one(found, "ClusterRole"), one(found, "ClusterRoleBinding")
    name = fullname + "-test"
    assert pod["metadata"]["name"] == sa["metadata"]["name"] == name, (pod["metadata"]["name"], sa["metadata"]["name"])
    # RBAC first, gone once the test passes; the Pod stays for `helm test --logs`.
    weight = lambda d: int(annotations(d).get("helm.sh/hook-weight", "0"))
    for d in (sa, role, binding):
        assert weight(d) < weight(pod), "%s is not created before the Pod" % d["kind"]
        assert policies(d) == {"before-hook-creation", "hook-succeeded"}, (d["kind"], policies(d))
    assert policies(pod) == {"before-hook-creation"}, policies(pod)
    # Its own ServiceAccount, allowed to read the two CRDs by name and nothing else.
    release = [d for d in render(*values_args) if d["kind"] == "ServiceAccount"]
    assert all(d["metadata"]["name"] != name for d in release), "the test must not reuse the operator's account"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == name and spec["restartPolicy"] == "Never", spec
    crds = sorted(chart_crds())
    rules = role["rules"]
    assert len(rules) == 1 and rules[0]["apiGroups"] == ["apiextensions.k8s.io"] \
        and rules[0]["resources"] == ["customresourcedefinitions"], rules
    assert sorted(rules[0]["resourceNames"]) == crds, rules[0]["resourceNames"]
    assert sorted(rules[0]["verbs"]) == ["get", "list", "watch"], rules[0]["verbs"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}, binding["roleRef"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NS}], binding["subjects"]
    # Restricted, as the operator's pod.
    assert_restricted({"spec": {"template": {"spec": spec}}})
    containers = {c["name"]: c for c in spec["containers"]}
    assert sorted(containers) == ["crds", "readyz"], sorted(containers)
    for c in containers.values():
        assert c["image"] == image, c["image"]
        assert c["command"] == ["kubectl"], c["command"]
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], c["resources"]
    # readyz: the operator's metrics Service, its readiness path, no credentials.
    service = one([d for d in render(*values_args) if d["kind"] == "Service"], "Service", fullname + "-metrics")
    assert service["spec"]["ports"][0]["port"] == port
    readyz = containers["readyz"]["args"]
    assert readyz[0] == "get" and "--raw=/readyz" in readyz, readyz
    assert "--server=http://%s.%s.svc:%d" % (service["metadata"]["name"], NS, port) in readyz, readyz
    dep = operator(render(*values_args))
    assert dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert service["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    # crds: every CRD of crds/ Established.
    wait = containers["crds"]["args"]
    assert wait[0] == "wait" and "--for=condition=Established" in wait, wait
    named = sorted(a.split("/", 1)[1] for a in wait if a.startswith("customresourcedefinitions.apiextensions.k8s.io/"))
    assert named == crds, named
    return pod


def check_helm_test_hook():
    values = values_yaml()["tests"]
    assert values["enabled"] is True
    image = "%s:%s" % (values["image"]["repository"], values["image"]["tag"])
    assert values["image"]["tag"] not in ("", "latest"), "the test image is pinned"
    assert_test_hook(ci("default-values.yaml"), RELEASE, image, 8080)
    every = yaml.safe_load(open(os.path.join(CHART, "ci", "every-option-values.yaml")))
    pod = assert_test_hook(ci("every-option-values.yaml"), "identity-center-operator-ci",
                           "%s@%s" % (every["tests"]["image"]["repository"], every["tests"]["image"]["digest"]), 9090)
    # The NetworkPolicy that limits who reaches the operator's port lets the test Pod in.
    policy = one(render(*ci("every-option-values.yaml")), "NetworkPolicy")
    peers = policy["spec"]["ingress"][0]["from"]
    labels = pod["metadata"]["labels"]
    admitted = [p for p in peers if "podSelector" in p and
                all(labels.get(k) == v for k, v in p["podSelector"]["matchLabels"].items())]
    assert len(admitted) == 1, peers
    assert admitted[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "test"


def check_helm_test_off_and_needs_the_service():
    assert not hooks("--set", "tests.enabled=false"), "tests.enabled=false renders a hook"
    policy = one(render("--set", "tests.enabled=false", "--set", "networkPolicy.enabled=true",
                        "--set-json", 'networkPolicy.metricsFrom=[{"podSelector":{}}]'), "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {}}], policy["spec"]["ingress"]
    p = helm("template", RELEASE, CHART, "--namespace", NS, "--set", "metrics.service.enabled=false")
    assert p.returncode != 0 and "tests.enabled" in p.stderr, p.stderr
    assert not hooks("--set", "metrics.service.enabled=false", "--set", "tests.enabled=false")
    p = helm("template", RELEASE, CHART, "--namespace", NS, "--set", "tests.image.tag=latest")
    assert p.returncode != 0 and "latest" in p.stderr, p.stderr


# --- Artifact Hub ------------------------------------------------------------

# https://artifacthub.io/docs/topics/annotations/helm/: the Operator Framework's capability levels.
OPERATOR_CAPABILITIES = {"basic install", "seamless upgrades", "full lifecycle", "deep insights", "auto pilot"}


def python_pattern(pattern):
    """A CRD pattern (RE2/ECMA) for Python's re, which has no Unicode classes:
    letters and numbers are within \\w, separators within \\s."""
    return pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\w").replace(r"\p{Z}", r"\s")


def schema_errors(value, schema, path="$"):
    """Where value does not fit a CRD's structural schema (types, required,
    unknown fields, enums, patterns, lengths); CEL rules are not evaluated."""
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (path, value, schema["enum"]))
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            errors.append("%s: want an integer or a string" % path)
    elif kind == "object":
        if not isinstance(value, dict):
            return errors + ["%s: want an object, got %r" % (path, value)]
        props = schema.get("properties") or {}
        errors += ["%s: %s is required" % (path, r) for r in schema.get("required", []) if r not in value]
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], "%s.%s" % (path, key))
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, "%s.%s" % (path, key))
            elif not (schema.get("x-kubernetes-preserve-unknown-fields") or extra is True or
                      (not props and extra is None)):
                errors.append("%s: unknown field %s" % (path, key))
    elif kind == "array":
        if not isinstance(value, list):
            return errors + ["%s: want an array, got %r" % (path, value)]
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append("%s: %d items" % (path, len(value)))
        for i, item in enumerate(value):
            errors += schema_errors(item, schema.get("items") or {}, "%s[%d]" % (path, i))
    elif kind == "string":
        if not isinstance(value, str):
            return errors + ["%s: want a string, got %r" % (path, value)]
        if "pattern" in schema and not re.search(python_pattern(schema["pattern"]), value):
            errors.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            errors.append("%s: length %d" % (path, len(value)))
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append("%s: want an integer, got %r" % (path, value))
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append("%s: want a boolean, got %r" % (path, value))
    return errors


def example_documents():
    docs = []
    for path in sorted(glob.glob(os.path.join(REPO, "examples", "*.yaml"))):
        with open(path) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def check_artifacthub_annotations():
    chart = chart_yaml()
    ann = chart["annotations"]
    crds = chart_crds()
    # artifacthub.io/crds: exactly the CRDs of crds/.
    listed = yaml.safe_load(ann["artifacthub.io/crds"])
    assert sorted(c["name"] for c in listed) == sorted(crds), \
        "artifacthub.io/crds names %s, crds/ holds %s" % (sorted(c["name"] for c in listed), sorted(crds))
    for entry in listed:
        crd = crds[entry["name"]]
        assert set(entry) == {"kind", "version", "name", "displayName", "description"}, sorted(entry)
        assert entry["kind"] == crd["spec"]["names"]["kind"], entry
        storage = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
        assert [entry["version"]] == storage, (entry, storage)
        assert entry["displayName"].strip() and entry["description"].strip(), entry
    # artifacthub.io/crdsExamples: one of each, valid against its CRD, taken from examples/.
    examples = yaml.safe_load(ann["artifacthub.io/crdsExamples"])
    by_kind = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c for c in crds.values()}
    kinds = sorted((e["apiVersion"].split("/")[0], e["kind"]) for e in examples)
    assert kinds == sorted(by_kind), "crdsExamples are of %s, want one of each of %s" % (kinds, sorted(by_kind))
    originals = example_documents()
    for example in examples:
        group, version = example["apiVersion"].split("/")
        crd = by_kind[(group, example["kind"])]
        served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
        assert version in served, "%s: %s is not a served version %s" % (example["kind"], version, sorted(served))
        schema = served[version]["schema"]["openAPIV3Schema"]
        # The API server adds apiVersion, kind and metadata to every schema's root.
        body = lambda obj: {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        errors = schema_errors(body(example), schema)
        assert not errors, "%s example: %s" % (example["kind"], "; ".join(errors))
        assert example["metadata"].get("name"), example["metadata"]
        if crd["spec"]["scope"] == "Cluster":
            assert "namespace" not in example["metadata"], "%s is cluster-scoped" % example["kind"]
        assert example in originals, "the %s example is not one of examples/*.yaml, verbatim" % example["kind"]
        # The validation sees a misspelt field.
        typo = json.loads(json.dumps(example))
        typo["spec"]["deletionPolicys"] = ["Retain"]
        assert schema_errors(body(typo), schema), "schema_errors missed an unknown field"
    # artifacthub.io/images: the operator's, the emulator's and the test's, at the chart's appVersion.
    values = values_yaml()
    want = {
        "%s:%s" % (values["image"]["repository"], values["image"]["tag"] or chart["appVersion"]),
        "%s:%s" % (values["emulator"]["image"]["repository"], values["emulator"]["image"]["tag"] or chart["appVersion"]),
        "%s:%s" % (values["tests"]["image"]["repository"], values["tests"]["image"]["tag"]),
    }
    images = yaml.safe_load(ann["artifacthub.io/images"])
    assert all(set(i) >= {"name", "image"} for i in images), images
    assert {i["image"] for i in images} == want, ({i["image"] for i in images}, want)
    operator_image = render(*ci("default-values.yaml"))
    assert operator(operator_image)["spec"]["template"]["spec"]["containers"][0]["image"] in want
    # The rest.
    assert ann["artifacthub.io/operator"] == "true"
    assert ann["artifacthub.io/operatorCapabilities"].lower() in OPERATOR_CAPABILITIES, \
        ann["artifacthub.io/operatorCapabilities"]
    cargo = open(os.path.join(REPO, "Cargo.toml")).read()
    license_ = re.search(r'^license\s*=\s*"([^"]+)"', cargo, re.M).group(1)
    assert ann["artifacthub.io/license"] == license_, (ann["artifacthub.io/license"], license_)
    links = yaml.safe_load(ann["artifacthub.io/links"])
    assert links and all(set(l) == {"name", "url"} and l["name"].strip() for l in links), links
    home = chart["home"].rstrip("/")
    for link in links:
        m = re.match(re.escape(home) + r"/(?:blob|tree)/main/(.+)$", link["url"])
        assert m, "%s does not point into %s" % (link["url"], home)
        assert os.path.exists(os.path.join(REPO, m.group(1))), "%s: %s does not exist" % (link["name"], m.group(1))


def check_packaged_chart():
    with tempfile.TemporaryDirectory() as tmp:
        p = helm("package", CHART, "-d", tmp)
        assert p.returncode == 0, p.stderr
        [archive] = glob.glob(os.path.join(tmp, "*.tgz"))
        with tarfile.open(archive) as tar:
            names = {n.split("/", 1)[1] for n in tar.getnames()}
    assert "templates/tests/test-operator.yaml" in names, "the helm test hook is not packaged"
    for crd in chart_crds().values():
        path = "argocd/%s/%s/health.lua" % (crd["spec"]["group"], crd["spec"]["names"]["kind"])
        assert path in names, path + " is not packaged"
        assert "crds/%s.yaml" % crd["spec"]["names"]["plural"] in names
    leaked = sorted(n for n in names if n.startswith("tests/") or "/testdata/" in n or n.endswith(("_test.yaml", ".py")))
    assert not leaked, "test files in the package: %s" % leaked


def main():
    global HELM, HELM_ERROR
    checks = [
        ("appVersion follows the crate version", check_app_version_follows_crate),
    ]
    try:
        HELM = find_helm()
    except Exception as e:  # noqa: BLE001 - every helm check reports it
        HELM_ERROR = "hack/install-helm.sh failed (%s); or set HELM=/path/to/helm" % e
    for values in sorted(os.listdir(os.path.join(CHART, "ci"))):
        checks.append(("helm lint --strict -f ci/" + values, make_lint(values)))
    checks += [
        ("defaults: one replica, Recreate, ClusterRole, restricted pod", check_defaults),
        ("service account name is stable and overridable", check_service_account_name_is_stable),
        ("every option renders as configured", check_every_option),
        ("replicaCount > 1 turns on leader election and a PDB", check_replicas_turn_on_leader_election),
        ("leaderElection.enabled forces it with one replica, no PDB", check_forced_leader_election_single_replica),
        ("emulator.enabled points the operator at the emulator", check_emulator_sandbox),
        ("schema refuses an unknown key", make_schema_rejects("--set", "bogus=1")),
        ("schema refuses an unknown nested key", make_schema_rejects("--set", "emulator.bogus=1")),
        ("schema refuses logFormat=xml", make_schema_rejects("--set", "logFormat=xml")),
        ("tenancy open: no tenancy ClusterRole, grants not enforced", check_tenancy_open),
        ("PrometheusRule and Grafana dashboard render from files/", check_alerts_and_dashboard),
        ("promtool: the alert rules pass their unit tests", check_alert_rules_with_promtool),
        ("schema refuses tenancy=lax", make_schema_rejects("--set", "tenancy=lax")),
        ("schema refuses a grant without accounts", make_schema_rejects("--set", "grants.x.namespaces.names[0]=a")),
        ("schema refuses a bad resyncInterval", make_schema_rejects("--set", "resyncInterval=soon")),
        ("ConfigMap policy follows the release namespace and ServiceAccount", check_configmap_policy_follows_the_release),
        ("configMapPolicy.enabled=false: no policy, no binding", check_configmap_policy_off),
        ("ConfigMap policy refuses to render below Kubernetes 1.30", check_configmap_policy_needs_1_30),
        ("rbac.tenantRoles=false or rbac.create=false: no tenant roles", check_tenant_roles_off),
        ("no tenant role has a /status subresource or writes grants", check_no_role_grants_tenants_status),
        ("schema refuses an unknown configMapPolicy key", make_schema_rejects("--set", "configMapPolicy.bogus=1")),
        ("schema refuses a bad forbidden namespace",
         make_schema_rejects("--set", "configMapPolicy.forbiddenNamespaces[0]=Kube_System")),
        ("schema refuses a non-boolean rbac.tenantRoles", make_schema_rejects("--set", "rbac.tenantRoles=maybe")),
        ("every alert has a runbook_url whose #anchor is a section of docs/runbooks.md", check_alert_runbooks),
        ("runbook_url follows prometheusRule.runbookBaseUrl; a rule without one does not render",
         check_prometheus_rule_runbook_base),
        ("alerts group only by labels their series carry (src/metrics.rs)", check_alert_labels),
        ("IdentityCenterAwsErrors counts only calls that reached AWS (src/sso/error.rs)",
         check_aws_error_alert_counts_sent_calls),
        ("helm test hook: a restricted Pod checks /readyz on the Service and every CRD, with only its RBAC",
         check_helm_test_hook),
        ("tests.enabled=false: no hook; the test needs the Service and a pinned image",
         check_helm_test_off_and_needs_the_service),
        ("schema refuses an unknown tests key", make_schema_rejects("--set", "tests.bogus=1")),
        ("schema refuses a runbookBaseUrl with an anchor",
         make_schema_rejects("--set", "prometheusRule.runbookBaseUrl=https://example.com/runbooks.md#x")),
        ("Artifact Hub annotations: the CRDs of crds/, valid examples from examples/, images, links",
         check_artifacthub_annotations),
        ("the packaged chart holds the test hook and the health checks, not the tests", check_packaged_chart),
    ]
    passed = failed = 0
    for name, check in checks:
        try:
            check()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print("not ok - " + name)
            detail = str(e) if isinstance(e, AssertionError) and str(e) else traceback.format_exc()
            print("    " + detail.strip().replace("\n", "\n    "))
        else:
            passed += 1
            print("ok - " + name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
