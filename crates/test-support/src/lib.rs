//! What the end-to-end suite, the demo and the benchmarks share: a real
//! kube-apiserver and etcd ([`controlplane`]), child processes that die with
//! the test run ([`process`]), the one HTTP client ([`http`]) and the one
//! kubectl wrapper ([`kubectl`]).

pub mod controlplane;
pub mod http;
pub mod kubectl;
pub mod process;
