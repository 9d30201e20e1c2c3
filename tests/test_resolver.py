from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import urllib3

from hatch_lambda_layers.errors import ResolutionError, SdistBuildError
from hatch_lambda_layers.resolve.fetch import fetch_wheels
from hatch_lambda_layers.resolve.graph import DependencyGraph, select_wheel
from hatch_lambda_layers.resolve.http import HttpSession
from hatch_lambda_layers.resolve.index import IndexClient
from hatch_lambda_layers.resolve.indexconfig import IndexSettings
from hatch_lambda_layers.resolve.pages import IndexFile, ProjectPage
from hatch_lambda_layers.resolve.resolver import resolve
from hatch_lambda_layers.targets import Target, get_target
from tests import localindex
from tests.localindex import LocalIndex
from tests.wheelfactory import make_wheel

local_index = localindex.local_index  # the fixture factory

PY312 = get_target("python3.12", "x86_64")
ARM312 = get_target("python3.12", "arm64")
PY311 = get_target("python3.11", "x86_64")
MANYLINUX_X86 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"


def _wheel(
    directory: Path,
    name: str,
    version: str,
    requires: Sequence[str] = (),
    *,
    tag: str = "py3-none-any",
    requires_python: str | None = None,
) -> Path:
    extra = f"Requires-Python: {requires_python}\n" if requires_python else ""
    module = name.replace("-", "_")
    return make_wheel(
        directory,
        name,
        version,
        {f"{module}/__init__.py": f"VERSION = {version!r}\n"},
        tag=tag,
        requires_dist=requires,
        extra_metadata=extra,
    )


def _client(*urls: str, find_links: tuple[str, ...] = ()) -> IndexClient:
    retries = urllib3.Retry(total=1, backoff_factor=0)
    return IndexClient(
        IndexSettings(index_urls=urls, find_links=find_links),
        http=HttpSession(environ={}, retries=retries, use_netrc=False),
    )


def _versions(graph: DependencyGraph) -> dict[str, str]:
    return {p.name: p.version for p in graph.packages}


def _resolve(
    directory: Path,
    local_index: Callable[..., LocalIndex],
    requirements: Sequence[str],
    target: Target = PY312,
    **options: object,
) -> DependencyGraph:
    index = local_index(directory, **options)
    return resolve(requirements, target, _client(index.url))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "repo"
    directory.mkdir()
    return directory


@pytest.mark.parametrize("page_format", ["json", "html"])
def test_diamond_picks_the_newest_common_version(
    repo: Path, local_index: Callable[..., LocalIndex], page_format: str
) -> None:
    _wheel(repo, "left", "1.0", ["base>=1.0"])
    _wheel(repo, "right", "1.0", ["base<2"])
    for version in ("0.9", "1.0", "1.5", "2.0"):
        _wheel(repo, "base", version)
    graph = _resolve(repo, local_index, ["Left", "right>=1"], format=page_format)
    assert _versions(graph) == {"base": "1.5", "left": "1.0", "right": "1.0"}
    assert graph.roots == ("left", "right")
    assert graph["left"].dependencies == ("base",)
    assert graph["right"].dependencies == ("base",)
    assert graph["base"].dependencies == ()
    (link,) = graph["base"].wheels
    assert link.filename == "base-1.5-py3-none-any.whl"
    assert link.sha256 == hashlib.sha256((repo / link.filename).read_bytes()).hexdigest()
    assert graph.source.startswith("resolved from http://127.0.0.1:")


