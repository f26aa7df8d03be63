//! Scale: N objects, each in its own AWS account through its own role, with
//! deletionPolicy Delete, applied at once with one `kubectl apply` on a real
//! kube-apiserver, then deleted with one `kubectl delete`; the emulator
//! creates an instance in `CREATE_SECONDS`. The lower bound is the moment the
//! API server accepted the last object, plus `CREATE_SECONDS`. Measures the time to all
//! Ready and to all gone against a lower bound taken in the same run, the AWS
//! and API-server calls per object, and the operator's memory.
//!
//!   cargo bench --bench scale -- 100 1000 5000 [--waves=3] [--resync] [--restart] [--no-settle]
//!   cargo bench --bench scale -- 10000                       (make bench-scale runs both)
//!
//! --waves=K repeats the largest N's create-and-delete wave K times on one
//! operator process and reads its RSS at the end of each;
//! --resync measures the largest N's drift checks over one interval;
//! --restart then restarts its operator with SIGTERM and with SIGKILL and
//! counts the AWS calls of the next 60 s, against 0.05 per object and a
//! busiest second of 2x the resync's mean.
//!   cargo test --bench scale -- --check 50                   (make test: correctness only)
//!
//! ICO_BENCH_OPERATOR names another operator binary to measure (an older
//! build, say); the emulator is always this build's `sso-admin-emulator`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use identity_center_operator::api::IdentityCenterInstance;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use test_support::bench::{Emulator, operator_env, start_emulator};
use test_support::controlplane::ControlPlane;
use test_support::fixtures;
use test_support::http::json;
use test_support::kubectl::Kubectl;
use test_support::memory::{RssSampler, status_mib};
use test_support::process::{eventually, free_port, ready, spawn, stop};

const CREATE_SECONDS: f64 = 3.0;
const DELETE_SECONDS: f64 = 3.0;
/// The resync interval of the resync check: shorter than the default, same
/// mechanism; long enough that no drift check falls inside the create wave.
const RESYNC_CHECK_INTERVAL: Duration = Duration::from_secs(240);
/// Create wave: AssumeRole, CreateInstance, at most two DescribeInstance
/// (the tags CreateInstance carried are not read back at once).
const MAX_CALLS_PER_CREATE: f64 = 4.0;
/// Delete wave: DeleteInstance (the status shows the instance ACTIVE), at
/// most two DescribeInstance, the last of which finds it gone.
const MAX_CALLS_PER_DELETE: f64 = 3.0;
/// The operator's default --resync-interval.
const DEFAULT_RESYNC: Duration = Duration::from_secs(600);
/// Longer than the HTTP clients' idle-connection timeout (90 s).
const SETTLE: Duration = Duration::from_secs(100);
const OPERATOR: &str = env!("CARGO_BIN_EXE_identity-center-operator");

fn operator_binary() -> PathBuf {
    std::env::var_os("ICO_BENCH_OPERATOR").map_or_else(|| PathBuf::from(OPERATOR), PathBuf::from)
}

/// Runs kubectl, as a user would, and returns how long it took; off the
/// runtime's threads, so that the RSS sampler keeps its pace meanwhile.
async fn kubectl(kubeconfig: &Path, args: &[&str]) -> Duration {
    let kubectl = Kubectl::new(kubeconfig);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        kubectl.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        started.elapsed()
    })
    .await
    .expect("kubectl does not panic")
}

/// What the harness's own watch saw of each object.
#[derive(Default)]
struct Seen {
    added: HashMap<String, Instant>,
    ready: HashMap<String, Instant>,
    present: HashSet<String>,
    /// Objects seen Ready, then not Ready.
    left_ready: HashSet<String>,
}

