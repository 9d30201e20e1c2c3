"""A moto server on 127.0.0.1 for the publish tests, reached by boto3 over real HTTP.

One server per test process; every test gets a reset server and an environment that points
boto3 at it (``AWS_ENDPOINT_URL``) with fake credentials and no user configuration.
"""

from __future__ import annotations

import atexit
import functools
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("moto.server", reason="moto[server] is needed for the publish tests")
from moto.server import ThreadedMotoServer


@functools.cache
def _moto_server() -> str:
    """One server per test process, started on first use and stopped at exit."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    atexit.register(server.stop)
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The endpoint URL of a freshly reset moto server; boto3 in this test talks to it."""
    endpoint = _moto_server()
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    empty: Path = tmp_path_factory.mktemp("aws-config")
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return endpoint
