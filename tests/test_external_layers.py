"""External layers count against the unzipped total: their sizes from the configuration, the
Lambda API (a moto server on 127.0.0.1) or the cache, and unknown sizes said so."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.external_layers import _lambda_client, external_sizes
from tests.motoserver import moto_endpoint  # noqa: F401  (fixture)
from tests.projects import Fixture, copy_project

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.usefixtures("isolated_cache")

ARN = "arn:aws:lambda:us-east-1:123456789012:layer:shared-deps:3"


def layer_zip(sizes: dict[str, int]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, size in sizes.items():
            zf.writestr(name, bytes(size))
    return out.getvalue()


@pytest.fixture
def content_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """Serves layer zips on 127.0.0.1 (what Content.Location points to on AWS)."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()


@pytest.mark.usefixtures("moto_endpoint")
def test_size_read_through_the_lambda_api_then_cached(
    content_server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, served = content_server
    content = layer_zip({"python/shared/__init__.py": 1_000, "python/shared/data.bin": 250_000})
    client = boto3.client("lambda", region_name="us-east-1")
    published = client.publish_layer_version(LayerName="shared-deps", Content={"ZipFile": content})
    arn = published["LayerVersionArn"]
    served["/layer.zip"] = content

    def point_at_the_content(parsed: dict[str, Any], **_: object) -> None:
        # Marked fake: moto answers GetLayerVersion but gives no downloadable Location; this
        # points it at the same zip served on 127.0.0.1, as AWS points at S3.
        parsed["Content"]["Location"] = f"{base}/layer.zip"

    def client_for(region: str) -> Any:
        made = _lambda_client(region)
        made.meta.events.register("after-call.lambda.GetLayerVersion", point_at_the_content)
        return made

    (size,) = external_sizes([arn], {}, cache_dir=tmp_path, client_for=client_for)
    assert size.source == "Lambda API"
    assert size.unzipped == 251_000

    def unreachable(region: str) -> Any:
        raise AssertionError("a cached size needs no API call")

    (again,) = external_sizes([arn], {}, cache_dir=tmp_path, client_for=unreachable)
    assert again.source == "cache"
    assert again.unzipped == 251_000
    (configured,) = external_sizes([arn], {arn: 7}, cache_dir=tmp_path, client_for=unreachable)
    assert configured.source == "configuration"
    assert configured.unzipped == 7


def test_without_credentials_the_size_is_unknown(tmp_path: Path) -> None:
    (size,) = external_sizes([ARN], {}, cache_dir=tmp_path, client_for=lambda region: None)
    assert size.unzipped is None
    assert size.source == "unknown"
    assert "credentials" in size.note


def _with_external(project: Path, extra: str) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'external-layers = ["{ARN}"]\n' + extra)


def test_configured_size_counts_in_the_plan_and_the_limit(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    _with_external(project, f'external-layer-sizes = {{ "{ARN}" = 100_000_000 }}\n')
    capsys.readouterr()
    assert cli.main(["--quiet", "plan", str(project), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["external_layers"] == [
        {"arn": ARN, "size_unzipped": 100_000_000, "source": "configuration", "note": ""}
    ]
    assert plan["limits"]["unzipped"]["used"] > 100_000_000
    # A bigger external layer puts the project over the total: the error says so.
    project = copy_project(fixture.project, tmp_path / "q")
    _with_external(project, f'external-layer-sizes = {{ "{ARN}" = 262_144_000 }}\n')
    assert cli.main(["--quiet", "build", str(project)]) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert "262.1 MB of external layers" in error


def test_unknown_size_is_a_warning_and_the_plan_says_so(
    fixture: Fixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    project = copy_project(fixture.project, tmp_path / "p")
    _with_external(project, "")
    capsys.readouterr()
    assert cli.main(["plan", str(project)]) == 0
    captured = capsys.readouterr()
    assert f"external layer {ARN}: size unknown" in captured.out
    assert "external-layer-sizes" in captured.err
