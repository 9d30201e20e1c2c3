"""The replay's inputs: workloads and their release histories from releases.json, the state of
each package on each date, and the index facts releases.json lacks (which releases the target
cannot load), fetched once and cached.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from hatch_lambda_layers.errors import LambdaLayersError
from hatch_lambda_layers.plan.rates import loadability_frozen
from hatch_lambda_layers.resolve.graph import graph_from_mapping, split_provided

FETCH_BUDGET_SECONDS = 300.0


# Dependency edges of the workloads' closures, from the packages' own metadata. Used only to
# leave out what the provided distributions alone need (W1: the runtime's boto3 takes botocore,
# s3transfer, python-dateutil and six with it). A releases file may instead give each package
# a "requires" list; packages neither lists keep no edges (and are then never left out).
EDGES: dict[str, tuple[str, ...]] = {
    "aws-lambda-powertools": ("jmespath", "typing-extensions"),
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "botocore": ("jmespath", "python-dateutil", "urllib3"),
    "s3transfer": ("botocore",),
    "python-dateutil": ("six",),
    "pydantic": ("annotated-types", "pydantic-core", "typing-extensions", "typing-inspection"),
    "pydantic-core": ("typing-extensions",),
    "typing-inspection": ("typing-extensions",),
    "requests": ("certifi", "charset-normalizer", "idna", "urllib3"),
    "pandas": ("numpy", "python-dateutil", "pytz", "tzdata"),
    "scikit-learn": ("joblib", "narwhals", "numpy", "scipy", "threadpoolctl"),
    "scipy": ("numpy",),
}

BEFORE = "<before window>"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Release:
    version: Version
    time: datetime
    size: int | None  # None: no wheel the target loads


@dataclass(frozen=True)
class Package:
    name: str
    pinned: Version
    pinned_size: int
    releases: tuple[Release, ...]

    def candidates(self) -> list[Release]:
        """Releases the replay may pick: those with a wheel the target loads."""
        return [r for r in self.releases if r.size is not None]

    def state_at(self, moment: datetime) -> tuple[str, int]:
        """(version, wheel size) current at `moment` (uploads strictly before it)."""
        cands = self.candidates()
        out = [r for r in cands if r.time < moment]
        if out:
            best = max(out, key=lambda r: r.version)
            assert best.size is not None
            return str(best.version), best.size
        if not cands:
            return str(self.pinned), self.pinned_size
        # An earlier version outside the data: its size is taken as the nearest known one.
        first = min(cands, key=lambda r: r.time)
        assert first.size is not None
        return BEFORE, first.size


@dataclass(frozen=True)
class Workload:
    name: str
    runtime: str
    architecture: str
    packages: Mapping[str, Package]
    left_out: tuple[str, ...]


def _package(pname: str, p: Mapping[str, Any]) -> Package:
    releases = tuple(
        Release(Version(r["version"]), parse_time(r["upload_time"]), r.get("wheel_size"))
        for r in p.get("releases", [])
    )
    name = canonicalize_name(pname)
    return Package(name, Version(p["pinned"]), int(p["wheel_size"]), releases)


def load_workloads(data: Mapping[str, Any]) -> list[Workload]:
    workloads = []
    for wname, w in sorted(data.items()):
        if wname.startswith("_"):
            continue
        packages = {p.name: p for p in (_package(n, raw) for n, raw in w["packages"].items())}
        edges: dict[str, tuple[str, Iterable[str]]] = {
            canonicalize_name(n): (raw["pinned"], raw.get("requires", EDGES.get(n, ())))
            for n, raw in w["packages"].items()
        }
        left_out: tuple[str, ...] = ()
        if w.get("provided"):
            graph = graph_from_mapping(w.get("requirements", []), edges)
            closure = split_provided(graph, w["provided"])
            left_out = tuple(sorted(x.name for x in closure.left_out))
        kept = {n: p for n, p in packages.items() if n not in left_out}
        arch = w.get("architecture", "x86_64")
        workloads.append(Workload(wname, w["runtime"], arch, kept, left_out))
    return workloads


def window(data: Mapping[str, Any]) -> tuple[datetime, datetime, datetime]:
    """(training start, replay start, replay end) from `_about.window`, split in the middle."""
    about = str(data.get("_about", {}).get("window", ""))
    found = re.findall(r"\d{4}-\d{2}-\d{2}", about)
    if len(found) >= 2:
        start, end = (midnight(date.fromisoformat(x)) for x in found[:2])
    else:
        times = [
            parse_time(r["upload_time"])
            for w in data.values()
            if isinstance(w, Mapping) and "packages" in w
            for p in w["packages"].values()
            for r in p.get("releases", [])
        ]
        start, end = min(times), max(times) + timedelta(seconds=1)
    split = start + (end - start) / 2
    return start, midnight(split.date()), end


# --------------------------------------------------------------------------- the replay


@dataclass(frozen=True)
class Timeline:
    names: list[str]  # canonical order
    dates: list[date]  # build dates in the window
    initial: dict[str, tuple[str, int]]  # state at the start of the window
    states: list[dict[str, tuple[str, int]]]  # state after each build date

    def changed(self) -> list[set[str]]:
        """Per build, the packages whose version changed since the previous one."""
        return [
            {n for n in self.names if prev[n][0] != cur[n][0]}
            for prev, cur in zip([self.initial, *self.states], self.states, strict=False)
        ]


def timeline(w: Workload, start: datetime, end: datetime) -> Timeline:
    names = sorted(w.packages)
    days = sorted(
        {r.time.date() for p in w.packages.values() for r in p.releases if start <= r.time < end}
    )
    initial = {n: w.packages[n].state_at(start) for n in names}
    states = [
        {n: w.packages[n].state_at(midnight(d) + timedelta(days=1)) for n in names} for d in days
    ]
    return Timeline(names, days, initial, states)


# --------------------------------------------------------------------------- index facts


def _loadable(target: Any) -> Callable[[Any], bool]:
    """Index file -> whether the target loads it (wheel tags and Requires-Python)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    def loadable(f: Any) -> bool:
        if not f.is_wheel or target.wheel_rank(f.filename) is None:
            return False
        try:
            return f.requires_python is None or SpecifierSet(f.requires_python).contains(
                target.python_full_version, prereleases=True
            )
        except InvalidSpecifier:
            return True

    return loadable


