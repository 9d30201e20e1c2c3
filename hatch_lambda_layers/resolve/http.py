"""HTTP for the index and downloads: one :class:`HttpSession` per client.

A single urllib3 pool manager (a proxy manager for hosts the ``HTTP(S)_PROXY`` variables route
through a proxy) with retries and timeouts, basic auth taken from ``user:pass@`` in URLs (or
``~/.netrc``) and sent as a header, never left in a URL that could end up in a message.
``file://`` URLs and plain local paths are read from disk through the same interface.

No wait is without end: connecting and every single read (headers, and each block of a body)
time out after ``$HATCH_LAMBDA_LAYERS_HTTP_TIMEOUT`` seconds (default 30); a connection error,
a timeout or a 429/5xx answer is retried ``$HATCH_LAMBDA_LAYERS_HTTP_RETRIES`` times (default
3) with exponential backoff (0.5 s, 1 s, 2 s...; a server's ``Retry-After`` is honoured up to
10 s); a body that breaks or stalls midway is fetched again from the start up to
`STREAM_ATTEMPTS` times. Then the request fails with a one-line error naming the (redacted) URL.
A server that accepts the connection and never answers therefore fails after about
(retries + 1) x timeout plus the backoff. A server that is never silent for a whole timeout but
never done either (a byte now and then) is cut off too: each body must arrive within
`body_deadline` (four timeouts, plus its announced length at `MIN_RATE`), or the request fails
without a retry.
"""

from __future__ import annotations

import contextlib
import functools
import netrc
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from ..errors import ConfigError, FetchError

if TYPE_CHECKING:  # urllib3 is imported when a request is made: local work never loads it
    import urllib3

CHUNK_SIZE = 256 * 1024


STREAM_ATTEMPTS = 3  # whole-body retries after a connection dropped mid-stream


TIMEOUT_ENV = "HATCH_LAMBDA_LAYERS_HTTP_TIMEOUT"


RETRIES_ENV = "HATCH_LAMBDA_LAYERS_HTTP_RETRIES"


DEFAULT_TIMEOUT = 30.0  # seconds, for connecting and for every read


DEFAULT_RETRIES = 3


MAX_RETRY_AFTER = 10.0  # seconds: the longest Retry-After this client waits for


MAX_RETRIES = 20


MIN_RATE = 64 * 1024  # bytes per second a body's announced length is allowed beyond the base


def body_deadline(timeout: float, length: int | None) -> float:
    """Seconds a response body may take in all: four read timeouts, plus `length` at
    `MIN_RATE` (a 50 MB wheel gets about 13 minutes with the default timeout)."""
    return 4 * timeout + (length or 0) / MIN_RATE


def _env_number(environ: Mapping[str, str], name: str, default: float, *, integer: bool) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    upper = MAX_RETRIES if integer else 3600
    if not (0 <= value <= upper) or (not integer and value == 0):
        kind = f"a whole number from 0 to {upper}" if integer else "a number of seconds above 0"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}")
    return value


def http_timeout(environ: Mapping[str, str] | None = None) -> urllib3.Timeout:
    """Connect and per-read timeouts: ``$HATCH_LAMBDA_LAYERS_HTTP_TIMEOUT`` seconds or 30."""
    import urllib3

    env = os.environ if environ is None else environ
    seconds = _env_number(env, TIMEOUT_ENV, DEFAULT_TIMEOUT, integer=False)
    return urllib3.Timeout(connect=seconds, read=seconds)


@functools.cache
def _bounded_retry() -> type[urllib3.Retry]:
    import urllib3

    class _BoundedRetry(urllib3.Retry):
        """urllib3's Retry with the server's Retry-After capped at `MAX_RETRY_AFTER` s."""

        def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, MAX_RETRY_AFTER)

    return _BoundedRetry


def stream_errors() -> tuple[type[Exception], ...]:
    """urllib3's errors for a body that breaks or stalls midway (as an `except` clause:
    imported only when something was raised)."""
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    return (ProtocolError, ReadTimeoutError)