fn is_ready(object: &IdentityCenterInstance) -> bool {
    let conditions = object.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

fn watch(api: Api<IdentityCenterInstance>, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let events = watcher(api, watcher::Config::default()).default_backoff();
        events
            .try_for_each(|event| {
                let mut seen = seen.lock().unwrap();
                let mut note = |object: &IdentityCenterInstance| {
                    let name = object.metadata.name.clone().unwrap_or_default();
                    seen.added.entry(name.clone()).or_insert_with(Instant::now);
                    seen.present.insert(name.clone());
                    if is_ready(object) {
                        seen.ready.entry(name).or_insert_with(Instant::now);
                    } else if seen.ready.contains_key(&name) && object.metadata.deletion_timestamp.is_none() {
                        seen.left_ready.insert(name);
                    }
                };
                match &event {
                    watcher::Event::Apply(o) | watcher::Event::InitApply(o) => note(o),
                    watcher::Event::Delete(o) => {
                        seen.present.remove(&o.metadata.name.clone().unwrap_or_default());
                    }
                    _ => {}
                }
                futures::future::ready(Ok(()))
            })
            .await
            .ok();
    })
}

/// apiserver_request_total by "VERB resource[/subresource]".
async fn apiserver_requests(client: &kube::Client) -> BTreeMap<String, f64> {
    let text = client.request_text(http::Request::get("/metrics").body(Vec::new()).unwrap()).await.unwrap();
    let mut totals = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let (labels, value) = line.rsplit_once(' ').unwrap();
        let label = |name: &str| {
            labels.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default()
        };
        let resource = match label("subresource") {
            "" => label("resource").to_string(),
            sub => format!("{}/{sub}", label("resource")),
        };
        if ["identitycenterinstances", "events", "configmaps", "leases"].iter().any(|r| resource.starts_with(r)) {
            *totals.entry(format!("{} {resource}", label("verb"))).or_default() += value.parse::<f64>().unwrap();
        }
    }
    totals
}

fn per_object(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, n: usize) -> BTreeMap<String, f64> {
    let delta = after.iter().map(|(k, v)| (k.clone(), (v - before.get(k).unwrap_or(&0.0)) / n as f64));
    delta.filter(|(_, v)| *v > 0.0).collect()
}

