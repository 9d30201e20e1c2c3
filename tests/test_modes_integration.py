"""Integration tier, real packages through `uv lock` against the user's configured index:

- the data stack (pandas, numpy and the current pyarrow) for python3.12 x86_64: over Lambda's
  262,144,000 bytes as layers (the error names the modes that fit, with figures), built as an
  image context and as an EFS archive, each running its handler like Lambda with a local
  python3.12;
- a three-function uv workspace (an API with pydantic, a worker with pandas, an authorizer with
  pyjwt): the authorizer's zip plus layers under 5 MB, none of the worker's layers on the API.

Skips with a reason when the index cannot be reached, uv is missing, or no python3.12 exists.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.layers.interpreters import find_target_python
from hatch_lambda_layers.targets import UNZIPPED_MAX, get_target
from tests.lambdaemu import run_efs, run_handler, run_image
from tests.realindex import lock_from_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TARGET = get_target("python3.12", "x86_64")
PYTHON = find_target_python(TARGET)

DATA_HANDLER = """
import numpy as np
import pandas as pd
import pyarrow as pa


def handler(event, context):
    frame = pd.DataFrame({"x": np.arange(event["n"])})
    table = pa.Table.from_pandas(frame)
    return {"rows": table.num_rows, "sum": int(frame["x"].sum()), "pyarrow": pa.__version__}
"""

PROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "1.0.0"
requires-python = "==3.12.*"
dependencies = {dependencies}

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]

[tool.lambda-layers]
runtime = "python3.12"
handler = "{module}.handler"
lock = "auto"
"""


def _uv_lock(root: Path) -> None:
    if PYTHON is None:
        pytest.skip("no python3.12 interpreter here to run the handlers")
    lock_from_index(root, "--python", str(PYTHON))


def _write_project(root: Path, name: str, dependencies: list[str], handler: str) -> Path:
    module = name.replace("-", "_")
    (root / "src" / module).mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(PROJECT).format(
            name=name, module=module, dependencies=json.dumps(dependencies)
        )
    )
    (root / "src" / module / "__init__.py").write_text(handler)
    return root


def _manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data


@pytest.fixture(scope="module")
def data_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _write_project(
        tmp_path_factory.mktemp("data") / "data-stack",
        "data-stack",
        ["pandas", "numpy", "pyarrow"],
        DATA_HANDLER,
    )
    # Every file kept: the default pruning (test suites, stubs) takes the current stack just
    # under Lambda's unzipped total; kept whole it is over it, what images and EFS are for.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "default-excludes = false\n")
    _uv_lock(root)
    return root


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path_factory.getbasetemp() / "modes-wheel-cache"
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(cache))


def _build(project: Path, out: Path, mode: str) -> int:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().split("\nmode = ")[0].rstrip("\n") + "\n"
    pyproject.write_text(text + f'mode = "{mode}"\n')
    return cli.main(["--quiet", "build", str(project), "-o", str(out)])


