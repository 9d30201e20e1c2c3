"""Reliability against a network that misbehaves (an index or wheel server on 127.0.0.1 that
never answers, stalls or hangs up mid-body): every wait ends within the configured timeouts,
with a one-line error naming the URL, and nothing partial reaches the cache."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3

from hatch_lambda_layers import cli
from hatch_lambda_layers.errors import ConfigError, FetchError
from hatch_lambda_layers.resolve.fetch import fetch_wheels
from hatch_lambda_layers.resolve.graph import WheelLink
from hatch_lambda_layers.resolve.http import (
    MAX_RETRY_AFTER,
    RETRIES_ENV,
    STREAM_ATTEMPTS,
    TIMEOUT_ENV,
    HttpSession,
    body_deadline,
    http_retries,
    http_timeout,
)
from hatch_lambda_layers.resolve.index import IndexClient
from hatch_lambda_layers.resolve.indexconfig import IndexSettings
from tests import localindex
from tests.localindex import LocalIndex
from tests.projects import UV, Fixture, copy_project
from tests.wheelfactory import make_wheel

local_index = localindex.local_index  # the fixture factory

FAST = {TIMEOUT_ENV: "0.3", RETRIES_ENV: "1"}


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def one_wheel(tmp_path: Path) -> tuple[Path, Path]:
    directory = tmp_path / "wheels"
    directory.mkdir()
    noise = b"".join(hashlib.sha256(bytes([n % 256, n // 256])).digest() for n in range(4000))
    wheel = make_wheel(directory, "pkg", "1.0", {"pkg/data.bin": noise})  # ~128 kB, incompressible
    assert wheel.stat().st_size > 100_000
    return directory, wheel


def _link(index: LocalIndex, wheel: Path) -> WheelLink:
    data = wheel.read_bytes()
    return WheelLink(wheel.name, index.file_url(wheel.name), hashlib.sha256(data).hexdigest())


def test_index_that_accepts_and_never_answers_fails_in_bounded_time(
    one_wheel: tuple[Path, Path], local_index: Callable[..., LocalIndex]
) -> None:
    directory, _ = one_wheel
    index = local_index(directory, hang={"/simple/pkg/"})
    client = IndexClient(IndexSettings(index_urls=(index.url,)), http=HttpSession(environ=FAST))
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.project_page("pkg")
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 5, elapsed  # (1 retry + 1) x 0.3 s read timeout, plus backoff
    assert message.startswith(f"could not fetch {index.url}pkg/: ")
    assert "timed out" in message
    assert message.endswith(f"(set {TIMEOUT_ENV} to wait longer)")
    assert "\n" not in message
    assert index.paths("/simple/pkg/") == ["/simple/pkg/", "/simple/pkg/"]  # retried once


def test_wheel_server_that_stalls_mid_body_fails_and_leaves_no_partial_file(
    one_wheel: tuple[Path, Path], local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    directory, wheel = one_wheel
    index = local_index(directory, stall_after={wheel.name: 5000})
    cache = tmp_path / "cache"
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch_wheels([_link(index, wheel)], cache_dir=cache, http=HttpSession(environ=FAST))
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 5, elapsed
    assert message.startswith(
        f"download of {wheel.name} from {index.file_url(wheel.name)} failed "
        f"{STREAM_ATTEMPTS} times: "
    )
    assert "timed out" in message
    assert index.paths("/files/").count(f"/files/{wheel.name}") == STREAM_ATTEMPTS
    assert _files(cache) == []  # the partial downloads are gone, nothing was stored


def test_wheel_server_that_hangs_up_mid_body_fails_and_leaves_no_partial_file(
    one_wheel: tuple[Path, Path], local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    directory, wheel = one_wheel
    index = local_index(directory, cut_after={wheel.name: 5000})
    cache = tmp_path / "cache"
    with pytest.raises(FetchError) as info:
        fetch_wheels([_link(index, wheel)], cache_dir=cache, http=HttpSession(environ=FAST))
    assert f"download of {wheel.name} from {index.file_url(wheel.name)} failed" in str(info.value)
    assert "IncompleteRead" in str(info.value)
    assert _files(cache) == []

    # Once the server sends the whole body again, the same call succeeds and caches it.
    index.cut_after.clear()
    path = fetch_wheels([_link(index, wheel)], cache_dir=cache, http=HttpSession(environ=FAST))
    assert path[wheel.name].read_bytes() == wheel.read_bytes()


def test_wheel_server_that_trickles_forever_is_cut_off_in_bounded_time(
    one_wheel: tuple[Path, Path], local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    """A byte every 0.1 s never trips the 0.3 s read timeout, and the 128 kB body would take
    3.5 hours: the whole body gets four timeouts plus its length at MIN_RATE, then the request
    fails once, without a retry, and nothing reaches the cache."""
    directory, wheel = one_wheel
    index = local_index(directory, trickle={wheel.name: 0.1})
    cache = tmp_path / "cache"
    allowed = body_deadline(0.3, wheel.stat().st_size)
    assert 1.2 < allowed < 4
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch_wheels([_link(index, wheel)], cache_dir=cache, http=HttpSession(environ=FAST))
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert allowed <= elapsed < allowed + 3, elapsed
    assert message.startswith(f"could not fetch {index.file_url(wheel.name)}: the body timed out")
    assert message.endswith(f"(set {TIMEOUT_ENV} to wait longer)")
    assert "\n" not in message
    assert index.paths("/files/").count(f"/files/{wheel.name}") == 1
    assert _files(cache) == []


def test_timeouts_and_retries_come_from_the_environment() -> None:
    timeout = http_timeout({TIMEOUT_ENV: "2.5"})
    assert (timeout.connect_timeout, timeout.read_timeout) == (2.5, 2.5)
    default = http_timeout({})
    assert (default.connect_timeout, default.read_timeout) == (30.0, 30.0)
    assert http_retries({RETRIES_ENV: "0"}).total == 0
    assert http_retries({}).total == 3
    for name, bad in ((TIMEOUT_ENV, "soon"), (TIMEOUT_ENV, "0"), (RETRIES_ENV, "-1")):
        with pytest.raises(ConfigError, match=f"^{name} must be "):
            HttpSession(environ={name: bad})


def test_retry_after_is_capped() -> None:
    retry = http_retries({})
    response = urllib3.HTTPResponse(status=503, headers={"Retry-After": "3600"})
    assert retry.get_retry_after(response) == MAX_RETRY_AFTER


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_build_against_a_stalling_wheel_server_exits_1_and_writes_nothing(
    fixture: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_project(fixture.project, tmp_path / "p")
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "cold-cache"))
    monkeypatch.setenv(TIMEOUT_ENV, "0.3")
    monkeypatch.setenv(RETRIES_ENV, "0")
    stalled = "greet-1.0.0-py3-none-any.whl"
    fixture.index.stall_after[stalled] = 100
    try:
        started = time.monotonic()
        code = cli.main(["--quiet", "build", str(project)])
        elapsed = time.monotonic() - started
    finally:
        del fixture.index.stall_after[stalled]
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"lambda-layers: error: download of {stalled} from http://")
    assert elapsed < 10, elapsed
    out = project / "dist" / "lambda"
    assert not list(out.glob("*.zip"))
    assert not (out / "manifest.json").exists()
    assert _files(tmp_path / "cold-cache" / "tmp") == []
