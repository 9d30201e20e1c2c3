"""Two distributions writing the same file: refused naming both, unless the bytes are equal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hatch_lambda_layers.layers.collisions import FileCollisionError, resolve_collisions
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.wheel import read_wheel
from tests.localindex import serve_index
from tests.projects import Fixture, build, copy_project, uv_lock, zip_names
from tests.wheelfactory import make_wheel

pytestmark = pytest.mark.usefixtures("isolated_cache")


def test_identical_files_are_kept_once_and_different_ones_refused(tmp_path: Path) -> None:
    one = make_wheel(tmp_path, "pyjwt", "2.8.0", {"jwt/__init__.py": "A = 1\n", "jwt/x.py": ""})
    same = make_wheel(tmp_path, "jwt", "1.3.1", {"jwt/x.py": "", "jwt/y.py": "B = 2\n"})
    other = make_wheel(tmp_path, "python-jwt", "4.1", {"jwt/__init__.py": "A = 2\n"})
    options = LayoutOptions()
    a, b, c = (read_wheel(w, options) for w in (one, same, other))
    kept = resolve_collisions([a, b])
    paths: dict[str, list[str]] = {
        p.name: [e.path for e in p.entries if ".dist-info" not in e.path] for p in kept
    }
    # The identical jwt/x.py is written once, by the first in name order.
    assert paths["jwt"] == ["python/jwt/x.py", "python/jwt/y.py"]
    assert paths["pyjwt"] == ["python/jwt/__init__.py"]
    with pytest.raises(FileCollisionError) as refused:
        resolve_collisions([a, b, c])
    message = str(refused.value)
    assert "pyjwt 2.8.0 and python-jwt 4.1 both write python/jwt/__init__.py" in message
    assert "the layer unpacked last would silently win" in message


def test_a_build_with_colliding_distributions_exits_1_naming_both(
    fixture: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for w in fixture.wheels.glob("*.whl"):
        shutil.copy(w, wheels)
    make_wheel(wheels, "jwtish", "1.0", {"textfmt/__init__.py": "def shout(s):\n    return s\n"})
    project = copy_project(fixture.project, tmp_path / "p")
    with serve_index(wheels) as index:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace('"cloudsdk"]', '"cloudsdk", "jwtish"]', 1)
        )
        uv_lock(project, index, tmp_path / "uv-cache")
        capsys.readouterr()
        assert build(project) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert "jwtish 1.0 and textfmt 2.1.0 both write python/textfmt/__init__.py" in error


def test_identical_copies_in_two_distributions_build_and_ship_once(
    fixture: Fixture, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for w in fixture.wheels.glob("*.whl"):
        shutil.copy(w, wheels)
    shared = "def shout(s):\n    return s.upper() + '!'\n"
    make_wheel(wheels, "textcopy", "1.0", {"textfmt/__init__.py": shared})
    project = copy_project(fixture.project, tmp_path / "p")
    with serve_index(wheels) as index:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace('"cloudsdk"]', '"cloudsdk", "textcopy"]', 1)
        )
        uv_lock(project, index, tmp_path / "uv-cache")
        assert build(project) == 0
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    bundled = {p["name"] for layer in manifest["layers"] for p in layer["packages"]}
    assert {"textcopy", "textfmt"} <= bundled
    names = [n for layer in manifest["layers"] for n in zip_names(out / layer["file"])]
    assert names.count("python/textfmt/__init__.py") == 1