async fn emulator_calls(addr: &str) -> Vec<Value> {
    let (status, body) = json("GET", addr, "/_emulator/calls", "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Calls by operation among those numbered in `seqs`.
fn calls_by_operation(calls: &[Value], seqs: std::ops::Range<u64>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for call in calls.iter().filter(|c| seqs.contains(&c["seq"].as_u64().unwrap())) {
        *counts.entry(call["operation"].as_str().unwrap().to_string()).or_default() += 1;
    }
    counts
}

fn last_seq(calls: &[Value]) -> u64 {
    calls.last().map_or(0, |c| c["seq"].as_u64().unwrap())
}

/// CreateInstance calls beyond the first per ClientToken, and accounts given more than one instance.
fn repeated_creates(calls: &[Value]) -> (u64, u64) {
    let mut tokens = HashSet::new();
    let mut created_per_account: HashMap<String, u64> = HashMap::new();
    let mut repeated = 0;
    for call in calls.iter().filter(|c| c["operation"] == "CreateInstance") {
        if !tokens.insert(call["request"]["ClientToken"].as_str().unwrap_or_default().to_string()) {
            repeated += 1;
        }
        if call["outcome"] == "ok" {
            *created_per_account.entry(call["account"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        }
    }
    (repeated, created_per_account.values().filter(|&&n| n > 1).count() as u64)
}

/// Sums the operator's AWS call counter.
async fn operator_aws_calls(metrics_addr: &str) -> f64 {
    let (_, text) = json("GET", metrics_addr, "/metrics", "").await;
    let lines = text.lines().filter(|l| l.starts_with("identity_center_operator_aws_calls_total{"));
    lines.filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The account of object `index`.
fn account(index: usize) -> u64 {
    200_000_000_000u64 + index as u64
}

/// A grant that admits the `n` objects of `namespace`, each in its own account, with deletionPolicy Delete.
fn grant_for(namespace: &str, n: usize) -> Value {
    let accounts: Vec<String> = (0..n).map(|index| account(index).to_string()).collect();
    json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
        "metadata": {"name": namespace},
        "spec": {
            "namespaces": {"names": [namespace]},
            "accounts": {"accountIds": accounts},
            "deletionPolicies": ["Retain", "Delete"],
        },
    })
}

fn manifest(namespace: &str, index: usize) -> Value {
    let account = account(index);
    let spec = json!({
        "name": format!("scale-{index}"),
        "tags": {"bench": "scale"},
        "deletionPolicy": "Delete",
        "credentials": {"roleArn": format!("arn:aws:iam::{account}:role/identity-center-admin")},
    });
    fixtures::instance(&format!("scale-{index:05}"), Some(namespace), spec)
}

struct Run {
    n: usize,
    resync_check: bool,
    /// Restart the operator (SIGTERM, then SIGKILL) once every object is settled.
    restart_check: bool,
    /// How long to wait after deletion before reading the settled RSS.
    settle: Option<Duration>,
    /// Create-and-delete waves on the one operator process (1: the measured wave alone).
    waves: usize,
}

/// One run: its own namespace, emulator and operator.
async fn measure(plane: &ControlPlane, run: &Run) -> Value {
    let n = run.n;
    let client = plane.client().await;
    let kind = if run.restart_check { "restart" } else { "scale" };
    let namespace = format!("{kind}-{n}-{}", std::process::id());
    kubectl(&plane.kubeconfig, &["create", "namespace", &namespace]).await;
    let dir = plane.dir.path().join(&namespace);
    std::fs::create_dir_all(&dir).unwrap();
    // The operator runs with its default, --tenancy enforced: one grant admits the run's accounts.
    let grant = dir.join("grant.json");
    std::fs::write(&grant, grant_for(&namespace, n).to_string()).unwrap();
    kubectl(&plane.kubeconfig, &["apply", "-f", &grant.display().to_string()]).await;

    let config = format!(
        "createSeconds: {CREATE_SECONDS}\ndeleteSeconds: {DELETE_SECONDS}\ncallLogLimit: {}\n",
        n * 40 + 10_000
    );
    let Emulator { child: mut emulator, addr: emulator_addr } = start_emulator(&dir, &config).await;

    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let resync = format!("{}s", if run.resync_check { RESYNC_CHECK_INTERVAL } else { DEFAULT_RESYNC }.as_secs());
    let envs = operator_env(&plane.kubeconfig, &emulator_addr);
    let operator_args = [
        "run",
        "--watch-namespaces",
        &namespace,
        "--http-addr",
        &metrics_addr,
        "--default-region",
        "eu-west-1",
        "--resync-interval",
        &resync,
    ]
    .map(String::from);
    let start_operator = |log: &str| spawn(&operator_binary(), &operator_args, &envs, &dir.join(log));
    let mut operator = start_operator("operator.log");
    let pid = operator.id().unwrap();
    ready("the operator to be ready", &metrics_addr, Duration::from_secs(60)).await;
    let rss = RssSampler::start(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss.current();
    let anon_idle = status_mib(pid, "RssAnon:").unwrap_or(f64::NAN);

    let api: Api<IdentityCenterInstance> = Api::namespaced(client.clone(), &namespace);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watch_task = watch(api.clone(), seen.clone());
    let requests_before = apiserver_requests(&client).await;
    let seq_before = last_seq(&emulator_calls(&emulator_addr).await);

    // Create wave: one `kubectl apply` of every manifest, as a user applies a directory.
    let manifests = dir.join("objects.json");
    let items: Vec<Value> = (0..n).map(|i| manifest(&namespace, i)).collect();
    std::fs::write(&manifests, json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()).unwrap();
    let manifests = manifests.display().to_string();
    let started = Instant::now();
    let applied = kubectl(&plane.kubeconfig, &["apply", "-f", &manifests]).await;
    let limit = Duration::from_secs(120 + n as u64 / 2);
    eventually("every object to be Ready", limit, || async { (seen.lock().unwrap().ready.len() >= n).then_some(()) })
        .await;
    let all_ready = started.elapsed();
    let peak_create = rss.peak();
    let mut latencies: Vec<f64> = {
        let seen = seen.lock().unwrap();
        seen.ready.iter().map(|(name, ready)| ready.duration_since(seen.added[name]).as_secs_f64()).collect()
    };
    latencies.sort_by(f64::total_cmp);
    let requests_ready = apiserver_requests(&client).await;
    let calls = emulator_calls(&emulator_addr).await;
    let seq_ready = last_seq(&calls);
    let create_calls = calls_by_operation(&calls, seq_before + 1..seq_ready + 1);

    // Settled objects through one resync interval: AWS calls per second.
    let resync = if run.resync_check {
        let interval = RESYNC_CHECK_INTERVAL;
        // Every object's first drift check lies within half to one and a half intervals after it was Ready.
        tokio::time::sleep(interval / 2).await;
        let mut samples = vec![operator_aws_calls(&metrics_addr).await];
        let window = Instant::now();
        while window.elapsed() < interval {
            tokio::time::sleep(Duration::from_secs(1)).await;
            samples.push(operator_aws_calls(&metrics_addr).await);
        }
        let per_second: Vec<f64> = samples.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = per_second.iter().sum::<f64>() / per_second.len() as f64;
        let busiest = per_second.iter().copied().fold(0.0, f64::max);
        println!(
            "  resync over {interval:?}: mean {mean:.1} AWS calls/s, busiest second {busiest} ({:.2}x mean)",
            busiest / mean
        );
        json!({"intervalSeconds": interval.as_secs(), "meanCallsPerSecond": mean, "busiestSecond": busiest,
               "busiestOverMean": busiest / mean, "perSecond": per_second})
    } else {
        Value::Null
    };

    // Restarts of a settled operator, as a rolling upgrade (SIGTERM) and a crash (SIGKILL) make them.
    let restarts = if run.restart_check {
        // The bound: a settled object's drift check costs DescribeInstance and ListTagsForResource, once an interval.
        let resync_mean = 2.0 * n as f64 / DEFAULT_RESYNC.as_secs_f64();
        let mut restarts = Vec::new();
        for (how, log) in [(Restart::Term, "operator-after-sigterm.log"), (Restart::Kill, "operator-after-sigkill.log")]
        {
            let started = || start_operator(log);
            let (cost, process) =
                restart(how, &mut operator, started, &metrics_addr, &emulator_addr, &seen, resync_mean).await;
            operator = process;
            print_restart(&cost, n, resync_mean);
            restarts.push(cost);
        }
        json!(restarts)
    } else {
        Value::Null
    };

    // Delete wave.
    let seq_settled = last_seq(&emulator_calls(&emulator_addr).await);
    let requests_settled = apiserver_requests(&client).await;
    let delete_started = Instant::now();
    let delete_applied = kubectl(&plane.kubeconfig, &["delete", "--wait=false", "-f", &manifests]).await;
    eventually("every object to be gone", limit, || async { seen.lock().unwrap().present.is_empty().then_some(()) })
        .await;
    let all_gone = delete_started.elapsed();
    let requests_gone = apiserver_requests(&client).await;
    let calls = emulator_calls(&emulator_addr).await;
    let mut delete_calls = calls_by_operation(&calls, seq_settled + 1..last_seq(&calls) + 1);
    // Objects not yet deleted keep their drift checks (DescribeInstance, then
    // ListTagsForResource); only the resync check's short interval lets them
    // fall inside the wave. They are counted apart.
    let drift_checks = delete_calls.remove("ListTagsForResource").unwrap_or_default();
    if let Some(describes) = delete_calls.get_mut("DescribeInstance") {
        *describes -= drift_checks.min(*describes);
    }
    let (repeated, duplicated_accounts) = repeated_creates(&calls);
    // What the operator keeps once every object is gone: right away, and
    // after idle connections time out (the HTTP clients' pools keep idle
    // connections, and their buffers, for 90 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_after = rss.current();
    let anon_after = status_mib(pid, "RssAnon:").unwrap_or(f64::NAN);
    let mut waves = vec![json!({"wave": 1, "allReadySeconds": all_ready.as_secs_f64(),
        "allGoneSeconds": all_gone.as_secs_f64(), "rssEndMiB": rss_after, "anonEndMiB": anon_after,
        "accountsWithTwoInstances": duplicated_accounts})];
    for wave in 2..=run.waves {
        let again = Wave { plane, manifests: &manifests, seen: &seen, emulator_addr: &emulator_addr, n, limit };
        let mut figures = again.run().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        figures["wave"] = json!(wave);
        figures["rssEndMiB"] = json!(rss.current());
        figures["anonEndMiB"] = json!(status_mib(pid, "RssAnon:").unwrap_or(f64::NAN));
        println!("  wave {wave}: {figures}");
        waves.push(figures);
    }
    let (rss_settled, anon_settled) = match run.settle {
        Some(settle) => {
            tokio::time::sleep(settle).await;
            (rss.current(), status_mib(pid, "RssAnon:").unwrap_or(f64::NAN))
        }
        None => (f64::NAN, f64::NAN),
    };
    let rss_peak = rss.peak();

    watch_task.abort();
    stop(&mut operator, Duration::from_secs(30)).await;
    stop(&mut emulator, Duration::from_secs(5)).await;

    let ready_bound = applied.as_secs_f64() + CREATE_SECONDS;
    let gone_bound = delete_applied.as_secs_f64() + DELETE_SECONDS;
    let total = |counts: &BTreeMap<String, u64>| counts.values().sum::<u64>() as f64 / n as f64;
    let per = |counts: &BTreeMap<String, u64>| -> BTreeMap<String, f64> {
        counts.iter().map(|(k, v)| (k.clone(), *v as f64 / n as f64)).collect()
    };
    json!({
        "n": n,
        "applySeconds": applied.as_secs_f64(),
        "allReadySeconds": all_ready.as_secs_f64(),
        "readyLowerBoundSeconds": ready_bound,
        "readyRatio": all_ready.as_secs_f64() / ready_bound,
        "readyLatencyP50Seconds": percentile(&latencies, 0.5),
        "readyLatencyP99Seconds": percentile(&latencies, 0.99),
        "deleteApplySeconds": delete_applied.as_secs_f64(),
        "allGoneSeconds": all_gone.as_secs_f64(),
        "goneLowerBoundSeconds": gone_bound,
        "goneRatio": all_gone.as_secs_f64() / gone_bound,
        "awsCallsPerObjectCreate": total(&create_calls),
        "awsCallsPerObjectDelete": total(&delete_calls),
        "driftChecksDuringDelete": drift_checks,
        "awsCallsByOperationCreate": per(&create_calls),
        "awsCallsByOperationDelete": per(&delete_calls),
        "apiserverRequestsPerObjectCreate": per_object(&requests_before, &requests_ready, n),
        "apiserverRequestsPerObjectDelete": per_object(&requests_settled, &requests_gone, n),
        "rssIdleMiB": rss_idle,
        "rssPeakCreateMiB": peak_create,
        "rssPeakMiB": rss_peak,
        "rssAfterDeleteMiB": rss_after,
        "rssSettledMiB": rss_settled,
        "anonIdleMiB": anon_idle,
        "anonAfterDeleteMiB": anon_after,
        "anonSettledMiB": anon_settled,
        "settleSeconds": run.settle.map(|s| s.as_secs()),
        "repeatedCreateInstance": repeated,
        "accountsWithTwoInstances": duplicated_accounts,
        "resync": resync,
        "restarts": restarts,
        "waves": waves,
    })
}

/// Another create-and-delete wave of the same manifests on the same operator.
struct Wave<'a> {
    plane: &'a ControlPlane,
    manifests: &'a str,
    seen: &'a Arc<Mutex<Seen>>,
    emulator_addr: &'a str,
    n: usize,
    limit: Duration,
}

impl Wave<'_> {
    async fn run(&self) -> Value {
        let Self { plane, manifests, seen, emulator_addr, n, limit } = self;
        {
            let mut seen = seen.lock().unwrap();
            seen.added.clear();
            seen.ready.clear();
        }
        let seq_before = last_seq(&emulator_calls(emulator_addr).await);
        let started = Instant::now();
        let applied = kubectl(&plane.kubeconfig, &["apply", "-f", manifests]).await;
        eventually("every object to be Ready again", *limit, || async {
            (seen.lock().unwrap().ready.len() >= *n).then_some(())
        })
        .await;
        let all_ready = started.elapsed();
        let delete_started = Instant::now();
        kubectl(&plane.kubeconfig, &["delete", "--wait=false", "-f", manifests]).await;
        eventually("every object to be gone again", *limit, || async {
            seen.lock().unwrap().present.is_empty().then_some(())
        })
        .await;
        let all_gone = delete_started.elapsed();
        let calls = emulator_calls(emulator_addr).await;
        let wave_calls: Vec<Value> = calls.into_iter().filter(|c| c["seq"].as_u64() > Some(seq_before)).collect();
        let (repeated, duplicated_accounts) = repeated_creates(&wave_calls);
        json!({"applySeconds": applied.as_secs_f64(), "allReadySeconds": all_ready.as_secs_f64(),
               "readyRatio": all_ready.as_secs_f64() / (applied.as_secs_f64() + CREATE_SECONDS),
               "allGoneSeconds": all_gone.as_secs_f64(), "repeatedCreateInstance": repeated,
               "accountsWithTwoInstances": duplicated_accounts})
    }
}

#[derive(Clone, Copy, Debug)]
enum Restart {
    Term,
    Kill,
}

/// How long after a restart its AWS calls are counted.
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Stops the operator as `how` says, starts another and counts what the next
/// `RESTART_WINDOW` costs AWS: calls (the emulator's log, exact) and the
/// busiest second (the new process's counter, sampled each second).
async fn restart(
    how: Restart,
    operator: &mut tokio::process::Child,
    start: impl FnOnce() -> tokio::process::Child,
    metrics_addr: &str,
    emulator_addr: &str,
    seen: &Arc<Mutex<Seen>>,
    resync_mean: f64,
) -> (Value, tokio::process::Child) {
    seen.lock().unwrap().left_ready.clear();
    let seq_before = last_seq(&emulator_calls(emulator_addr).await);
    match how {
        Restart::Term => {
            stop(operator, Duration::from_secs(30)).await;
        }
        Restart::Kill => {
            operator.kill().await.unwrap();
        }
    }
    let started = Instant::now();
    let process = start();
    ready("the restarted operator to be ready", metrics_addr, Duration::from_secs(60)).await;
    let readyz = started.elapsed();
    let mut samples = vec![operator_aws_calls(metrics_addr).await];
    while started.elapsed() < RESTART_WINDOW {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(operator_aws_calls(metrics_addr).await);
    }
    let per_second: Vec<f64> = samples.windows(2).map(|w| w[1] - w[0]).collect();
    let calls = emulator_calls(emulator_addr).await;
    let by_operation = calls_by_operation(&calls, seq_before + 1..last_seq(&calls) + 1);
    let left_ready = seen.lock().unwrap().left_ready.len();
    let cost = json!({
        "signal": format!("{how:?}"),
        "readyzSeconds": readyz.as_secs_f64(),
        "windowSeconds": RESTART_WINDOW.as_secs(),
        "awsCalls": by_operation.values().sum::<u64>(),
        "awsCallsByOperation": by_operation,
        // The calls before the first sample fell within the start's first second.
        "busiestSecond": per_second.iter().copied().fold(samples[0], f64::max) + 0.0,
        "meanResyncCallsPerSecond": resync_mean,
        "objectsThatLeftReady": left_ready,
        "perSecond": per_second,
    });
    (cost, process)
}

fn print_restart(cost: &Value, n: usize, resync_mean: f64) {
    let calls = cost["awsCalls"].as_f64().unwrap_or_default();
    let busiest = cost["busiestSecond"].as_f64().unwrap_or_default();
    let over_resync = format!("{:.2}x the mean resync rate {resync_mean:.1}/s (target <= 2x)", busiest / resync_mean);
    println!(
        "  restart by {}: /readyz {:.2}s; next {} s: {calls} AWS calls = {:.3} per object (target <= 0.05), \
         busiest second {busiest} = {over_resync}; {} objects left Ready",
        cost["signal"].as_str().unwrap_or_default(),
        cost["readyzSeconds"].as_f64().unwrap_or_default(),
        cost["windowSeconds"],
        calls / n as f64,
        cost["objectsThatLeftReady"],
    );
}

fn print_row(result: &Value) {
    let f = |key: &str| result[key].as_f64().unwrap_or(f64::NAN);
    println!(
        "  N={:<5} applied {:>6.1}s  all Ready {:>6.1}s (bound {:>6.1}s, ratio {:>5.2})  p50/p99 {:.1}/{:.1}s  \
         all gone {:>6.1}s (bound {:>6.1}s, ratio {:>5.2})",
        result["n"],
        f("applySeconds"),
        f("allReadySeconds"),
        f("readyLowerBoundSeconds"),
        f("readyRatio"),
        f("readyLatencyP50Seconds"),
        f("readyLatencyP99Seconds"),
        f("allGoneSeconds"),
        f("goneLowerBoundSeconds"),
        f("goneRatio"),
    );
    println!(
        "         RSS idle/peak/after/settled {:.0}/{:.0}/{:.0}/{:.0} MiB (anon idle/settled {:.1}/{:.1})  AWS calls per object create {:.2} delete {:.2}  \
         repeated CreateInstance {}  accounts with two instances {}",
        f("rssIdleMiB"),
        f("rssPeakMiB"),
        f("rssAfterDeleteMiB"),
        f("rssSettledMiB"),
        f("anonIdleMiB"),
        f("anonSettledMiB"),
        f("awsCallsPerObjectCreate"),
        f("awsCallsPerObjectDelete"),
        result["repeatedCreateInstance"],
        result["accountsWithTwoInstances"],
    );
    println!(
        "         AWS create {}  delete {}",
        result["awsCallsByOperationCreate"], result["awsCallsByOperationDelete"]
    );
    println!(
        "         API server per object create {}  delete {}",
        result["apiserverRequestsPerObjectCreate"], result["apiserverRequestsPerObjectDelete"]
    );
}

/// What `make test` holds the harness to: correctness, not speed.
fn check(result: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    expect(
        result["repeatedCreateInstance"] == 0,
        format!("repeated CreateInstance: {}", result["repeatedCreateInstance"]),
    );
    expect(
        result["accountsWithTwoInstances"] == 0,
        format!("duplicate instances: {}", result["accountsWithTwoInstances"]),
    );
    for (wave, most) in [("Create", MAX_CALLS_PER_CREATE), ("Delete", MAX_CALLS_PER_DELETE)] {
        let mut calls = result[format!("awsCallsPerObject{wave}")].as_f64().unwrap();
        // A restarted process holds no role sessions: its deletions assume each role once more.
        if wave == "Delete" && !result["restarts"].is_null() {
            calls -= result["awsCallsByOperationDelete"]["AssumeRole"].as_f64().unwrap_or_default();
        }
        expect(calls <= most, format!("{wave} wave: {calls:.2} AWS calls per object > {most}"));
    }
    for wave in result["waves"].as_array().into_iter().flatten().skip(1) {
        let duplicates = (&wave["repeatedCreateInstance"], &wave["accountsWithTwoInstances"]);
        expect(duplicates == (&json!(0), &json!(0)), format!("wave {}: duplicates {duplicates:?}", wave["wave"]));
    }
    let creates = result["awsCallsByOperationCreate"]["CreateInstance"].as_f64().unwrap_or_default();
    expect(creates == 1.0, format!("CreateInstance per object: {creates}"));
    let lists = result["apiserverRequestsPerObjectCreate"]["LIST identitycenterinstances"].as_f64().unwrap_or_default();
    expect(
        lists * result["n"].as_f64().unwrap() <= 2.0,
        format!("LISTs of every object during the wave: {lists} per object"),
    );
    failures
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check_only = args.iter().any(|a| a == "--check");
    let resync_check = args.iter().any(|a| a == "--resync");
    let restart_check = args.iter().any(|a| a == "--restart");
    let no_settle = args.iter().any(|a| a == "--no-settle");
    let waves = args.iter().find_map(|a| a.strip_prefix("--waves=")?.parse().ok()).unwrap_or(1);
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![100, 1000, 5000];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let failed = runtime.block_on(async {
        let plane = ControlPlane::start().await;
        plane.install_crds(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/crds")));
        println!("operator under test: {}", operator_binary().display());
        let mut results = Vec::new();
        let mut failures = Vec::new();
        let largest = sizes.iter().copied().max().unwrap_or_default();
        for &n in &sizes {
            let settle = (!check_only && !no_settle).then_some(SETTLE);
            let run = Run {
                n,
                resync_check: resync_check && n == largest,
                restart_check: false,
                settle,
                waves: if n == largest { waves } else { 1 },
            };
            let result = measure(&plane, &run).await;
            print_row(&result);
            failures.extend(check(&result).into_iter().map(|f| format!("N={n}: {f}")));
            results.push(result);
        }
        // Restarts get a run of their own at the default interval: the
        // resync check's short one would put drift checks inside the window.
        let restarts = match restart_check {
            true => {
                let result = measure(
                    &plane,
                    &Run { n: largest, resync_check: false, restart_check: true, settle: None, waves: 1 },
                )
                .await;
                print_row(&result);
                failures.extend(check(&result).into_iter().map(|f| format!("N={largest} restarted: {f}")));
                result
            }
            false => Value::Null,
        };
        plane.shutdown_keeping(false).await;
        if !check_only {
            let machine = json!({
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "operator": operator_binary().display().to_string(),
                "createSeconds": CREATE_SECONDS, "deleteSeconds": DELETE_SECONDS,
                "applier": "kubectl apply -f (one List of every object); kubectl delete --wait=false -f",
            });
            let out = std::env::var("ICO_BENCH_OUT").unwrap_or_else(|_| "bench/results.json".into());
            let document = json!({"machine": machine, "runs": results, "restartRun": restarts});
            std::fs::write(&out, serde_json::to_string_pretty(&document).unwrap()).unwrap();
            println!("wrote {out}");
        }
        for failure in &failures {
            println!("FAILED {failure}");
        }
        let passed =
            sizes.len() - sizes.iter().filter(|n| failures.iter().any(|f| f.starts_with(&format!("N={n}:")))).count();
        println!("scale: {passed} passed, {} failed", sizes.len() - passed);
        !failures.is_empty()
    });
    std::process::exit(i32::from(failed));
}
