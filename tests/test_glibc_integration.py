"""Integration tier: recent numpy releases ship only manylinux_2_27/2_28 wheels for cp311, which
the python3.11 runtime (glibc 2.26) cannot load. A plain `uv lock` pins one; the build refuses
it with the advice to follow, and resolving for the target (lock = "none") picks a release that
loads. Real packages from the index configured for uv/pip; skips when it cannot be reached."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.layers.elf import zip_elf_machines
from tests.realindex import lock_from_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PYPROJECT = """
[project]
name = "numfn"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["numpy"]

[tool.hatch.build.targets.wheel]
packages = ["numfn"]

[tool.lambda-layers]
runtime = "python3.11"
handler = "numfn.handler"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "numfn"
    (root / "numfn").mkdir(parents=True)
    (root / "numfn" / "__init__.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    lock_from_index(root)
    return root


def test_numpy_for_python311_refused_from_a_plain_lock_and_resolved_for_the_target(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    locked = next(
        p["version"]
        for p in __import__("tomllib").loads((project / "uv.lock").read_text())["package"]
        if p["name"] == "numpy"
    )
    status = cli.main(["--quiet", "build", str(project)])
    err = capsys.readouterr().err
    major, minor = (int(x) for x in locked.split(".")[:2])
    if (major, minor) < (2, 3):
        pytest.skip(f"uv locked numpy {locked}, which still ships manylinux2014 wheels")
    assert status == 1
    assert f"numpy {locked} has no wheel for python3.11 x86_64" in err
    assert 'lock = "none"' in err
    # One round: the newest release that loads, and the constraint that picks it.
    advice = re.search(r'the newest release that ships one is ([\w.]+): add "numpy<([\w.]+)"', err)
    assert advice is not None, err
    print(err.splitlines()[-1])  # quoted in the closing note
    assert not (project / "dist" / "lambda" / "manifest.json").exists()

    # Resolving for the target picks the newest numpy that glibc 2.26 can load.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'lock = "none"\n')
    assert cli.main(["--quiet", "build", str(project)]) == 0
    manifest = json.loads((project / "dist" / "lambda" / "manifest.json").read_text())
    (numpy,) = [
        p for layer in manifest["layers"] for p in layer["packages"] if p["name"] == "numpy"
    ]
    assert tuple(int(x) for x in numpy["version"].split(".")[:2]) < (major, minor)
    assert numpy["version"] == advice[1]  # what the advice named is what resolves
    machines: dict[str, str] = {}
    for layer in manifest["layers"]:
        machines.update(zip_elf_machines(project / "dist" / "lambda" / layer["file"]))
    assert machines
    assert set(machines.values()) == {"x86_64"}
