#!/usr/bin/env bash
# make demo / make demo-stop: runs target/debug/examples/demo in the
# background and shows its report once everything is Ready.
set -euo pipefail

state=${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/demo
pidfile=$state/demo.pid
target=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-start}" in
start)
  if running; then
    echo "The demo is already running:"
    sed -n '/^NAME/,/^DEMO READY/p' "$state/demo.log" | grep -v '^DEMO READY'
    exit 0
  fi
  rm -rf "$state" && mkdir -p "$state"
  setsid "$target/debug/examples/demo" "$state" >"$state/demo.log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  echo "Starting kube-apiserver, etcd, the emulator and the operator; applying examples/ ..."
  for _ in $(seq 1 300); do
    if grep -q '^DEMO READY' "$state/demo.log"; then
      grep -v '^DEMO READY' "$state/demo.log"
      exit 0
    fi
    if ! running; then
      echo "The demo failed:" >&2
      cat "$state/demo.log" >&2
      exit 1
    fi
    sleep 1
  done
  echo "The demo did not become ready in 300 s; see $state" >&2
  exit 1
  ;;
stop)
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 40); do running || break; sleep 0.5; done
    echo "Demo stopped."
  else
    echo "The demo is not running."
  fi
  rm -f "$pidfile"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
