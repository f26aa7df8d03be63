//! One IdentityCenterInstanceSet over 5,000 accounts in 50 OUs (an OU of
//! 100 accounts holding 49 nested OUs of 100 each), on a real kube-apiserver
//! and the emulator, whose Organizations answers take `ORGANIZATIONS_LATENCY`
//! each and whose instances take `CREATE_SECONDS` to be ACTIVE.
//!
//!   cargo bench --bench instance_set [-- ACCOUNTS_PER_OU]   (make bench-set)
//!
//! Reports, each against its target: the time from the set being accepted
//! to every child Ready, against a lower bound from the same run (accepted,
//! plus the longest chain of Organizations pages at the emulator's latency,
//! plus CREATE_SECONDS), the Organizations calls of one read (target
//! accounts/20 + OUs + 2, the model's page size), the AWS calls per account
//! (target 5) and the operator's peak RSS (target 128 MiB). Writes
//! bench/instance-set.json and, with matplotlib, bench/instance-set.png.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use identity_center_operator::api::{IdentityCenterAccountGrant, IdentityCenterInstanceSet, RECONCILE_REQUESTED_AT};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use test_support::bench::{Emulator, operator_env, start_emulator};
use test_support::controlplane::ControlPlane;
use test_support::http::json as http_json;
use test_support::memory::RssSampler;
use test_support::process::{eventually, free_port, ready, spawn, stop};

const OPERATOR: &str = env!("CARGO_BIN_EXE_identity-center-operator");
const UNITS: usize = 50;
const CREATE_SECONDS: f64 = 3.0;
const ORGANIZATIONS_LATENCY: Duration = Duration::from_millis(20);
const PAGE: usize = 20;
const READER: &str = "arn:aws:iam::999999999999:role/identity-center-organizations-reader";
const TARGET_RATIO: f64 = 1.5;
const TARGET_CALLS_PER_ACCOUNT: f64 = 5.0;
const TARGET_PEAK_MIB: f64 = 128.0;

fn account(unit: usize, index: usize) -> String {
    format!("5{unit:04}{index:07}")
}

fn unit_id(unit: usize) -> String {
    format!("ou-bnch-unit{unit:04}")
}

/// The emulator's organization: OU 0 holds accounts and the other OUs.
fn emulator_config(per_unit: usize) -> String {
    let accounts = |unit| (0..per_unit).map(|i| account(unit, i)).collect::<Vec<_>>();
    let nested: Vec<Value> =
        (1..UNITS).map(|u| json!({"name": format!("unit-{u}"), "id": unit_id(u), "accounts": accounts(u)})).collect();
    json!({
        "createSeconds": CREATE_SECONDS,
        "callLogLimit": UNITS * per_unit * 20 + 10_000,
        "faults": {"rules": [
            {"operation": "ListAccountsForParent", "latencyMs": ORGANIZATIONS_LATENCY.as_millis()},
            {"operation": "ListOrganizationalUnitsForParent", "latencyMs": ORGANIZATIONS_LATENCY.as_millis()},
        ]},
        "organization": {
            "managementAccount": "999999999999",
            "rootId": "r-bnch",
            "organizationalUnits": [{"name": "fleet", "id": unit_id(0), "accounts": accounts(0), "organizationalUnits": nested}],
        },
    })
    .to_string()
}

/// The longest chain of dependent Organizations pages: the top OU's pages
/// of child OUs, then one child's pages of accounts (a child is known only
/// once its parent's page names it; pages of one listing follow each other).
fn reads_lower_bound(per_unit: usize) -> Duration {
    let unit_pages = (UNITS - 1).div_ceil(PAGE).max(1);
    let account_pages = per_unit.div_ceil(PAGE).max(1);
    ORGANIZATIONS_LATENCY * (unit_pages + account_pages) as u32
}

async fn calls(addr: &str) -> Vec<Value> {
    let (status, body) = http_json("GET", addr, "/_emulator/calls", "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn by_operation(calls: &[Value], after: u64) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for call in calls.iter().filter(|c| c["seq"].as_u64().unwrap() > after) {
        *counts.entry(call["operation"].as_str().unwrap().to_string()).or_default() += 1;
    }
    counts
}

fn organizations_calls(counts: &BTreeMap<String, u64>) -> u64 {
    counts.get("ListAccountsForParent").copied().unwrap_or(0)
        + counts.get("ListOrganizationalUnitsForParent").copied().unwrap_or(0)
}

