//! What the end-to-end suite, the demo and the benchmarks share: a real
//! kube-apiserver and etcd ([`controlplane`]), child processes that die with
//! the test run, and small loopback HTTP and polling helpers ([`process`]).

pub mod controlplane;
pub mod process;
