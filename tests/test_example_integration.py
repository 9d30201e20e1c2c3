"""Integration tier: the example project with real packages from the package index.

`uv lock` writes the lock at test time (the index comes from uv's own configuration), then
`uv build` (isolated, wheel built from the sdist, through the build hook) and `hatch build -t
lambda` (the builder) must give the same layers, and the function must run the way Lambda loads
it, with boto3 supplied by a stand-in for the runtime. Skips with a reason when the index cannot
be reached.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers.layers.elf import zip_elf_machines
from tests.lambdaemu import run_handler
from tests.realindex import UV, lock_from_index, unreachable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
HATCH = shutil.which("hatch")


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("example") / "example_project"
    shutil.copytree(
        ROOT / "example_project", project, ignore=shutil.ignore_patterns("dist", "uv.lock", ".venv")
    )
    # The copy no longer sits inside this repository: point both build front-ends at it.
    text = (project / "pyproject.toml").read_text()
    text = text.replace('{ path = ".." }', f'{{ path = "{ROOT}" }}')
    text = text.replace("{root:parent:uri}", ROOT.as_uri())
    (project / "pyproject.toml").write_text(text)
    lock_from_index(project)
    return project


def _manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "lambda" / "manifest.json").read_text())
    return data


@pytest.fixture(scope="module")
def built(example: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    env = {
        **os.environ,
        "HATCH_LAMBDA_LAYERS_CACHE_DIR": str(out / "cache"),
        "HATCH_BUILD_HOOK_ENABLE_LAMBDA": "1",
    }
    assert UV is not None
    uv_out = out / "uv"
    proc = _run([UV, "build", "--no-progress", "--out-dir", str(uv_out)], example, env)
    if proc.returncode != 0 and unreachable(proc):
        pytest.skip("package index unreachable for the build environment")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = {"uv": uv_out}
    if HATCH is not None:
        hatch_out = out / "hatch"
        hatch_env = {
            **env,
            "HATCH_DATA_DIR": str(out / "hatch-data"),
            "HATCH_CACHE_DIR": str(out / "hatch-cache"),
        }
        proc = _run([HATCH, "build", "-t", "lambda", str(hatch_out)], example, hatch_env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result["hatch"] = hatch_out
    return result


def test_uv_build_writes_artifacts_from_the_sdist(built: dict[str, Path]) -> None:
    uv_out = built["uv"]
    assert list(uv_out.glob("orders_api-1.0.0.tar.gz"))
    assert list(uv_out.glob("orders_api-1.0.0-*.whl"))
    manifest = _manifest(uv_out)
    names = {p["name"] for layer in manifest["layers"] for p in layer["packages"]}
    assert {"pydantic", "pydantic-core", "requests", "urllib3"} <= names
    assert not names & {"boto3", "botocore", "s3transfer", "jmespath"}
    provided = {p["name"]: p["reason"] for p in manifest["provided"]}
    assert provided["boto3"] == "provided"
    assert provided["botocore"].startswith("only needed by provided")
    assert "urllib3" not in provided  # requests needs it too


def test_hatch_and_uv_give_the_same_layers(built: dict[str, Path]) -> None:
    if "hatch" not in built:
        pytest.skip("hatch is not installed")
    a, b = _manifest(built["uv"]), _manifest(built["hatch"])
    assert [(x["name"], x["content_hash"], x["sha256"]) for x in a["layers"]] == [
        (x["name"], x["content_hash"], x["sha256"]) for x in b["layers"]
    ]
    assert [f["sha256"] for f in a["functions"]] == [f["sha256"] for f in b["functions"]]


def test_layers_hold_no_boto_and_only_x86_64_objects(built: dict[str, Path]) -> None:
    out = built["uv"] / "lambda"
    machines: dict[str, str] = {}
    for layer in _manifest(built["uv"])["layers"]:
        import zipfile

        with zipfile.ZipFile(out / layer["file"]) as zf:
            names = zf.namelist()
        assert all(n.startswith("python/") for n in names)
        assert not any(n.startswith(("python/boto3/", "python/botocore/")) for n in names)
        machines.update(zip_elf_machines(out / layer["file"]))
    assert any("pydantic_core" in k for k in machines)
    assert set(machines.values()) == {"x86_64"}


class _Pricing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"unit_price": 2.5 if "sku=A" in self.path else 10}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _runtime_with_boto3(dest: Path) -> Path:
    """A stand-in for /var/runtime: the host's boto3 and what it needs, outside site-packages."""
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            pytest.skip(f"{name} is not installed here to stand in for the runtime's boto3")
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, dest / name)
        else:
            shutil.copy(origin, dest / origin.name)
    return dest


def test_example_runs_like_lambda(built: dict[str, Path], tmp_path: Path) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the example targets python3.11; run the handler with a 3.11 interpreter")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pricing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/price"
        event = {
            "order": {
                "order_id": "o-1",
                "lines": [{"sku": "A", "quantity": 4}, {"sku": "B", "quantity": 1}],
            },
            "pricing_url": url,
        }
        result = run_handler(
            built["uv"] / "lambda" / "manifest.json",
            tmp_path / "lambda",
            event,
            runtime_dirs=[_runtime_with_boto3(tmp_path / "runtime")],
        )
        bad = run_handler(
            built["uv"] / "lambda" / "manifest.json",
            tmp_path / "lambda2",
            {"order": {"order_id": "o-2", "lines": []}, "pricing_url": url},
            runtime_dirs=[tmp_path / "runtime"],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result["result"]["statusCode"] == 200
    assert result["result"]["total"] == "20.0"
    assert "/opt/python/pydantic/" in result["origins"]["pydantic"]
    assert "/opt/python/pydantic_core/" in result["origins"]["pydantic_core"]
    assert "/opt/python/requests/" in result["origins"]["requests"]
    assert "/var/task/orders_api/" in result["origins"]["orders_api"]
    assert str(tmp_path / "runtime") in result["origins"]["boto3"]
    assert bad["result"] == {"statusCode": 400, "errors": 1}
