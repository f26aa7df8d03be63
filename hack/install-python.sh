#!/usr/bin/env bash
# The Python packages of the conformance tests, the chart checks and the scale
# plot, in a virtual environment in the tools cache: a system Python that
# refuses pip installs (PEP 668, as on Debian) is left alone. Idempotent.
# Extra packages may be named as arguments (make bench-scale adds matplotlib).
set -euo pipefail

venv=${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/venv
# boto3 and botocore whose SSO Admin model has the additions of 2026-11-12
# (UpdateInstance's NetworkConfiguration, DescribeInstance's
# NetworkConfigurationDetails), which tests/conformance exercises.
sdk_minimum=1.44.8
packages=("boto3>=$sdk_minimum" "botocore>=$sdk_minimum" 'moto[server]' pytest pyyaml "$@")

if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian splits venv support (ensurepip) into its own package.
    rm -rf "$venv"
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "python3 -m venv failed and apt-get is not available; install venv support for python3" >&2
      exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    minor=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "python$minor-venv" >/dev/null || \
      $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi

# Module names of the packages, to skip pip when all are there and boto3 and
# botocore are new enough (an older venv is upgraded, not kept).
modules=(boto3 botocore moto flask flask_cors pytest yaml)
for extra in "$@"; do modules+=("$extra"); done
up_to_date() {
  "$venv/bin/python" - "$sdk_minimum" "${modules[@]}" 2>/dev/null <<'PY'
import importlib
import sys

minimum = tuple(int(part) for part in sys.argv[1].split("."))
loaded = [importlib.import_module(name) for name in sys.argv[2:]]
sdk = [module for module in loaded if module.__name__ in ("boto3", "botocore")]
sys.exit(any(tuple(int(part) for part in module.__version__.split(".")[:3]) < minimum for module in sdk))
PY
}
if ! up_to_date; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
  up_to_date || { echo "boto3 and botocore >= $sdk_minimum are missing from $venv after pip install" >&2; exit 1; }
fi
[ -x "$venv/bin/moto_server" ] || { echo "moto_server is missing from $venv after installing moto[server]" >&2; exit 1; }
echo "$venv"
