//! One scenario's world: a namespace on the shared control plane, an emulator
//! process and an operator process watching only that namespace.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use identity_center_operator::api::{IdentityCenterAccountGrant, IdentityCenterInstance};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sso_admin_emulator::Call;
use test_support::fixtures;
use test_support::kubectl::Kubectl;
use tokio::process::Child;

use crate::controlplane::ControlPlane;
use crate::http::{json, request};
use crate::process::{eventually, free_port, freeze, listening, ready, spawn, stop, thaw, workspace_binary};

pub const OPERATOR: &str = env!("CARGO_BIN_EXE_identity-center-operator");
pub const REGION: &str = "eu-west-1";
/// The `--cluster-name` of the operator under test, in its ownership tags.
pub const CLUSTER_NAME: &str = "e2e";
/// Long enough for slow machines; a healthy run converges in seconds.
pub const CONVERGE: Duration = Duration::from_secs(60);

/// One operator process.
struct Replica {
    name: String,
    metrics_addr: String,
    child: Child,
}

pub struct Stack {
    pub namespace: String,
    /// More namespaces the operator watches, each a tenant of its own.
    pub tenants: Vec<String>,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub emulator_addr: String,
    logs: PathBuf,
    emulator: Child,
    replicas: Vec<Replica>,
    /// Replicas started so far, for their names.
    started: usize,
    leader_election: bool,
    /// --tenancy enforced; the other scenarios run open, as before grants existed.
    tenancy_enforced: bool,
    operator_kubeconfig: PathBuf,
    /// The --resync-interval of replicas started from now on (10 s unless a scenario says otherwise).
    pub resync_interval: &'static str,
    /// Replicas that act as a Kubernetes user of their own, by name.
    replica_kubeconfigs: HashMap<String, PathBuf>,
}

impl Stack {
    /// `emulator_config` is the emulator's YAML settings; the operator acts in
    /// account 111122223333, as the control plane's admin.
    pub async fn start(plane: &ControlPlane, namespace: &str, emulator_config: &str) -> Self {
        Self::start_as(plane, namespace, emulator_config, &plane.kubeconfig).await
    }

    /// The same, with the operator using `kubeconfig` (another identity).
    pub async fn start_as(plane: &ControlPlane, namespace: &str, emulator_config: &str, kubeconfig: &Path) -> Self {
        Self::start_watching(plane, &[namespace], emulator_config, kubeconfig, false).await
    }

    /// One operator, tenancy enforced, watching several tenants' namespaces
    /// (the first is `namespace`, the others `tenants`).
    pub async fn start_tenants(plane: &ControlPlane, namespaces: &[&str], emulator_config: &str) -> Self {
        Self::start_watching(plane, namespaces, emulator_config, &plane.kubeconfig, true).await
    }

    /// The same with tenancy open: no grant is asked, AWS alone decides.
    pub async fn start_open_tenants(plane: &ControlPlane, namespaces: &[&str], emulator_config: &str) -> Self {
        Self::start_watching(plane, namespaces, emulator_config, &plane.kubeconfig, false).await
    }

    async fn start_watching(
        plane: &ControlPlane,
        namespaces: &[&str],
        emulator_config: &str,
        kubeconfig: &Path,
        tenancy_enforced: bool,
    ) -> Self {
        let client = plane.client().await;
        let namespace_api: Api<Namespace> = Api::all(client.clone());
        for namespace in namespaces {
            let ns = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
            namespace_api.create(&PostParams::default(), &ns).await.unwrap();
        }
        let namespace = namespaces[0];
        let logs = plane.dir.path().join(namespace);
        std::fs::create_dir_all(&logs).unwrap();
        let config = logs.join("emulator.yaml");
        std::fs::write(&config, emulator_config).unwrap();
        let emulator_addr = format!("127.0.0.1:{}", free_port());
        let args = ["--listen".into(), emulator_addr.clone(), "--config".into(), config.display().to_string()];
        let emulator = spawn(&workspace_binary("sso-admin-emulator"), &args, &[], &logs.join("emulator.log"));
        listening("the emulator to listen", &emulator_addr, Duration::from_secs(20)).await;
        let mut stack = Self {
            namespace: namespace.into(),
            tenants: namespaces[1..].iter().map(|ns| ns.to_string()).collect(),
            client,
            kubeconfig: plane.kubeconfig.clone(),
            operator_kubeconfig: kubeconfig.to_path_buf(),
            resync_interval: "10s",
            replica_kubeconfigs: HashMap::new(),
            tenancy_enforced,
            emulator_addr,
            logs,
            emulator,
            replicas: Vec::new(),
            started: 0,
            leader_election: false,
        };
        stack.start_operator().await;
        stack
    }