def test_markers_are_evaluated_for_the_lambda_target(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(
        repo,
        "app",
        "1.0",
        [
            'winonly; sys_platform == "win32"',
            'backport; python_version < "3.12"',
            'fastloop; platform_machine == "x86_64"',
            "always",
        ],
    )
    for name in ("winonly", "backport", "fastloop", "always"):
        _wheel(repo, name, "1.0")
    index = local_index(repo)
    graph = resolve(["app", 'skipped; sys_platform == "darwin"'], PY312, _client(index.url))
    assert sorted(_versions(graph)) == ["always", "app", "fastloop"]
    assert graph.roots == ("app",)

    on_arm = resolve(["app"], ARM312, _client(index.url))
    assert sorted(_versions(on_arm)) == ["always", "app"]
    on_311 = resolve(["app"], PY311, _client(index.url))
    assert sorted(_versions(on_311)) == ["always", "app", "backport", "fastloop"]


def test_extras_pull_their_dependencies_and_share_the_base_version(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(repo, "web", "2.0", ['speedups>=1; extra == "fast"', 'docs-only; extra == "docs"'])
    _wheel(repo, "web", "1.0", ['speedups>=1; extra == "fast"'])
    _wheel(repo, "speedups", "1.0", ["web<2"])  # forces web back to 1.0 when the extra is on
    _wheel(repo, "docs-only", "1.0")
    index = local_index(repo)

    plain = resolve(["web"], PY312, _client(index.url))
    assert _versions(plain) == {"web": "2.0"}

    fast = resolve(["web[fast]"], PY312, _client(index.url))
    assert _versions(fast) == {"web": "1.0", "speedups": "1.0"}
    assert fast["web"].dependencies == ("speedups",)
    assert fast["speedups"].dependencies == ("web",)
    assert fast.roots == ("web",)


def test_conflict_names_every_requirement_and_who_asked(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(repo, "pydantic", "2.1", ["pydantic-core==2.0"])
    _wheel(repo, "pydantic-core", "2.0")
    _wheel(repo, "pydantic-core", "2.1")
    with pytest.raises(ResolutionError) as info:
        _resolve(repo, local_index, ["pydantic==2.1", "pydantic-core>=2.1"])
    message = str(info.value)
    assert "pydantic-core==2.0 required by pydantic 2.1" in message
    assert "pydantic-core>=2.1 required by the project" in message
    assert "no version of pydantic-core satisfies all of them" in message
    assert "\n" not in message


def test_only_foreign_platform_wheels_are_rejected_with_the_versions(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(repo, "nativelib", "1.0", tag="cp312-cp312-win_amd64")
    _wheel(repo, "nativelib", "1.1", tag="cp312-cp312-macosx_11_0_arm64")
    _wheel(repo, "nativelib", "1.1", tag="cp312-cp312-manylinux_2_17_aarch64")
    with pytest.raises(ResolutionError) as info:
        _resolve(repo, local_index, ["nativelib"])
    message = str(info.value)
    assert "nativelib required by the project" in message
    assert message.startswith("cannot resolve the requirements for python3.12 x86_64")
    assert "nativelib has versions 1.1, 1.0 and they ship no wheel for the target" in message
    assert "cp312-cp312-macosx_11_0_arm64, cp312-cp312-manylinux_2_17_aarch64" in message
    assert "a manylinux_2_34_x86_64 or pure-Python wheel is needed" in message


def test_versions_without_a_loadable_wheel_are_skipped(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(repo, "native", "2.0", tag="cp312-cp312-musllinux_1_2_x86_64")
    _wheel(repo, "native", "2.0", tag="cp312-cp312-manylinux_2_39_x86_64")  # glibc too new
    _wheel(repo, "native", "1.0", tag=MANYLINUX_X86)
    _wheel(repo, "native", "1.0", tag="cp312-cp312-manylinux_2_17_aarch64")
    _wheel(repo, "native", "1.0", tag="py3-none-any")
    (repo / "native-3.0.tar.gz").write_bytes(b"sdist")
    graph = _resolve(repo, local_index, ["native"])
    assert _versions(graph) == {"native": "1.0"}
    # Every loadable wheel of the version, best first; the aarch64 one is left out.
    assert [w.filename for w in graph["native"].wheels] == [
        f"native-1.0-{MANYLINUX_X86}.whl",
        "native-1.0-py3-none-any.whl",
    ]


def test_requires_python_from_the_page_and_from_the_metadata(
    repo: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    _wheel(repo, "modern", "3.0", requires_python=">=3.13")
    _wheel(repo, "modern", "2.0", requires_python=">=3.10")
    index = local_index(repo, requires_python={"modern-3.0-py3-none-any.whl": ">=3.13"})
    assert _versions(resolve(["modern"], PY312, _client(index.url))) == {"modern": "2.0"}

    # find-links pages carry no requires-python: the wheel's metadata must decide.
    links = tmp_path / "links"
    links.mkdir()
    _wheel(links, "modern", "3.0", requires_python=">=3.13")
    _wheel(links, "modern", "2.0", requires_python=">=3.10")
    graph = resolve(["modern"], PY312, _client(find_links=(str(links),)))
    assert _versions(graph) == {"modern": "2.0"}
    assert graph["modern"].dependencies == ()

    with pytest.raises(ResolutionError) as info:
        resolve(["modern>=3"], PY312, _client(find_links=(str(links),)))
    assert "Python >=3.13 required by modern 3.0" in str(info.value)
    assert "but the target runs Python 3.12.3" in str(info.value)


def test_yanked_files_are_skipped_unless_pinned(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    _wheel(repo, "lib", "1.0")
    _wheel(repo, "lib", "1.1")
    index = local_index(repo, yanked={"lib-1.1-py3-none-any.whl": "broken"})
    assert _versions(resolve(["lib"], PY312, _client(index.url))) == {"lib": "1.0"}
    assert _versions(resolve(["lib==1.1"], PY312, _client(index.url))) == {"lib": "1.1"}
    index.yanked["lib-1.0-py3-none-any.whl"] = ""
    with pytest.raises(ResolutionError, match=r"every lib version .* is yanked \(1\.1, 1\.0\)"):
        resolve(["lib"], PY312, _client(index.url))


def test_prereleases_only_when_asked(repo: Path, local_index: Callable[..., LocalIndex]) -> None:
    _wheel(repo, "beta", "1.0")
    _wheel(repo, "beta", "2.0b1")
    index = local_index(repo)
    assert _versions(resolve(["beta"], PY312, _client(index.url))) == {"beta": "1.0"}
    assert _versions(resolve(["beta>=2.0b1"], PY312, _client(index.url))) == {"beta": "2.0b1"}


def test_unknown_and_sdist_only_packages_explain_themselves(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    (repo / "sourceonly-1.0.tar.gz").write_bytes(b"sdist")
    (repo / "oldsource-1.0.tar.gz").write_bytes(b"sdist")
    _wheel(repo, "present", "1.0")
    index = local_index(repo, requires_python={"oldsource-1.0.tar.gz": "<3"})
    # A project that publishes only sdists is built from one (this one is no archive at all).
    with pytest.raises(SdistBuildError, match=r"^sourceonly 1\.0 \(from its sdist .*\) cannot be"):
        resolve(["sourceonly"], PY312, _client(index.url))
    with pytest.raises(ResolutionError, match="publishes only source distributions and none"):
        resolve(["oldsource"], PY312, _client(index.url))
    with pytest.raises(ResolutionError) as info:
        resolve(["absent"], PY312, _client(index.url))
    assert "no package named 'absent' was found on http://127.0.0.1:" in str(info.value)
    with pytest.raises(ResolutionError) as info:
        resolve(["present>=2"], PY312, _client(index.url))
    assert "the versions of present with a wheel for the target" in str(info.value)
    assert "are 1.0" in str(info.value)


def test_bad_requirements_are_reported(repo: Path, local_index: Callable[..., LocalIndex]) -> None:
    index = local_index(repo)
    with pytest.raises(ResolutionError, match="invalid requirement 'not a req!'"):
        resolve(["not a req!"], PY312, _client(index.url))
    with pytest.raises(ResolutionError, match="a direct URL"):
        resolve(["pkg @ https://127.0.0.1:1/pkg-1.0-py3-none-any.whl"], PY312, _client(index.url))


class _FakeIndex:
    """In-memory index: the resolver only needs the PackageIndex protocol."""

    def __init__(self, metadata: dict[str, str]) -> None:
        self.pages: dict[str, ProjectPage] = {}
        self._metadata: dict[str, str] = {}
        for filename, text in metadata.items():
            name = filename.split("-", 1)[0]
            file = IndexFile(filename, f"memory://{filename}", sha256="ab" * 32)
            page = self.pages.get(name, ProjectPage())
            self.pages[name] = ProjectPage(files=(*page.files, file))
            self._metadata[file.url] = text
        self.metadata_reads: list[str] = []

    def project_page(self, name: str) -> ProjectPage:
        return self.pages.get(name, ProjectPage())

    def metadata(self, file: IndexFile) -> str:
        self.metadata_reads.append(file.filename)
        return self._metadata[file.url]

    def describe(self) -> str:
        return "memory"

    def file_sha256(self, file: IndexFile) -> str:
        raise AssertionError("every fake file is hashed")


def test_backtracking_over_a_fake_index_reads_little_metadata() -> None:
    def meta(name: str, version: str, *requires: str) -> str:
        return "".join(
            [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
            + [f"Requires-Dist: {r}\n" for r in requires]
        )

    fake = _FakeIndex(
        {
            "a-2.0-py3-none-any.whl": meta("a", "2.0", "c==2.0"),
            "a-1.0-py3-none-any.whl": meta("a", "1.0", "c==1.0"),
            "b-1.0-py3-none-any.whl": meta("b", "1.0", "c<2"),
            "c-2.0-py3-none-any.whl": meta("c", "2.0"),
            "c-1.0-py3-none-any.whl": meta("c", "1.0"),
        }
    )
    graph = resolve(["a", "b"], PY312, fake)
    assert _versions(graph) == {"a": "1.0", "b": "1.0", "c": "1.0"}
    assert graph.source == "resolved from memory"
    assert graph["a"].wheels[0].sha256 == "ab" * 32
    assert len(fake.metadata_reads) == len(set(fake.metadata_reads))  # memoised per candidate


def test_an_index_without_hashes_still_yields_verifiable_links(
    repo: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    _wheel(repo, "nohash", "1.0", ["dep"], tag=MANYLINUX_X86)
    _wheel(repo, "nohash", "1.0", ["dep"])
    _wheel(repo, "dep", "1.0")
    index = local_index(repo, hashes=False, metadata=False)
    graph = resolve(["nohash"], PY312, _client(index.url))
    best = select_wheel(graph["nohash"], PY312)
    assert best.filename == f"nohash-1.0-{MANYLINUX_X86}.whl"
    assert best.sha256 == hashlib.sha256((repo / best.filename).read_bytes()).hexdigest()
    assert graph["nohash"].wheels[1].sha256 is None  # never downloaded, never needed
    # The wheel read for its metadata was not downloaded a second time to hash it.
    assert index.paths("/files/").count(f"/files/{best.filename}") == 1
    paths = fetch_wheels([best, select_wheel(graph["dep"], PY312)], cache_dir=tmp_path / "c2")
    assert paths[best.filename].read_bytes() == (repo / best.filename).read_bytes()


def test_prefetch_asks_for_each_page_once(
    repo: Path, local_index: Callable[..., LocalIndex]
) -> None:
    names = [f"leaf{i}" for i in range(8)]
    _wheel(repo, "root", "1.0", names)
    for name in names:
        _wheel(repo, name, "1.0")
    index = local_index(repo)
    graph = resolve(["root"], PY312, _client(index.url))
    assert sorted(_versions(graph)) == sorted(["root", *names])
    pages = index.paths("/simple/")
    assert sorted(pages) == sorted({*pages})  # no page fetched twice
    assert len(pages) == 9
