"""Downloads into a content-addressed cache, sha256-verified.

Layout: ``<cache>/wheels/sha256/<aa>/<hex>/<filename>``. A file only reaches that path by an
atomic rename after its digest was computed while streaming and compared with the expected one,
so the path itself certifies the content. A cache hit is therefore re-verified cheaply: the file
must exist and, when the link records a size, have that size. Pass ``rehash=True`` (or set
``HATCH_LAMBDA_LAYERS_REHASH=1``) to re-read and re-hash hits as well, e.g. after disk trouble;
a hit that fails the check is discarded and downloaded again.

The HTTP side is one :class:`HttpSession` per client: a single urllib3 pool manager (a proxy
manager for hosts the ``HTTP(S)_PROXY`` variables route through a proxy) with retries and
timeouts, basic auth taken from ``user:pass@`` in URLs (or ``~/.netrc``) and sent as a header,
never left in a URL that could end up in a message. ``file://`` URLs and plain local paths are
read from disk through the same interface.
"""

from __future__ import annotations

import contextlib
import hashlib
import netrc
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from ..digests import file_sha256
from ..errors import FetchError, HashMismatchError
from .graph import WheelLink

__all__ = [
    "FetchProgress",
    "Fetched",
    "HttpSession",
    "Response",
    "TerminalProgress",
    "default_cache_dir",
    "fetch_bytes",
    "fetch_wheels",
    "local_path",
    "redact_url",
]

CACHE_DIR_ENV = "HATCH_LAMBDA_LAYERS_CACHE_DIR"
REHASH_ENV = "HATCH_LAMBDA_LAYERS_REHASH"
CHUNK_SIZE = 256 * 1024
_STREAM_ATTEMPTS = 3  # whole-body retries after a connection dropped mid-stream


# --------------------------------------------------------------------------- URLs and paths


def redact_url(url: str) -> str:
    """``url`` with its password (or a lone user token) replaced by ``****``: safe to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    shown = f"{user}:****" if has_password else "****"
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


def split_auth(url: str) -> tuple[str, str | None]:
    """(url without userinfo, ``"user:password"`` percent-decoded or None)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=hostport))
    return clean, f"{unquote(user)}:{unquote(password)}"


def local_path(url: str) -> Path | None:
    """The filesystem path for a ``file:`` URL or a plain path; None for a network URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"file URL {url!r} names a remote host; use a local path")
        return Path(url2pathname(unquote(parts.path)))
    # A one-letter scheme is a Windows drive ("C:\\wheels"), not a URL scheme.
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):
        return Path(url)
    return None


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$HATCH_LAMBDA_LAYERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/hatch-lambda-layers``."""
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hatch-lambda-layers"


# --------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    """An open response: status, headers (lower-case keys) and a chunk iterator for the body."""

    url: str
    status: int
    headers: Mapping[str, str]
    chunks: Iterator[bytes]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value and value.isdigit() else None

    def read(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True)
class Fetched:
    """A whole small document: final URL (after redirects), status, content type, body."""

    url: str
    status: int
    content_type: str
    body: bytes


