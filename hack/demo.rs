//! The local demo: a real kube-apiserver and etcd, the emulator and the
//! operator, with examples/ applied. Stays up until SIGTERM or Ctrl-C.
//! Started by `make demo`, stopped by `make demo-stop`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use test_support::controlplane::ControlPlane;
use test_support::http::json;
use test_support::kubectl::Kubectl;
use test_support::process::{free_port, ready, spawn, stop, workspace_binary};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// examples/organization-instance.yaml adopts the organization instance of
/// management account 999999999999; examples/instance-set.yaml covers the
/// three accounts of OU ou-demo-sandbox1 and its nested OU.
const DEMO_EMULATOR: &str = "createSeconds: 3
deleteSeconds: 3
encryptionSeconds: 3
regionAddSeconds: 3
managementAccounts: ['999999999999']
instances:
- {account: '999999999999', region: eu-west-1, name: org, arn: 'arn:aws:sso:::instance/ssoins-0rg0rg0rg0rg0rg0'}
organization:
  managementAccount: '999999999999'
  rootId: r-demo
  organizationalUnits:
  - name: sandboxes
    id: ou-demo-sandbox1
    accounts: [{id: '777700000001', name: alpha}, {id: '777700000002', name: beta}]
    organizationalUnits:
    - {name: teams, id: ou-demo-teams001, accounts: [{id: '777700000003', name: gamma}]}
";
/// An object in a namespace that no grant admits.
const UNGRANTED: &str = "apiVersion: identitycenter.dev/v1alpha1
kind: IdentityCenterInstance
metadata:
  name: unlisted
spec:
  deletionPolicy: Delete
  credentials:
    roleArn: arn:aws:iam::333344445555:role/identity-center-admin
";

#[tokio::main]
async fn main() {
    let state = PathBuf::from(std::env::args().nth(1).expect("usage: demo STATE_DIR"));
    std::fs::create_dir_all(&state).unwrap();
    let plane = ControlPlane::start().await;
    let kubeconfig = state.join("kubeconfig");
    std::fs::copy(&plane.kubeconfig, &kubeconfig).unwrap();
    let kubectl = Kubectl::new(&kubeconfig);
    plane.install_crds(Path::new(&format!("{REPO}/crds")));

    let emulator_addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(state.join("emulator.yaml"), DEMO_EMULATOR).unwrap();
    let emulator_args = ["--listen", &emulator_addr, "--config", &state.join("emulator.yaml").display().to_string()];
    let emulator_binary = workspace_binary("sso-admin-emulator");
    let mut emulator = spawn(&emulator_binary, &emulator_args.map(String::from), &[], &state.join("emulator.log"));
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let envs = [
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("AWS_ENDPOINT_URL", format!("http://{emulator_addr}")),
        ("AWS_ACCESS_KEY_ID", "AKIA111122223333DEMO".into()),
        ("AWS_SECRET_ACCESS_KEY", "demo".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let operator_args = ["run", "--http-addr", &metrics_addr, "--default-region", "eu-west-1"].map(String::from);
    let mut operator =
        spawn(&workspace_binary("identity-center-operator"), &operator_args, &envs, &state.join("operator.log"));
    ready("the operator to be ready", &metrics_addr, Duration::from_secs(60)).await;

    // Tenancy is enforced (the default): examples/grant.yaml admits namespace default only.
    let unlisted = kubectl.in_namespace("team-unlisted");
    let kubectl = kubectl.in_namespace("default");
    kubectl.run(&["apply", "-f", &format!("{REPO}/examples/")]);
    kubectl.run(&["wait", "--for=condition=Ready", "iciset", "--all", "--timeout=120s"]);
    kubectl.run(&["wait", "--for=condition=Ready", "ici", "--all", "--timeout=120s"]);
    println!("{}", kubectl.run(&["get", "ici", "-o", "wide"]));
    println!("{}", kubectl.run(&["get", "iciset", "-o", "wide"]));
    println!("{}", kubectl.run(&["get", "icgrant"]));
    kubectl.run(&["create", "namespace", "team-unlisted"]);
    let refused = unlisted.output_with_stdin(&["apply", "-f", "-"], UNGRANTED);
    assert!(refused.status.success(), "{}", String::from_utf8_lossy(&refused.stderr));
    unlisted.run(&["wait", "--for=condition=Stalled", "ici/unlisted", "--timeout=60s"]);
    let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Stalled")].reason}: {.status.conditions[?(@.type=="Stalled")].message}"#;
    println!("An object in namespace team-unlisted, which no grant admits, was refused before any AWS call:");
    println!("  {}\n", unlisted.run(&["get", "ici/unlisted", "-o", jsonpath]));
    let (_, calls) = json("GET", &emulator_addr, "/_emulator/calls", "").await;
    let calls: Vec<Value> = serde_json::from_str(&calls).unwrap();
    println!("Calls the emulator received ({}):", calls.len());
    for call in &calls {
        println!(
            "  {:>3}  {:<4} {:<22} account {}  {}",
            call["seq"],
            call["service"].as_str().unwrap_or_default(),
            call["operation"].as_str().unwrap_or_default(),
            call["account"].as_str().unwrap_or("-"),
            call["outcome"].as_str().unwrap_or_default()
        );
    }
    println!();
    println!("The stack is running. Use it with:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get ici -o wide");
    println!("  kubectl get iciset -o wide");
    println!("Emulator: http://{emulator_addr}/_emulator/calls   Operator metrics: http://{metrics_addr}/metrics");
    println!("Logs: {}", state.display());
    println!("Stop it with: make demo-stop");
    println!("DEMO READY");

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    stop(&mut operator, Duration::from_secs(20)).await;
    stop(&mut emulator, Duration::from_secs(5)).await;
    plane.shutdown_keeping(false).await;
}
