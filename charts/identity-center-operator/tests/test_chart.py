#!/usr/bin/env python3
"""Checks the Helm chart with a real Helm: lint, render, and what users rely on.

    python3 charts/identity-center-operator/tests/test_chart.py

Helm comes from $HELM, else the pinned build cached by hack/install-helm.sh
(built on first use). Prints one line per check and "N passed, M failed";
exits non-zero when any check fails.
"""

import json
import os
import re
import subprocess
import sys
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
    ("identitycenter.dev", "identitycenterinstances/status", "get"),
    ("identitycenter.dev", "identitycenterinstances/status", "patch"),
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
    ("identitycenter.dev", "identitycenteraccountgrants", "get"),
    ("identitycenter.dev", "identitycenteraccountgrants", "list"),
    ("identitycenter.dev", "identitycenteraccountgrants", "watch"),
}
TENANT_EDIT_RULES = {
    ("identitycenter.dev", "identitycenterinstances", v)
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


def render(*args):
    p = helm("template", RELEASE, CHART, "--namespace", NS, *args)
    if p.returncode != 0:
        raise AssertionError("helm template %s failed:\n%s" % (" ".join(args), p.stderr))
    return [d for d in yaml.safe_load_all(p.stdout) if d]


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
        assert rule["spec"] == yaml.safe_load(f), "the PrometheusRule is the tested rule file, verbatim"
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
