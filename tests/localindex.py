"""Serve a directory of wheels as a simple repository (PEP 503 HTML / PEP 691 JSON) on 127.0.0.1.

    from tests.localindex import LocalIndex, serve_index, local_index  # fixture factory

    with serve_index(wheel_dir) as index:
        index.url          # "http://127.0.0.1:<port>/simple/"
        index.requests     # every request seen: (path, headers)

The page for a project lists every ``*.whl`` / ``*.tar.gz`` / ``*.zip`` in the directory whose
filename names that project; it is built at request time, so wheels may be added while the server
runs. Files are served from ``/files/<filename>``, PEP 658 metadata from
``/files/<filename>.metadata``. Options shape the pages (format, hashes, yanked files,
requires-python, upload times, metadata, basic auth, ETag validators answered with 304) or
misbehave on purpose (corrupted bytes, delays, transient errors, a request never answered, a
body that stalls or stops midway) so tests can exercise the client's handling. A stalled request
ends when the server stops.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

import pytest
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"

Format = Literal["auto", "json", "html"]


def _project(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def wheel_metadata(path: Path) -> bytes:
    """The ``*.dist-info/METADATA`` bytes of a wheel."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name)
    raise FileNotFoundError(f"{path.name} has no METADATA")


@dataclass
class LocalIndex:
    """A running index. Mutate the options between requests to change what it serves."""

    directory: Path
    format: Format = "auto"
    hashes: bool = True
    metadata: bool = True  # advertise and serve PEP 658 .metadata files
    yanked: dict[str, str] = field(default_factory=dict)  # filename -> reason ("" for none)
    requires_python: dict[str, str] = field(default_factory=dict)  # filename -> specifier
    upload_times: dict[str, str] = field(default_factory=dict)  # filename -> PEP 700 upload-time
    validators: bool = False  # pages carry ETag / Last-Modified and answer 304 when they match
    relative_urls: bool = True
    auth: tuple[str, str] | None = None
    corrupt: set[str] = field(default_factory=set)  # filenames served with altered bytes
    delay: float = 0.0  # seconds slept before serving each file
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> 503s left to return
    redirect_from: str | None = None  # e.g. "/old/deep/": its pages redirect to /simple/
    hang: set[str] = field(default_factory=set)  # paths whose requests are never answered
    stall_after: dict[str, int] = field(default_factory=dict)  # filename -> bytes, then silence
    cut_after: dict[str, int] = field(default_factory=dict)  # filename -> bytes, then close
    trickle: dict[str, float] = field(default_factory=dict)  # filename -> seconds between bytes
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    active_downloads: int = 0
    max_active_downloads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/simple/"

    def url_with_auth(self) -> str:
        assert self.auth is not None
        user, password = self.auth
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"http://{credentials}@127.0.0.1:{self.port}/simple/"

    def file_url(self, filename: str) -> str:
        return f"{self.root}/files/{quote(filename)}"

    def paths(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [path for path, _ in self.requests if path.startswith(prefix)]

    # -- page building

    def files_of(self, project: str) -> list[Path]:
        wanted = canonicalize_name(project)
        return sorted(
            p for p in self.directory.iterdir() if p.is_file() and _project(p.name) == wanted
        )

    def _entries(self, project: str) -> list[dict[str, object]]:
        entries: list[dict[str, object]] = []
        for path in self.files_of(project):
            data = path.read_bytes()
            href = (
                f"../../files/{quote(path.name)}"
                if self.relative_urls
                else self.file_url(path.name)
            )
            entry: dict[str, object] = {
                "filename": path.name,
                "url": href,
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()} if self.hashes else {},
                "size": len(data),
            }
            if path.name in self.requires_python:
                entry["requires-python"] = self.requires_python[path.name]
            if path.name in self.yanked:
                entry["yanked"] = self.yanked[path.name] or True
            if path.name in self.upload_times:
                entry["upload-time"] = self.upload_times[path.name]
            if self.metadata and path.name.endswith(".whl"):
                digest = hashlib.sha256(wheel_metadata(path)).hexdigest()
                entry["core-metadata"] = {"sha256": digest}
            entries.append(entry)
        return entries

    def json_page(self, project: str) -> bytes:
        document = {
            "meta": {"api-version": "1.1"},
            "name": canonicalize_name(project),
            "files": self._entries(project),
        }
        return json.dumps(document).encode()

    def html_page(self, project: str) -> bytes:
        lines = [
            "<!DOCTYPE html>",
            '<html><head><meta name="pypi:repository-version" content="1.1"></head><body>',
        ]
        for entry in self._entries(project):
            href = str(entry["url"])
            hashes = entry["hashes"]
            assert isinstance(hashes, dict)
            if hashes:
                href += f"#sha256={hashes['sha256']}"
            attrs = [f'href="{html.escape(href)}"']
            if "requires-python" in entry:
                attrs.append(f'data-requires-python="{html.escape(str(entry["requires-python"]))}"')
            if "yanked" in entry:
                reason = entry["yanked"]
                attrs.append(
                    f'data-yanked="{html.escape(reason)}"'
                    if isinstance(reason, str)
                    else "data-yanked"
                )
            if "core-metadata" in entry:
                metadata = entry["core-metadata"]
                assert isinstance(metadata, dict)
                attrs.append(f'data-core-metadata="sha256={metadata["sha256"]}"')
            lines.append(f"<a {' '.join(attrs)}>{html.escape(str(entry['filename']))}</a><br>")
        lines.append("</body></html>")
        return "\n".join(lines).encode()

    def root_page(self) -> bytes:
        projects = sorted({p for f in self.directory.iterdir() if (p := _project(f.name))})
        links = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode()