    /// One operator with tenancy enforced: objects need a grant.
    pub async fn start_enforced(plane: &ControlPlane, namespace: &str, emulator_config: &str) -> Self {
        let mut stack = Self::start_as(plane, namespace, emulator_config, &plane.kubeconfig).await;
        stack.enforce_tenancy().await;
        stack
    }

    /// Restarts the operator with --tenancy enforced.
    pub async fn enforce_tenancy(&mut self) {
        self.kill_operator().await;
        self.tenancy_enforced = true;
        self.start_operator().await;
    }

    /// Creates or replaces a cluster-scoped grant, as an administrator would.
    pub async fn grant(&self, name: &str, spec: Value) {
        let grants: Api<IdentityCenterAccountGrant> = Api::all(self.client.clone());
        let grant = json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant", "metadata": {"name": name}, "spec": spec});
        grants.patch(name, &PatchParams::apply("e2e-admin").force(), &Patch::Apply(grant)).await.unwrap();
    }

    /// Two operators electing a leader on a Lease in the namespace.
    pub async fn start_replicated(plane: &ControlPlane, namespace: &str, emulator_config: &str) -> Self {
        Self::start_replicated_resyncing(plane, namespace, emulator_config, "10s").await
    }

    /// The same, the replicas with `--resync-interval resync_interval`.
    pub async fn start_replicated_resyncing(
        plane: &ControlPlane,
        namespace: &str,
        emulator_config: &str,
        resync_interval: &'static str,
    ) -> Self {
        let mut stack = Self::start_as(plane, namespace, emulator_config, &plane.kubeconfig).await;
        stack.kill_operator().await;
        stack.leader_election = true;
        stack.resync_interval = resync_interval;
        for replica in [stack.started + 1, stack.started + 2].map(|n| format!("operator-{n}")) {
            let user = Self::kubernetes_user(&replica);
            let kubeconfig = plane.kubeconfig_as(&format!("{namespace}-{replica}"), &user, &["system:masters"]);
            stack.replica_kubeconfigs.insert(replica, kubeconfig);
        }
        stack.start_operator().await;
        stack.start_operator().await;
        stack
    }

    /// The first running replica's /metrics, /healthz and /readyz address.
    pub fn metrics_addr(&self) -> &str {
        &self.replicas[0].metrics_addr
    }

    /// Names and metrics addresses of the running replicas.
    pub fn replicas(&self) -> Vec<(String, String)> {
        self.replicas.iter().map(|r| (r.name.clone(), r.metrics_addr.clone())).collect()
    }

