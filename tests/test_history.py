"""Change-rate estimation: histories, release cadence, overrides, and how they combine."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatch_lambda_layers.errors import FetchError
from hatch_lambda_layers.plan import evidence
from hatch_lambda_layers.plan import rates as history
from hatch_lambda_layers.plan.evidence import gather_evidence, read_lock_history
from hatch_lambda_layers.plan.rates import (
    DEFAULT_RATE,
    PRIOR_WEIGHT,
    STABLE_RATE,
    VOLATILE_RATE,
    ChangeCounts,
    ChangeHistory,
    Evidence,
    RateEstimate,
    cadence_rate,
    change_history,
    combine,
    count_changes,
    estimate_rates,
    history_from_releases,
    history_from_revisions,
    next_history,
    rates_from_evidence,
    release_times,
)
from hatch_lambda_layers.resolve.index import IndexFile, ProjectPage
from hatch_lambda_layers.resolve.locks import pinned_versions as lock_versions

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def uv_lock(versions: dict[str, str]) -> str:
    out = ["version = 1", 'requires-python = ">=3.12"', ""]
    for name, version in versions.items():
        out += [
            "[[package]]",
            f'name = "{name}"',
            f'version = "{version}"',
            'source = { registry = "https://example.invalid/simple" }',
            "",
        ]
    return "\n".join(out)


# --------------------------------------------------------------------------- histories


def test_count_changes_counts_pairs_where_present_in_both() -> None:
    newest_first = [
        {"numpy": "2.1", "Requests": "2.3", "idna": "3.2"},
        {"numpy": "2.0", "requests": "2.3"},
        {"numpy": "2.0", "requests": "2.2", "six": "1.0"},
    ]
    counts = count_changes(newest_first)
    assert counts["numpy"] == ChangeCounts(changes=1, observations=2)
    assert counts["requests"] == ChangeCounts(changes=1, observations=2)
    assert "idna" not in counts and "six" not in counts


def test_next_history_prepends_dedupes_and_bounds() -> None:
    h1 = next_history((), {"NumPy": "2.0", "a_b": "1"})
    assert h1 == ({"a-b": "1", "numpy": "2.0"},)
    assert next_history(h1, {"numpy": "2.0", "a-b": "1"}) == h1, "a no-change build adds nothing"
    h2 = next_history(h1, {"numpy": "2.1", "a-b": "1"})
    assert h2[0] == {"a-b": "1", "numpy": "2.1"} and h2[1] == h1[0]
    history_ = ()
    for i in range(60):
        history_ = next_history(history_, {"numpy": f"2.{i}"}, limit=50)
    assert len(history_) == 50 and history_[0] == {"numpy": "2.59"}


def test_lock_versions_reads_uv_lock_and_pylock() -> None:
    assert lock_versions(uv_lock({"NumPy": "2.1.0", "six": "1.17.0"})) == {
        "numpy": "2.1.0",
        "six": "1.17.0",
    }
    pylock = 'lock-version = "1.0"\n[[packages]]\nname = "idna"\nversion = "3.10"\n\n[[packages]]\nname = "local"\n'
    assert lock_versions(pylock) == {"idna": "3.10"}
    with pytest.raises(ValueError):
        lock_versions("not = [toml")


def test_read_lock_history_with_a_fake_runner() -> None:
    calls: list[Sequence[str]] = []
    revisions = {
        "c3": uv_lock({"numpy": "2.2"}),
        "c2": "broken [[",
        "c1": uv_lock({"numpy": "2.1"}),
    }

    def runner(args: Sequence[str]) -> str | None:
        calls.append(args)
        if args[0] == "log":
            return "c3\nc2\nc1\n"
        return revisions[args[1].split(":")[0]]

    assert read_lock_history(".", "uv.lock", runner=runner) == ({"numpy": "2.2"}, {"numpy": "2.1"})
    assert calls[0] == ["log", "--format=%H", "-n", "50", "--", "uv.lock"]
    assert calls[1] == ["show", "c3:./uv.lock"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_read_lock_history_from_a_real_repository(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    repo = tmp_path / "repo"
    project = repo / "service"
    project.mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)

    git("init", "-q")
    for i, versions in enumerate(
        [
            {"numpy": "2.0", "six": "1.0"},
            {"numpy": "2.1", "six": "1.0"},
            {"numpy": "2.2", "six": "1.0"},
        ]
    ):
        (project / "uv.lock").write_text(uv_lock(versions))
        (project / "other.txt").write_text(str(i))
        git("add", ".")
        git("commit", "-q", "-m", f"r{i}")
    (project / "other.txt").write_text("unrelated")
    git("commit", "-q", "-am", "unrelated change")
    revisions = read_lock_history(project, "uv.lock")
    assert [r["numpy"] for r in revisions] == ["2.2", "2.1", "2.0"]
    counts = count_changes(revisions)
    assert counts["numpy"] == ChangeCounts(2, 2) and counts["six"] == ChangeCounts(0, 2)
    assert read_lock_history(tmp_path / "nowhere", "uv.lock") == ()
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "uv.lock").write_text(uv_lock({"numpy": "1"}))
    assert read_lock_history(tmp_path / "plain", "uv.lock") == ()  # not inside a git repository


# --------------------------------------------------------------------------- release cadence


def test_release_times_keep_first_upload_of_releases_that_advance() -> None:
    t = [NOW - timedelta(days=d) for d in range(100, 0, -10)]
    pairs = [
        ("2.0.0", t[0]),
        ("2.0.0", t[1]),  # another file of 2.0.0, uploaded later
        ("2.1.0rc1", t[2]),  # pre-release
        ("1.10.5", t[3]),  # backport below the newest
        ("2.1.0", t[4]),
        ("not a version", t[5]),
        ("2.2.0", None),
    ]
    assert release_times(pairs) == (t[0], t[4])


def test_release_times_from_index_files() -> None:
    files = [
        IndexFile("demo-1.0-py3-none-any.whl", "u1", upload_time="2026-01-01T10:00:00.5Z"),
        IndexFile("demo-1.0.tar.gz", "u2", upload_time="2025-12-31T10:00:00Z"),
        IndexFile("demo-1.1-py3-none-any.whl", "u3", upload_time="2026-03-01T00:00:00Z"),
        IndexFile(
            "demo-1.2-py3-none-any.whl", "u4", upload_time="2026-04-01T00:00:00Z", yanked=True
        ),
        IndexFile("demo-1.3-py3-none-any.whl", "u5"),
    ]
    assert history.release_times_from_files(files) == (
        datetime(2025, 12, 31, 10, tzinfo=timezone.utc),
        datetime(2026, 3, 1, tzinfo=timezone.utc),
    )


def test_release_times_only_count_releases_the_target_can_load() -> None:
    files = [
        IndexFile(
            "np-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a",
            upload_time="2025-05-17T00:00:00Z",
        ),
        IndexFile("np-2.2.6.tar.gz", "b", upload_time="2025-05-17T00:00:00Z"),
        IndexFile(
            "np-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "c",
            upload_time="2025-06-07T00:00:00Z",
        ),
        IndexFile("np-2.3.0.tar.gz", "d", upload_time="2025-06-07T00:00:00Z"),
    ]
    old_glibc = lambda filename: "manylinux_2_28" not in filename  # noqa: E731
    assert history.release_times_from_files(files, old_glibc) == (
        datetime(2025, 5, 17, tzinfo=timezone.utc),
    )
    assert len(history.release_times_from_files(files)) == 2
    index = FakeIndex({"np": ProjectPage(tuple(files))})
    # With a target, the newest release it cannot load freezes the package (no release times).
    assert evidence.upload_times_from_index(index, ["np"], loadable=old_glibc) == {"np": ()}


def test_cadence_rate_formula_and_window() -> None:
    weekly = [NOW - timedelta(days=7 * i + 1) for i in range(52)]
    rate = cadence_rate(weekly, NOW)
    assert rate == pytest.approx(1 - math.exp(-(52.5 / 365) * 7))
    # releases outside the last 365 days, or after `now`, do not count
    old = [NOW - timedelta(days=400), NOW + timedelta(days=3)]
    quiet = cadence_rate(old, NOW)
    assert quiet == pytest.approx(1 - math.exp(-(0.5 / 365) * 7))
    assert 0 < quiet < 0.01
    daily = cadence_rate(weekly, NOW, build_interval_days=1.0)
    assert daily < rate
    naive = [t.replace(tzinfo=None) for t in weekly]
    assert cadence_rate(naive, NOW) == rate
    with pytest.raises(ValueError):
        cadence_rate(weekly, NOW, build_interval_days=0)


@given(st.integers(0, 400), st.integers(0, 400))
def test_cadence_rate_is_a_probability_and_grows_with_releases(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    times = [NOW - timedelta(hours=20 * i + 1) for i in range(hi)]
    r_lo, r_hi = cadence_rate(times[:lo], NOW), cadence_rate(times, NOW)
    assert 0.0 < r_lo <= r_hi <= 1.0


# --------------------------------------------------------------------------- combination


def test_combine_precedence_and_posterior() -> None:
    assert combine(override="volatile", lock=ChangeCounts(0, 40)) == RateEstimate(
        VOLATILE_RATE, "override"
    )
    assert combine(override="stable", cadence=0.9) == RateEstimate(STABLE_RATE, "override")
    with pytest.raises(ValueError):
        combine(override="sometimes")
    lock = ChangeCounts(changes=3, observations=10)
    got = combine(lock=lock, manifest=ChangeCounts(9, 10), cadence=0.5)
    assert got.source == "lock-history"
    assert got.rate == pytest.approx((3 + 0.5 * PRIOR_WEIGHT) / (10 + PRIOR_WEIGHT))
    thin_lock = ChangeCounts(changes=1, observations=2)
    got = combine(lock=thin_lock, manifest=ChangeCounts(0, 8), cadence=0.5)
    assert got.source == "manifest-history"
    assert got.rate == pytest.approx((0 + 0.5 * PRIOR_WEIGHT) / (8 + PRIOR_WEIGHT))
    assert combine(lock=thin_lock, cadence=0.25) == RateEstimate(0.25, "release-cadence")
    assert combine(lock=thin_lock) == RateEstimate(DEFAULT_RATE, "unknown")
    assert combine(cadence=1.7).rate == 1.0


@given(
    st.integers(0, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.one_of(st.none(), st.floats(0, 1)),
)
def test_combined_rate_is_a_probability_with_a_known_source(
    counts: tuple[int, int], cadence: float | None
) -> None:
    estimate = combine(lock=ChangeCounts(*counts), cadence=cadence)
    assert 0.0 <= estimate.rate <= 1.0
    assert estimate.source in history.SOURCES


def test_estimate_rates_uses_every_source() -> None:
    lock_history = [{"numpy": str(i // 2)} for i in range(12)]  # changes every other revision
    manifest_history = [{"pandas": str(i)} for i in range(8)]
    upload_times = {"Requests": [NOW - timedelta(days=30 * i + 1) for i in range(12)]}
    estimates = estimate_rates(
        ["NumPy", "pandas", "requests", "botocore", "mystery"],
        lock_history=lock_history,
        manifest_history=manifest_history,
        upload_times=upload_times,
        now=NOW,
        volatile=["Botocore"],
    )
    assert estimates["NumPy"].source == "lock-history"
    assert estimates["NumPy"].rate == pytest.approx(
        (5 + DEFAULT_RATE * PRIOR_WEIGHT) / (11 + PRIOR_WEIGHT)
    )
    assert estimates["pandas"].source == "manifest-history"
    assert estimates["pandas"].rate == pytest.approx(
        (7 + DEFAULT_RATE * PRIOR_WEIGHT) / (7 + PRIOR_WEIGHT)
    )
    assert estimates["requests"] == RateEstimate(
        cadence_rate(upload_times["Requests"], NOW), "release-cadence"
    )
    assert estimates["botocore"] == RateEstimate(VOLATILE_RATE, "override")
    assert estimates["mystery"] == RateEstimate(DEFAULT_RATE, "unknown")
    with pytest.raises(ValueError):
        estimate_rates(["requests"], upload_times=upload_times)


def test_rates_from_evidence_without_history() -> None:
    got = rates_from_evidence(["six", "numpy"], Evidence(now=NOW), stable=["six"])
    assert got == {
        "six": RateEstimate(STABLE_RATE, "override"),
        "numpy": RateEstimate(DEFAULT_RATE, "unknown"),
    }


class FakeIndex:
    def __init__(self, pages: dict[str, ProjectPage]) -> None:
        self.pages = pages

    def project_page(self, name: str) -> ProjectPage:
        if name not in self.pages:
            raise FetchError(f"no page for {name}")
        return self.pages[name]

    def metadata(self, file: IndexFile) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        return "fake index"


def test_upload_times_from_index_warns_and_skips_what_it_cannot_read() -> None:
    index = FakeIndex(
        {
            "demo": ProjectPage(
                (IndexFile("demo-1.0-py3-none-any.whl", "u", upload_time="2026-01-01T00:00:00Z"),)
            ),
            "bare": ProjectPage((IndexFile("bare-1.0-py3-none-any.whl", "u"),)),
        }
    )
    warnings: list[str] = []
    got = evidence.upload_times_from_index(index, ["Demo", "bare", "missing"], warnings.append)
    assert got == {"demo": (datetime(2026, 1, 1, tzinfo=timezone.utc),)}
    assert len(warnings) == 2 and any("missing" in w for w in warnings)


# --------------------------------------------------------------------------- joint history


def test_change_history_canonicalizes_validates_and_restricts() -> None:
    h = ChangeHistory(
        (frozenset({"Pydantic_Core", "pydantic"}), frozenset(), frozenset({"six"})),
        frozenset({"pydantic", "pydantic-core", "six", "NumPy"}),
        "lock-history",
    )
    assert h.count == 3
    assert h.packages == {"pydantic", "pydantic-core", "six", "numpy"}
    assert h.intervals[0] == {"pydantic", "pydantic-core"}
    assert h.changes("PYDANTIC") == 1 and h.changes("numpy") == 0 and h.changes("absent") == 0
    cut = h.restricted(["pydantic", "six", "not-covered"])
    assert cut.packages == {"pydantic", "six"} and cut.count == 3
    assert cut.intervals == (frozenset({"pydantic"}), frozenset(), frozenset({"six"}))
    with pytest.raises(ValueError, match="stray"):
        ChangeHistory((frozenset({"stray"}),), frozenset({"six"}), "lock-history")
    with pytest.raises(ValueError, match="unknown change-history source"):
        ChangeHistory((), frozenset(), "guess")


def test_history_from_revisions_gives_chronological_intervals_over_covered_packages() -> None:
    newest_first = [
        {"pydantic": "2.3", "pydantic-core": "2.33", "idna": "3.2", "added": "1"},
        {"pydantic": "2.2", "pydantic-core": "2.32", "idna": "3.2"},
        {"Pydantic": "2.2", "pydantic-core": "2.32", "idna": "3.1"},
        {"pydantic": "2.1", "pydantic-core": "2.31", "idna": "3.1"},
    ]
    h = history_from_revisions(newest_first, "manifest-history")
    assert h.source == "manifest-history"
    assert h.packages == {"pydantic", "pydantic-core", "idna"}  # "added" is not in every one
    assert h.intervals == (
        frozenset({"pydantic", "pydantic-core"}),  # oldest pair first
        frozenset({"idna"}),
        frozenset({"pydantic", "pydantic-core"}),
    )
    assert history_from_revisions([]).count == 0
    assert history_from_revisions([{"a": "1"}]) == ChangeHistory(
        (), frozenset({"a"}), "lock-history"
    )


def test_history_from_releases_buckets_at_the_build_cadence() -> None:
    week = timedelta(days=7)
    times = {
        "pydantic": [NOW - timedelta(hours=1), NOW - 3 * week - timedelta(days=2)],
        "Pydantic-Core": [NOW - timedelta(days=2), NOW - 3 * week - timedelta(days=1)],
        "idna": [NOW - 10 * week - timedelta(days=1)],
        "quiet": [],
        "edge": [NOW, NOW - 52 * week, NOW - 60 * week, NOW + timedelta(days=1)],
    }
    h = history_from_releases(times, NOW)
    assert h.count == 52  # floor(365 / 7) weekly intervals, the newest ending at NOW
    assert h.source == "release-cadence"
    assert h.packages == {"pydantic", "pydantic-core", "idna", "quiet", "edge"}
    assert h.intervals[51] == {"pydantic", "pydantic-core", "edge"}  # NOW itself is inside
    assert h.intervals[48] == {"pydantic", "pydantic-core"}
    assert h.intervals[41] == {"idna"}
    # exactly 52 weeks back is outside (the window is (NOW - 52 weeks, NOW]); so are the future
    # and anything older
    assert h.changes("edge") == 1 and h.changes("quiet") == 0
    assert sum(len(i) for i in h.intervals) == 6
    days = history_from_releases(times, NOW, window_days=30, build_interval_days=1)
    assert days.count == 30 and days.intervals[29] == {"pydantic", "edge"}
    assert days.intervals[27] == {"pydantic-core"}
    with pytest.raises(ValueError):
        history_from_releases(times, NOW, build_interval_days=0)


def test_change_history_follows_the_precedence_of_the_rates() -> None:
    lock = [{"a": str(i), "b": str(i // 2), "c": "1"} for i in range(7)]  # 6 intervals
    manifest = [{"a": str(i), "b": "1", "c": str(i)} for i in range(8)]  # 7 intervals
    times = {"a": [NOW - timedelta(days=3)], "b": [], "c": [NOW - timedelta(days=40)]}
    got = change_history(
        ["A", "b", "c"], lock_history=lock, manifest_history=manifest, upload_times=times, now=NOW
    )
    assert got is not None and got.source == "lock-history" and got.count == 6
    assert got == history_from_revisions(lock)
    # too few lock revisions: the manifest's history; too few there as well: release cadence
    got = change_history(
        ["a", "b", "c"],
        lock_history=lock[:5],
        manifest_history=manifest,
        upload_times=times,
        now=NOW,
    )
    assert got is not None and got.source == "manifest-history" and got.count == 7
    got = change_history(
        ["a", "b", "c"],
        lock_history=lock[:5],
        manifest_history=manifest[:3],
        upload_times=times,
        now=NOW,
    )
    assert got == history_from_releases(times, NOW)
    # cut to the names asked for, overrides left out; a source must cover two of them
    got = change_history(
        ["a", "b", "c", "d"], lock_history=lock, volatile=["C"], upload_times=times, now=NOW
    )
    assert got is not None and got.source == "lock-history" and got.packages == {"a", "b"}
    got = change_history(["a", "b"], lock_history=lock, stable=["b"], upload_times=times, now=NOW)
    assert got is None  # one package left: no joint information anywhere
    got = change_history(
        ["a", "c"], lock_history=[{"a": str(i)} for i in range(9)], upload_times=times, now=NOW
    )
    assert got is not None and got.source == "release-cadence"
    assert change_history(["a", "b"]) is None
    with pytest.raises(ValueError, match="now"):
        change_history(["a", "b"], upload_times=times)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_change_history_for_project_reads_the_lock_history_from_git(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, env=env, capture_output=True
        )

    git("init", "-q")
    for i in range(7):  # pydantic and pydantic-core move together, six never
        versions = {"pydantic": f"2.{i}", "pydantic-core": f"2.{30 + i}", "six": "1.0"}
        (tmp_path / "uv.lock").write_text(uv_lock(versions))
        git("add", ".")
        git("commit", "-q", "-m", f"r{i}")
    names = ["pydantic", "pydantic-core", "six"]
    found = gather_evidence(tmp_path, names, lock_path=tmp_path / "uv.lock", now=NOW)
    joint = change_history(names, lock_history=found.lock_history, now=NOW)
    assert joint is not None and joint.source == "lock-history" and joint.count == 6
    assert all(i == {"pydantic", "pydantic-core"} for i in joint.intervals)
    rates = rates_from_evidence(names, found)
    assert rates["six"].source == "lock-history"
    assert gather_evidence(tmp_path, names, lock_path=None, now=NOW).lock_history == ()


# --------------------------------------------------------------------------- loadability freeze


def _day(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


def test_loadability_freeze_when_the_newest_release_cannot_be_loaded() -> None:
    releases = [
        ("2.2.5", _day(4, 19), True),
        ("2.2.6", _day(5, 17), True),
        ("2.3.0", _day(6, 7), False),
        ("2.3.1", _day(6, 21), False),
        ("2.4.0rc1", _day(7, 1), True),  # a pre-release never moves a lock
        ("1.26.5", _day(8, 1), True),  # nor does a backport
    ]
    assert history.loadability_frozen(releases)
    assert history.frozen_release_times(releases) == ()
    # A loadable release after the run thaws it; the unloadable ones in the middle are skipped.
    thawed = [*releases, ("2.5.0", _day(9, 1), True)]
    assert not history.loadability_frozen(thawed)
    assert history.frozen_release_times(thawed) == (_day(4, 19), _day(5, 17), _day(9, 1))
    # Loadability is per version: one loadable file of the newest version is enough.
    assert not history.loadability_frozen([*releases, ("2.3.1", _day(6, 22), True)])
    assert not history.loadability_frozen([])
    # The frozen package's rate is the cadence floor (half a release a year), not its past.
    now = _day(11, 1)
    frozen = cadence_rate(history.frozen_release_times(releases), now)
    assert frozen == pytest.approx(cadence_rate((), now))
    assert frozen < cadence_rate(release_times([(v, t) for v, t, ok in releases if ok]), now)


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 364), st.booleans()), min_size=0, max_size=12
    )
)
def test_frozen_release_times_are_the_loadable_release_times_or_none(
    raw: list[tuple[int, int, bool]],
) -> None:
    releases = [(f"1.{m}", _day(1, 1) + timedelta(days=d), ok) for m, d, ok in raw]
    got = history.frozen_release_times(releases)
    usable = {v for v, _, ok in releases if ok}
    plain = release_times([(v, t) for v, t, _ in releases if v in usable])
    assert got == (() if history.loadability_frozen(releases) else plain)
    if all(ok for _, _, ok in releases):
        assert not history.loadability_frozen(releases)


def test_release_times_from_files_with_freeze_and_from_the_index() -> None:
    files = [
        IndexFile(
            "np-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl", "a", upload_time="2025-05-17T00:00Z"
        ),
        IndexFile("np-2.2.6.tar.gz", "b", upload_time="2025-05-17T00:00:00Z"),
        IndexFile(
            "np-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl", "c", upload_time="2025-06-07T00:00Z"
        ),
    ]
    old_glibc = lambda filename: "manylinux_2_28" not in filename  # noqa: E731
    assert history.release_times_from_files(files, old_glibc) == (_day(5, 17),)
    assert history.release_times_from_files(files, old_glibc, freeze=True) == ()
    assert len(history.release_times_from_files(files, freeze=True)) == 2  # no target: no freeze
    index = FakeIndex({"np": ProjectPage(tuple(files))})
    # A frozen package is kept, with no release times (so its rate is the floor, not the default).
    got = evidence.upload_times_from_index(index, ["np"], loadable=old_glibc)
    assert got == {"np": ()}
    rates = estimate_rates(["np"], upload_times=got, now=_day(11, 1))
    assert rates["np"] == RateEstimate(cadence_rate((), _day(11, 1)), "release-cadence")


# --------------------------------------------------------------------------- exact-pin coupling


def test_exact_pins_from_requires_dist_and_metadata() -> None:
    metadata = (
        "Metadata-Version: 2.4\nName: pydantic\nVersion: 2.12.3\n"
        "Requires-Dist: annotated-types>=0.6.0\n"
        "Requires-Dist: Pydantic_Core==2.41.4\n"
        "Requires-Dist: typing-extensions>=4.14.1\n"
        "Requires-Dist: email-validator==2.0.0; extra == 'email'\n"
        "Requires-Dist: tzdata==2024.1; python_version >= '3.9'\n"
        "Requires-Dist: legacy===1.0\n"
        "Requires-Dist: wild==1.*\n"
        "Requires-Dist: not a requirement !!\n\nbody\n"
    )
    lines = history.requires_dist_of(metadata)
    assert len(lines) == 8
    assert history.exact_pins(lines) == {"pydantic-core", "tzdata", "legacy"}
    assert history.exact_pins([]) == frozenset()


def test_couple_release_times_propagates_along_exact_pins() -> None:
    a, b, c = _day(1, 1), _day(2, 1), _day(3, 1)
    times = {"Pydantic": (a,), "pydantic_core": (b,), "leaf": (c,), "alone": ()}
    got = history.couple_release_times(
        times, {"pydantic": ["Pydantic-Core"], "pydantic-core": ["leaf"]}
    )
    assert got == {"Pydantic": (a,), "pydantic_core": (a, b), "leaf": (a, b, c), "alone": ()}
    assert history.couple_release_times(times, {}) == {k: tuple(v) for k, v in times.items()}
    # Packages outside the times and self-pins are ignored.
    assert history.couple_release_times(times, {"other": ["leaf"], "leaf": ["leaf"]})["leaf"] == (
        c,
    )


def test_estimate_rates_and_change_history_use_exact_pins() -> None:
    now = _day(12, 31)
    week = timedelta(days=7)
    times = {
        "pydantic": tuple(now - week * (2 * i + 1) for i in range(10)),
        "pydantic-core": tuple(now - week * (2 * i) - timedelta(days=1) for i in range(1, 10)),
    }
    pins = {"pydantic": frozenset({"pydantic-core"})}
    plain = estimate_rates(times, upload_times=times, now=now)
    coupled = estimate_rates(times, upload_times=times, now=now, pins=pins)
    assert coupled["pydantic"] == plain["pydantic"]
    assert coupled["pydantic-core"].rate > plain["pydantic-core"].rate
    joint = change_history(times, upload_times=times, now=now, pins=pins)
    assert joint is not None
    # Every interval in which pydantic changed now shows pydantic-core changing with it.
    assert all("pydantic-core" in i for i in joint.intervals if "pydantic" in i)
    loose = change_history(times, upload_times=times, now=now)
    assert loose is not None
    assert not all("pydantic-core" in i for i in loose.intervals if "pydantic" in i)