def _proxy_settings(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    def lookup(name: str) -> str:
        return environ.get(name.lower()) or environ.get(name.upper()) or ""

    proxies = {s: lookup(f"{s}_proxy") for s in ("http", "https")}
    return {k: v for k, v in proxies.items() if v}, lookup("no_proxy")


def _read_local(path: Path, url: str) -> Response:
    if path.is_dir():
        path = path / "index.html"
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return Response(url=url, status=404, headers={}, chunks=iter(()))
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    size = os.fstat(handle.fileno()).st_size
    content_type = "text/html" if path.suffix in (".html", ".htm") else ""
    if path.suffix == ".json":
        content_type = "application/vnd.pypi.simple.v1+json"

    def chunks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(CHUNK_SIZE):
                yield block

    headers = {"content-length": str(size), "content-type": content_type}
    return Response(url=url, status=200, headers=headers, chunks=chunks())


class HttpSession:
    """One pooled, retrying HTTP client shared by the index client and the downloader.

    Thread-safe: urllib3's pool managers are, and the credential map is guarded by a lock.
    """

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        retries: urllib3.Retry | None = None,
        timeout: urllib3.Timeout | None = None,
        maxsize: int = 16,
        use_netrc: bool = True,
    ) -> None:
        env = os.environ if environ is None else environ
        self._retries = retries or urllib3.Retry(
            total=5, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504)
        )
        self._timeout = timeout or urllib3.Timeout(connect=15.0, read=60.0)
        self._maxsize = maxsize
        self._proxies, self._no_proxy = _proxy_settings(env)
        self._netrc_file = (env.get("NETRC") or str(Path.home() / ".netrc")) if use_netrc else None
        self._lock = threading.Lock()
        self._credentials: dict[str, str] = {}
        self._direct: urllib3.PoolManager | None = None
        self._via_proxy: dict[str, urllib3.ProxyManager] = {}
        self._netrc: netrc.netrc | bool | None = False  # False: not read yet

    def remember_credentials(self, url: str) -> None:
        """Use ``user:pass`` from ``url`` for every later request to the same host and port."""
        clean, auth = split_auth(url)
        if auth is not None:
            with self._lock:
                self._credentials.setdefault(urlsplit(clean).netloc, auth)

    def _auth_for(self, netloc: str) -> str | None:
        with self._lock:
            known = self._credentials.get(netloc)
            if known is not None or self._netrc_file is None:
                return known
            if self._netrc is False:
                try:
                    self._netrc = netrc.netrc(self._netrc_file)
                except (OSError, netrc.NetrcParseError):
                    self._netrc = None
            if not isinstance(self._netrc, netrc.netrc):
                return None
        host = netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        entry = self._netrc.authenticators(host)
        if entry is None:
            return None
        login, _, password = entry
        return f"{login}:{password or ''}"

    def _manager(self, scheme: str, host: str) -> urllib3.PoolManager:
        proxy = self._proxies.get(scheme)
        # Not in typeshed, but part of urllib.request since Python 3.0: NO_PROXY matching.
        bypass_check = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        bypass = proxy and bypass_check(host, {"no": self._no_proxy})
        with self._lock:
            if proxy and not bypass:
                manager = self._via_proxy.get(proxy)
                if manager is None:
                    proxy_url, proxy_auth = split_auth(proxy)
                    headers = (
                        urllib3.make_headers(proxy_basic_auth=proxy_auth) if proxy_auth else None
                    )
                    manager = urllib3.ProxyManager(
                        proxy_url, proxy_headers=headers, maxsize=self._maxsize
                    )
                    self._via_proxy[proxy] = manager
                return manager
            if self._direct is None:
                self._direct = urllib3.PoolManager(maxsize=self._maxsize)
            return self._direct

    @contextlib.contextmanager
    def open(self, url: str, *, headers: Mapping[str, str] | None = None) -> Iterator[Response]:
        """Open ``url`` (http(s), ``file:`` or a local path) for streaming.

        Failures raise :class:`FetchError` quoting the redacted URL. Any status is returned;
        callers decide what a 404 means.
        """
        path = local_path(url)
        if path is not None:
            yield _read_local(path, url)
            return
        clean, auth = split_auth(url)
        parts = urlsplit(clean)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme in {redact_url(url)!r}: use http(s) or file")
        if auth is None:
            auth = self._auth_for(parts.netloc)
        request_headers = {"User-Agent": "hatch-lambda-layers", **(headers or {})}
        if auth is not None:
            request_headers.update(urllib3.make_headers(basic_auth=auth))
        try:
            response = self._manager(parts.scheme, parts.hostname or "").request(
                "GET",
                clean,
                headers=request_headers,
                retries=self._retries,
                timeout=self._timeout,
                preload_content=False,
                decode_content=True,
            )
        except Urllib3Error as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FetchError(f"could not fetch {redact_url(url)}: {reason}") from exc
        try:
            lowered = {k.lower(): v for k, v in response.headers.items()}
            yield Response(
                # After redirects (urllib3 may report just the path): pages resolve links here.
                url=urljoin(clean, response.url or ""),
                status=response.status,
                headers=lowered,
                chunks=response.stream(CHUNK_SIZE),
            )
        finally:
            response.release_conn()

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Fetched:
        """A small document such as an index page, read whole (compressed in transit)."""
        request_headers = {**urllib3.make_headers(accept_encoding=True), **(headers or {})}
        for attempt in range(_STREAM_ATTEMPTS):
            try:
                with self.open(url, headers=request_headers) as response:
                    body = response.read() if response.status == 200 else b""
                    return Fetched(response.url, response.status, response.content_type, body)
            except (ProtocolError, ReadTimeoutError) as exc:
                if attempt + 1 == _STREAM_ATTEMPTS:
                    raise FetchError(f"could not fetch {redact_url(url)}: {exc}") from exc
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class FetchProgress:
    """A snapshot passed to the progress callback; ``total_bytes`` counts sizes known so far."""

    done_files: int
    total_files: int
    done_bytes: int
    total_bytes: int
    current: str


