//! A real etcd, kube-apiserver and kube-controller-manager on free loopback
//! ports, set up the way controller-runtime's envtest does it: generated CA
//! and serving certificate, service-account keys, RBAC, and an admin client
//! certificate in system:masters. The controller manager runs the owner
//! garbage collector and namespace deletion only (no pods ever run here).
//! Stopped, and its files removed, when dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use tokio::process::Child;

use crate::process::{eventually, free_port, spawn, stop};

pub struct ControlPlane {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub server: String,
    apiserver_args: Vec<String>,
    etcd: Child,
    apiserver: Child,
    controller_manager: Child,
}

/// Where hack/build-controlplane.sh puts the pinned binaries.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ICO_CONTROLPLANE_BIN") {
        return dir.into();
    }
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME is set")).join(".cache"));
    cache.join("identity-center-operator/bin")
}

fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is missing: run hack/build-controlplane.sh (make test does)", path.display());
    path
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_string_lossy().into_owned()
}

/// The files and PEMs of the control plane's PKI.
struct Pki {
    ca_file: String,
    serving_cert_file: String,
    serving_key_file: String,
    service_account_key_file: String,
    service_account_pub_file: String,
    ca_pem: String,
    admin_cert_pem: String,
    admin_key_pem: String,
}

/// CA, serving certificate, service-account keys and an admin client certificate.
fn pki(dir: &Path) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "identity-center-operator e2e CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

    let serving_key = KeyPair::generate().unwrap();
    let names = ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "10.0.0.1"];
    let mut serving = CertificateParams::new(names.map(String::from).to_vec()).unwrap();
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving = serving.signed_by(&serving_key, &ca).unwrap();

    let admin_key = KeyPair::generate().unwrap();
    let mut admin = CertificateParams::new(Vec::<String>::new()).unwrap();
    admin.distinguished_name.push(DnType::CommonName, "admin");
    admin.distinguished_name.push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin = admin.signed_by(&admin_key, &ca).unwrap();

    let service_accounts = KeyPair::generate().unwrap();
    Pki {
        ca_file: write(dir, "ca.crt", &ca.pem()),
        serving_cert_file: write(dir, "apiserver.crt", &serving.pem()),
        serving_key_file: write(dir, "apiserver.key", &serving_key.serialize_pem()),
        service_account_key_file: write(dir, "sa.key", &service_accounts.serialize_pem()),
        service_account_pub_file: write(dir, "sa.pub", &service_accounts.public_key_pem()),
        ca_pem: ca.pem(),
        admin_cert_pem: admin.pem(),
        admin_key_pem: admin_key.serialize_pem(),
    }
}