def _release_rows(files: Sequence[Any], cutoff: datetime, loadable: Any) -> list[list[Any]]:
    """[version, first upload, loadable] of each final release first uploaded before `cutoff`."""
    by_version: dict[str, list[Any]] = {}
    for f in files:
        version = index_version(f.filename)
        if version is None or not f.upload_time or f.yanked:
            continue
        if not (Version(version).is_prerelease or Version(version).is_devrelease):
            by_version.setdefault(version, []).append(f)
    rows = []
    for version, fs in sorted(by_version.items()):
        first = min(parse_time(f.upload_time) for f in fs)
        if first < cutoff:
            rows.append([version, first.isoformat(), any(loadable(f) for f in fs)])
    return rows


def fetch_index_facts(
    workloads: Sequence[Workload], cutoff: datetime, budget: float = FETCH_BUDGET_SECONDS
) -> dict[str, Any]:
    """Per workload and package, every release first uploaded before `cutoff` with whether the
    target loads it, read with the tool's own index client from the indexes the user's pip/uv
    configuration names. Nothing at or after `cutoff` is kept."""
    from hatch_lambda_layers.resolve import index, indexconfig
    from hatch_lambda_layers.targets import get_target

    deadline = time.monotonic() + budget
    facts: dict[str, Any] = {"cutoffs": [str(cutoff.date())], "workloads": {}}
    settings = indexconfig.discover_index_settings(None, Path.cwd())
    with index.IndexClient(settings) as client:
        for w in workloads:
            loadable = _loadable(get_target(w.runtime, w.architecture))
            releases: dict[str, Any] = {}
            for name in sorted(w.packages):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"index facts: over {budget:g} s")
                page = client.project_page(name)
                releases[name] = _release_rows(page.files, cutoff, loadable)
            facts["workloads"][w.name] = {"releases": releases}
    return facts


def load_index_facts(path: Path, workloads: Sequence[Workload], cutoff: datetime) -> Any:
    """The cached facts at `path`, else fetched and written there; None when unavailable."""
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    try:
        facts = fetch_index_facts(workloads, cutoff)
    except (LambdaLayersError, OSError, TimeoutError) as exc:
        print(f"index facts unavailable ({exc}); the loadability freeze is off")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return facts


def index_version(filename: str) -> str | None:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except ValueError:
        return None


def frozen_at(facts: Any, w: Workload, cutoff: datetime) -> list[str]:
    """The packages the loadability freeze (`rates.loadability_frozen`) holds at `cutoff`."""
    if facts is None or w.name not in facts["workloads"]:
        return []
    rows = facts["workloads"][w.name]["releases"]
    return [
        name
        for name in sorted(w.packages)
        if loadability_frozen(
            (v, parse_time(t), ok) for v, t, ok in rows.get(name, []) if parse_time(t) < cutoff
        )
    ]
