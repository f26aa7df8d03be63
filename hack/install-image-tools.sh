#!/usr/bin/env bash
# Installs what `make image` needs beyond Rust: buildah (builds OCI images
# with no daemon), musl-gcc (the C parts of a static musl build: aws-lc, ring,
# jemalloc), readelf and Debian's CA certificates (the image's base), and the
# Rust musl target. Idempotent: installs only what is missing.
set -euo pipefail

missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || { echo "need ${missing[*]}; apt-get is not available" >&2; exit 1; }
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl >/dev/null
echo "image tools ready: $(buildah --version), musl-gcc, x86_64-unknown-linux-musl"