fn base64(data: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Every write, who made it and when; reads are not recorded.
const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
";

impl ControlPlane {
    /// The writes the API server has answered so far: audit events (audit.k8s.io/v1).
    pub fn audited_writes(&self) -> Vec<serde_json::Value> {
        let log = std::fs::read_to_string(self.dir.path().join("audit.log")).unwrap_or_default();
        log.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    pub async fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("ico-e2e-").tempdir().unwrap();
        let path = dir.path();
        let pki = pki(path);
        let (etcd_port, peer_port, secure_port) = (free_port(), free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd_args: Vec<String> = [
            "--name=e2e".to_string(),
            format!("--data-dir={}", path.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=e2e={peer_url}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ]
        .into();
        let etcd = spawn(&binary("etcd"), &etcd_args, &[], &path.join("etcd.log"));
        let apiserver_args: Vec<String> = [
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={secure_port}"),
            format!("--cert-dir={}", path.join("certs").display()),
            format!("--tls-cert-file={}", pki.serving_cert_file),
            format!("--tls-private-key-file={}", pki.serving_key_file),
            format!("--client-ca-file={}", pki.ca_file),
            format!("--service-account-key-file={}", pki.service_account_pub_file),
            format!("--service-account-signing-key-file={}", pki.service_account_key_file),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--authorization-mode=RBAC".into(),
            "--allow-privileged=true".into(),
            "--endpoint-reconciler-type=none".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
            format!("--audit-policy-file={}", write(path, "audit-policy.yaml", AUDIT_POLICY)),
            format!("--audit-log-path={}", path.join("audit.log").display()),
            "--v=1".into(),
        ]
        .into();
        let apiserver = spawn(&binary("kube-apiserver"), &apiserver_args, &[], &path.join("apiserver.log"));
        let server = format!("https://127.0.0.1:{secure_port}");
        let kubeconfig = path.join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\n\
             users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
             contexts:\n- name: e2e\n  context: {{cluster: e2e, user: admin}}\ncurrent-context: e2e\n",
            base64(&pki.ca_pem),
            base64(&pki.admin_cert_pem),
            base64(&pki.admin_key_pem)
        );
        std::fs::write(&kubeconfig, config).unwrap();
        wait_ready(&kubeconfig).await;
        let controller_manager_args: Vec<String> = [
            format!("--kubeconfig={}", kubeconfig.display()),
            "--controllers=garbage-collector-controller,namespace-controller".into(),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            "--v=1".into(),
        ]
        .into();
        let controller_manager = spawn(
            &binary("kube-controller-manager"),
            &controller_manager_args,
            &[],
            &path.join("controller-manager.log"),
        );
        Self { dir, kubeconfig, server, apiserver_args, etcd, apiserver, controller_manager }
    }

    /// A kubeconfig with the admin's credentials that acts as `user` (and
    /// `groups`) by impersonation; written under `name` in the plane's directory.
    pub fn kubeconfig_as(&self, name: &str, user: &str, groups: &[&str]) -> PathBuf {
        let admin = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let mut identity = format!("  user:\n    as: {user}\n");
        if !groups.is_empty() {
            identity.push_str(&format!("    as-groups: [{}]\n", groups.join(", ")));
        }
        let impersonating = admin.replacen("  user:\n", &identity, 1);
        assert_ne!(admin, impersonating, "the admin kubeconfig names a user");
        let path = self.dir.path().join(format!("kubeconfig-{name}"));
        std::fs::write(&path, impersonating).unwrap();
        path
    }

    /// Installs the CRDs in `dir` (server-side apply, as the README says to)
    /// and waits until the API server serves every one of them.
    pub fn install_crds(&self, dir: &Path) {
        let kubectl = crate::kubectl::Kubectl::new(&self.kubeconfig);
        kubectl.run(&["apply", "--server-side", "--field-manager=test-support", "-f", &dir.display().to_string()]);
        kubectl.run(&["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    }

    pub async fn client(&self) -> kube::Client {
        client_of(&self.kubeconfig).await
    }

    /// Stops kube-apiserver and starts it again on the same port and data:
    /// every watch is cut.
    pub async fn restart_apiserver(&mut self) {
        stop(&mut self.apiserver, Duration::from_secs(10)).await;
        let log = self.dir.path().join("apiserver.log");
        self.apiserver = spawn(&binary("kube-apiserver"), &self.apiserver_args, &[], &log);
        wait_ready(&self.kubeconfig).await;
    }

    /// Stops every process; their files are removed unless `keep_logs`.
    pub async fn shutdown_keeping(mut self, keep_logs: bool) {
        stop(&mut self.controller_manager, Duration::from_secs(10)).await;
        stop(&mut self.apiserver, Duration::from_secs(10)).await;
        stop(&mut self.etcd, Duration::from_secs(10)).await;
        if keep_logs {
            let _ = self.dir.keep();
        }
    }
}

async fn client_of(kubeconfig: &Path) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Waits for /readyz and the default namespace.
async fn wait_ready(kubeconfig: &Path) {
    let client = client_of(kubeconfig).await;
    eventually("the API server to serve the default namespace", Duration::from_secs(90), || {
        let client = client.clone();
        async move {
            let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
            let ready = client.request_text(http::Request::get("/readyz").body(Vec::new()).unwrap()).await.ok()?;
            (ready == "ok").then_some(())?;
            namespaces.get_opt("default").await.ok().flatten().map(|_| ())
        }
    })
    .await;
}
