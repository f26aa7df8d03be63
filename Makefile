# identity-center-operator: the two commands a newcomer needs.
#   make demo   the operator's main job, end to end, on local defaults
#   make test   every check and test suite (what CI runs)

SHELL := /bin/bash
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
# Tools built by hack/ (kubectl only where the machine has none), and the
# Python virtual environment of the tests (moto_server).
TOOLS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/identity-center-operator
export PATH := $(TOOLS)/venv/bin:$(PATH):$(TOOLS)/bin
PYTHON := $(TOOLS)/venv/bin/python
BIN := $(CARGO_TARGET_DIR)/debug/identity-center-operator
EMULATOR_BIN := $(CARGO_TARGET_DIR)/debug/sso-admin-emulator

.PHONY: demo demo-stop test tools build crd lint cargo-test e2e conformance chart manifests install-yaml image image-smoke bench bench-scale bench-tenants bench-set

## Start a local control plane, the emulator and the operator; apply examples/.
demo: build
	hack/build-controlplane.sh >/dev/null
	cargo build --example demo
	hack/demo.sh start

demo-stop:
	hack/demo.sh stop

## Everything CI checks: formatting and lints, the Rust suites (unit,
## reconcile, emulator conformance, CRD freshness, end to end), the boto3,
## moto and aws-sdk-go-v2 conformance, the chart and its Argo CD health
## check, and the images.
test: tools lint cargo-test conformance chart manifests image-smoke

tools:
	hack/install-tools.sh

## The binaries (the operator and sso-admin-emulator), with the same
## dependency features as the test build (dev dependencies add some), so
## that the dependencies are compiled once.
build:
	cargo test --workspace --no-run

## Regenerate the CRDs (and the chart's copies) from the Rust types.
crd: build
	for plural in identitycenterinstances identitycenteraccountgrants identitycenterinstancesets; do \
	  $(BIN) crd $$plural > crds/$$plural.yaml && cp crds/$$plural.yaml charts/identity-center-operator/crds/; \
	done

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

cargo-test:
	hack/build-controlplane.sh >/dev/null
	cargo test --workspace
	cargo test --bench scale -- --check 50 --waves=2

## The emulator through boto3 and moto (pytest), then through aws-sdk-go-v2.
conformance: build
	EMULATOR_BIN=$(EMULATOR_BIN) $(PYTHON) -m pytest -q tests/conformance
	EMULATOR_BIN=$(EMULATOR_BIN) hack/go-conformance.sh

## Only the end-to-end suite; `make e2e FILTER=sigkill` runs the scenarios whose name matches.
e2e: build
	hack/build-controlplane.sh >/dev/null
	cargo test --test e2e -- $(FILTER)

chart:
	$(PYTHON) charts/identity-center-operator/argocd/run_tests.py
	$(PYTHON) charts/identity-center-operator/tests/test_chart.py

## The rendered chart, examples/ and deploy/install.yaml as users' pipelines
## check them: kubeconform -strict, kube-score, prometheus-operator's Go types.
manifests:
	hack/manifests/check.sh

## Re-render deploy/install.yaml (the chart's defaults, for users without Helm).
install-yaml:
	hack/manifests/render-install.sh deploy/install.yaml

## The release musl-static binaries and the images of the operator and the
## emulator, as OCI archives in target/image (buildah, no daemon, FROM scratch).
image:
	hack/image.sh

## Runs the images' root filesystems (chroot as 65532): --version, crd, and,
## on the real control plane, /readyz and one object to Ready.
image-smoke: image
	hack/build-controlplane.sh >/dev/null
	cargo run --example image-smoke -- target/image

## Emulator throughput (optimized build; not part of make test).
bench:
	cargo bench -p sso-admin-emulator --bench throughput

## N = 100, 1,000 and 5,000 objects (three waves at 5,000), then 10,000, on
## the real control plane (optimized build; not part of make test, which runs
## the same harness at N = 50, two waves). Writes bench/results.json,
## bench/results-10000.json, bench/scale.png and bench/scale-waves.png.
## What one hostile or busy namespace costs the others: memory under 400
## refused 150 KB objects, and a quiet object's time to Ready beside 300
## throttled, churning ones (release build; not part of make test). Writes
## bench/tenants.json and bench/tenants.png; TENANTS_BEFORE=<json> draws an
## older run beside it.
bench-tenants:
	hack/build-controlplane.sh >/dev/null
	hack/install-python.sh matplotlib >/dev/null
	cargo build --release -p sso-admin-emulator
	cargo bench --bench tenants
	$(PYTHON) bench/plot_tenants.py bench/tenants.json bench/tenants.png $(TENANTS_BEFORE)

## One IdentityCenterInstanceSet over 5,000 accounts in 50 OUs: time to all
## Ready against its lower bound, Organizations calls per read, AWS calls per
## account, peak RSS. Writes bench/instance-set.json and bench/instance-set.png.
bench-set:
	hack/build-controlplane.sh >/dev/null
	hack/install-python.sh matplotlib >/dev/null
	cargo build --release -p sso-admin-emulator
	cargo bench --bench instance_set
	$(PYTHON) bench/plot_set.py bench/instance-set.json bench/instance-set.png

bench-scale:
	hack/build-controlplane.sh >/dev/null
	hack/install-python.sh matplotlib >/dev/null
	cargo build --release -p sso-admin-emulator
	cargo bench --bench scale -- $(or $(SIZES),100 1000 5000) --waves=3 --resync --restart
	ICO_BENCH_OUT=bench/results-10000.json cargo bench --bench scale -- 10000
	$(PYTHON) bench/plot.py bench/results.json,bench/results-10000.json bench/scale.png $(BEFORE)
