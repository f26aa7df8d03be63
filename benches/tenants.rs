//! Tenants: what one hostile or merely busy namespace costs the others, on a
//! real kube-apiserver with the emulator, the operator's release build and
//! tenancy enforced, watching every namespace.
//!
//! 1. Memory: 400 objects of 150 KB (an annotation) in a namespace no grant
//!    admits. Bound: the operator's RSS before them; target growth <= 20 MiB.
//! 2. Fairness: 300 ObserveOnly objects of namespace `busy` on an account the
//!    emulator throttles at 100 %, while a loop re-annotates them; then one
//!    object in namespace `quiet`, another account. Bound: the same object's
//!    time to Ready on the idle operator, in the same run; target <= 2x.
//!
//!   cargo bench --bench tenants        (make bench-tenants)
//!
//! ICO_BENCH_OPERATOR names another operator binary to measure (an older
//! build, say); ICO_BENCH_OUT where the JSON goes (bench/tenants.json).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use identity_center_operator::api::IdentityCenterInstance;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use test_support::bench::{Emulator, operator_env, start_emulator};
use test_support::controlplane::ControlPlane;
use test_support::fixtures;
use test_support::kubectl::Kubectl;
use test_support::memory::{RssSampler, status_mib};
use test_support::process::{eventually, free_port, ready, spawn, stop};

const OPERATOR: &str = env!("CARGO_BIN_EXE_identity-center-operator");
const CREATE_SECONDS: f64 = 3.0;
const HOSTILE_OBJECTS: usize = 400;
const HOSTILE_BYTES: usize = 150 * 1024;
const MAX_GROWTH_MIB: f64 = 20.0;
const BUSY_OBJECTS: usize = 300;
const MAX_RATIO: f64 = 2.0;
/// How long the throttled namespace churns before the quiet object arrives.
const STORM_BEFORE_PROBE: Duration = Duration::from_secs(30);
const PROBE_LIMIT: Duration = Duration::from_secs(600);
const THROTTLED_ACCOUNT: &str = "510000000001";

fn operator_binary() -> PathBuf {
    std::env::var_os("ICO_BENCH_OPERATOR").map_or_else(|| PathBuf::from(OPERATOR), PathBuf::from)
}

fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/identity-center-admin")
}

fn grant(name: &str, namespace: &str, accounts: &[&str]) -> Value {
    json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
        "metadata": {"name": name},
        "spec": {"namespaces": {"names": [namespace]}, "accounts": {"accountIds": accounts}},
    })
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    namespaces.create(&PostParams::default(), &namespace).await.unwrap();
}

fn condition_is(object: &IdentityCenterInstance, type_: &str, status: &str, reason: Option<&str>) -> bool {
    object.condition(type_).is_some_and(|c| {
        c.status == status
            && reason.is_none_or(|r| c.reason == r)
            && c.observed_generation == object.metadata.generation
    })
}

/// Applies one object and returns how long it took to be Ready; None when
/// it was not within `PROBE_LIMIT`.
async fn time_to_ready(client: &kube::Client, namespace: &str, name: &str, account: &str) -> Option<Duration> {
    let api: Api<IdentityCenterInstance> = Api::namespaced(client.clone(), namespace);
    let object = fixtures::instance(name, Some(namespace), json!({"credentials": {"roleArn": role(account)}}));
    let started = Instant::now();
    api.patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(object)).await.unwrap();
    while started.elapsed() < PROBE_LIMIT {
        if api.get(name).await.is_ok_and(|object| condition_is(&object, "Ready", "True", None)) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Creates `count` objects in `namespace`, 16 at a time.
async fn create_many(client: &kube::Client, namespace: &str, count: usize, object: impl Fn(usize) -> Value) {
    let api: Api<IdentityCenterInstance> = Api::namespaced(client.clone(), namespace);
    let objects: Vec<IdentityCenterInstance> = (0..count).map(|i| serde_json::from_value(object(i)).unwrap()).collect();
    futures::stream::iter(objects)
        .for_each_concurrent(16, |object| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &object).await.unwrap();
            }
        })
        .await;
}

