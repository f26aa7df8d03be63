//! Child processes that die with the test run, whatever ends it, and polling.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `program`, logging to `log`; the kernel kills it if this process dies.
pub fn spawn(program: &Path, args: &[String], envs: &[(String, String)], log: &Path) -> Child {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut command = Command::new(program);
    command.args(args).envs(envs.iter().cloned()).stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
    command.kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
}

/// Stops a child: SIGTERM, then SIGKILL after `grace`. True when it
/// exited by itself, successfully.
pub async fn stop(child: &mut Child, grace: Duration) -> bool {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status.is_ok_and(|s| s.success()),
        Err(_) => {
            let _ = child.kill().await;
            false
        }
    }
}

/// SIGSTOP: the child stops dead, as in a long GC pause or a frozen node,
/// with its connections and timers left as they are.
pub fn freeze(child: &Child) {
    signal(child, libc::SIGSTOP);
}

/// SIGCONT: a frozen child carries on from where it stopped.
pub fn thaw(child: &Child) {
    signal(child, libc::SIGCONT);
}

fn signal(child: &Child, signal: i32) {
    let pid = child.id().expect("the child is running");
    // SAFETY: sending a signal to our own child.
    let sent = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(sent, 0, "signal {signal} to {pid}");
}

/// A binary of this workspace, built next to the running test or benchmark
/// (`target/<profile>/deps/<test>` -> `target/<profile>/<name>`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<executable>");
    let binary = profile_dir.join(name);
    assert!(binary.exists(), "{} is not built: run `cargo build -p {name}` (make test does)", binary.display());
    binary
}

/// Polls `check` every 200 ms until it returns Some, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_every(Duration::from_millis(200), what, limit, check).await
}

/// Polls `check` every `interval` until it returns Some, or panics with `what` after `limit`.
pub async fn poll_every<T, F, Fut>(interval: Duration, what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Waits until something accepts connections on `addr`.
pub async fn listening(what: &str, addr: &str, limit: Duration) {
    poll_every(Duration::from_millis(10), what, limit, || async {
        tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
    })
    .await;
}

/// Waits until the operator at `addr` answers GET /readyz with 200; polls
/// every 10 ms, so that the time it took can be measured.
pub async fn ready(what: &str, addr: &str, limit: Duration) {
    poll_every(Duration::from_millis(10), what, limit, || async {
        let up = tokio::net::TcpStream::connect(addr).await.is_ok();
        (up && crate::http::json("GET", addr, "/readyz", "").await.0 == 200).then_some(())
    })
    .await;
}
