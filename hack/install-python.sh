#!/usr/bin/env bash
# The Python packages of the conformance tests, the chart checks and the scale
# plot, in a virtual environment in the tools cache: a system Python that
# refuses pip installs (PEP 668, as on Debian) is left alone. Idempotent.
# Extra packages may be named as arguments (make bench-scale adds matplotlib).
set -euo pipefail

venv=${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/venv
packages=(boto3 'moto[server]' pytest pyyaml "$@")

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

# Module names of the packages, to skip pip when all are there.
modules=(boto3 botocore moto flask flask_cors pytest yaml)
for extra in "$@"; do modules+=("$extra"); done
if ! "$venv/bin/python" -c "import $(IFS=,; echo "${modules[*]}")" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
fi
[ -x "$venv/bin/moto_server" ] || { echo "moto_server is missing from $venv after installing moto[server]" >&2; exit 1; }
echo "$venv"
