//! What the benchmarks start beside the control plane: the emulator with a
//! config of their own, and the operator's environment pointed at it.

use std::path::Path;
use std::time::Duration;

use tokio::process::Child;

use crate::process::{free_port, listening, spawn, workspace_binary};

/// A running emulator and where it listens.
pub struct Emulator {
    pub child: Child,
    pub addr: String,
}

/// Writes `config` to `dir/emulator.yaml` and starts this build's
/// `sso-admin-emulator` with it, logging to `dir/emulator.log`.
pub async fn start_emulator(dir: &Path, config: &str) -> Emulator {
    let config_path = dir.join("emulator.yaml");
    std::fs::write(&config_path, config).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let args = ["--listen", &addr, "--config", &config_path.display().to_string()].map(String::from);
    let child = spawn(&workspace_binary("sso-admin-emulator"), &args, &[], &dir.join("emulator.log"));
    listening("the emulator to listen", &addr, Duration::from_secs(20)).await;
    Emulator { child, addr }
}

/// The operator's environment for a benchmark: the control plane's
/// kubeconfig, AWS at the emulator with static bench credentials, warnings only.
pub fn operator_env(kubeconfig: &Path, emulator_addr: &str) -> Vec<(String, String)> {
    [
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("AWS_ENDPOINT_URL", format!("http://{emulator_addr}")),
        ("AWS_ACCESS_KEY_ID", "AKIA111122223333BNCH".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("RUST_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
