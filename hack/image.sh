#!/usr/bin/env bash
# make image: the release musl-static binaries, built on this host, and the
# images of identity-center-operator and sso-admin-emulator built from the
# Dockerfile's final stages by buildah (no daemon, nothing pulled), written as
# OCI archives to target/image/<name>.oci.tar. Prints sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/install-image-tools.sh >/dev/null
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator"
out_dir="$PWD/target/image"
context_out="$PWD/build/image/out"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"

# The C parts (aws-lc, ring, jemalloc) are compiled with musl-gcc.
CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --locked --target x86_64-unknown-linux-musl \
  -p identity-center-operator --bin identity-center-operator -p sso-admin-emulator --bin sso-admin-emulator

rm -rf "$context_out" && mkdir -p "$context_out/rootfs/etc/ssl/certs" "$out_dir"
for binary in identity-center-operator sso-admin-emulator; do
  cp "$target_dir/x86_64-unknown-linux-musl/release/$binary" "$context_out/$binary"
  # Static: no dynamic section entries, no program interpreter.
  if readelf -d "$context_out/$binary" | grep -q NEEDED || readelf -l "$context_out/$binary" | grep -q INTERP; then
    echo "$binary is not statically linked:" >&2
    readelf -d "$context_out/$binary" >&2
    exit 1
  fi
  echo "$binary: static ($(readelf -h "$context_out/$binary" | sed -n 's/^ *Type: *//p'), no NEEDED, no INTERP), $(stat -c %s "$context_out/$binary") bytes"
done
cp /etc/ssl/certs/ca-certificates.crt "$context_out/rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  > "$context_out/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$context_out/rootfs/etc/group"

# vfs and chroot isolation: no overlay mounts, no user namespaces needed.
storage=(--storage-driver vfs --root "$tools/containers/storage" --runroot "$tools/containers/run")
for image in identity-center-operator sso-admin-emulator; do
  buildah "${storage[@]}" bud --quiet --isolation chroot --layers=false \
    --build-arg BINARIES=prebuilt --build-arg VERSION="$version" \
    --target "$image" -t "localhost/$image:$version" -f Dockerfile . >/dev/null
  rm -f "$out_dir/$image.oci.tar"
  buildah "${storage[@]}" push --quiet "localhost/$image:$version" "oci-archive:$out_dir/$image.oci.tar:$image:$version"
  buildah "${storage[@]}" rmi --force "localhost/$image:$version" >/dev/null
  python3 hack/image_size.py "$out_dir/$image.oci.tar"
done
