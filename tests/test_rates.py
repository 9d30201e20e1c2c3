"""Change-rate estimation (pure): histories, release cadence, the loadability freeze,
overrides, and how they combine."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatch_lambda_layers.plan.rates import (
    BUILD_INTERVAL_DAYS,
    DEFAULT_RATE,
    PRIOR_WEIGHT,
    SOURCES,
    STABLE_RATE,
    VOLATILE_RATE,
    ChangeCounts,
    Evidence,
    RateEstimate,
    cadence_rate,
    choose_rates,
    combine,
    count_changes,
    frozen_release_times,
    loadability_frozen,
    next_history,
    rates_from_evidence,
    release_times,
    release_times_from_files,
)
from hatch_lambda_layers.resolve.index import IndexFile

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


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
    assert "idna" not in counts
    assert "six" not in counts


def test_next_history_prepends_dedupes_and_bounds() -> None:
    h1 = next_history((), {"NumPy": "2.0", "a_b": "1"})
    assert h1 == ({"a-b": "1", "numpy": "2.0"},)
    assert next_history(h1, {"numpy": "2.0", "a-b": "1"}) == h1, "a no-change build adds nothing"
    h2 = next_history(h1, {"numpy": "2.1", "a-b": "1"})
    assert h2[0] == {"a-b": "1", "numpy": "2.1"}
    assert h2[1] == h1[0]
    history_: tuple[dict[str, str], ...] = ()
    for i in range(60):
        history_ = next_history(history_, {"numpy": f"2.{i}"}, limit=50)
    assert len(history_) == 50
    assert history_[0] == {"numpy": "2.59"}


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
    assert release_times_from_files(files) == (
        datetime(2025, 12, 31, 10, tzinfo=timezone.utc),
        datetime(2026, 3, 1, tzinfo=timezone.utc),
    )


def _np_files(*versions: tuple[str, str, str]) -> list[IndexFile]:
    """A wheel and an sdist per (version, manylinux tag, upload day)."""
    files = []
    for version, tag, day in versions:
        moment = f"{day}T00:00:00Z"
        files.append(
            IndexFile(f"np-{version}-cp311-cp311-{tag}_x86_64.whl", "w", upload_time=moment)
        )
        files.append(IndexFile(f"np-{version}.tar.gz", "s", upload_time=moment))
    return files


def test_release_times_only_count_releases_the_target_can_load() -> None:
    files = _np_files(
        ("2.2.6", "manylinux_2_17", "2025-05-17"),
        ("2.3.0", "manylinux_2_28", "2025-06-07"),
        ("2.3.1", "manylinux_2_17", "2025-07-01"),
    )
    old_glibc = lambda filename: "manylinux_2_28" not in filename  # noqa: E731
    # 2.3.0 has no wheel the target loads: it never moves the target's pin.
    assert release_times_from_files(files, old_glibc) == (
        datetime(2025, 5, 17, tzinfo=timezone.utc),
        datetime(2025, 7, 1, tzinfo=timezone.utc),
    )
    assert len(release_times_from_files(files)) == 3  # no target: every release
    # Only wheels make a release loadable: sdists alone do not.
    assert release_times_from_files(files, lambda filename: False) == ()


def test_cadence_rate_formula_and_window() -> None:
    assert BUILD_INTERVAL_DAYS == 7.0
    weekly = [NOW - timedelta(days=7 * i + 1) for i in range(52)]
    rate = cadence_rate(weekly, NOW)
    assert rate == pytest.approx(1 - math.exp(-(52.5 / 365) * 7))
    # releases outside the last 365 days, or after `now`, do not count
    old = [NOW - timedelta(days=400), NOW + timedelta(days=3)]
    quiet = cadence_rate(old, NOW)
    assert quiet == pytest.approx(1 - math.exp(-(0.5 / 365) * 7))
    assert 0 < quiet < 0.01
    half = cadence_rate(weekly, NOW, window_days=182.5)
    assert half == pytest.approx(1 - math.exp(-(26.5 / 182.5) * 7))
    naive = [t.replace(tzinfo=None) for t in weekly]
    assert cadence_rate(naive, NOW) == rate
    with pytest.raises(ValueError, match="positive"):
        cadence_rate(weekly, NOW, window_days=0)


@given(st.integers(0, 400), st.integers(0, 400))
def test_cadence_rate_is_a_probability_and_grows_with_releases(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    times = [NOW - timedelta(hours=20 * i + 1) for i in range(hi)]
    r_lo, r_hi = cadence_rate(times[:lo], NOW), cadence_rate(times, NOW)
    assert 0.0 < r_lo <= r_hi <= 1.0


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
    assert loadability_frozen(releases)
    assert frozen_release_times(releases) == ()
    # A loadable release after the run thaws it; the unloadable ones in the middle are skipped.
    thawed = [*releases, ("2.5.0", _day(9, 1), True)]
    assert not loadability_frozen(thawed)
    assert frozen_release_times(thawed) == (_day(4, 19), _day(5, 17), _day(9, 1))
    # Loadability is per version: one loadable file of the newest version is enough.
    assert not loadability_frozen([*releases, ("2.3.1", _day(6, 22), True)])
    assert not loadability_frozen([])
    # The frozen package's rate is the cadence floor (half a release a year), not its past.
    now = _day(11, 1)
    frozen = cadence_rate(frozen_release_times(releases), now)
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
    got = frozen_release_times(releases)
    usable = {v for v, _, ok in releases if ok}
    plain = release_times([(v, t) for v, t, _ in releases if v in usable])
    assert got == (() if loadability_frozen(releases) else plain)
    if all(ok for _, _, ok in releases):
        assert not loadability_frozen(releases)


def test_release_times_from_files_apply_the_freeze_for_a_target() -> None:
    files = _np_files(
        ("2.2.6", "manylinux_2_17", "2025-05-17"), ("2.3.0", "manylinux_2_28", "2025-06-07")
    )
    old_glibc = lambda filename: "manylinux_2_28" not in filename  # noqa: E731
    assert release_times_from_files(files, old_glibc) == ()
    assert len(release_times_from_files(files)) == 2  # no target: no freeze
    triples = [("2.2.6", _day(5, 17), True), ("2.3.0", _day(6, 7), False)]
    assert loadability_frozen(triples)


# --------------------------------------------------------------------------- combination


def test_combine_precedence_and_posterior() -> None:
    assert combine(override="volatile", lock=ChangeCounts(0, 40)) == RateEstimate(
        VOLATILE_RATE, "override"
    )
    assert combine(override="stable", cadence=0.9) == RateEstimate(STABLE_RATE, "override")
    with pytest.raises(ValueError, match="unknown override"):
        combine(override="sometimes")  # type: ignore[arg-type]
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
    assert estimate.source in SOURCES


def test_rates_from_evidence_uses_every_source() -> None:
    lock_history = tuple({"numpy": str(i // 2)} for i in range(12))  # changes every other one
    manifest_history = tuple({"pandas": str(i)} for i in range(8))
    upload_times = {"Requests": tuple(NOW - timedelta(days=30 * i + 1) for i in range(12))}
    found = Evidence(
        lock_history=lock_history,
        manifest_history=manifest_history,
        upload_times=upload_times,
        now=NOW,
    )
    estimates = rates_from_evidence(
        ["NumPy", "pandas", "requests", "botocore", "mystery"], found, volatile=["Botocore"]
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
    with pytest.raises(TypeError):
        Evidence(upload_times=upload_times)  # type: ignore[call-arg]  # no `now`: no cadence


def test_rates_from_evidence_without_history() -> None:
    got = rates_from_evidence(["six", "numpy"], Evidence(now=NOW), stable=["six"])
    assert got == {
        "six": RateEstimate(STABLE_RATE, "override"),
        "numpy": RateEstimate(DEFAULT_RATE, "unknown"),
    }
    both = rates_from_evidence(["six"], Evidence(now=NOW), volatile=["Six"], stable=["six"])
    assert both == {"six": RateEstimate(VOLATILE_RATE, "override")}


def test_choose_rates_override_then_recorded_then_estimated() -> None:
    recorded = {"a": RateEstimate(0.3, "lock-history"), "b": RateEstimate(0.2, "unknown")}
    estimated = {"b": RateEstimate(0.5, "release-cadence"), "c": RateEstimate(0.4, "unknown")}
    got = choose_rates(["a", "b", "c"], estimated=estimated, recorded=recorded, stable=["A"])
    assert got == {
        "a": RateEstimate(STABLE_RATE, "override"),
        "b": recorded["b"],
        "c": estimated["c"],
    }
    fresh = choose_rates(["b", "c"], estimated=estimated, recorded=recorded, replan=True)
    assert fresh == {"b": estimated["b"], "c": estimated["c"]}
    with pytest.raises(KeyError):
        choose_rates(["d"], estimated=estimated, recorded=recorded)
