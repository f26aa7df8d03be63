//! What the end-to-end suite, the demo and the benchmarks share: a real
//! kube-apiserver and etcd ([`controlplane`]), child processes that die with
//! the test run ([`process`]), the one HTTP client ([`http`]), the one
//! kubectl wrapper ([`kubectl`]), objects as a user writes them ([`fixtures`])
//! and a process's memory ([`memory`]).

pub mod bench;
pub mod controlplane;
pub mod fixtures;
pub mod http;
pub mod kubectl;
pub mod memory;
pub mod process;
