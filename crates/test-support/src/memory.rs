//! A process's memory as the kernel counts it, sampled while a benchmark runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A field of /proc/PID/status in MiB: VmRSS (all resident memory), RssAnon
/// (the heap and stacks, without the binary's code pages).
pub fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

/// Samples a process's RSS until stopped; keeps the peak since the last reset.
#[derive(Clone, Default)]
pub struct RssSampler(Arc<Mutex<(f64, f64)>>);

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let sampler = Self::default();
        let shared = sampler.0.clone();
        tokio::spawn(async move {
            while let Some(rss) = rss_mib(pid) {
                {
                    let mut state = shared.lock().unwrap();
                    state.0 = rss;
                    state.1 = state.1.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        sampler
    }
    pub fn current(&self) -> f64 {
        self.0.lock().unwrap().0
    }
    pub fn peak(&self) -> f64 {
        self.0.lock().unwrap().1
    }
}
