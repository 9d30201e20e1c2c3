"""Downloads into the content-addressed cache (`cache.ContentCache`), sha256-verified.

A download streams into a temporary file under ``<cache>/tmp`` while its sha256 is computed;
only when the digest equals the expected one (the lock's, or the index's) is the file renamed
into ``<cache>/<kind>/sha256/<aa>/<hex>/<filename>``. A connection that breaks or stalls
mid-body (`http` bounds every read by a timeout) leaves only the temporary file, which is
deleted; the download is tried again up to `STREAM_ATTEMPTS` times, then fails naming the URL.

A cache hit is trusted by the stat facts its sidecar recorded when it was stored, and re-hashed
whenever any of them changed (see `cache`): a wheel replaced in the cache by other bytes of the
same size is noticed, reported through ``warn`` and downloaded again. Pass ``rehash=True`` (or
set ``HATCH_LAMBDA_LAYERS_REHASH=1``) to re-hash every hit regardless.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import IO

from ..errors import FetchError, HashMismatchError
from ..progress import FetchProgress
from .cache import CACHE_DIR_ENV, ContentCache, checked_filename, default_cache_dir, is_sha256
from .graph import WheelLink
from .http import (
    STREAM_ATTEMPTS,
    HttpSession,
    Response,
    Session,
    explain,
    local_path,
    redact_url,
    stream_errors,
)

__all__ = ["CACHE_DIR_ENV", "REHASH_ENV", "default_cache_dir", "fetch_bytes", "fetch_wheels"]

REHASH_ENV = "HATCH_LAMBDA_LAYERS_REHASH"


class _Tracker:
    def __init__(
        self, total_files: int, total_bytes: int, callback: Callable[[FetchProgress], None] | None
    ) -> None:
        self._lock = threading.Lock()
        self._callback = callback
        self.done_files = 0
        self.total_files = total_files
        self.done_bytes = 0
        self.total_bytes = total_bytes

    def update(
        self, current: str, *, files: int = 0, done: int = 0, total: int = 0, force: bool = False
    ) -> None:
        with self._lock:
            self.done_files += files
            self.done_bytes += done
            self.total_bytes += total
            if self._callback is not None and (force or files or done or total):
                self._callback(
                    FetchProgress(
                        self.done_files,
                        self.total_files,
                        self.done_bytes,
                        self.total_bytes,
                        current,
                    )
                )


def _download(
    session: Session,
    cache: ContentCache,
    kind: str,
    url: str,
    filename: str,
    *,
    expected: str | None,
    tracker: _Tracker | None,
    known_size: int | None,
) -> Path:
    """Stream ``url`` to a temp file in the cache, hashing as it goes; rename into place."""
    for attempt in range(STREAM_ATTEMPTS):
        handle, tmp = cache.temp_file()
        try:
            actual = _stream(session, url, filename, handle, tracker, known_size=known_size)
            if expected is not None and actual != expected:
                raise HashMismatchError(
                    f"hash mismatch for {filename} from {redact_url(url)}: expected sha256 "
                    f"{expected}, got {actual}; the file on the index changed or the lock is "
                    f"stale: re-lock, or check the index"
                )
            return cache.store(tmp, kind, actual, filename, sha256=actual)
        except stream_errors() as exc:
            if attempt + 1 == STREAM_ATTEMPTS:
                raise FetchError(
                    f"download of {filename} from {redact_url(url)} failed {STREAM_ATTEMPTS} "
                    f"times: {explain(exc)}"
                ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    raise AssertionError("unreachable")


def _stream(
    session: Session,
    url: str,
    filename: str,
    handle: IO[bytes],
    tracker: _Tracker | None,
    *,
    known_size: int | None,
) -> str:
    """Write the body of ``url`` to `handle` (closed after) and return its sha256 hex.

    When the stream breaks, the bytes already counted are taken back from `tracker`.
    """
    digest = hashlib.sha256()
    counted = 0
    try:
        with handle, session.open(url) as response:
            if response.status != HTTPStatus.OK:
                where = f"HTTP status {response.status}"
                if local_path(url) is not None:
                    where = "no such file"
                raise FetchError(f"could not download {filename} from {redact_url(url)}: {where}")
            if tracker is not None and known_size is None and response.length is not None:
                tracker.update(filename, total=response.length)
            for block in response.chunks:
                handle.write(block)
                digest.update(block)
                counted += len(block)
                if tracker is not None:
                    tracker.update(filename, done=len(block))
    except stream_errors():
        if tracker is not None and counted:
            tracker.update(filename, done=-counted)
        raise
    return digest.hexdigest()


def _rehash_default(rehash: bool | None) -> bool:
    if rehash is not None:
        return rehash
    return os.environ.get(REHASH_ENV, "").lower() in ("1", "true", "yes")


def _expected_sha256(value: str | None, filename: str) -> str | None:
    """`value` lowercased, after checking it is a sha256 hex digest (it becomes a path)."""
    if value is None:
        return None
    digest = value.lower()
    if not is_sha256(digest):
        raise FetchError(
            f"the sha256 given for {filename} is {value!r}, not 64 hexadecimal digits; "
            "the lock file or index page is corrupt: re-lock"
        )
    return digest


def fetch_bytes(
    url: str,
    filename: str,
    *,
    sha256: str | None,
    kind: str = "metadata",
    cache_dir: Path | None = None,
    http: Session | None = None,
) -> bytes:
    """A small file (e.g. PEP 658 metadata), verified when ``sha256`` is given and cached then."""
    cache = ContentCache(cache_dir or default_cache_dir())
    session = http or HttpSession()
    name = checked_filename(filename)
    expected = _expected_sha256(sha256, name)
    if expected is not None:
        cached = cache.lookup(kind, expected, name, sha256=expected)
        if cached is not None:
            return cached.read_bytes()
    path = _download(
        session, cache, kind, url, name, expected=expected, tracker=None, known_size=None
    )
    data = path.read_bytes()
    if expected is None:
        # Unverified bytes are not kept: the path would certify a hash nobody asked for.
        ContentCache.discard(path)
    return data


def fetch_wheels(
    links: Sequence[WheelLink],
    *,
    cache_dir: Path | None = None,
    http: Session | None = None,
    max_workers: int = 8,
    progress: Callable[[FetchProgress], None] | None = None,
    allow_unhashed: bool = False,
    rehash: bool | None = None,
    warn: Callable[[str], None] | None = None,
    kind: str = "wheels",
) -> dict[str, Path]:
    """Download (or find in the cache) every file; return ``{filename: local path}``.

    All links are checked before anything is downloaded: plain file names, and sha256 values
    that are hex digests. Without a sha256 a link is refused unless ``allow_unhashed`` (then
    the digest is computed and the file stored under it). A digest mismatch raises
    :class:`HashMismatchError` and leaves nothing in the cache. A cache entry found altered is
    reported to ``warn`` and downloaded again. When several downloads fail, the error of the
    first failing link (in input order) is raised. ``kind`` names the cache's sub-directory
    (``wheels``, ``sdists``).
    """
    unique = _unique_links(links, allow_unhashed=allow_unhashed)
    if not unique:
        return {}
    cache = ContentCache(
        cache_dir or default_cache_dir(), rehash=_rehash_default(rehash), warn=warn
    )
    session: Session = http or _SessionOnDemand()
    total_bytes = sum(link.size or 0 for link in unique.values())
    tracker = _Tracker(len(unique), total_bytes, progress)
    return _run_all(
        unique, lambda link: _fetch_one(session, cache, tracker, link, kind), max_workers
    )


class _SessionOnDemand:
    """The downloader's `HttpSession`, made by the first download: a build that finds every
    file in the cache loads no HTTP client."""

    def __init__(self) -> None:
        self._session: HttpSession | None = None
        self._lock = threading.Lock()

    def open(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Response]:
        with self._lock:
            if self._session is None:
                self._session = HttpSession()
        return self._session.open(url, headers=headers)


def _unique_links(links: Sequence[WheelLink], *, allow_unhashed: bool) -> dict[str, WheelLink]:
    """filename -> link, after checking every name and hash; a repeated name keeps its first."""
    unique: dict[str, WheelLink] = {}
    for link in links:
        checked_filename(link.filename)
        expected = _expected_sha256(link.sha256, link.filename)
        if expected is None and not allow_unhashed:
            raise FetchError(
                f"no sha256 for {link.filename}; lock files must carry hashes "
                f"(re-lock with a tool that records them, e.g. `uv lock`)"
            )
        previous = unique.setdefault(link.filename, link)
        if previous.sha256 and expected and previous.sha256.lower() != expected:
            raise FetchError(
                f"{link.filename} is listed twice with different sha256 "
                f"({previous.sha256} and {link.sha256}); fix the lock file"
            )
    return unique


def _fetch_one(
    session: Session, cache: ContentCache, tracker: _Tracker, link: WheelLink, kind: str
) -> Path:
    """One file from the cache when it is there intact, else downloaded into it."""
    expected = link.sha256.lower() if link.sha256 else None
    if expected is not None:
        cached = cache.lookup(kind, expected, link.filename, sha256=expected, size=link.size)
        if cached is not None:
            size = cached.stat().st_size
            extra_total = size if link.size is None else 0
            tracker.update(link.filename, files=1, done=size, total=extra_total, force=True)
            return cached
    path = _download(
        session,
        cache,
        kind,
        link.url,
        link.filename,
        expected=expected,
        tracker=tracker,
        known_size=link.size,
    )
    tracker.update(link.filename, files=1, force=True)
    return path


def _run_all(
    unique: Mapping[str, WheelLink], one: Callable[[WheelLink], Path], max_workers: int
) -> dict[str, Path]:
    """`one` on every link in a thread pool; the first failure in input order is raised."""
    workers = max(1, min(max_workers, len(unique)))
    results: dict[str, Path] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        futures: dict[str, Future[Path]] = {
            name: pool.submit(one, link) for name, link in unique.items()
        }
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BaseException as exc:
                failure = failure or exc
                for other in futures.values():
                    other.cancel()
        if failure is not None:
            raise failure
    return results
