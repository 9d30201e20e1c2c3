"""AWS on 127.0.0.1 for the publish tests that race, kill and lose answers.

* :class:`SerialMotoServer`: a moto server that handles one request at a time. Real S3 makes a
  conditional write atomic and Lambda numbers layer versions atomically; moto's backends do
  neither under concurrent requests, so tests with several publishers at once use this server.
* :class:`AwsProxy`: an HTTP proxy in front of it that forwards requests and, for the requests
  a rule matches, loses the answer after the server acted, holds a request before or after the
  server sees it (so that a test can kill the client at that moment), delays the answer, or
  answers in the server's place.
"""

from __future__ import annotations

import http.client
import io
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = [
    "Aws",
    "AwsProxy",
    "EndpointSession",
    "Rule",
    "SerialMotoServer",
    "aws_fixture",
    "serial_moto_fixture",
]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialMotoServer:
    """moto's WSGI app behind a lock: one request at a time, as atomic as the real services."""

    def __init__(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serial(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            # The body is read before the lock is taken: a client that stalls mid-request
            # must not stall everyone else.
            stream = environ["wsgi.input"]
            if environ.get("wsgi.input_terminated"):  # chunked: read to its end
                body = stream.read()
            else:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = stream.read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            with lock:
                return list(app(environ, start_response))

        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, serial, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


@dataclass
class Rule:
    """What to do with the next `times` requests whose method and path match.

    action: "lose" (forward, then close the connection without the answer), "hold-before" /
    "hold-after" (stop before forwarding / after the server answered, signal `held`, wait for
    `release`, then close without an answer), "pause" (signal `held`, wait for `release`, then
    forward and answer as usual), "delay" (answer after `seconds`), "reply" (answer `status`
    and `body` without forwarding).
    """

    method: str
    path: str  # a regular expression the request path must match from its start
    action: str
    times: int = 1
    skip: int = 0  # let this many matching requests through first
    seconds: float = 0.0
    status: int = 500
    body: bytes = b""
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    matched: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.match(self.path, path) is not None


class AwsProxy:
    """An HTTP proxy on 127.0.0.1 forwarding to `upstream`, applying its rules in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            self.seen.append((method, path))
            for rule in self.rules:
                if rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.times -= 1
                    rule.matched += 1
                    return rule
        return None

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any, bytes]:
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-request (killed): drop it
            handler.close_connection = True
            return
        rule = self._take(handler.command, handler.path)
        action = rule.action if rule else "pass"
        if rule is not None and action == "hold-before":
            _hold(rule)
            handler.close_connection = True
            return
        if rule is not None and action == "pause":
            _hold(rule)
        if rule is not None and action == "reply":
            _answer(handler, rule.status, [("Content-Type", "application/json")], rule.body)
            return
        status, headers, data = self._forward(handler, body)
        if rule is not None and action in ("lose", "hold-after"):
            if action == "hold-after":
                _hold(rule)
            handler.close_connection = True  # the answer is lost: the client sees a closed socket
            return
        if rule is not None and action == "delay":
            rule.release.wait(rule.seconds)
        _answer(handler, status, headers, data)

    def stop(self) -> None:
        for rule in self.rules:
            rule.release.set()
        self._server.shutdown()
        self._thread.join()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients killed or answered with a closed socket on purpose: nothing to report."""


def _hold(rule: Rule) -> None:
    rule.held.set()
    rule.release.wait(120)


def _answer(
    handler: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], data: bytes
) -> None:
    handler.send_response(status)
    head = handler.command == "HEAD"
    skip = {"transfer-encoding", "connection", "server", "date"}
    if not head:  # a HEAD answer keeps the length of what GET would send
        skip.add("content-length")
    for name, value in headers:
        if name.lower() not in skip:
            handler.send_header(name, value)
    if not head:
        handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if not head:
        handler.wfile.write(data)
    handler.wfile.flush()


def point_boto3_at(endpoint: str, monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    """Fake credentials, no user configuration, and every boto3 client at `endpoint`."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_dir / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config_dir / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)


class EndpointSession:
    """A boto3 Session for one region whose clients talk to `endpoint` (the proxy), for the code
    under test, while the tests' own clients talk to the server directly."""

    def __init__(self, region: str, endpoint: str) -> None:
        self._session = boto3.session.Session(region_name=region)
        self._endpoint = endpoint

    def client(self, service: str, **kwargs: Any) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint, **kwargs)


@dataclass
class Aws:
    """A reset serial moto server, a proxy in front of it, and the environment pointing the
    tests' own boto3 clients at the server."""

    server: SerialMotoServer
    proxy: AwsProxy

    def session(self, region: str) -> EndpointSession:
        """A session through the proxy (pass as `session_factory`)."""
        return EndpointSession(region, self.proxy.url)


@pytest.fixture(scope="module", name="serial_moto")
def serial_moto_fixture() -> Iterator[SerialMotoServer]:
    server = SerialMotoServer()
    yield server
    server.stop()


@pytest.fixture(name="aws")
def aws_fixture(
    serial_moto: SerialMotoServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Aws]:
    """A freshly reset serial moto server with a proxy in front of it."""
    serial_moto.reset()
    point_boto3_at(serial_moto.url, monkeypatch, tmp_path_factory.mktemp("aws-config"))
    proxy = AwsProxy(serial_moto.url)
    yield Aws(serial_moto, proxy)
    proxy.stop()
