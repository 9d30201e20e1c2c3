from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
import urllib3

from hatch_lambda_layers.digests import file_sha256
from hatch_lambda_layers.errors import FetchError, HashMismatchError
from hatch_lambda_layers.progress import FetchProgress, TerminalProgress
from hatch_lambda_layers.resolve.fetch import default_cache_dir, fetch_wheels
from hatch_lambda_layers.resolve.graph import WheelLink
from hatch_lambda_layers.resolve.http import HttpSession
from tests import localindex
from tests.localindex import LocalIndex
from tests.wheelfactory import make_wheel

local_index = localindex.local_index  # the fixture factory


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "default-cache"))


def _http() -> HttpSession:
    retries = urllib3.Retry(total=2, backoff_factor=0, status_forcelist=(503,))
    return HttpSession(environ={}, retries=retries, use_netrc=False)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    for number in range(6):
        payload = bytes([number]) * (50_000 + number * 1000)  # distinct sizes and digests
        make_wheel(directory, f"pkg{number}", "1.0", {f"pkg{number}/data.bin": payload})
    return directory


def _links(directory: Path, index: LocalIndex, *, sizes: bool = True) -> list[WheelLink]:
    return [
        WheelLink(
            filename=path.name,
            url=index.file_url(path.name),
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            size=path.stat().st_size if sizes else None,
        )
        for path in sorted(directory.glob("*.whl"))
    ]


def test_concurrent_download_verified_cached_with_progress(
    wheel_dir: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheel_dir, delay=0.15)
    links = _links(wheel_dir, index)
    cache = tmp_path / "cache"
    seen: list[FetchProgress] = []

    paths = fetch_wheels(links, cache_dir=cache, http=_http(), max_workers=4, progress=seen.append)

    assert set(paths) == {link.filename for link in links}
    for link in links:
        path = paths[link.filename]
        assert link.sha256 is not None
        assert path == cache / "wheels" / "sha256" / link.sha256[:2] / link.sha256 / link.filename
        assert path.read_bytes() == (wheel_dir / link.filename).read_bytes()
    assert index.max_active_downloads > 1  # really concurrent
    assert index.max_active_downloads <= 4  # and bounded by max_workers
    total = sum(link.size or 0 for link in links)
    assert seen[-1] == FetchProgress(6, 6, total, total, seen[-1].current)
    assert [p.done_files for p in seen] == sorted(p.done_files for p in seen)
    assert all(p.total_files == 6 and p.total_bytes == total for p in seen)
    assert not _files(cache / "tmp")

    # Second run: every file is a cache hit, nothing is requested.
    before = len(index.paths("/files/"))
    again: list[FetchProgress] = []
    assert fetch_wheels(links, cache_dir=cache, http=_http(), progress=again.append) == paths
    assert len(index.paths("/files/")) == before
    assert again[-1].done_files == 6
    assert again[-1].done_bytes == total


def test_hash_mismatch_names_file_and_digests_and_leaves_cache_clean(
    wheel_dir: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheel_dir)
    link = _links(wheel_dir, index)[2]
    index.corrupt.add(link.filename)
    cache = tmp_path / "cache"

    with pytest.raises(HashMismatchError) as info:
        fetch_wheels([link], cache_dir=cache, http=_http())

    served = bytearray((wheel_dir / link.filename).read_bytes())
    served[-1] ^= 0xFF
    message = str(info.value)
    assert link.filename in message
    assert f"expected sha256 {link.sha256}" in message
    assert f"got {hashlib.sha256(served).hexdigest()}" in message
    assert _files(cache) == []


def test_one_failure_fails_the_batch_with_the_first_error(
    wheel_dir: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheel_dir)
    links = _links(wheel_dir, index)
    missing = WheelLink(
        "pkg9-1.0-py3-none-any.whl", index.file_url("pkg9-1.0-py3-none-any.whl"), "0" * 64
    )
    with pytest.raises(FetchError, match=r"pkg9-1\.0-py3-none-any\.whl.*HTTP status 404"):
        fetch_wheels([*links, missing], cache_dir=tmp_path / "cache", http=_http())
    assert _files(tmp_path / "cache" / "tmp") == []


def test_transient_server_errors_are_retried(
    wheel_dir: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheel_dir)
    link = _links(wheel_dir, index)[0]
    index.fail_next[f"/files/{link.filename}"] = 2
    paths = fetch_wheels([link], cache_dir=tmp_path / "cache", http=_http())
    assert paths[link.filename].is_file()
    assert index.paths("/files/").count(f"/files/{link.filename}") == 3


def test_unhashed_links_are_refused_unless_allowed(
    wheel_dir: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheel_dir)
    link = _links(wheel_dir, index, sizes=False)[0]
    unhashed = WheelLink(link.filename, link.url)
    cache = tmp_path / "cache"
    with pytest.raises(FetchError) as info:
        fetch_wheels([unhashed], cache_dir=cache, http=_http())
    assert str(info.value).startswith(
        f"no sha256 for {link.filename}; lock files must carry hashes"
    )
    assert index.paths("/files/") == []

    path = fetch_wheels([unhashed], cache_dir=cache, http=_http(), allow_unhashed=True)[
        link.filename
    ]
    assert link.sha256 is not None
    assert path.parent.name == link.sha256  # stored under the digest it turned out to have


