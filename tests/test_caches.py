"""The caches that make a warm build cheap: release history per index page (asked at most once
a day, revalidated with the index's validators, used offline) and per-wheel layouts (a wheel
seen with the same options is not opened again). Both are untrusted when read back."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.errors import FetchError
from hatch_lambda_layers.layers import layoutcache
from hatch_lambda_layers.layers import wheel as wheel_module
from hatch_lambda_layers.layers.layout import LayoutOptions
from hatch_lambda_layers.layers.wheel import read_wheel
from hatch_lambda_layers.plan import plancache, releases
from hatch_lambda_layers.plan.partition import Constraints, Item, Plan, partition
from hatch_lambda_layers.plan.releases import CachedReleases, ReleaseCache
from hatch_lambda_layers.resolve.http import RETRIES_ENV, HttpSession
from hatch_lambda_layers.resolve.pages import ProjectPage
from tests.localindex import LocalIndex, serve_index
from tests.projects import UV, Fixture, copy_project
from tests.wheelfactory import make_wheel

TIMES = {
    "alpha-1.0-py3-none-any.whl": "2026-01-05T10:00:00Z",
    "alpha-1.1-py3-none-any.whl": "2026-03-05T10:00:00Z",
}


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocalIndex]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "1.1"):
        make_wheel(wheels, "alpha", version, {"alpha/__init__.py": f"V = {version!r}\n"})
    with serve_index(wheels, upload_times=TIMES, validators=True) as served:
        yield served


def _releases(index: LocalIndex, cache: Path, **options: object) -> CachedReleases:
    return CachedReleases(
        [index.url],
        lambda: HttpSession(use_netrc=False),
        cache,
        **options,  # type: ignore[arg-type]
    )


def _pages(index: LocalIndex) -> list[dict[str, str]]:
    return [h for p, h in index.requests if p == "/simple/alpha/"]


def test_a_page_is_asked_once_within_its_time_to_live(index: LocalIndex, tmp_path: Path) -> None:
    first = _releases(index, tmp_path)
    page = first.project_page("Alpha")
    assert {(f.filename, f.upload_time, f.yanked) for f in page.files} == {
        (name, when, False) for name, when in TIMES.items()
    }
    assert len(_pages(index)) == 1
    again = _releases(index, tmp_path).project_page("alpha")
    assert again == page
    assert len(_pages(index)) == 1


def test_an_old_entry_is_revalidated_and_a_304_keeps_it(index: LocalIndex, tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    _releases(index, tmp_path, clock=lambda: now[0]).load(["alpha"])
    now[0] += releases.HISTORY_TTL + 1
    page = _releases(index, tmp_path, clock=lambda: now[0]).project_page("alpha")
    first, second = _pages(index)
    assert "if-none-match" not in first
    assert second["if-none-match"].startswith('"')
    assert second["if-modified-since"] == "Mon, 01 Jun 2026 00:00:00 GMT"
    assert len(page.files) == 2
    # The 304 started a new day: no request within it.
    now[0] += releases.HISTORY_TTL - 10
    _releases(index, tmp_path, clock=lambda: now[0]).load(["alpha"])
    assert len(_pages(index)) == 2


def test_a_changed_page_replaces_the_entry(index: LocalIndex, tmp_path: Path) -> None:
    _releases(index, tmp_path, ttl=0).load(["alpha"])
    make_wheel(index.directory, "alpha", "1.2", {"alpha/__init__.py": "V = '1.2'\n"})
    index.upload_times["alpha-1.2-py3-none-any.whl"] = "2026-05-05T10:00:00Z"
    page = _releases(index, tmp_path, ttl=0).project_page("alpha")
    assert len(page.files) == 3
    assert len(_releases(index, tmp_path).project_page("alpha").files) == 3


def test_offline_the_cache_answers_and_says_so(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RETRIES_ENV, "0")
    now = [1_800_000_000.0]
    _releases(index, tmp_path, clock=lambda: now[0]).load(["alpha"])
    now[0] += 3 * releases.HISTORY_TTL
    index.fail_next["/simple/alpha/"] = 1
    warnings: list[str] = []
    offline = _releases(index, tmp_path, clock=lambda: now[0], warn=warnings.append)
    assert len(offline.project_page("alpha").files) == 2
    assert warnings == [
        f"could not reach {index.url}: change rates use the release history cached up to "
        "72 hours ago for 1 pages"
    ]
    # Nothing cached and no index: the page is missing, as before.
    index.fail_next["/simple/beta/"] = 1
    with pytest.raises(FetchError):
        offline.project_page("beta")


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: "not json",
        lambda d: json.dumps(d | {"url": d["url"].replace("/alpha/", "/beta/")}),  # not its page
        lambda d: json.dumps(d | {"fetched": 4e12}),
        lambda d: json.dumps(d | {"etag": 'W/"x"\r\nSet-Cookie: a=b'}),
        lambda d: json.dumps(d | {"files": [["../alpha-1.0-py3-none-any.whl", None, False]]}),
        lambda d: json.dumps(d | {"files": [["alpha-1.0-py3-none-any.whl", 7, False]]}),
        lambda d: json.dumps(d | {"format": 99}),
    ],
)
def test_a_damaged_entry_is_fetched_again(
    index: LocalIndex, tmp_path: Path, damage: object
) -> None:
    _releases(index, tmp_path).load(["alpha"])
    (entry,) = (tmp_path / "release-history").rglob("*.json")
    entry.write_text(damage(json.loads(entry.read_text())))  # type: ignore[operator]
    page = _releases(index, tmp_path).project_page("alpha")
    assert len(page.files) == 2
    assert len(_pages(index)) == 2
    assert ReleaseCache(tmp_path).load(f"{index.url}alpha/", 1_800_000_000.0) is not None


# --------------------------------------------------------------------------- builds


def _build(project: Path, *extra: str) -> int:
    return cli.main(["--quiet", "build", str(project), *extra])


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_builds_without_a_plan_ask_the_index_once_a_day(
    fixture: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fixture.index, "validators", True)
    stamps = {p.name: "2026-02-01T00:00:00Z" for p in fixture.wheels.glob("*.whl")}
    monkeypatch.setattr(fixture.index, "upload_times", stamps)
    project = copy_project(fixture.project, tmp_path / "p")
    start = len(fixture.index.paths("/simple/"))
    assert _build(project, "-o", str(tmp_path / "one")) == 0
    asked = fixture.index.paths("/simple/")[start:]
    assert sorted(asked) == ["/simple/greet/", "/simple/nativeext/", "/simple/textfmt/"]
    rates = json.loads((tmp_path / "one" / "manifest.json").read_text())["layers"][0]
    assert {p["change_source"] for p in rates["packages"]} == {"release-cadence"}

    # A fresh output directory (no plan left there): planned again, from the cache.
    assert _build(project, "-o", str(tmp_path / "two")) == 0
    assert len(fixture.index.paths("/simple/")) == start + 3

    # A day later: revalidated, the index answers 304.
    monkeypatch.setattr(releases, "HISTORY_TTL", 0.0)
    assert _build(project, "-o", str(tmp_path / "three")) == 0
    revalidated = [h for p, h in fixture.index.requests[-3:] if p.startswith("/simple/")]
    assert len(revalidated) == 3
    assert all("if-none-match" in h for h in revalidated)

    # Offline: the cached history plans the build, with a warning.
    monkeypatch.setenv(RETRIES_ENV, "0")
    for page in asked:
        fixture.index.fail_next[page] = 1
    capsys.readouterr()
    assert _build(project, "-o", str(tmp_path / "four")) == 0
    err = capsys.readouterr().err
    assert "could not reach" in err
    assert "release history cached" in err
    layers = json.loads((tmp_path / "four" / "manifest.json").read_text())["layers"]
    assert {p["change_source"] for p in layers[0]["packages"]} == {"release-cadence"}


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_a_warm_build_takes_layouts_from_the_cache(
    fixture: Fixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cache"))
    project = copy_project(fixture.project, tmp_path / "p")
    assert _build(project, "-o", str(tmp_path / "one")) == 0
    opened: list[str] = []

    def spy(path: Path, options: LayoutOptions, **kw: object) -> object:
        opened.append(Path(path).name)
        return read_wheel(path, options, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(wheel_module, "read_wheel", spy)
    assert _build(project, "-o", str(tmp_path / "two")) == 0
    assert opened == []
    assert _zips(tmp_path / "one") == _zips(tmp_path / "two")

    # Damaged entries are laid out again, to the same bytes.
    entries = sorted((tmp_path / "cache" / "layout").rglob("*.json"))
    assert len(entries) == 3
    first = json.loads(entries[0].read_text())
    rows = first["entries"]
    entries[0].write_text(json.dumps(first | {"entries": [["../x", *rows[0][1:]], *rows[1:]]}))
    entries[1].write_text("{")
    assert _build(project, "-o", str(tmp_path / "three")) == 0
    assert len(opened) == 2
    assert _zips(tmp_path / "three") == _zips(tmp_path / "one")

    # Other options, other entries.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.lambda-layers]\n", '[tool.lambda-layers]\nexclude = ["*.pyi"]\n'
        )
    )
    assert _build(project, "-o", str(tmp_path / "four")) == 0
    assert len(opened) == 5


def _zips(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("*.zip")}


def _cached_rows(tmp_path: Path) -> tuple[Path, list[list[object]], int]:
    wheels = tmp_path / "w"
    wheels.mkdir()
    wheel = make_wheel(
        wheels, "alpha", "1.0", {"alpha/__init__.py": "A = 1\n", "alpha/b.py": "B = 2\n"}
    )
    package = read_wheel(wheel, LayoutOptions())
    rows = [layoutcache._row(e) for e in package.entries]  # type: ignore[arg-type]
    return wheel, rows, wheel.stat().st_size


def test_layout_rows_round_trip(tmp_path: Path) -> None:
    wheel, rows, size = _cached_rows(tmp_path)
    back = layoutcache.package_from_rows(wheel, rows, "python/", size)
    assert back == read_wheel(wheel, LayoutOptions())


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        (0, "python/../../etc/passwd", "unsafe path"),
        (0, "/abs/path.py", "outside the layout prefix"),
        (0, "elsewhere/a.py", "outside the layout prefix"),
        (0, "python/alpha/", "outside the layout prefix"),
        (1, 0o4755, "bad mode"),
        (2, -1, "32-bit"),
        (3, 1 << 32, "32-bit"),
        (5, zipfile.ZIP_BZIP2, "bad compression"),
        (7, 10**9, "beyond the wheel's end"),
        (8, "f" * 63, "bad member name or digest"),
        (6, "", "bad member name or digest"),
    ],
)
def test_a_bad_layout_row_is_refused(tmp_path: Path, field: int, value: object, why: str) -> None:
    wheel, rows, size = _cached_rows(tmp_path)
    rows[0][field] = value
    with pytest.raises(ValueError, match=why):
        layoutcache.package_from_rows(wheel, rows, "python/", size)


def test_unsorted_or_repeated_layout_rows_are_refused(tmp_path: Path) -> None:
    wheel, rows, size = _cached_rows(tmp_path)
    for bad in (rows[::-1], [rows[0], rows[0]]):
        with pytest.raises(ValueError, match="sorted"):
            layoutcache.package_from_rows(wheel, bad, "python/", size)


def test_layout_keys_follow_the_options() -> None:
    keys = {
        layoutcache.options_key(options)
        for options in (
            LayoutOptions(),
            LayoutOptions(prefix=""),
            LayoutOptions(exclude=("*.pyi",)),
            LayoutOptions(default_excludes=False),
            LayoutOptions(botocore_services=frozenset({"s3"})),
            LayoutOptions(compile=True),
        )
    }
    assert len(keys) == 6


def test_release_times_are_memoised_per_page_and_target(index: LocalIndex, tmp_path: Path) -> None:
    stamp = datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
    calls: list[str] = []

    def reduce(page: ProjectPage) -> tuple[tuple[datetime, ...], bool]:
        calls.append(str(len(page.files)))
        return (stamp,), True

    first = _releases(index, tmp_path, target_key="python3.12-x86_64")
    assert first.reduced("alpha", reduce) == ((stamp,), True)
    again = _releases(index, tmp_path, target_key="python3.12-x86_64")
    assert again.reduced("alpha", reduce) == ((stamp,), True)
    assert calls == ["2"]
    # Another target, another reduction; a damaged memo is computed again.
    _releases(index, tmp_path, target_key="python3.11-arm64").reduced("alpha", reduce)
    assert len(calls) == 2
    for memo in (tmp_path / "release-history").rglob("times/*/*.json"):
        memo.write_text(json.dumps({"times": ["yesterday"], "dated": True}))
    _releases(index, tmp_path, target_key="python3.12-x86_64").reduced("alpha", reduce)
    assert len(calls) == 3


def test_fresh_plans_are_kept_and_checked_when_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [
        Item("numpy", 20_000_000, 60_000_000, 0.1, direct=True),
        Item("pandas", 15_000_000, 50_000_000, 0.2, direct=True),
        Item("six", 20_000, 40_000, 0.01),
    ]
    constraints = Constraints(max_layers=5, max_zipped_per_layer=52_428_800)
    solved: list[int] = []
    real = partition

    def counting(*args: object, **kwargs: object) -> Plan:
        solved.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("hatch_lambda_layers.plan.plancache.partition", counting)
    plan = plancache.fresh_partition(items, constraints, cache_dir=tmp_path)
    assert plancache.fresh_partition(items, constraints, cache_dir=tmp_path) == plan
    assert len(solved) == 1
    other = [*items[:2], Item("six", 20_000, 40_000, 0.02)]
    plancache.fresh_partition(other, constraints, cache_dir=tmp_path)
    assert len(solved) == 2
    (entry,) = (tmp_path / "plans").rglob(f"{plancache.plan_key(items, constraints)}.json")
    stored = json.loads(entry.read_text())
    for damage in (
        {"layers": [{**stored["layers"][0], "name": "../x"}, *stored["layers"][1:]]},
        {"layers": stored["layers"][:-1]},  # a package left out
        {"expected_bytes": float("nan")},
        {"exact": "yes"},
    ):
        entry.write_text(json.dumps(stored | damage))
        assert plancache.fresh_partition(items, constraints, cache_dir=tmp_path) == plan
    assert len(solved) == 6