    /// Starts one more operator process and waits until it is ready; returns its name.
    pub async fn start_operator(&mut self) -> String {
        self.started += 1;
        let name = format!("operator-{}", self.started);
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let watched = [&self.namespace].into_iter().chain(&self.tenants).cloned().collect::<Vec<_>>().join(",");
        let mut args: Vec<String> = [
            "run",
            "--watch-namespaces",
            &watched,
            "--http-addr",
            &metrics_addr,
            "--default-region",
            REGION,
            "--resync-interval",
            self.resync_interval,
            "--tenancy",
            if self.tenancy_enforced { "enforced" } else { "open" },
            "--cluster-name",
            CLUSTER_NAME,
        ]
        .map(String::from)
        .to_vec();
        args.extend(["--log-format", "json"].map(String::from));
        if self.leader_election {
            args.extend(["--leader-election", "--leader-election-namespace", &self.namespace].map(String::from));
        }
        let kubeconfig = self.replica_kubeconfigs.get(&name).unwrap_or(&self.operator_kubeconfig).clone();
        let envs = [
            ("KUBECONFIG", kubeconfig.display().to_string()),
            ("POD_NAME", name.clone()),
            ("AWS_ENDPOINT_URL", format!("http://{}", self.emulator_addr)),
            ("AWS_ACCESS_KEY_ID", Self::access_key(&name)),
            ("AWS_SECRET_ACCESS_KEY", "e2e-secret".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("RUST_LOG", "info,identity_center_operator=debug".into()),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let child = spawn(Path::new(OPERATOR), &args, &envs, &self.logs.join(format!("{name}.log")));
        let metrics = metrics_addr.clone();
        ready("the operator to be ready (/readyz)", &metrics, CONVERGE).await;
        self.replicas.push(Replica { name: name.clone(), metrics_addr, child });
        name
    }

    /// The AWS access key a replica signs with: its own, so that the
    /// emulator's call log tells replicas apart (all act in 111122223333).
    pub fn access_key(replica: &str) -> String {
        let index: u8 = replica.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        format!("AKIA111122223333OPR{}", (b'A' + index % 26) as char)
    }

    /// The Kubernetes user a replica acts as (with the admin's groups), so
    /// that the API server's audit log tells replicas apart.
    pub fn kubernetes_user(replica: &str) -> String {
        format!("e2e:{replica}")
    }

    /// SIGSTOP to one replica: it keeps its lease record, connections and queue, and does nothing.
    pub fn freeze_replica(&self, name: &str) {
        freeze(&self.replica(name).child);
    }

    /// SIGCONT to a frozen replica.
    pub fn thaw_replica(&self, name: &str) {
        thaw(&self.replica(name).child);
    }

    fn replica(&self, name: &str) -> &Replica {
        self.replicas.iter().find(|r| r.name == name).expect("a running replica")
    }

    /// Waits until a replica exits by itself; returns whether it exited with success.
    pub async fn wait_replica_exit(&mut self, name: &str, limit: Duration) -> bool {
        let index = self.replicas.iter().position(|r| r.name == name).expect("a running replica");
        let mut replica = self.replicas.remove(index);
        let status = tokio::time::timeout(limit, replica.child.wait()).await;
        let status = status.unwrap_or_else(|_| panic!("{name} still runs {limit:?} later")).unwrap();
        status.success()
    }

    /// The log file of a replica.
    pub fn replica_log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Every log line of every operator process this stack started, parsed
    /// (they log JSON), and the raw text of them all.
    pub fn operator_logs(&self) -> (Vec<Value>, String) {
        let text: String = (1..=self.started)
            .filter_map(|n| std::fs::read_to_string(self.replica_log(&format!("operator-{n}"))).ok())
            .collect();
        let lines = text.lines().map(|l| serde_json::from_str(l).expect("--log-format json writes JSON lines"));
        (lines.collect(), text)
    }

    /// A path in this scenario's log directory.
    pub fn logs_file(&self, name: &str) -> PathBuf {
        self.logs.join(name)
    }

    /// SIGKILL to every replica: no shutdown, no lease release, nothing flushed.
    pub async fn kill_operator(&mut self) {
        for mut replica in self.replicas.drain(..) {
            replica.child.kill().await.unwrap();
        }
    }

    /// SIGKILL to one replica.
    pub async fn kill_replica(&mut self, name: &str) {
        let index = self.replicas.iter().position(|r| r.name == name).expect("a running replica");
        self.replicas.remove(index).child.kill().await.unwrap();
    }

    /// SIGTERM to one replica; true when it exited cleanly in time.
    pub async fn stop_replica(&mut self, name: &str) -> bool {
        let index = self.replicas.iter().position(|r| r.name == name).expect("a running replica");
        stop(&mut self.replicas.remove(index).child, Duration::from_secs(15)).await
    }

    pub fn api(&self) -> Api<IdentityCenterInstance> {
        self.api_in(&self.namespace)
    }

    pub fn api_in(&self, namespace: &str) -> Api<IdentityCenterInstance> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates or updates an object by server-side apply, as `kubectl apply --server-side` would.
    pub async fn apply(&self, name: &str, spec: Value) -> Result<IdentityCenterInstance, kube::Error> {
        self.apply_in(&self.namespace, name, spec).await
    }

    /// The same in another namespace, as its tenant would.
    pub async fn apply_in(
        &self,
        namespace: &str,
        name: &str,
        spec: Value,
    ) -> Result<IdentityCenterInstance, kube::Error> {
        let object = fixtures::instance(name, None, spec);
        self.api_in(namespace).patch(name, &PatchParams::apply("e2e-user").force(), &Patch::Apply(object)).await
    }

    /// Creates an object the way `kubectl create` (and client-side apply) does.
    pub async fn create(&self, name: &str, spec: Value) -> Result<IdentityCenterInstance, kube::Error> {
        let object = fixtures::instance(name, None, spec);
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &kube::api::ApiResource::erase::<IdentityCenterInstance>(&()),
        );
        let created = api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await?;
        Ok(serde_json::from_value(serde_json::to_value(created).unwrap()).unwrap())
    }

    pub async fn delete(&self, name: &str) {
        self.delete_in(&self.namespace, name).await;
    }

    pub async fn delete_in(&self, namespace: &str, name: &str) {
        self.api_in(namespace).delete(name, &DeleteParams::default()).await.unwrap();
    }

    pub async fn get(&self, name: &str) -> IdentityCenterInstance {
        self.get_in(&self.namespace, name).await
    }

    pub async fn get_in(&self, namespace: &str, name: &str) -> IdentityCenterInstance {
        self.api_in(namespace).get(name).await.unwrap()
    }

    /// Waits until condition `type_` of `name` has `status`, for the object's current generation.
    pub async fn wait_for(&self, name: &str, type_: &str, status: &str) -> IdentityCenterInstance {
        self.wait_for_in(&self.namespace, name, type_, status).await
    }

    pub async fn wait_for_in(&self, namespace: &str, name: &str, type_: &str, status: &str) -> IdentityCenterInstance {
        let what = format!("{namespace}/{name} {type_}={status}");
        let api = self.api_in(namespace);
        eventually(&what, CONVERGE, || async {
            let object = api.get(name).await.ok()?;
            let condition = object.condition(type_)?;
            let current = condition.observed_generation == object.metadata.generation;
            (condition.status == status && current).then_some(object)
        })
        .await
    }

    pub async fn wait_gone(&self, name: &str) {
        self.wait_gone_in(&self.namespace, name).await;
    }

    pub async fn wait_gone_in(&self, namespace: &str, name: &str) {
        let api = self.api_in(namespace);
        eventually(&format!("{namespace}/{name} to be deleted"), CONVERGE, || async {
            api.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }

    pub async fn calls(&self) -> Vec<Call> {
        let (status, body) = json("GET", &self.emulator_addr, "/_emulator/calls", "").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The SSO Admin operations the emulator answered, in order.
    pub async fn operations(&self) -> Vec<String> {
        self.calls().await.into_iter().filter(|c| c.service == "sso").map(|c| c.operation).collect()
    }

    pub async fn count(&self, operation: &str) -> usize {
        self.operations().await.iter().filter(|o| *o == operation).count()
    }

    pub async fn clear_calls(&self) {
        assert_eq!(json("DELETE", &self.emulator_addr, "/_emulator/calls", "").await.0, 204);
    }

    pub async fn set_faults(&self, faults: Value) {
        let (status, body) = json("PUT", &self.emulator_addr, "/_emulator/faults", &faults.to_string()).await;
        assert_eq!(status, 204, "{body}");
    }

    /// Calls SSO Admin on the emulator as `account` would, outside the operator.
    pub async fn aws(&self, account: &str, operation: &str, body: Value) -> (u16, Value) {
        self.call_service(account, "sso", &format!("SWBExternalService.{operation}"), body).await
    }

    /// Calls AWS Organizations on the emulator as `account` would (its management account, to change it).
    pub async fn organizations(&self, account: &str, operation: &str, body: Value) -> (u16, Value) {
        self.call_service(account, "organizations", &format!("AWSOrganizationsV20161128.{operation}"), body).await
    }

    async fn call_service(&self, account: &str, service: &str, target: &str, body: Value) -> (u16, Value) {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIA{account}OUTS/20261128/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
            ("authorization", auth.as_str()),
        ];
        let response = request("POST", &self.emulator_addr, "/", &headers, body.to_string().as_bytes()).await;
        (response.status, serde_json::from_str(&response.body).unwrap_or(Value::Null))
    }

    /// The instances `account` owns in the emulator.
    pub async fn instances_of(&self, account: &str) -> Vec<Value> {
        let (status, listed) = self.aws(account, "ListInstances", json!({})).await;
        assert_eq!(status, 200, "{listed}");
        let all = listed["Instances"].as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|i| i["OwnerAccountId"] == account).collect()
    }

    /// kubectl as the cluster's admin, in this scenario's namespace.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(&self.kubeconfig).in_namespace(&self.namespace)
    }

    /// Stops every process; each operator must exit cleanly on SIGTERM.
    pub async fn shutdown(mut self) {
        let mut unclean = Vec::new();
        for mut replica in self.replicas.drain(..) {
            if !stop(&mut replica.child, Duration::from_secs(15)).await {
                unclean.push(replica.name);
            }
        }
        stop(&mut self.emulator, Duration::from_secs(5)).await;
        assert!(unclean.is_empty(), "{unclean:?} did not exit with success within 15s of SIGTERM");
    }
}

/// An AWS tag list (`[{"Key", "Value"}]`) as a map.
pub fn tag_map(tags: &Value) -> BTreeMap<String, String> {
    let list = tags.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().map(|t| (t["Key"].as_str().unwrap().to_string(), t["Value"].as_str().unwrap().to_string())).collect()
}

/// The tags of a list that the spec owns: all but the operator's ownership tags.
pub fn spec_tags(tags: &Value) -> BTreeMap<String, String> {
    tag_map(tags).into_iter().filter(|(key, _)| !key.starts_with("identitycenter.dev/")).collect()
}

/// The ownership tags an instance made by object `namespace/name` carries.
pub fn ownership_tags(namespace: &str, name: &str) -> BTreeMap<String, String> {
    [
        ("identitycenter.dev/cluster", CLUSTER_NAME),
        ("identitycenter.dev/managed-by", "identity-center-operator"),
        ("identitycenter.dev/name", name),
        ("identitycenter.dev/namespace", namespace),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
