# syntax=docker/dockerfile:1
#
# identity-center-operator image: one static binary on distroless/static.
# The sso-admin-emulator image (the chart's optional sandbox emulator) is
# built from the same builder stage:
#
#   docker build -t identity-center-operator:dev .
#   docker build --target sso-admin-emulator -t sso-admin-emulator:dev .
#   docker run --rm identity-center-operator:dev crd
#
# Why musl-static on distroless/static (and not glibc on distroless/cc):
# the binary does TLS with rustls (ring and aws-lc-rs, both compiled into it),
# links no OpenSSL and needs no glibc NSS, so a fully static musl build runs on
# an image that holds only CA certificates, /etc/passwd with the nonroot user,
# and tzdata: about 2 MB of base instead of about 20 MB, and no libc to patch.
# musl's allocator is slower than glibc's under heavy multi-threaded load; a
# controller reconciling a handful of objects does not notice.
# The builder is Alpine, where musl is the native libc, so the C parts
# (aws-lc-sys, ring) build with the system compiler and multi-arch builds
# (buildx --platform linux/amd64,linux/arm64) need no cross toolchain.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS builder
# musl-dev: libc headers and static libs; cmake, perl, make: aws-lc-sys build
# fallbacks; binutils: readelf for the static-linking check below.
RUN apk add --no-cache musl-dev gcc make cmake perl binutils
WORKDIR /src

# Dependency caching: the cargo registry, git checkouts and target/ live in
# BuildKit cache mounts that survive between builds, so a source change
# recompiles only this crate, and Cargo.lock changes fetch only what changed.
# (A cache mount is not part of the image; the binary is copied out of it.)
COPY . .
RUN --mount=type=cache,id=ico-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=ico-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=ico-target,target=/src/target,sharing=locked \
    cargo build --release --locked --bin identity-center-operator --bin sso-admin-emulator \
 && mkdir -p /out \
 && for binary in identity-center-operator sso-admin-emulator; do \
      cp target/release/$binary /out/$binary \
      && if readelf -d /out/$binary | grep -q NEEDED; then \
           echo "$binary is dynamically linked:"; readelf -d /out/$binary; exit 1; \
         fi \
      && /out/$binary --help >/dev/null || exit 1; \
    done

FROM gcr.io/distroless/static-debian12:nonroot AS sso-admin-emulator
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sso-admin-emulator" \
      org.opencontainers.image.description="A local AWS IAM Identity Center (SSO Admin) and STS endpoint for tests" \
      org.opencontainers.image.source="https://github.com/identity-center-operator/identity-center-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /out/sso-admin-emulator /sso-admin-emulator
USER 65532:65532
EXPOSE 4566
ENTRYPOINT ["/sso-admin-emulator"]
CMD ["--listen", "0.0.0.0:4566"]

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="identity-center-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages AWS IAM Identity Center instances" \
      org.opencontainers.image.source="https://github.com/identity-center-operator/identity-center-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /out/identity-center-operator /identity-center-operator
# 65532 is distroless's "nonroot"; numeric so that runAsNonRoot can verify it.
USER 65532:65532
# /metrics, /healthz, /readyz.
EXPOSE 8080
ENTRYPOINT ["/identity-center-operator"]
CMD ["run"]
