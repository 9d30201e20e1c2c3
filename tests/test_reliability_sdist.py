"""Dependencies that publish only an sdist: built into a pure-Python wheel with the standard
PEP 517 front end in an isolated environment, from uv.lock, from pylock.toml or from resolution
without a lock; verified and cached under the sdist's sha256 so the next build does not
rebuild. A build that yields a platform wheel or wants a compiler is a one-line error naming
the package. Everything is served on 127.0.0.1: the sdists' backend lives in the sdist itself
or comes from the local index."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.errors import SdistBuildError
from hatch_lambda_layers.resolve.graph import WheelLink
from hatch_lambda_layers.resolve.sdist import SdistBuild, built_wheel
from tests.lambdaemu import run_handler
from tests.localindex import LocalIndex, serve_index
from tests.projects import UV, uv_lock
from tests.wheelfactory import make_backend_wheel, make_sdist, make_wheel

pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")

PYPROJECT = """
[project]
name = "sd-app"
version = "0.1.0"
requires-python = "==3.11.*"
dependencies = [{dependencies}]

[tool.hatch.build.targets.wheel]
packages = ["src/sd_app"]

[tool.lambda-layers]
runtime = "python3.11"
handler = "sd_app.handler.handler"
{extra}
"""

HANDLER = "import plainsdist\n\ndef handler(event, context):\n    return plainsdist.hello()\n"


@pytest.fixture(scope="module")
def sdist_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """An index with sdist-only projects (pure, platform-tagged, compiling, backend from the
    index) and the wheels they need."""
    files = tmp_path_factory.mktemp("sdist-index")
    make_wheel(files, "textfmt", "2.1.0", {"textfmt/__init__.py": "def up(s):\n    return s\n"})
    plain = "import textfmt\n\ndef hello():\n    return textfmt.up('built from an sdist')\n"
    make_sdist(
        files, "plainsdist", "0.6.2", {"plainsdist/__init__.py": plain}, requires_dist=["textfmt"]
    )
    make_sdist(
        files, "platsdist", "1.0", {"platsdist/__init__.py": ""}, tag="cp311-cp311-linux_x86_64"
    )
    make_sdist(files, "csdist", "1.0", {"csdist/__init__.py": ""}, compile_first=True)
    make_sdist(
        files,
        "remotebackend",
        "1.0",
        {"remotebackend/__init__.py": ""},
        backend_requires=["test-backend"],
    )
    make_backend_wheel(files)
    with serve_index(files) as index:
        yield index


def _project(
    root: Path, index: LocalIndex, dependencies: str, *, extra: str = "", lock: bool = True
) -> Path:
    (root / "src" / "sd_app").mkdir(parents=True)
    (root / "src" / "sd_app" / "__init__.py").write_text("")
    (root / "src" / "sd_app" / "handler.py").write_text(HANDLER)
    text = PYPROJECT.format(dependencies=dependencies, extra=extra)
    (root / "pyproject.toml").write_text(textwrap.dedent(text))
    if lock:
        uv_lock(root, index, root.parent / "uv-cache")
    return root


def _one_line_error(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(["--quiet", "build", str(project)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1, lines
    assert len(lines) == 1, lines
    out = project / "dist" / "lambda"
    assert not list(out.glob("*.zip"))
    assert not (out / "manifest.json").exists()
    return lines[0].removeprefix("lambda-layers: error: ")


def _layer_names(project: Path) -> set[str]:
    out = project / "dist" / "lambda"
    manifest = json.loads((out / "manifest.json").read_text())
    names: set[str] = set()
    for layer in manifest["layers"]:
        with zipfile.ZipFile(out / layer["file"]) as zf:
            names |= set(zf.namelist())
    return names


def test_sdist_only_dependency_in_uv_lock_is_built_verified_and_cached(
    sdist_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(cache))
    project = _project(tmp_path / "p", sdist_index, '"plainsdist"')
    lock = (project / "uv.lock").read_text()
    assert 'sdist = { url = "http://127.0.0.1' in lock

    assert cli.main(["--quiet", "build", str(project)]) == 0
    names = _layer_names(project)
    assert "python/plainsdist/__init__.py" in names
    assert "python/textfmt/__init__.py" in names  # its dependency, from the built METADATA
    result = run_handler(project / "dist" / "lambda" / "manifest.json", tmp_path / "lambda", {})
    assert result["result"] == "built from an sdist"
    (built,) = (cache / "built").rglob("plainsdist-0.6.2-py3-none-any.whl")
    sdist = sdist_index.directory / "plainsdist-0.6.2.tar.gz"
    assert built.parent.name == hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert list((cache / "verified").rglob("*.json"))  # verified like a downloaded wheel

    # The next build, in a fresh output directory, does not build again.
    def no_rebuild(*args: object) -> Path:
        raise AssertionError("rebuilt")

    monkeypatch.setattr("hatch_lambda_layers.resolve.sdist._run_backend", no_rebuild)
    shutil.rmtree(project / "dist")
    assert cli.main(["--quiet", "build", str(project)]) == 0
    assert _layer_names(project) == names


def test_sdist_only_dependency_resolved_without_a_lock(
    sdist_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    extra = f'lock = "none"\nindex-url = "{sdist_index.url}"'
    project = _project(tmp_path / "p", sdist_index, '"plainsdist"', extra=extra, lock=False)
    assert cli.main(["--quiet", "build", str(project)]) == 0
    names = _layer_names(project)
    assert {"python/plainsdist/__init__.py", "python/textfmt/__init__.py"} <= names


def test_sdist_in_a_pylock_is_built(
    sdist_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    project = _project(tmp_path / "p", sdist_index, '"plainsdist"', lock=False)
    sdist = sdist_index.directory / "plainsdist-0.6.2.tar.gz"
    wheel = sdist_index.directory / "textfmt-2.1.0-py3-none-any.whl"
    (project / "pylock.toml").write_text(
        textwrap.dedent(f"""
        lock-version = "1.0"
        created-by = "hand"
        requires-python = ">=3.10"

        [[packages]]
        name = "plainsdist"
        version = "0.6.2"
        sdist = {{ url = "{sdist_index.file_url(sdist.name)}", hashes = {{ sha256 = "{
            hashlib.sha256(sdist.read_bytes()).hexdigest()
        }" }} }}

        [[packages]]
        name = "textfmt"
        version = "2.1.0"
        wheels = [{{ url = "{sdist_index.file_url(wheel.name)}", hashes = {{ sha256 = "{
            hashlib.sha256(wheel.read_bytes()).hexdigest()
        }" }} }}]
        """)
    )
    assert cli.main(["--quiet", "build", str(project)]) == 0
    assert {"python/plainsdist/__init__.py", "python/textfmt/__init__.py"} <= _layer_names(project)


def test_build_requirements_come_from_the_configured_index(
    sdist_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    project = _project(tmp_path / "p", sdist_index, '"remotebackend"')
    before = len(sdist_index.paths("/simple/test-backend/"))
    assert cli.main(["--quiet", "build", str(project)]) == 0
    assert "python/remotebackend/__init__.py" in _layer_names(project)
    assert len(sdist_index.paths("/simple/test-backend/")) > before  # installed from there


def test_sdist_whose_build_gives_a_platform_wheel_is_refused(
    sdist_index: LocalIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    project = _project(tmp_path / "p", sdist_index, '"platsdist"')
    assert _one_line_error(project, capsys) == (
        "building platsdist 1.0 (from its sdist platsdist-1.0.tar.gz) gave "
        "platsdist-1.0-cp311-cp311-linux_x86_64.whl, a wheel for one interpreter or platform "
        "(cp311-cp311-linux_x86_64); only pure-Python sdists are built for Lambda: lock a "
        "release of platsdist that ships a wheel for the target"
    )
    assert not list((tmp_path / "cache").rglob("*.whl"))  # nothing cached


def test_sdist_that_needs_a_compiler_is_refused(
    sdist_index: LocalIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    project = _project(tmp_path / "p", sdist_index, '"csdist"')
    assert _one_line_error(project, capsys) == (
        "building csdist 1.0 (from its sdist csdist-1.0.tar.gz) failed: it needs a C compiler, "
        "and only pure-Python sdists are built for Lambda; lock a release that ships a wheel "
        "for the target"
    )


def test_sdist_with_a_path_leaving_its_directory_is_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    sdist = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("evil-1.0/../../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    link = WheelLink(sdist.name, str(sdist), hashlib.sha256(sdist.read_bytes()).hexdigest())
    with pytest.raises(SdistBuildError) as raised:
        built_wheel(link, SdistBuild(cache_dir=tmp_path / "cache"))
    assert str(raised.value) == (
        "evil 1.0 (from its sdist evil-1.0.tar.gz) holds an unsafe path "
        "'evil-1.0/../../escape.py'; refusing to unpack it"
    )
    assert not (tmp_path / "escape.py").exists()