class TerminalProgress:
    """One self-rewriting status line on stderr, drawn only when stderr is a terminal.

    Redraws at most ten times a second, and clears the line once every file is done.
    """

    def __init__(self, stream: IO[str] | None = None, *, min_interval: float = 0.1) -> None:
        self._stream = stream if stream is not None else sys.stderr
        try:
            self.enabled = bool(self._stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False
        self._min_interval = min_interval
        self._last = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def render(progress: FetchProgress, width: int = 80) -> str:
        def mib(n: int) -> str:
            return f"{n / 1048576:.1f} MiB"

        text = (
            f"Downloading {progress.done_files}/{progress.total_files} wheels "
            f"({mib(progress.done_bytes)}/{mib(progress.total_bytes)}) {progress.current}"
        )
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def __call__(self, progress: FetchProgress) -> None:
        if not self.enabled:
            return
        finished = progress.done_files >= progress.total_files
        with self._lock:
            now = time.monotonic()
            if not finished and now - self._last < self._min_interval:
                return
            self._last = now
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = "" if finished else self.render(progress, width)
            self._stream.write("\r\x1b[2K" + line)
            self._stream.flush()


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


# --------------------------------------------------------------------------- downloads


class Session(Protocol):
    """What downloads need from an HTTP client (tests may pass a fake)."""

    def open(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Response]: ...


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
    expected: str | None,
    tracker: _Tracker | None,
    known_size: int | None,
) -> Path:
    """Stream ``url`` to a temp file in the cache, hashing as it goes; rename into place."""
    for attempt in range(_STREAM_ATTEMPTS):
        handle, tmp = cache.temp_file()
        counted = 0
        try:
            digest = hashlib.sha256()
            with handle, session.open(url) as response:
                if response.status != 200:
                    where = f"HTTP status {response.status}"
                    if local_path(url) is not None:
                        where = "no such file"
                    raise FetchError(
                        f"could not download {filename} from {redact_url(url)}: {where}"
                    )
                if tracker is not None and known_size is None and response.length is not None:
                    tracker.update(filename, total=response.length)
                for block in response.chunks:
                    handle.write(block)
                    digest.update(block)
                    counted += len(block)
                    if tracker is not None:
                        tracker.update(filename, done=len(block))
            actual = digest.hexdigest()
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
            if tracker is not None and counted:
                tracker.update(filename, done=-counted)
            if attempt + 1 == _STREAM_ATTEMPTS:
                raise FetchError(
                    f"download of {filename} from {redact_url(url)} failed: {exc}"
                ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    raise AssertionError("unreachable")


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
    path = _download(session, cache, kind, url, name, sha256 and sha256.lower(), None, None)
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
    if not unique:
        return {}

    cache = _Cache(cache_dir or default_cache_dir(), rehash=_rehash_default(rehash))
    session: Session = http or HttpSession()
    total_bytes = sum(link.size or 0 for link in unique.values())
    tracker = _Tracker(len(unique), total_bytes, progress)

    def one(link: WheelLink) -> Path:
        expected = link.sha256.lower() if link.sha256 else None
        if expected is not None:
            cached = cache.path("wheels", expected, link.filename)
            if cache.hit(cached, expected, link.size):
                size = cached.stat().st_size
                extra_total = size if link.size is None else 0
                tracker.update(link.filename, files=1, done=size, total=extra_total, force=True)
                return cached
        path = _download(
            session, cache, "wheels", link.url, link.filename, expected, tracker, link.size
        )
        tracker.update(link.filename, files=1, force=True)
        return path

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