def test_local_paths_and_file_urls_are_copied_and_verified(wheel_dir: Path, tmp_path: Path) -> None:
    first, second = sorted(wheel_dir.glob("*.whl"))[:2]
    links = [
        WheelLink(first.name, first.as_uri(), hashlib.sha256(first.read_bytes()).hexdigest()),
        WheelLink(second.name, str(second), hashlib.sha256(second.read_bytes()).hexdigest()),
    ]
    cache = tmp_path / "cache"
    paths = fetch_wheels(links, cache_dir=cache)
    assert paths[first.name].read_bytes() == first.read_bytes()
    assert paths[second.name].is_relative_to(cache)

    wrong = WheelLink(first.name, str(first), "f" * 64)
    with pytest.raises(HashMismatchError):
        fetch_wheels([wrong], cache_dir=tmp_path / "other")
    assert _files(tmp_path / "other") == []
    gone = WheelLink(
        "gone-1.0-py3-none-any.whl", str(tmp_path / "gone-1.0-py3-none-any.whl"), "0" * 64
    )
    with pytest.raises(FetchError, match="no such file"):
        fetch_wheels([gone], cache_dir=cache)


def test_cache_hits_are_checked_against_the_recorded_stat_and_rehashed(
    wheel_dir: Path, tmp_path: Path
) -> None:
    source = sorted(wheel_dir.glob("*.whl"))[0]
    data = source.read_bytes()
    link = WheelLink(source.name, str(source), hashlib.sha256(data).hexdigest(), len(data))
    cache = tmp_path / "cache"
    cached = fetch_wheels([link], cache_dir=cache)[source.name]
    warnings: list[str] = []

    # Same size, different bytes, mtime put back as it was: the ctime gives it away, the file
    # is re-hashed, found wrong, reported and fetched again.
    before = cached.stat()
    cached.write_bytes(bytes(len(data)))
    os.utime(cached, ns=(before.st_atime_ns, before.st_mtime_ns))
    again = fetch_wheels([link], cache_dir=cache, warn=warnings.append)[source.name]
    assert again.read_bytes() == data
    assert len(warnings) == 1
    assert warnings[0].startswith(f"the cached {source.name} (")
    assert "discarded, fetching it again" in warnings[0]

    # An untouched hit is not re-read: its recorded stat facts vouch for it.
    with mock.patch("hatch_lambda_layers.resolve.cache.file_sha256") as rehash:
        fetch_wheels([link], cache_dir=cache, warn=warnings.append)
    rehash.assert_not_called()

    # Touched but intact (e.g. a restored CI cache): re-hashed once, kept, no warning.
    os.utime(cached)
    with mock.patch(
        "hatch_lambda_layers.resolve.cache.file_sha256", side_effect=file_sha256
    ) as rehash:
        assert fetch_wheels([link], cache_dir=cache, warn=warnings.append)[source.name] == cached
        assert fetch_wheels([link], cache_dir=cache, warn=warnings.append)[source.name] == cached
    assert rehash.call_count == 1
    assert len(warnings) == 1

    # rehash=True re-reads every hit; a truncated entry fails the size check and is replaced.
    assert fetch_wheels([link], cache_dir=cache, rehash=True)[source.name].read_bytes() == data
    cached.write_bytes(data[:10])
    assert fetch_wheels([link], cache_dir=cache)[source.name].read_bytes() == data


def test_link_validation(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="not a plain file name"):
        fetch_wheels([WheelLink("../evil.whl", "x", "0" * 64)], cache_dir=tmp_path)
    twice = [
        WheelLink("a-1-py3-none-any.whl", "x", "0" * 64),
        WheelLink("a-1-py3-none-any.whl", "y", "1" * 64),
    ]
    with pytest.raises(FetchError, match="listed twice"):
        fetch_wheels(twice, cache_dir=tmp_path)
    # A hash becomes a path component: anything but 64 hex digits is refused before any I/O.
    for bad in ("../../x", "0" * 63, "g" * 64, "0" * 64 + "/.."):
        with pytest.raises(FetchError, match="not 64 hexadecimal digits"):
            fetch_wheels([WheelLink("a-1-py3-none-any.whl", "x", bad)], cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())
    assert fetch_wheels([], cache_dir=tmp_path) == {}


def test_default_cache_dir() -> None:
    assert default_cache_dir({"HATCH_LAMBDA_LAYERS_CACHE_DIR": "/c"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/hatch-lambda-layers")
    assert default_cache_dir({}) == Path.home() / ".cache" / "hatch-lambda-layers"
    assert (
        default_cache_dir({"XDG_CACHE_HOME": "relative"})
        == Path.home() / ".cache" / "hatch-lambda-layers"
    )


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_progress_draws_only_on_a_tty() -> None:
    quiet = io.StringIO()
    TerminalProgress(quiet)(FetchProgress(1, 2, 10, 20, "a.whl"))
    assert quiet.getvalue() == ""

    tty = _Tty()
    progress = TerminalProgress(tty, min_interval=0)
    progress(FetchProgress(1, 2, 1048576, 2097152, "a.whl"))
    progress(FetchProgress(2, 2, 2097152, 2097152, "b.whl"))
    first, second = tty.getvalue().split("\r")[1:]
    assert first == "\x1b[2KDownloading 1/2 wheels (1.0 MiB/2.0 MiB) a.whl"
    assert second == "\x1b[2K"  # the line is cleared when everything is done
    assert len(TerminalProgress.render(FetchProgress(1, 2, 0, 0, "x" * 200), width=40)) == 40