def test_data_stack_over_the_zip_limit_names_the_modes_that_fit(
    data_stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both limits are named, the total first (pyarrow alone is over the direct-upload limit).
    assert _build(data_stack, tmp_path / "layers", "layers") == 1
    err = capsys.readouterr().err
    assert f"over Lambda's {UNZIPPED_MAX:,}-byte limit" in err
    assert err.index(f"{UNZIPPED_MAX:,}-byte limit") < err.index("per-layer limit of direct upload")
    assert 'fits as mode = "image" (' in err
    assert " of 10 GB)" in err
    assert 'fits as mode = "efs" (function ' in err


def test_data_stack_as_an_image_runs_its_handler(data_stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "image-build"
    assert _build(data_stack, out, "image") == 0
    manifest = _manifest(out)
    image = manifest["image"]
    names = {p["name"] for x in image["layers"] for p in x["packages"]}
    assert {"pandas", "numpy", "pyarrow"} <= names
    assert image["size_unzipped"] > UNZIPPED_MAX  # what no zip could hold
    assert manifest["limits"]["ok"] is True
    assert PYTHON is not None
    result = run_image(
        out / image["context"],
        tmp_path / "rootfs",
        {"n": 1000},
        python_version="3.12",
        python=str(PYTHON),
        timeout=300,
    )
    assert result["result"]["rows"] == 1000
    assert result["result"]["sum"] == 499500
    assert "/rootfs/opt/python/pyarrow/" in result["origins"]["pyarrow"]
    assert "/rootfs/opt/python/pandas/" in result["origins"]["pandas"]


def test_data_stack_on_efs_runs_its_handler(data_stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "efs-build"
    assert _build(data_stack, out, "efs") == 0
    manifest = _manifest(out)
    efs = manifest["efs"]
    assert efs["size_unzipped"] > UNZIPPED_MAX
    (function,) = manifest["functions"]
    assert function["size_unzipped"] < 100_000
    assert PYTHON is not None
    result = run_efs(
        out / "manifest.json", tmp_path / "lambda", {"n": 10}, python=str(PYTHON), timeout=300
    )
    assert result["result"]["sum"] == 45
    assert f"{tmp_path}/lambda/mnt/python/pyarrow/" in result["origins"]["pyarrow"]


# --------------------------------------------------------------------------- a workspace

API = """
import pydantic


class Order(pydantic.BaseModel):
    id: int


def handler(event, context):
    return {"id": Order(id=event["id"]).id}
"""

WORKER = """
import pandas as pd


def handler(event, context):
    return {"total": int(pd.Series(event["values"]).sum())}
"""

AUTHORIZER = """
import jwt


def handler(event, context):
    claims = jwt.decode(event["token"], "secret", algorithms=["HS256"])
    return {"principalId": claims["sub"]}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws") / "services"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["functions/*"]\n')
    for name, dependencies, code in (
        ("api", ["pydantic"], API),
        ("worker", ["pandas"], WORKER),
        ("authorizer", ["pyjwt"], AUTHORIZER),
    ):
        _write_project(root / "functions" / name, name, dependencies, code)
    _uv_lock(root)
    return root


def test_workspace_functions_attach_only_their_own_layers(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["--quiet", "build", str(workspace), "-o", str(out)]) == 0
    manifest = _manifest(out)
    layers = {x["name"]: x for x in manifest["layers"]}
    functions = {f["name"]: f for f in manifest["functions"]}
    assert set(functions) == {"api", "worker", "authorizer"}

    def packages(function: str) -> set[str]:
        return {p["name"] for x in functions[function]["layers"] for p in layers[x]["packages"]}

    assert "pydantic" in packages("api")
    assert "pandas" in packages("worker")
    assert packages("authorizer") == {"pyjwt"}
    assert not set(functions["worker"]["layers"]) & set(functions["api"]["layers"])
    assert not packages("api") & {"pandas", "numpy"}
    authorizer = functions["authorizer"]
    total = authorizer["size_unzipped"] + sum(
        layers[x]["size_unzipped"] for x in authorizer["layers"]
    )
    assert total < 5_000_000
    assert PYTHON is not None
    manifest_path = out / "manifest.json"
    token = _hs256({"sub": "user-1"}, "secret")
    runs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "api": ({"id": 7}, {"id": 7}),
        "worker": ({"values": [1, 2, 3]}, {"total": 6}),
        "authorizer": ({"token": token}, {"principalId": "user-1"}),
    }
    for name, (event, expected) in runs.items():
        result = run_handler(
            manifest_path, tmp_path / name, event, function=name, python=str(PYTHON)
        )
        assert result["result"] == expected, name


def _hs256(claims: dict[str, str], secret: str) -> str:
    """A JWT signed with HS256, written with the standard library."""
    import base64
    import hashlib
    import hmac

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{part(signature)}"
