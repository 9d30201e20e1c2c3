"""The evidence change rates come from: lock revisions in git and release history on an index."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hatch_lambda_layers.errors import FetchError
from hatch_lambda_layers.plan import evidence
from hatch_lambda_layers.plan.evidence import gather_evidence, read_lock_history
from hatch_lambda_layers.plan.rates import (
    ChangeCounts,
    Evidence,
    RateEstimate,
    cadence_rate,
    count_changes,
    rates_from_evidence,
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


def git_env() -> dict[str, str]:
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


# --------------------------------------------------------------------------- lock history


def test_lock_versions_reads_uv_lock_and_pylock() -> None:
    assert lock_versions(uv_lock({"NumPy": "2.1.0", "six": "1.17.0"})) == {
        "numpy": "2.1.0",
        "six": "1.17.0",
    }
    pylock = (
        'lock-version = "1.0"\n[[packages]]\nname = "idna"\nversion = "3.10"\n\n'
        '[[packages]]\nname = "local"\n'
    )
    assert lock_versions(pylock) == {"idna": "3.10"}
    with pytest.raises(ValueError, match="not a TOML lock file"):
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
    env = git_env()
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
    assert counts["numpy"] == ChangeCounts(2, 2)
    assert counts["six"] == ChangeCounts(0, 2)
    assert read_lock_history(tmp_path / "nowhere", "uv.lock") == ()
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "uv.lock").write_text(uv_lock({"numpy": "1"}))
    assert read_lock_history(tmp_path / "plain", "uv.lock") == ()  # not inside a git repository


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gather_evidence_reads_the_lock_history_from_git(tmp_path: Path) -> None:
    env = git_env()

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
    assert len(found.lock_history) == 7
    assert found.now == NOW
    assert found.lock_history[0] == {"pydantic": "2.6", "pydantic-core": "2.36", "six": "1.0"}
    rates = rates_from_evidence(names, found)
    assert rates["six"].source == "lock-history"
    assert rates["pydantic"].source == "lock-history"
    assert rates["pydantic"].rate > 0.5
    assert gather_evidence(tmp_path, names, lock_path=None, now=NOW).lock_history == ()


# --------------------------------------------------------------------------- index history


class FakeIndex:
    def __init__(self, pages: dict[str, ProjectPage]) -> None:
        self.pages = pages

    def project_page(self, name: str) -> ProjectPage:
        if name not in self.pages:
            raise FetchError(f"no page for {name}")
        return self.pages[name]

    def metadata(self, file: IndexFile) -> str:
        raise NotImplementedError

    def file_sha256(self, file: IndexFile) -> str:
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
    assert len(warnings) == 2
    assert any("missing" in w for w in warnings)


def test_upload_times_from_index_keep_a_frozen_package_with_no_times() -> None:
    files = [
        IndexFile(
            "np-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl", "a", upload_time="2025-05-17T00:00Z"
        ),
        IndexFile("np-2.2.6.tar.gz", "b", upload_time="2025-05-17T00:00:00Z"),
        IndexFile(
            "np-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl", "c", upload_time="2025-06-07T00:00Z"
        ),
        IndexFile("np-2.3.0.tar.gz", "d", upload_time="2025-06-07T00:00:00Z"),
    ]
    old_glibc = lambda filename: "manylinux_2_28" not in filename  # noqa: E731
    index = FakeIndex({"np": ProjectPage(tuple(files))})
    # With a target, the newest release it cannot load freezes the package: it is kept, with no
    # release times, so its rate is the cadence floor and not the default.
    got = evidence.upload_times_from_index(index, ["np"], loadable=old_glibc)
    assert got == {"np": ()}
    now = datetime(2025, 11, 1, tzinfo=timezone.utc)
    rates = rates_from_evidence(["np"], Evidence(upload_times=got, now=now))
    assert rates["np"] == RateEstimate(cadence_rate((), now), "release-cadence")
    # Without a target, every release counts.
    assert len(evidence.upload_times_from_index(index, ["np"])["np"]) == 2