async fn run(per_unit: usize) -> (Value, Vec<String>) {
    let accounts = UNITS * per_unit;
    let plane = ControlPlane::start().await;
    plane.install_crds(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/crds")));
    let client = plane.client().await;
    let dir = plane.dir.path().join("set-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let namespace = "set-bench";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    namespaces.create(&Default::default(), &ns).await.unwrap();
    let Emulator { child: mut emulator, addr } = start_emulator(&dir, &emulator_config(per_unit)).await;

    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let args = ["run", "--watch-namespaces", namespace, "--http-addr", &metrics_addr, "--default-region", "eu-west-1"]
        .map(String::from);
    let mut operator =
        spawn(Path::new(OPERATOR), &args, &operator_env(&plane.kubeconfig, &addr), &dir.join("operator.log"));
    ready("the operator to be ready", &metrics_addr, Duration::from_secs(60)).await;
    let rss = RssSampler::start(operator.id().unwrap());

    // Tenancy is enforced (the default): the namespace may read through the
    // reader and act in every account under the OU, resolved from the set's read.
    let grants: Api<IdentityCenterAccountGrant> = Api::all(client.clone());
    let grant = json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
        "metadata": {"name": namespace},
        "spec": {"namespaces": {"names": [namespace]}, "accounts": {"roleArns": [READER], "organizationalUnits": [unit_id(0)]}},
    });
    grants.patch(namespace, &PatchParams::apply("bench"), &Patch::Apply(grant)).await.unwrap();
    let sets: Api<IdentityCenterInstanceSet> = Api::namespaced(client.clone(), namespace);
    let set = json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
        "metadata": {"name": "fleet"},
        "spec": {
            "organization": {"credentials": {"roleArn": READER}, "organizationalUnits": [unit_id(0)]},
            "accountCredentials": {"roleArnTemplate": "arn:aws:iam::{accountId}:role/identity-center-admin"},
            "template": {"name": "sandbox-{accountId}", "tags": {"account": "{accountName}"}},
            "rollout": {"maxConcurrent": accounts},
        },
    });
    let started = Instant::now();
    sets.patch("fleet", &PatchParams::apply("bench"), &Patch::Apply(set)).await.unwrap();
    let accepted = started.elapsed();
    let progress: std::sync::Mutex<Vec<(f64, u32)>> = Default::default();
    let limit = Duration::from_secs(600 + accounts as u64 / 5);
    eventually("every child to be Ready", limit, || async {
        let set = sets.get("fleet").await.ok()?;
        let ready_now = set.status.as_ref().map_or(0, |s| s.ready_instances);
        let mut progress = progress.lock().unwrap();
        if progress.last().is_none_or(|(_, r)| *r != ready_now) {
            progress.push((started.elapsed().as_secs_f64(), ready_now));
        }
        set.condition("Ready").is_some_and(|c| c.status == "True").then_some(())
    })
    .await;
    let progress = progress.into_inner().unwrap();
    let all_ready = started.elapsed();
    let peak_mib = rss.peak();
    let created = calls(&addr).await;
    let creating = by_operation(&created, 0);
    let first_read = organizations_calls(&creating);
    let aws_per_account = creating.values().sum::<u64>() as f64 / accounts as f64;
    let repeated_creates = creating.get("CreateInstance").copied().unwrap_or(0) as i64 - accounts as i64;

    // One read more, asked for by annotation: its calls alone.
    let before = created.last().map_or(0, |c| c["seq"].as_u64().unwrap());
    let ask = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT: "bench-read"}}});
    sets.patch("fleet", &PatchParams::default(), &Patch::Merge(ask)).await.unwrap();
    eventually("the asked-for read", Duration::from_secs(120), || async {
        let set = sets.get("fleet").await.ok()?;
        (set.status?.last_handled_reconcile_at.as_deref() == Some("bench-read")).then_some(())
    })
    .await;
    let second_read = organizations_calls(&by_operation(&calls(&addr).await, before));

    let bound = accepted + reads_lower_bound(per_unit) + Duration::from_secs_f64(CREATE_SECONDS);
    let ratio = all_ready.as_secs_f64() / bound.as_secs_f64();
    let read_target = (accounts / PAGE + UNITS + 2) as u64;
    let result = json!({
        "accounts": accounts, "organizationalUnits": UNITS,
        "createSeconds": CREATE_SECONDS, "organizationsLatencyMs": ORGANIZATIONS_LATENCY.as_millis(),
        "allReadySeconds": all_ready.as_secs_f64(), "lowerBoundSeconds": bound.as_secs_f64(), "readyRatio": ratio,
        "targetRatio": TARGET_RATIO,
        "organizationsCallsFirstRead": first_read, "organizationsCallsPerRead": second_read,
        "organizationsCallsTarget": read_target,
        "awsCallsPerAccount": aws_per_account, "awsCallsByOperation": creating,
        "repeatedCreateInstance": repeated_creates,
        "peakRssMiB": peak_mib, "targetPeakMiB": TARGET_PEAK_MIB,
        "readyOverTime": progress,
    });
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok    " } else { "MISSED" });
        if !ok {
            failures.push(what);
        }
    };
    check(
        ratio <= TARGET_RATIO,
        format!(
            "all Ready in {:.1} s against a lower bound of {:.1} s: ratio {ratio:.2} (target <= {TARGET_RATIO})",
            all_ready.as_secs_f64(),
            bound.as_secs_f64()
        ),
    );
    check(
        second_read <= read_target,
        format!(
            "Organizations calls per read: {second_read} (first read {first_read}; target <= {read_target} = accounts/20 + OUs + 2)"
        ),
    );
    check(
        aws_per_account <= TARGET_CALLS_PER_ACCOUNT,
        format!("AWS calls per account: {aws_per_account:.2} (target <= {TARGET_CALLS_PER_ACCOUNT}): {creating:?}"),
    );
    check(peak_mib <= TARGET_PEAK_MIB, format!("peak RSS {peak_mib:.1} MiB (target <= {TARGET_PEAK_MIB})"));
    check(repeated_creates == 0, format!("CreateInstance calls beyond one per account: {repeated_creates}"));
    stop(&mut operator, Duration::from_secs(20)).await;
    stop(&mut emulator, Duration::from_secs(5)).await;
    plane.shutdown_keeping(false).await;
    (result, failures)
}

fn main() {
    let per_unit = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (result, failures) = runtime.block_on(run(per_unit));
    let machine = json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "operator": OPERATOR,
    });
    let out = std::env::var("ICO_BENCH_OUT").unwrap_or_else(|_| "bench/instance-set.json".into());
    std::fs::write(&out, serde_json::to_string_pretty(&json!({"machine": machine, "run": result})).unwrap()).unwrap();
    println!("wrote {out}");
    println!("instance set: {} missed", failures.len());
}
