from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from hatch_lambda_layers.errors import ConfigError, LockError, NoCompatibleWheelError
from hatch_lambda_layers.resolve import locks
from hatch_lambda_layers.resolve.edges import (
    edges_from_metadata,
    needs_metadata_edges,
    with_project_roots,
)
from hatch_lambda_layers.resolve.graph import DependencyGraph, select_wheel, split_provided
from hatch_lambda_layers.resolve.locks import find_lock, read_lock
from hatch_lambda_layers.targets import get_target

DATA = Path(__file__).parent / "data" / "locks"
BASIC = DATA / "basic" / "uv.lock"
FORKED = DATA / "forked" / "uv.lock"
CONFLICTS = DATA / "conflicts" / "uv.lock"
PYLOCK_NO_EDGES = DATA / "pylock-no-edges" / "pylock.toml"
PYLOCK_EDGES = DATA / "pylock-edges" / "pylock.toml"
PYLOCK_EDGES_NO_PROJECT = DATA / "pylock-edges" / "pylock.noproj.toml"

PY310 = get_target("python3.10")
PY311 = get_target("python3.11")
PY312 = get_target("python3.12")
PY311_ARM = get_target("python3.11", "arm64")

SHA = "ab" * 32


def names(graph: DependencyGraph) -> list[str]:
    return [p.name for p in graph.packages]


def edges(graph: DependencyGraph) -> dict[str, tuple[str, ...]]:
    return {p.name: p.dependencies for p in graph.packages}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- uv.lock


def test_uv_lock_graph_for_python311_linux() -> None:
    graph = read_lock(BASIC, PY311, project_name="app")
    assert graph.source == "uv.lock"
    # colorama (win32 only), tomli (< 3.11), the extras and the dev group are all left out.
    assert graph.roots == ("mygit", "requests", "typing-extensions")
    assert names(graph) == ["certifi", "idna", "mygit", "requests", "typing-extensions", "urllib3"]
    assert edges(graph)["requests"] == ("certifi", "idna", "urllib3")
    assert edges(graph)["mygit"] == ("idna",)
    assert "app" not in graph
    assert not needs_metadata_edges(graph)


def test_uv_lock_python_version_markers_differ_between_runtimes() -> None:
    py310 = read_lock(BASIC, PY310, project_name="app")
    py312 = read_lock(BASIC, PY312, project_name="app")
    assert py310.roots == ("mygit", "requests", "tomli", "typing-extensions")
    assert "tomli" in py310
    assert "typing-extensions" in py310
    assert py312.roots == ("mygit", "requests")
    assert "tomli" not in py312
    assert "typing-extensions" not in py312


def test_uv_lock_win32_marker_drops_dependency_on_linux() -> None:
    graph = read_lock(BASIC, PY311, project_name="app")
    assert "colorama" not in graph


def test_uv_lock_dev_dependencies_are_ignored() -> None:
    graph = read_lock(BASIC, PY311, project_name="app", extras=["fast", "socks"])
    for dev_only in ("pytest", "pluggy", "iniconfig"):
        assert dev_only not in graph


def test_uv_lock_extras_are_followed_into_optional_dependencies() -> None:
    plain = read_lock(BASIC, PY311, project_name="app")
    assert "orjson" not in plain
    assert "pysocks" not in plain

    fast = read_lock(BASIC, PY311, project_name="app", extras=["fast"])
    assert "orjson" in fast
    assert "orjson" in fast.roots
    assert "pysocks" not in fast

    # app[socks] asks for requests[socks], whose optional dependencies bring pysocks.
    socks = read_lock(BASIC, PY311, project_name="app", extras=["Socks"])
    assert "pysocks" in socks
    assert edges(socks)["requests"] == ("certifi", "idna", "pysocks", "urllib3")
    assert "pysocks" not in socks.roots


def test_uv_lock_unknown_extra_is_an_error() -> None:
    with pytest.raises(LockError, match=r"uv\.lock: the project app has no extra 'gpu'"):
        read_lock(BASIC, PY311, project_name="app", extras=["gpu"])
    # An extra declared without dependencies of its own (provides-extras) is fine.
    graph = read_lock(BASIC, PY311, project_name="app", extras=["empty"])
    assert graph == read_lock(BASIC, PY311, project_name="app")


