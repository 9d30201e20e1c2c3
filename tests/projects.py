"""The end-to-end fixture project: wheels built for the purpose, served on 127.0.0.1, and a
project locked against them with a real `uv lock` (the `fixture` fixture in conftest.py); shared
by the end-to-end, stability, publish and reliability tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from tests.lambdaemu import unzip_with_modes
from tests.localindex import LocalIndex
from tests.wheelfactory import make_elf, make_wheel

UV = shutil.which("uv")

HANDLER = """
import cloudsdk
import greet
import nativeext


def handler(event, context):
    return {
        "message": greet.hello(event["name"]),
        "native": nativeext.kind(),
        "sdk": cloudsdk.VERSION,
    }
"""


def make_fixture_wheels(directory: Path) -> None:
    make_wheel(
        directory,
        "greet",
        "1.0.0",
        {
            "greet/__init__.py": (
                "import textfmt\n\ndef hello(n):\n    return textfmt.shout('hello ' + n)\n"
            )
        },
        requires_dist=["textfmt>=2"],
    )
    make_wheel(
        directory,
        "textfmt",
        "2.1.0",
        {"textfmt/__init__.py": "def shout(s):\n    return s.upper() + '!'\n"},
    )
    make_wheel(
        directory,
        "nativeext",
        "0.5.0",
        {
            "nativeext/__init__.py": "def kind():\n    return 'native'\n",
            "nativeext/_speedups.cpython-311-x86_64-linux-gnu.so": make_elf("x86_64"),
        },
        tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    )
    # An aarch64 build of the same release: must never be chosen for x86_64.
    make_wheel(
        directory,
        "nativeext",
        "0.5.0",
        {
            "nativeext/__init__.py": "def kind():\n    return 'native-arm'\n",
            "nativeext/_speedups.cpython-311-aarch64-linux-gnu.so": make_elf("aarch64"),
        },
        tag="cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
    )
    make_wheel(
        directory,
        "cloudsdk",
        "1.40.0",
        {"cloudsdk/__init__.py": "import sdkcore, textfmt\nVERSION = '1.40.0'\n"},
        requires_dist=["sdkcore>=1", "textfmt"],
    )
    make_wheel(directory, "sdkcore", "1.40.0", {"sdkcore/__init__.py": "CORE = True\n"})


PYPROJECT = """
[build-system]
requires = ["hatchling", "hatch-lambda-layers"]
build-backend = "hatchling.build"

[project]
name = "hello-fn"
version = "0.1.0"
requires-python = "==3.11.*"
dependencies = ["greet", "nativeext", "cloudsdk"]

[tool.hatch.build.targets.wheel]
packages = ["src/hello_fn"]

[tool.hatch.build.targets.wheel.hooks.lambda]

[tool.lambda-layers]
runtime = "python3.11"
handler = "hello_fn.handler.handler"
provided = ["cloudsdk"]
"""


def write_project(root: Path, pyproject: str = PYPROJECT) -> Path:
    (root / "src" / "hello_fn").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    (root / "src" / "hello_fn" / "__init__.py").write_text('"""hello."""\n')
    (root / "src" / "hello_fn" / "handler.py").write_text(HANDLER)
    return root


def uv_lock(project: Path, index: LocalIndex, cache: Path, *extra: str) -> None:
    assert UV is not None
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_NO_CONFIG": "1"}
    for key in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        env.pop(key, None)
    proc = subprocess.run(
        [UV, "lock", "--default-index", index.url, "--no-progress", *extra],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@dataclass
class Fixture:
    wheels: Path
    index: LocalIndex
    project: Path
    cache: Path


def provided_runtime(fixture: Fixture, dest: Path) -> Path:
    """A stand-in for /var/runtime holding the provided SDK, as Lambda's holds boto3."""
    for wheel in fixture.wheels.glob("*.whl"):
        if wheel.name.startswith(("cloudsdk", "sdkcore")):
            unzip_with_modes(wheel, dest)
    return dest


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("dist", ".venv"))
    return dest


def build(project: Path, capsys: pytest.CaptureFixture[str] | None = None, *extra: str) -> int:
    return cli.main(["--quiet", "build", str(project), *extra])


def digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()
