//! The images' smoke test: runs their root filesystems, not the build tree.
//! Each OCI archive of `make image` is unpacked, and its binary run with
//! `chroot --userspec=65532:65532` (podman cannot run here): `--version` and
//! `crd`; then the emulator's image serves AWS and the operator's image, on
//! the real control plane over TLS, reaches /readyz and takes one object to
//! Ready. Prints the start-to-ready time on an empty cluster.
//!
//!   cargo run --example image-smoke -- target/image (after make image; needs root for chroot)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use test_support::controlplane::ControlPlane;
use test_support::kubectl::Kubectl;
use test_support::process::{free_port, listening, ready, spawn, stop};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const USER: &str = "65532:65532";

/// Unpacks `<images>/<name>.oci.tar` into `<into>/<name>`; returns the root filesystem.
fn unpack(images: &Path, name: &str, into: &Path) -> PathBuf {
    let rootfs = into.join(name);
    let archive = images.join(format!("{name}.oci.tar"));
    let status = Command::new("python3")
        .arg(format!("{REPO}/hack/image_size.py"))
        .arg(&archive)
        .arg("--unpack")
        .arg(&rootfs)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "unpacking {}", archive.display());
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rootfs.with_extension("json")).unwrap()).unwrap();
    assert_eq!(config["User"], USER, "{name} runs as 65532");
    rootfs
}

/// `chroot --userspec=65532:65532 <rootfs> <args>`, as the image would run.
fn in_image(rootfs: &Path, args: &[&str]) -> (PathBuf, Vec<String>) {
    let mut all = vec![format!("--userspec={USER}"), rootfs.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    (PathBuf::from("/usr/sbin/chroot"), all)
}

fn output(rootfs: &Path, args: &[&str]) -> String {
    let (program, args) = in_image(rootfs, args);
    let out = Command::new(program).args(&args).output().expect("chroot runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::main]
async fn main() {
    let images = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| format!("{REPO}/target/image")));
    let work = tempfile::Builder::new().prefix("ico-image-smoke-").tempdir().unwrap();
    let operator = unpack(&images, "identity-center-operator", work.path());
    let emulator = unpack(&images, "sso-admin-emulator", work.path());

    let version = output(&operator, &["/identity-center-operator", "--version"]);
    assert!(version.starts_with("identity-center-operator "), "{version}");
    let crds = output(&operator, &["/identity-center-operator", "crd"]);
    assert!(
        crds.contains("identitycenterinstances.identitycenter.dev") && crds.contains("identitycenteraccountgrants")
    );
    assert!(output(&emulator, &["/sso-admin-emulator", "--version"]).starts_with("sso-admin-emulator "));
    let bundle = std::fs::read_to_string(operator.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    println!(
        "ok - --version ({}) and crd run in the image as {USER}; CA bundle of {} certificates",
        version.trim(),
        bundle.matches("BEGIN CERTIFICATE").count()
    );

    let plane = ControlPlane::start().await;
    let kubectl = Kubectl::new(&plane.kubeconfig);
    plane.install_crds(Path::new(&format!("{REPO}/crds")));
    // The kubeconfig goes into the image's root, readable by 65532; it names the API server's CA.
    std::fs::copy(&plane.kubeconfig, operator.join("kubeconfig")).unwrap();

    let emulator_addr = format!("127.0.0.1:{}", free_port());
    let (program, args) = in_image(&emulator, &["/sso-admin-emulator", "--listen", &emulator_addr]);
    let mut emulator_process = spawn(&program, &args, &[], &work.path().join("emulator.log"));
    listening("the emulator image to listen", &emulator_addr, Duration::from_secs(20)).await;

    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let envs = [
        ("KUBECONFIG", "/kubeconfig".to_string()),
        ("AWS_ENDPOINT_URL", format!("http://{emulator_addr}")),
        ("AWS_ACCESS_KEY_ID", "AKIA111122223333IMAG".into()),
        ("AWS_SECRET_ACCESS_KEY", "image-smoke".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let (program, args) = in_image(
        &operator,
        &["/identity-center-operator", "run", "--http-addr", &metrics_addr, "--default-region", "eu-west-1"],
    );
    let started = Instant::now();
    let mut operator_process = spawn(&program, &args, &envs, &work.path().join("operator.log"));
    ready("the operator image to be ready", &metrics_addr, Duration::from_secs(30)).await;
    let ready_after = started.elapsed();
    println!(
        "ok - start to /readyz on an empty cluster: {:.0} ms (target 1000 ms)",
        ready_after.as_secs_f64() * 1000.0
    );

    let kubectl = kubectl.in_namespace("default");
    kubectl.run(&[
        "apply",
        "-f",
        &format!("{REPO}/examples/grant.yaml"),
        "-f",
        &format!("{REPO}/examples/platform.yaml"),
    ]);
    kubectl.run(&["wait", "--for=condition=Ready", "ici/platform", "--timeout=60s"]);
    let arn = kubectl.run(&["get", "ici/platform", "-o", "jsonpath={.status.instanceArn}"]);
    println!("ok - the operator image, over TLS to the API server, took ici/platform to Ready ({arn})");
    println!(
        "{}",
        serde_json::json!({"start_to_ready_ms": (ready_after.as_secs_f64() * 1000.0).round(), "ready_instance_arn": arn})
    );
    stop(&mut operator_process, Duration::from_secs(20)).await;
    stop(&mut emulator_process, Duration::from_secs(5)).await;
    plane.shutdown_keeping(false).await;
}