def test_uv_lock_wheels_hashes_and_sdists() -> None:
    graph = read_lock(BASIC, PY311, project_name="app", extras=["fast"])
    orjson = graph["orjson"]
    assert orjson.version == "3.10.0+lambda1"
    assert orjson.has_sdist
    # The filename is the URL's last segment, percent-decoded ("%2B" -> "+").
    assert [w.filename for w in orjson.wheels] == [
        "orjson-3.10.0+lambda1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "orjson-3.10.0+lambda1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "orjson-3.10.0+lambda1-cp311-none-win_amd64.whl",
    ]
    assert orjson.wheels[0].url.endswith(
        "/orjson-3.10.0%2Blambda1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    assert all(w.sha256 is not None and len(w.sha256) == 64 for w in orjson.wheels)
    assert orjson.wheels[0].size == 141000
    assert select_wheel(orjson, PY311).filename.endswith("manylinux2014_x86_64.whl")
    assert select_wheel(orjson, PY311_ARM).filename.endswith("manylinux2014_aarch64.whl")
    assert not graph["idna"].has_sdist
    assert graph["requests"].has_sdist


def test_uv_lock_git_dependency_has_no_wheels() -> None:
    graph = read_lock(BASIC, PY311, project_name="app")
    mygit = graph["mygit"]
    assert mygit.version == "1.0"
    assert mygit.wheels == ()
    assert not mygit.has_sdist
    with pytest.raises(NoCompatibleWheelError, match=r"mygit 1\.0 has no wheel"):
        select_wheel(mygit, PY311)


def test_uv_lock_forked_resolution_picks_the_version_per_target() -> None:
    py311 = read_lock(FORKED, PY311, project_name="app")
    py312 = read_lock(FORKED, PY312, project_name="app")
    # numpy: picked through the version/source the dependency entries carry.
    assert py311["numpy"].version == "1.26.4"
    assert py312["numpy"].version == "2.1.0"
    # helper: the dependency entry names no version; resolution-markers decide.
    assert py311["helper"].version == "1.0"
    assert "typing-extensions" not in py311
    assert py312["helper"].version == "2.0"
    assert edges(py312)["helper"] == ("typing-extensions",)
    assert py311.roots == py312.roots == ("helper", "numpy")
    assert select_wheel(py312["numpy"], PY312).filename.startswith("numpy-2.1.0-cp312-cp312")


def test_uv_lock_conflicting_extras_use_set_semantics() -> None:
    # gam -> beta 1.0 when `extra == 'extra-5-proj4-old'`, beta 2.0 when
    # `extra == 'extra-5-proj4-new' or extra != 'extra-5-proj4-old'`: exactly one applies.
    plain = read_lock(CONFLICTS, PY311, project_name="proj4")
    old = read_lock(CONFLICTS, PY311, project_name="proj4", extras=["old"])
    new = read_lock(CONFLICTS, PY311, project_name="proj4", extras=["new"])
    assert plain["beta"].version == "2.0"
    assert plain.roots == ("gam",)
    assert old["beta"].version == "1.0"
    assert old.roots == ("beta", "gam")
    assert new["beta"].version == "2.0"
    assert edges(old)["gam"] == ("beta",)


def test_uv_lock_requires_python_not_covering_the_runtime(tmp_path: Path) -> None:
    text = BASIC.read_text(encoding="utf-8").replace(
        'requires-python = ">=3.10"', 'requires-python = ">=3.12"'
    )
    lock = write(tmp_path, "uv.lock", text)
    with pytest.raises(LockError, match=r"does not cover the runtime") as info:
        read_lock(lock, PY311, project_name="app")
    assert "'>=3.12'" in str(info.value)
    assert "python3.11" in str(info.value)
    assert read_lock(lock, PY312, project_name="app").roots == ("mygit", "requests")


def test_uv_lock_without_the_project_package() -> None:
    with pytest.raises(LockError, match=r"uv\.lock has no package named Other_App; run `uv lock`"):
        read_lock(BASIC, PY311, project_name="Other_App")


def test_uv_lock_project_name_is_canonicalized() -> None:
    assert read_lock(BASIC, PY311, project_name="APP").roots == (
        "mygit",
        "requests",
        "typing-extensions",
    )


def test_uv_lock_wheel_without_sha256_is_refused(tmp_path: Path) -> None:
    lock = write(
        tmp_path,
        "uv.lock",
        """\
        version = 1
        requires-python = ">=3.10"

        [[package]]
        name = "app"
        version = "0.1"
        source = { virtual = "." }
        dependencies = [{ name = "alpha" }]

        [[package]]
        name = "alpha"
        version = "1.0"
        source = { registry = "http://127.0.0.1:1/simple" }
        wheels = [{ url = "http://127.0.0.1:1/files/alpha-1.0-py3-none-any.whl" }]
        """,
    )
    with pytest.raises(LockError) as info:
        read_lock(lock, PY311, project_name="app")
    assert str(info.value).startswith(
        "uv.lock: package alpha 1.0 wheel alpha-1.0-py3-none-any.whl has no sha256 hash; "
        "re-lock with hashes"
    )


def test_uv_lock_local_sources(tmp_path: Path) -> None:
    # What `uv lock` writes for a find-links directory (no hash), a wheel file path source
    # (filename + hash) and a directory source (no wheels).
    (tmp_path / "proj").mkdir()
    lock = write(
        tmp_path / "proj",
        "uv.lock",
        f"""\
        version = 1
        revision = 5
        requires-python = ">=3.10"

        [[package]]
        name = "alpha"
        version = "1.0"
        source = {{ registry = "../wheels" }}
        wheels = [{{ path = "alpha-1.0-py2.py3-none-any.whl" }}]

        [[package]]
        name = "beta"
        version = "1.0"
        source = {{ path = "../wheels/beta-1.0-py3-none-any.whl" }}
        wheels = [{{ filename = "beta-1.0-py3-none-any.whl", hash = "sha256:{SHA}" }}]

        [[package]]
        name = "gamma"
        version = "2.0"
        source = {{ directory = "../src_gamma" }}

        [[package]]
        name = "proj"
        version = "0.1"
        source = {{ virtual = "." }}
        dependencies = [{{ name = "alpha" }}, {{ name = "beta" }}, {{ name = "gamma" }}]
        """,
    )
    graph = read_lock(lock, PY311, project_name="proj")
    wheels_dir = (tmp_path / "wheels").resolve()
    alpha, beta, gamma = graph["alpha"], graph["beta"], graph["gamma"]
    assert alpha.wheels[0].url == (wheels_dir / "alpha-1.0-py2.py3-none-any.whl").as_uri()
    assert alpha.wheels[0].sha256 is None  # local file: the fetcher hashes what it reads
    assert beta.wheels[0].url == (wheels_dir / "beta-1.0-py3-none-any.whl").as_uri()
    assert beta.wheels[0].filename == "beta-1.0-py3-none-any.whl"
    assert beta.wheels[0].sha256 == SHA
    assert gamma.wheels == ()
    assert gamma.version == "2.0"


def test_uv_lock_format_errors(tmp_path: Path) -> None:
    bad_toml = write(tmp_path, "uv.lock", "version = 1\n[[package]\n")
    with pytest.raises(LockError, match=r"uv\.lock: not valid TOML"):
        read_lock(bad_toml, PY311, project_name="app")
    future = write(tmp_path, "uv.lock", "version = 2\n")
    with pytest.raises(LockError, match=r"uv\.lock: lock version 2 is not supported"):
        read_lock(future, PY311, project_name="app")
    missing_dep = write(
        tmp_path,
        "uv.lock",
        """\
        version = 1
        [[package]]
        name = "app"
        version = "0.1"
        source = { virtual = "." }
        dependencies = [{ name = "ghost" }]
        """,
    )
    with pytest.raises(LockError, match=r"depends on ghost, which the lock does not contain"):
        read_lock(missing_dep, PY311, project_name="app")
    with pytest.raises(LockError, match="cannot read the lock file"):
        read_lock(tmp_path / "missing" / "uv.lock", PY311, project_name="app")


def test_uv_lock_supported_markers_exclude_target(tmp_path: Path) -> None:
    text = BASIC.read_text(encoding="utf-8").replace(
        'requires-python = ">=3.10"\n',
        'requires-python = ">=3.10"\nsupported-markers = ["sys_platform == \'darwin\'"]\n',
    )
    lock = write(tmp_path, "uv.lock", text)
    with pytest.raises(LockError, match="does not cover the runtime"):
        read_lock(lock, PY311, project_name="app")


def test_uv_lock_graph_feeds_split_provided() -> None:
    graph = read_lock(BASIC, PY311, project_name="app")
    closure = split_provided(graph, ["requests"])
    bundled = [p.name for p in closure.bundled]
    # idna stays: mygit needs it too.
    assert bundled == ["idna", "mygit", "typing-extensions"]
    assert {o.name for o in closure.left_out} == {"requests", "certifi", "urllib3"}


# --------------------------------------------------------------------------- pylock.toml


def test_pylock_without_edges_selects_by_marker() -> None:
    graph = read_lock(PYLOCK_NO_EDGES, PY311, project_name="app")
    assert needs_metadata_edges(graph)
    assert graph.source.startswith("pylock.toml")
    # default-groups = ["dev"] keeps pytest; "docs" (sphinx), the win32 and < 3.11 packages,
    # the "fast" extra and the project's own directory entry are left out.
    expected = [
        "certifi", "idna", "iniconfig", "pluggy", "pysocks", "pytest", "requests", "urllib3",
        "vendored",
    ]  # fmt: skip
    assert names(graph) == expected
    assert graph.roots == tuple(expected)
    assert all(p.dependencies == () for p in graph.packages)
    assert "tomli" in read_lock(PYLOCK_NO_EDGES, PY310, project_name="app")
    assert "orjson" in read_lock(PYLOCK_NO_EDGES, PY311, project_name="app", extras=["fast"])


def test_pylock_wheels_and_archives() -> None:
    graph = read_lock(PYLOCK_NO_EDGES, PY311, project_name="app")
    certifi = graph["certifi"]
    assert certifi.has_sdist
    assert certifi.wheels[0].filename == "certifi-2025.1.31-py3-none-any.whl"
    assert certifi.wheels[0].size == 166000
    assert len(certifi.wheels[0].sha256 or "") == 64
    idna = graph["idna"].wheels[0]
    assert idna.url == (PYLOCK_NO_EDGES.parent / "wheels" / idna.filename).resolve().as_uri()
    vendored = graph["vendored"]  # an sdist archive: no wheel, reported by select_wheel
    assert vendored.wheels == ()
    assert vendored.has_sdist
    assert select_wheel(graph["pysocks"], PY311).filename == "PySocks-1.7.1-py3-none-any.whl"


def test_pylock_with_edges_and_project_entry() -> None:
    graph = read_lock(PYLOCK_EDGES, PY311, project_name="app")
    assert not needs_metadata_edges(graph)
    assert graph.source == "pylock.toml"
    assert graph.roots == ("requests", "urllib3")
    # attrs is locked but nothing reaches it.
    assert names(graph) == ["certifi", "idna", "requests", "urllib3"]
    assert edges(graph)["requests"] == ("certifi", "idna", "urllib3")
    assert read_lock(PYLOCK_EDGES, PY310, project_name="app").roots == (
        "requests",
        "tomli",
        "urllib3",
    )
    # urllib3 is a direct dependency too: providing requests keeps it.
    closure = split_provided(graph, ["requests"])
    assert [p.name for p in closure.bundled] == ["urllib3"]


def test_pylock_with_edges_without_project_entry() -> None:
    graph = read_lock(PYLOCK_EDGES_NO_PROJECT, PY311, project_name="app")
    assert graph.source == "pylock.noproj.toml"
    assert not needs_metadata_edges(graph)
    assert graph.roots == ("attrs", "requests")  # packages nothing else needs
    exact = with_project_roots(graph, PY311, ["requests>=2", "urllib3"])
    assert exact.roots == ("requests", "urllib3")
    assert names(exact) == ["certifi", "idna", "requests", "urllib3"]


def test_edges_from_metadata_rebuilds_graph() -> None:
    graph = read_lock(PYLOCK_NO_EDGES, PY311, project_name="app")
    metadata = {
        "requests": _metadata(
            "requests",
            "2.32.3",
            "charset_normalizer<4,>=2; python_version < '3.0'",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
            'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
            'chardet<6,>=3.0.2; extra == "use-chardet-on-py3"',
        ),
        "Certifi": _metadata("certifi", "2025.1.31"),
        "idna": _metadata("idna", "3.10", 'ruff>=0.6.2; extra == "all"'),
        "urllib3": _metadata("urllib3", "2.3.0", 'brotli>=1.0.9; extra == "brotli"'),
        "pysocks": _metadata("PySocks", "1.7.1"),
        "pytest": _metadata("pytest", "8.3.5", "iniconfig", "pluggy<2,>=1.5"),
        "iniconfig": _metadata("iniconfig", "2.0.0"),
        "pluggy": _metadata("pluggy", "1.5.0"),
    }
    project = ["requests[socks]>=2", "colorama; sys_platform == 'win32'", "vendored"]
    rebuilt = edges_from_metadata(graph, metadata, PY311, project)
    assert not needs_metadata_edges(rebuilt)
    assert rebuilt.source == "pylock.toml"
    assert rebuilt.roots == ("requests", "vendored")
    # The dev tools nothing in the project needs are gone; the socks extra brought pysocks.
    assert names(rebuilt) == ["certifi", "idna", "pysocks", "requests", "urllib3", "vendored"]
    assert edges(rebuilt)["requests"] == ("certifi", "idna", "pysocks", "urllib3")
    assert edges(rebuilt)["vendored"] == ()  # no wheel, no METADATA: select_wheel reports it

    without_extra = edges_from_metadata(graph, metadata, PY311, ["requests"])
    assert "pysocks" not in without_extra
    assert edges(without_extra)["requests"] == ("certifi", "idna", "urllib3")


def test_edges_from_metadata_follows_the_projects_own_extras() -> None:
    graph = read_lock(PYLOCK_NO_EDGES, PY311, project_name="app")
    metadata = {
        "requests": _metadata("requests", "2.32.3", "idna", "app; python_version >= '3.8'"),
        "idna": _metadata("idna", "3.10"),
        "pysocks": _metadata("PySocks", "1.7.1"),
    }
    project = ["requests", "app[socks]; extra == 'all'", "pysocks; extra == 'socks'"]
    plain = edges_from_metadata(graph, metadata, PY311, project, project_name="app")
    assert plain.roots == ("requests",)
    everything = edges_from_metadata(
        graph, metadata, PY311, project, extras=["all"], project_name="app"
    )
    assert everything.roots == ("pysocks", "requests")
    assert names(everything) == ["idna", "pysocks", "requests"]
    # Without the project's name, a package requiring the project looks like a missing pin.
    with pytest.raises(LockError, match="does not pin app, which requests"):
        edges_from_metadata(graph, metadata, PY311, ["requests"])


def test_edges_from_metadata_reports_what_the_lock_misses() -> None:
    graph = read_lock(PYLOCK_NO_EDGES, PY311, project_name="app")
    metadata = {
        "requests": _metadata("requests", "2.32.3", "idna", "brotli; python_version >= '3.8'"),
        "idna": _metadata("idna", "3.10"),
    }
    with pytest.raises(LockError, match=r"pylock\.toml: does not pin brotli, which requests"):
        edges_from_metadata(graph, metadata, PY311, ["requests"])
    with pytest.raises(LockError, match=r"does not pin flask, which the project requires"):
        edges_from_metadata(graph, metadata, PY311, ["flask"])
    with pytest.raises(LockError, match=r"certifi 2025.1.31 METADATA is missing"):
        edges_from_metadata(graph, {}, PY311, ["certifi"])


def test_pylock_errors(tmp_path: Path) -> None:
    header = 'lock-version = "1.0"\ncreated-by = "hand"\n'
    unnormalized = write(tmp_path, "pylock.toml", header + '[[packages]]\nname = "Foo_Bar"\n')
    with pytest.raises(LockError, match=r"pylock\.toml: .*not normalized"):
        read_lock(unnormalized, PY311, project_name="app")
    future = write(
        tmp_path, "pylock.toml", 'lock-version = "2.0"\ncreated-by = "x"\npackages = []\n'
    )
    with pytest.raises(LockError, match=r"pylock\.toml: pylock version 2.0 is not supported"):
        read_lock(future, PY311, project_name="app")
    old_python = write(
        tmp_path, "pylock.toml", header + 'requires-python = "<3.11"\npackages = []\n'
    )
    with pytest.raises(LockError, match="does not cover the runtime"):
        read_lock(old_python, PY311, project_name="app")
    assert read_lock(old_python, PY310, project_name="app").packages == ()
    mac_only = write(
        tmp_path,
        "pylock.toml",
        header + "environments = [\"sys_platform == 'darwin'\"]\npackages = []\n",
    )
    with pytest.raises(LockError, match=r"exclude python3\.11"):
        read_lock(mac_only, PY311, project_name="app")
    md5_only = write(
        tmp_path,
        "pylock.named.toml",
        header
        + textwrap.dedent(
            """\
            [[packages]]
            name = "alpha"
            version = "1.0"
            [[packages.wheels]]
            url = "http://127.0.0.1:1/files/alpha-1.0-py3-none-any.whl"
            hashes = { md5 = "00" }
            """
        ),
    )
    with pytest.raises(
        LockError,
        match=r"pylock\.named\.toml: package alpha 1.0 wheel alpha-1.0-py3-none-any.whl "
        r"has no sha256",
    ):
        read_lock(md5_only, PY311, project_name="app")
    no_extra = write(tmp_path, "pylock.toml", header + 'extras = ["a"]\npackages = []\n')
    with pytest.raises(LockError, match="was not locked with extra 'b'"):
        read_lock(no_extra, PY311, project_name="app", extras=["b"])


def _metadata(name: str, version: str, *requires: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- find_lock


def test_find_lock_precedence(tmp_path: Path) -> None:
    assert find_lock(tmp_path, "auto") is None
    (tmp_path / "pylock.dev.toml").write_text("")
    assert find_lock(tmp_path, "auto") == tmp_path / "pylock.dev.toml"
    (tmp_path / "pylock.toml").write_text("")
    assert find_lock(tmp_path, "auto") == tmp_path / "pylock.toml"
    (tmp_path / "uv.lock").write_text("")
    assert find_lock(tmp_path, "auto") == tmp_path / "uv.lock"
    assert find_lock(tmp_path, "none") is None


def test_find_lock_several_named_pylocks(tmp_path: Path) -> None:
    (tmp_path / "pylock.dev.toml").write_text("")
    (tmp_path / "pylock.prod.toml").write_text("")
    (tmp_path / "pylock.not.valid.toml").write_text("")  # not a pylock name (two dots)
    with pytest.raises(LockError) as info:
        find_lock(tmp_path, "auto")
    message = str(info.value)
    assert "pylock.dev.toml, pylock.prod.toml" in message
    assert "tool.lambda-layers.lock" in message
    assert "not.valid" not in message
    assert find_lock(tmp_path, "pylock.prod.toml") == tmp_path / "pylock.prod.toml"


def test_find_lock_explicit_path(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "uv.lock").write_text("")
    assert find_lock(tmp_path, "locks/uv.lock") == tmp_path / "locks" / "uv.lock"
    with pytest.raises(ConfigError) as info:
        find_lock(tmp_path, "locks/pylock.toml")
    assert "tool.lambda-layers.lock" in str(info.value)
    assert "'locks/pylock.toml'" in str(info.value)
    assert info.value.exit_code == 2
    with pytest.raises(
        ConfigError, match=r"tool\.lambda-layers\.lock must be .*got 'requirements.txt'"
    ):
        find_lock(tmp_path, "requirements.txt")


def test_read_lock_refuses_other_file_names(tmp_path: Path) -> None:
    other = write(tmp_path, "requirements.lock", "")
    with pytest.raises(LockError, match="not a lock file name"):
        read_lock(other, PY311, project_name="app")


# --------------------------------------------------------------------------- integration


@pytest.mark.integration
def test_real_uv_lock_and_pylock_export_agree(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    write(
        tmp_path,
        "pyproject.toml",
        """\
        [project]
        name = "lock-probe"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["requests", "pydantic"]
        """,
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            done = subprocess.run(
                [uv, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"`uv {' '.join(args)}` timed out after 120 s (index unreachable?)")
        if done.returncode != 0:
            pytest.skip(f"`uv {' '.join(args)}` failed (index unreachable?): {done.stderr[-300:]}")
        return done

    run("lock")
    help_text = subprocess.run(
        [uv, "export", "--help"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    has_pylock = "pylock.toml" in help_text
    if has_pylock:
        run("export", "--format", "pylock.toml", "--no-dev", "-o", "pylock.toml", "--quiet")

    uv_graph = read_lock(tmp_path / "uv.lock", PY311, project_name="lock-probe")
    assert set(uv_graph.roots) == {"pydantic", "requests"}
    assert {"certifi", "idna", "urllib3", "pydantic-core"} <= set(names(uv_graph))
    for package in uv_graph.packages:
        assert package.wheels, package.name
        assert all(w.sha256 and len(w.sha256) == 64 for w in package.wheels), package.name
        select_wheel(package, PY311)

    if not has_pylock:
        pytest.skip("this uv cannot export pylock.toml; the uv.lock part passed")
    pylock_graph = read_lock(tmp_path / "pylock.toml", PY311, project_name="lock-probe")
    assert needs_metadata_edges(pylock_graph)
    assert names(pylock_graph) == names(uv_graph)
    for package in pylock_graph.packages:
        assert package.version == uv_graph[package.name].version
        assert all(w.sha256 and len(w.sha256) == 64 for w in package.wheels), package.name
        assert {w.sha256 for w in package.wheels} == {
            w.sha256 for w in uv_graph[package.name].wheels
        }


def test_module_exports() -> None:
    assert callable(locks.find_lock)
    assert callable(locks.read_lock)
