# syntax=docker/dockerfile:1
#
# The images of identity-center-operator and of sso-admin-emulator: one
# static binary each, on a base of CA certificates and a passwd entry for
# 65532, nothing else (FROM scratch). One file for both ways of building:
#
#   docker build -t identity-center-operator:dev .
#   docker build --target sso-admin-emulator -t sso-admin-emulator:dev .
#       compile in the `builder` stage (Alpine, where musl is the native libc);
#   make image
#       compiles on the host (hack/image.sh: musl target, Debian's CA
#       certificates) and builds the same final stages with buildah,
#       --build-arg BINARIES=prebuilt, no daemon and no base image to pull.
#
# Why static musl: the binaries do TLS with rustls (aws-lc-rs and ring built
# in), link no OpenSSL and need no NSS, so nothing of a libc is needed at run
# time and there is no libc to patch.

ARG RUST_VERSION=1.95
ARG BINARIES=builder

FROM rust:${RUST_VERSION}-alpine AS builder
# musl-dev: libc headers and static libs; cmake, perl, make: aws-lc-sys build
# fallbacks; binutils: readelf; ca-certificates: the image's trust store.
RUN apk add --no-cache musl-dev gcc make cmake perl binutils ca-certificates
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=ico-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=ico-target,target=/src/target,sharing=locked \
    cargo build --release --locked -p identity-center-operator --bin identity-center-operator \
      -p sso-admin-emulator --bin sso-admin-emulator \
 && mkdir -p /out/rootfs/etc/ssl/certs \
 && cp target/release/identity-center-operator target/release/sso-admin-emulator /out/ \
 && cp /etc/ssl/certs/ca-certificates.crt /out/rootfs/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/rootfs/etc/group \
 && for binary in identity-center-operator sso-admin-emulator; do \
      if readelf -d /out/$binary | grep -q NEEDED; then echo "$binary is dynamically linked" >&2; exit 1; fi; \
    done

# What `make image` compiled on the host (build/image/out, hack/image.sh).
FROM scratch AS prebuilt
COPY build/image/out/ /out/

FROM ${BINARIES} AS binaries

FROM scratch AS sso-admin-emulator
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sso-admin-emulator" \
      org.opencontainers.image.description="A local AWS IAM Identity Center (SSO Admin) and STS endpoint for tests" \
      org.opencontainers.image.source="https://github.com/identity-center-operator/identity-center-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=binaries /out/rootfs/ /
COPY --from=binaries /out/sso-admin-emulator /sso-admin-emulator
# Numeric, so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 4566
ENTRYPOINT ["/sso-admin-emulator"]
CMD ["--listen", "0.0.0.0:4566"]

FROM scratch AS identity-center-operator
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="identity-center-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages AWS IAM Identity Center instances" \
      org.opencontainers.image.source="https://github.com/identity-center-operator/identity-center-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=binaries /out/rootfs/ /
COPY --from=binaries /out/identity-center-operator /identity-center-operator
USER 65532:65532
# /metrics, /healthz, /readyz.
EXPOSE 8080
ENTRYPOINT ["/identity-center-operator"]
CMD ["run"]
