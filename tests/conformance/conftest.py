"""Starts the emulator binary and moto_server on free loopback ports."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def emulator_binary() -> str:
    explicit = os.environ.get("EMULATOR_BIN")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "debug" / "sso-admin-emulator")


def serve(command: list, health_path: str):
    """Runs a server on a free loopback port; yields its URL, stops it after."""
    port = free_port()
    process = subprocess.Popen(
        [part.format(port=port) for part in command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + health_path, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def emulator(tmp_path_factory, name: str, settings: str):
    """Runs the emulator with `settings` (its YAML config); yields its URL."""
    config = tmp_path_factory.mktemp(name) / "config.yaml"
    config.write_text(settings)
    command = [emulator_binary(), "--listen", "127.0.0.1:{port}", "--config", str(config)]
    yield from serve(command, "/_emulator/health")


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory):
    yield from emulator(
        tmp_path_factory,
        "emulator",
        "createSeconds: 0.2\ndeleteSeconds: 0.2\nmanagementAccounts: ['999999999999']\n"
        "failCreation:\n- name: doomed\n  reason: Quota reached\n",
    )


ORG_ARN = "arn:aws:sso:::instance/ssoins-0rg0rg0rg0rg0rg0"
DISABLED_KEY = "arn:aws:kms:eu-west-1:999999999999:key/mrk-dddddddddddddddddddddddddddddddd"


@pytest.fixture(scope="session")
def organization_url(tmp_path_factory):
    """An emulator whose management account 999999999999 holds the organization instance."""
    yield from emulator(
        tmp_path_factory,
        "organization",
        "managementAccounts: ['999999999999']\n"
        "encryptionSeconds: 0.3\nregionAddSeconds: 0.3\nregionRemoveSeconds: 0.3\n"
        f"instances:\n- {{account: '999999999999', region: eu-west-1, arn: '{ORG_ARN}', visibleTo: ['111122223333']}}\n"
        f"unusableKmsKeys:\n  '{DISABLED_KEY}': {{refuse: KMS_DisabledException}}\n",
    )


@pytest.fixture(scope="session")
def moto_url():
    yield from serve(["moto_server", "-H", "127.0.0.1", "-p", "{port}"], "/moto-api/")


def client(service: str, url: str, key: str = "AKIA111122223333TEST"):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        config=boto3.session.Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False),
    )
