//! The `identity-center-operator` binary; everything it does is in the
//! library (`command`, `lifecycle`), where tests reach it.

#![forbid(unsafe_code)]

use clap::Parser;
use identity_center_operator::command::{self, Cli};

/// jemalloc's background thread hands memory that objects no longer use back
/// to the system: after a wave of objects is deleted the operator shrinks
/// back, where the system allocator keeps what it once held.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    command::execute(Cli::parse()).await
}
