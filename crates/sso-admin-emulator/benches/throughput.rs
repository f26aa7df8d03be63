//! Emulator throughput: DescribeInstance over keep-alive HTTP/1.1
//! connections from this process. Prints requests per second and latency.
//!
//!   cargo bench --bench emulator -- [requests] [connections]

use std::time::{Duration, Instant};

use sso_admin_emulator::{Config, Emulator};
use test_support::http::Connection;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIA111122223333TEST/20261128/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=0";

/// Sends one SSO Admin request on a kept-alive connection; returns its status and body.
async fn call(connection: &mut Connection, target: &str, body: &str) -> (u16, String) {
    let target = format!("SWBExternalService.{target}");
    let headers =
        [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str()), ("authorization", AUTH)];
    let response = connection.send("POST", "/", &headers, body.as_bytes()).await;
    (response.status, response.body)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(100_000);
    let connections = args.get(1).copied().unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let running = Emulator::start(Config { create_seconds: 0.0, call_log_limit: 10_000, ..Config::default() }).await.unwrap();
        let addr = running.addr.to_string();
        let mut setup = Connection::open(&addr).await;
        let (status, created) = call(&mut setup, "CreateInstance", r#"{"ClientToken":"bench"}"#).await;
        assert_eq!(status, 200);
        let created: serde_json::Value = serde_json::from_str(&created).unwrap();
        let describe = format!(r#"{{"InstanceArn":"{}"}}"#, created["InstanceArn"].as_str().unwrap());

        let started = Instant::now();
        let per_connection = requests / connections;
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let (describe, addr) = (describe.clone(), addr.clone());
                tokio::spawn(async move {
                    let mut connection = Connection::open(&addr).await;
                    let mut latencies = Vec::with_capacity(per_connection);
                    for _ in 0..per_connection {
                        let sent = Instant::now();
                        let (status, _) = call(&mut connection, "DescribeInstance", &describe).await;
                        assert_eq!(status, 200);
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = Vec::new();
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        println!(
            "emulator DescribeInstance: {} requests over {connections} connections in {:.2?}: {:.0} requests/s, p50 {:.2?}, p99 {:.2?}",
            latencies.len(),
            elapsed,
            latencies.len() as f64 / elapsed.as_secs_f64(),
            at(0.5),
            at(0.99)
        );
    });
}
