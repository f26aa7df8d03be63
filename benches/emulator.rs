//! Emulator throughput: DescribeInstance over keep-alive HTTP/1.1
//! connections from this process. Prints requests per second and latency.
//!
//!   cargo bench --bench emulator -- [requests] [connections]

use std::time::{Duration, Instant};

use identity_center_operator::emulator::{Config, Emulator};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIA111122223333TEST/20261128/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=0";

fn request(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nhost: bench\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: SWBExternalService.{target}\r\nauthorization: {AUTH}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one response; returns its status and body.
async fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<u8>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    (status, body)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(100_000);
    let connections = args.get(1).copied().unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let running = Emulator::start(Config { create_seconds: 0.0, call_log_limit: 10_000, ..Config::default() }).await.unwrap();
        let mut setup = BufReader::new(TcpStream::connect(running.addr).await.unwrap());
        setup.get_mut().write_all(&request("CreateInstance", r#"{"ClientToken":"bench"}"#)).await.unwrap();
        let (status, created) = read_response(&mut setup).await;
        assert_eq!(status, 200);
        let created: serde_json::Value = serde_json::from_slice(&created).unwrap();
        let body = format!(r#"{{"InstanceArn":"{}"}}"#, created["InstanceArn"].as_str().unwrap());
        let describe = request("DescribeInstance", &body);

        let started = Instant::now();
        let per_connection = requests / connections;
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let describe = describe.clone();
                let addr = running.addr;
                tokio::spawn(async move {
                    let mut stream = BufReader::new(TcpStream::connect(addr).await.unwrap());
                    let mut latencies = Vec::with_capacity(per_connection);
                    for _ in 0..per_connection {
                        let sent = Instant::now();
                        stream.get_mut().write_all(&describe).await.unwrap();
                        let (status, _) = read_response(&mut stream).await;
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