/// Counts the objects of `namespace` whose condition `type_` is True with `reason`.
async fn count_with(client: &kube::Client, namespace: &str, type_: &str, reason: &str) -> usize {
    let api: Api<IdentityCenterInstance> = Api::namespaced(client.clone(), namespace);
    let listed = api.list(&Default::default()).await.unwrap().items;
    listed.iter().filter(|o| condition_is(o, type_, "True", Some(reason))).count()
}

/// Re-annotates every object of `namespace` in turn until `stop` is set, as a
/// tenant churning its objects would; returns how many patches went through.
fn churn(client: kube::Client, namespace: &str, count: usize, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    let api: Api<IdentityCenterInstance> = Api::namespaced(client, namespace);
    let patches = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        let mut round = 0u64;
        while !stop.load(Ordering::SeqCst) {
            round += 1;
            futures::stream::iter(0..count)
                .for_each_concurrent(8, |i| {
                    let (api, patches) = (api.clone(), patches.clone());
                    async move {
                        let patch = json!({"metadata": {"annotations": {"churn": round.to_string()}}});
                        if api
                            .patch(&format!("busy-{i:03}"), &PatchParams::default(), &Patch::Merge(patch))
                            .await
                            .is_ok()
                        {
                            patches.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
                .await;
        }
        patches.load(Ordering::SeqCst)
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let failed = runtime.block_on(async {
        let plane = ControlPlane::start().await;
        plane.install_crds(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/crds")));
        let client = plane.client().await;
        println!("operator under test: {}", operator_binary().display());
        for namespace in ["quiet", "hostile", "busy"] {
            create_namespace(&client, namespace).await;
        }
        let dir = plane.dir.path().join("tenants");
        std::fs::create_dir_all(&dir).unwrap();
        let grants = [
            grant("bench-quiet", "quiet", &["520000000001", "520000000002"]),
            grant("bench-busy", "busy", &[THROTTLED_ACCOUNT]),
        ];
        for grant in &grants {
            let path = dir.join(format!("{}.json", grant["metadata"]["name"].as_str().unwrap()));
            std::fs::write(&path, grant.to_string()).unwrap();
            Kubectl::new(&plane.kubeconfig).run(&["apply", "-f", &path.display().to_string()]);
        }

        let config = format!(
            "createSeconds: {CREATE_SECONDS}\ncallLogLimit: 1000\nfaults:\n  rules:\n  - account: '{THROTTLED_ACCOUNT}'\n    throttle: 1.0\n"
        );
        let Emulator { child: mut emulator, addr: emulator_addr } = start_emulator(&dir, &config).await;
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let envs = operator_env(&plane.kubeconfig, &emulator_addr);
        let operator_args = ["run", "--http-addr", &metrics_addr, "--default-region", "eu-west-1"].map(String::from);
        let mut operator = spawn(&operator_binary(), &operator_args, &envs, &dir.join("operator.log"));
        let pid = operator.id().unwrap();
        ready("the operator to be ready", &metrics_addr, Duration::from_secs(60)).await;
        let rss = RssSampler::start(pid);

        // The bound of the fairness check: the quiet object on the idle operator.
        let idle = time_to_ready(&client, "quiet", "idle-probe", "520000000001").await.expect("Ready when idle");
        println!("quiet object to Ready, idle operator: {:.2} s", idle.as_secs_f64());

        // 1. Memory under refused, oversized objects.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (rss_before, anon_before) = (rss.current(), status_mib(pid, "RssAnon:").unwrap_or(f64::NAN));
        let padding = "x".repeat(HOSTILE_BYTES);
        create_many(&client, "hostile", HOSTILE_OBJECTS, |i| {
            let mut object = fixtures::instance(&format!("hostile-{i:03}"), Some("hostile"), json!({}));
            object["metadata"]["annotations"] = json!({"padding": padding});
            object
        })
        .await;
        eventually("every hostile object to be refused", Duration::from_secs(300), || async {
            (count_with(&client, "hostile", "Stalled", "NotPermitted").await >= HOSTILE_OBJECTS).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (rss_after, anon_after) = (rss.current(), status_mib(pid, "RssAnon:").unwrap_or(f64::NAN));
        let growth = rss_after - rss_before;
        println!(
            "{HOSTILE_OBJECTS} refused objects of {} KB: RSS {rss_before:.1} -> {rss_after:.1} MiB (+{growth:.1}, \
             target <= {MAX_GROWTH_MIB}), anonymous {anon_before:.1} -> {anon_after:.1} MiB, peak {:.1} MiB",
            HOSTILE_BYTES / 1024,
            rss.peak()
        );

        // 2. Fairness under a throttled, churning namespace.
        create_many(&client, "busy", BUSY_OBJECTS, |i| {
            let spec = json!({"managementPolicy": "ObserveOnly", "credentials": {"roleArn": role(THROTTLED_ACCOUNT)}});
            fixtures::instance(&format!("busy-{i:03}"), Some("busy"), spec)
        })
        .await;
        let stop_churn = Arc::new(AtomicBool::new(false));
        let churning = churn(client.clone(), "busy", BUSY_OBJECTS, stop_churn.clone());
        tokio::time::sleep(STORM_BEFORE_PROBE).await;
        let busy = time_to_ready(&client, "quiet", "busy-probe", "520000000002").await;
        stop_churn.store(true, Ordering::SeqCst);
        let patches = churning.await.unwrap();
        let busy = busy.map_or(f64::INFINITY, |busy| busy.as_secs_f64());
        let ratio = busy / idle.as_secs_f64();
        println!(
            "quiet object to Ready beside {BUSY_OBJECTS} throttled, churning objects: {busy:.2} s = {ratio:.2}x the \
             idle {:.2} s (target <= {MAX_RATIO}x; inf: not Ready within {} s); {patches} annotation patches meanwhile",
            idle.as_secs_f64(),
            PROBE_LIMIT.as_secs()
        );

        stop(&mut operator, Duration::from_secs(20)).await;
        stop(&mut emulator, Duration::from_secs(5)).await;
        plane.shutdown_keeping(false).await;
        let result = json!({
            "machine": {
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "operator": operator_binary().display().to_string(),
                "createSeconds": CREATE_SECONDS,
            },
            "memory": {
                "objects": HOSTILE_OBJECTS, "annotationBytes": HOSTILE_BYTES,
                "rssBeforeMiB": rss_before, "rssAfterMiB": rss_after, "growthMiB": growth,
                "anonBeforeMiB": anon_before, "anonAfterMiB": anon_after, "peakMiB": rss.peak(),
                "targetGrowthMiB": MAX_GROWTH_MIB,
            },
            "fairness": {
                "busyObjects": BUSY_OBJECTS, "annotationPatches": patches,
                "idleSeconds": idle.as_secs_f64(),
                "busySeconds": busy.is_finite().then_some(busy), "ratio": ratio.is_finite().then_some(ratio),
                "targetRatio": MAX_RATIO,
            },
        });
        let out = std::env::var("ICO_BENCH_OUT").unwrap_or_else(|_| "bench/tenants.json".into());
        std::fs::write(&out, serde_json::to_string_pretty(&result).unwrap()).unwrap();
        println!("wrote {out}");
        let failures = [growth > MAX_GROWTH_MIB, ratio > MAX_RATIO];
        let failed = failures.iter().filter(|f| **f).count();
        println!("tenants: {} passed, {failed} failed", failures.len() - failed);
        failed > 0
    });
    std::process::exit(i32::from(failed));
}