def http_retries(environ: Mapping[str, str] | None = None) -> urllib3.Retry:
    """Retries of connection errors, timeouts and 429/5xx answers, with backoff:
    ``$HATCH_LAMBDA_LAYERS_HTTP_RETRIES`` times or 3."""
    env = os.environ if environ is None else environ
    count = int(_env_number(env, RETRIES_ENV, DEFAULT_RETRIES, integer=True))
    return _bounded_retry()(
        total=count, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504)
    )


def explain(reason: object) -> str:
    """`reason` (an exception or text) on one line, with a hint when it is a timeout."""
    text = " ".join(str(reason).split())
    hint = f" (set {TIMEOUT_ENV} to wait longer)" if "timed out" in text.lower() else ""
    return text + hint


def _failure(url: str, reason: object) -> str:
    """The one-line message for a request that failed after its retries."""
    return f"could not fetch {redact_url(url)}: {explain(reason)}"


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
        from urllib.request import url2pathname

        return Path(url2pathname(unquote(parts.path)))
    # A one-letter scheme is a Windows drive ("C:\\wheels"), not a URL scheme.
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):
        return Path(url)
    return None


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
        self._retries = retries or http_retries(env)
        self._timeout = timeout or http_timeout(env)
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
        import urllib3

        proxy = self._proxies.get(scheme)
        import urllib.request

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
        import urllib3
        from urllib3.exceptions import HTTPError as Urllib3Error

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
            raise FetchError(_failure(url, getattr(exc, "reason", None) or exc)) from exc
        lowered = {k.lower(): v for k, v in response.headers.items()}
        length = lowered.get("content-length", "")
        read = self._timeout.read_timeout
        deadline = _Deadline(
            body_deadline(
                read if isinstance(read, (int, float)) else DEFAULT_TIMEOUT,
                int(length) if length.isdigit() else None,
            ),
            response.shutdown,
        )
        try:
            yield Response(
                # After redirects (urllib3 may report just the path): pages resolve links here.
                url=urljoin(clean, response.url or ""),
                status=response.status,
                headers=lowered,
                chunks=deadline.guard(response.stream(CHUNK_SIZE), url),
            )
        finally:
            deadline.cancel()
            response.release_conn()

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Fetched:
        """A small document such as an index page, read whole (compressed in transit)."""
        import urllib3

        request_headers = {**urllib3.make_headers(accept_encoding=True), **(headers or {})}
        for attempt in range(STREAM_ATTEMPTS):
            try:
                with self.open(url, headers=request_headers) as response:
                    body = response.read() if response.status == HTTPStatus.OK else b""
                    return Fetched(response.url, response.status, response.content_type, body)
            except stream_errors() as exc:
                if attempt + 1 == STREAM_ATTEMPTS:
                    raise FetchError(_failure(url, exc)) from exc
        raise AssertionError("unreachable")


class _Deadline:
    """urllib3 bounds each read, not a whole body: this timer shuts the socket down when the
    body is late, which ends a read still waiting, and `guard` turns that into one line."""

    def __init__(self, seconds: float, shutdown: Callable[[], None]) -> None:
        self.seconds = seconds
        self._cut = threading.Event()
        self._shutdown = shutdown
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self._cut.set()
        self._shutdown()

    def cancel(self) -> None:
        self._timer.cancel()

    def guard(self, chunks: Iterator[bytes], url: str) -> Iterator[bytes]:
        received = 0
        try:
            for chunk in chunks:
                received += len(chunk)
                yield chunk
        except Exception as exc:
            if self._cut.is_set():
                raise self._late(url, received) from exc
            raise
        if self._cut.is_set():  # the shutdown looked like the end of a body of unknown length
            raise self._late(url, received)

    def _late(self, url: str, received: int) -> FetchError:
        why = f"the body timed out after {self.seconds:.0f} s ({received:,} bytes arrived)"
        return FetchError(_failure(url, why))


class Session(Protocol):
    """What downloads need from an HTTP client (tests may pass a fake)."""

    def open(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Response]: ...
