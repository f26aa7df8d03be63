//! End-to-end suite: a real kube-apiserver and etcd, the emulator and the
//! operator as separate processes, the CRD installed from crds/ with
//! `kubectl apply --server-side`. One control plane serves every scenario;
//! each scenario has its own namespace, emulator and operator.
//!
//!   cargo test --test e2e [-- NAME_FILTER]

mod scenarios;
mod stack;

use test_support::{controlplane, http, process};

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures::FutureExt;

use controlplane::ControlPlane;

fn scenario_dirs(plane: &ControlPlane) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(plane.dir.path()).unwrap().filter_map(Result::ok);
    entries
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "etcd" && n != "certs"))
        .collect()
}

/// Prints the end of every log a failed scenario left.
fn print_logs(dirs: &[std::path::PathBuf]) {
    for dir in dirs {
        let mut logs: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(Result::ok).map(|e| e.path()).collect();
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            println!("---- last lines of {} ----", log.display());
            for line in &lines[lines.len().saturating_sub(40)..] {
                println!("{line}");
            }
        }
    }
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let failed = runtime.block_on(async {
        let started = Instant::now();
        let mut plane = ControlPlane::start().await;
        println!("control plane up at {} in {:.1?}", plane.server, started.elapsed());
        plane.install_crds(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/crds")));
        let mut failed = Vec::new();
        let mut passed = 0;
        for (name, scenario) in scenarios::ALL {
            if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let started = Instant::now();
            let before = scenario_dirs(&plane);
            let outcome = AssertUnwindSafe(scenario(&mut plane)).catch_unwind().await;
            match outcome {
                Ok(()) => {
                    passed += 1;
                    println!("test {name} ... ok ({:.1?})", started.elapsed());
                }
                Err(_) => {
                    println!("test {name} ... FAILED ({:.1?})", started.elapsed());
                    let after = scenario_dirs(&plane);
                    print_logs(&after.into_iter().filter(|d| !before.contains(d)).collect::<Vec<_>>());
                    failed.push(*name);
                }
            }
        }
        // Set ICO_E2E_KEEP=1 to keep the control plane's files and every log.
        let keep = std::env::var_os("ICO_E2E_KEEP").is_some();
        let dir = plane.dir.path().to_path_buf();
        plane.shutdown_keeping(keep).await;
        if keep {
            println!("files kept in {}", dir.display());
        }
        if !failed.is_empty() {
            println!("failed: {failed:?}");
        }
        println!("e2e: {passed} passed, {} failed", failed.len());
        !failed.is_empty()
    });
    std::process::exit(i32::from(failed));
}