def _handler(index: LocalIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "text/plain",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            with index._lock:
                index.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                failures = index.fail_next.get(path, 0)
                if failures:
                    index.fail_next[path] = failures - 1
            if failures:
                self._send(503, b"try again")
                return
            if path in index.hang:
                index.stopping.wait()  # accept the request, never answer
                self.close_connection = True
                return
            if index.auth is not None:
                expected = base64.b64encode(":".join(index.auth).encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._send(401, b"unauthorized")
                    return
            if index.redirect_from and path.startswith(index.redirect_from):
                self.send_response(302)
                self.send_header("Location", "/simple/" + path.removeprefix(index.redirect_from))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/simple/":
                self._send(200, index.root_page(), "text/html")
            elif path.startswith("/simple/"):
                self._project(path.removeprefix("/simple/").strip("/"))
            elif path.startswith("/files/"):
                self._file(path.removeprefix("/files/"))
            else:
                self._send(404, b"not found")

        def _project(self, project: str) -> None:
            if project != canonicalize_name(project):
                self.send_response(301)
                self.send_header("Location", f"/simple/{canonicalize_name(project)}/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if not index.files_of(project):
                self._send(404, b"no such project")
                return
            accept = self.headers.get("Accept", "")
            wants_json = JSON_TYPE in accept
            if index.format == "json" or (index.format == "auto" and wants_json):
                self._page(index.json_page(project), JSON_TYPE)
            else:
                html_type = HTML_TYPE if HTML_TYPE in accept else "text/html; charset=utf-8"
                self._page(index.html_page(project), html_type)

        def _page(self, body: bytes, content_type: str) -> None:
            if not index.validators:
                self._send(200, body, content_type)
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            validators = {"ETag": etag, "Last-Modified": "Mon, 01 Jun 2026 00:00:00 GMT"}
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", content_type, validators)
            else:
                self._send(200, body, content_type, validators)

        def _file(self, name: str) -> None:
            is_metadata = name.endswith(".metadata")
            filename = name.removesuffix(".metadata")
            path = index.directory / filename
            if "/" in filename or not path.is_file() or (is_metadata and not index.metadata):
                self._send(404, b"no such file")
                return
            if is_metadata:
                self._send(200, wheel_metadata(path), "application/octet-stream")
                return
            with index._lock:
                index.active_downloads += 1
                index.max_active_downloads = max(index.max_active_downloads, index.active_downloads)
            try:
                if index.delay:
                    time.sleep(index.delay)
                data = path.read_bytes()
                if filename in index.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                if filename in index.stall_after or filename in index.cut_after:
                    self._send_partly(filename, data)
                    return
                if filename in index.trickle:
                    self._trickle(data, index.trickle[filename])
                    return
                self._send(200, data, "application/octet-stream")
            finally:
                with index._lock:
                    index.active_downloads -= 1

        def _send_partly(self, filename: str, data: bytes) -> None:
            """Announce the whole body, send only its start, then go silent or hang up."""
            sent = index.stall_after.get(filename, index.cut_after.get(filename, 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:sent])
            self.wfile.flush()
            if filename in index.stall_after:
                index.stopping.wait()
            self.close_connection = True

        def _trickle(self, data: bytes, pause: float) -> None:
            """The whole body, one byte at a time, each within any read timeout: a server
            that is never quite silent and never done."""
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for byte in data:
                if index.stopping.wait(pause):
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    break  # the client gave up
            self.close_connection = True

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients dropping keep-alive connections is normal; tests assert on behaviour


@contextlib.contextmanager
def serve_index(directory: str | Path, **options: object) -> Iterator[LocalIndex]:
    """Start a :class:`LocalIndex` for ``directory`` on a free port; stop it on exit."""
    index = LocalIndex(directory=Path(directory), **options)  # type: ignore[arg-type]
    server = _QuietServer(("127.0.0.1", 0), _handler(index))
    index.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="local-index", daemon=True
    )
    thread.start()
    try:
        yield index
    finally:
        index.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def local_index() -> Iterator[Callable[..., LocalIndex]]:
    """Fixture factory: ``local_index(directory, **options) -> LocalIndex``, stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def start(directory: str | Path, **options: object) -> LocalIndex:
            return stack.enter_context(serve_index(directory, **options))

        yield start


__all__ = ["HTML_TYPE", "JSON_TYPE", "LocalIndex", "local_index", "serve_index", "wheel_metadata"]
