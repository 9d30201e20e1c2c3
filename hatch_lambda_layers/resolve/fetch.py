"""Downloads into a content-addressed cache, sha256-verified.

Layout: ``<cache>/wheels/sha256/<aa>/<hex>/<filename>``. A file only reaches that path by an
atomic rename after its digest was computed while streaming and compared with the expected one,
so the path itself certifies the content. A cache hit is therefore re-verified cheaply: the file
must exist and, when the link records a size, have that size. Pass ``rehash=True`` (or set
``HATCH_LAMBDA_LAYERS_REHASH=1``) to re-read and re-hash hits as well, e.g. after disk trouble;
a hit that fails the check is discarded and downloaded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO

from urllib3.exceptions import ProtocolError, ReadTimeoutError

from ..digests import file_sha256
from ..errors import FetchError, HashMismatchError
from ..progress import FetchProgress
from .graph import WheelLink
from .http import STREAM_ATTEMPTS, HttpSession, Session, local_path, redact_url

CACHE_DIR_ENV = "HATCH_LAMBDA_LAYERS_CACHE_DIR"


REHASH_ENV = "HATCH_LAMBDA_LAYERS_REHASH"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$HATCH_LAMBDA_LAYERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/hatch-lambda-layers``."""
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hatch-lambda-layers"


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


def _checked_filename(filename: str) -> str:
    if (
        not filename
        or filename != os.path.basename(filename)
        or "/" in filename
        or "\\" in filename
        or filename.startswith(".")
    ):
        raise FetchError(f"refusing to store a download named {filename!r}: not a plain file name")
    return filename


@dataclass
class _Cache:
    root: Path
    rehash: bool = False

    def path(self, kind: str, sha256: str, filename: str) -> Path:
        return self.root / kind / "sha256" / sha256[:2] / sha256 / filename

    def temp_file(self) -> tuple[IO[bytes], Path]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
        return os.fdopen(fd, "wb"), Path(name)

    def hit(self, path: Path, sha256: str, size: int | None) -> bool:
        try:
            actual_size = path.stat().st_size
        except OSError:
            return False
        ok = size is None or actual_size == size
        if ok and self.rehash:
            ok = file_sha256(path) == sha256
        if not ok:
            with contextlib.suppress(OSError):
                path.unlink()
        return ok


def _download(
    session: Session,
    cache: _Cache,
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
            dest = cache.path(kind, actual, filename)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            return dest
        except (ProtocolError, ReadTimeoutError) as exc:
            if attempt + 1 == STREAM_ATTEMPTS:
                raise FetchError(
                    f"download of {filename} from {redact_url(url)} failed: {exc}"
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
    except (ProtocolError, ReadTimeoutError):
        if tracker is not None and counted:
            tracker.update(filename, done=-counted)
        raise
    return digest.hexdigest()


def _rehash_default(rehash: bool | None) -> bool:
    if rehash is not None:
        return rehash
    return os.environ.get(REHASH_ENV, "").lower() in ("1", "true", "yes")


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
    cache = _Cache(cache_dir or default_cache_dir())
    session = http or HttpSession()
    name = _checked_filename(filename)
    if sha256 is not None:
        cached = cache.path(kind, sha256.lower(), name)
        if cache.hit(cached, sha256.lower(), None):
            return cached.read_bytes()
    path = _download(
        session,
        cache,
        kind,
        url,
        name,
        expected=sha256 and sha256.lower(),
        tracker=None,
        known_size=None,
    )
    data = path.read_bytes()
    if sha256 is None:
        # Unverified bytes are not kept: the path would certify a hash nobody asked for.
        with contextlib.suppress(OSError):
            path.unlink()
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
) -> dict[str, Path]:
    """Download (or find in the cache) every wheel; return ``{filename: local path}``.

    All links are checked before anything is downloaded. Without a sha256 a link is refused
    unless ``allow_unhashed`` (then the digest is computed and the file stored under it). A
    digest mismatch raises :class:`HashMismatchError` and leaves nothing in the cache. When
    several downloads fail, the error of the first failing link (in input order) is raised.
    """
    unique = _unique_links(links, allow_unhashed=allow_unhashed)
    if not unique:
        return {}
    cache = _Cache(cache_dir or default_cache_dir(), rehash=_rehash_default(rehash))
    session: Session = http or HttpSession()
    total_bytes = sum(link.size or 0 for link in unique.values())
    tracker = _Tracker(len(unique), total_bytes, progress)
    return _run_all(unique, lambda link: _fetch_wheel(session, cache, tracker, link), max_workers)


def _unique_links(links: Sequence[WheelLink], *, allow_unhashed: bool) -> dict[str, WheelLink]:
    """filename -> link, after checking every name and hash; a repeated name keeps its first."""
    unique: dict[str, WheelLink] = {}
    for link in links:
        _checked_filename(link.filename)
        if link.sha256 is None and not allow_unhashed:
            raise FetchError(
                f"no sha256 for {link.filename}; lock files must carry hashes "
                f"(re-lock with a tool that records them, e.g. `uv lock`)"
            )
        previous = unique.setdefault(link.filename, link)
        if previous.sha256 and link.sha256 and previous.sha256.lower() != link.sha256.lower():
            raise FetchError(
                f"{link.filename} is listed twice with different sha256 "
                f"({previous.sha256} and {link.sha256}); fix the lock file"
            )
    return unique


def _fetch_wheel(session: Session, cache: _Cache, tracker: _Tracker, link: WheelLink) -> Path:
    """One wheel from the cache when it is there intact, else downloaded into it."""
    expected = link.sha256.lower() if link.sha256 else None
    if expected is not None:
        cached = cache.path("wheels", expected, link.filename)
        if cache.hit(cached, expected, link.size):
            size = cached.stat().st_size
            extra_total = size if link.size is None else 0
            tracker.update(link.filename, files=1, done=size, total=extra_total, force=True)
            return cached
    path = _download(
        session,
        cache,
        "wheels",
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
