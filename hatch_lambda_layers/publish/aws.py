"""boto3 behind one small object: clients per region and service with botocore's standard
retry mode and bounded timeouts, every API call counted, botocore's errors turned into one-line
PublishErrors.

boto3 and botocore are imported only inside functions: they live in the ``publish`` extra.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import PublishError

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_ATTEMPTS",
    "READ_TIMEOUT",
    "VERSION_WAIT_SECONDS",
    "WAITER_DELAY",
    "WAITER_MAX_ATTEMPTS",
    "Aws",
    "SessionFactory",
    "aws_errors",
    "default_session_factory",
    "error_code",
    "explain",
    "is_transient",
    "require_boto3",
]

# Polling for function updates; Lambda updates usually finish within seconds.
WAITER_DELAY = 2
WAITER_MAX_ATTEMPTS = 150
# A published version becomes Active once Lambda has prepared it; with SnapStart that includes
# taking the snapshot, which can take minutes.
VERSION_WAIT_SECONDS = 900

CONNECT_TIMEOUT = 10
# PublishLayerVersion and UpdateFunctionCode answer once Lambda has stored the zip.
READ_TIMEOUT = 120
MAX_ATTEMPTS = 5  # botocore standard mode: total attempts per call, backoff with jitter

# Error codes that say "try again" rather than "this request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceException",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
    }
)

_SERVER_ERROR = 500

SessionFactory = Callable[[str], Any]
"""`factory(region)` returns a boto3-Session-like object whose `client(service, config=...)`
makes botocore clients."""


def require_boto3() -> Any:
    """The boto3 module, or a PublishError saying which extra to install."""
    try:
        import boto3
    except ImportError:
        raise PublishError("boto3 is needed: pip install 'hatch-lambda-layers[publish]'") from None
    return boto3


def default_session_factory(region: str) -> Any:
    """A boto3 Session for `region`, finding credentials and endpoints the usual way."""
    return require_boto3().session.Session(region_name=region)


def client_config(*, retries: bool) -> Any:
    """botocore's standard retry mode and bounded timeouts; `retries=False` makes one attempt
    (for calls that are not idempotent: their caller checks what happened before trying again)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS if retries else 1},
    )


def error_code(exc: BaseException) -> str | None:
    """The `Error.Code` of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = (response.get("Error") or {}).get("Code")
        return None if code is None else str(code)
    return None


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    return 0


def is_transient(exc: BaseException) -> bool:
    """A connection failure, a lost or late response, throttling or a server error: the call
    may succeed when made again (and may, or may not, have taken effect)."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return True
    return error_code(exc) in _TRANSIENT_CODES or _status(exc) >= _SERVER_ERROR


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def explain(exc: BaseException) -> str:
    """`Code: message` of a botocore error, on one line."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        code = error.get("Code") or "Unknown"
        message = _one_line(error.get("Message") or "")
        return f"{code}: {message}" if message else str(code)
    return f"{type(exc).__name__}: {_one_line(str(exc))}"


@contextmanager
def aws_errors(region: str, what: str) -> Iterator[None]:
    """Turn botocore's errors into one-line PublishErrors naming the region, target and code."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise PublishError(f"{what} in {region} failed: {explain(exc)}") from exc


class Aws:
    """Clients per region and service, shared by the threads that publish regions in parallel.

    Every API call is counted per region through botocore's ``before-call`` event (pages,
    retries' first attempts and waiter polls included), and so are the bytes sent as zips.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str, bool], Any] = {}
        self._calls: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()

    @property
    def api_calls(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    @property
    def bytes_uploaded(self) -> int:
        with self._lock:
            return sum(self._bytes.values())

    def calls_in(self, region: str) -> int:
        with self._lock:
            return self._calls[region]

    def bytes_in(self, region: str) -> int:
        with self._lock:
            return self._bytes[region]

    def uploaded(self, region: str, size: int) -> None:
        """Count `size` bytes sent to `region`."""
        with self._lock:
            self._bytes[region] += size

    def _counter(self, region: str) -> Callable[..., None]:
        def count(**_: Any) -> None:
            with self._lock:
                self._calls[region] += 1

        return count

    def client(self, region: str, service: str, *, retries: bool = True) -> Any:
        """The `service` client for `region`, created (with its session) on first use;
        `retries=False` gives one that makes a single attempt per call."""
        key = (region, service, retries)
        with self._lock:
            if key in self._clients:
                return self._clients[key]
            if region not in self._sessions:
                self._sessions[region] = self._factory(region)
            with aws_errors(region, f"creating the {service} client"):
                client = self._sessions[region].client(
                    service, config=client_config(retries=retries)
                )
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:  # any botocore client; a bare test double may lack it
                events.register("before-call", self._counter(region))
            self._clients[key] = client
            return client

    def wait_updated(self, region: str, function_name: str) -> None:
        """Block until the function's last update has finished."""
        client = self.client(region, "lambda")
        names = getattr(client, "waiter_names", ())
        waiter = client.get_waiter(
            "function_updated_v2" if "function_updated_v2" in names else "function_updated"
        )
        with aws_errors(region, f"waiting for function {function_name!r} to finish updating"):
            waiter.wait(
                FunctionName=function_name,
                WaiterConfig={"Delay": WAITER_DELAY, "MaxAttempts": WAITER_MAX_ATTEMPTS},
            )

    def wait_version_active(self, region: str, function_name: str, version: str) -> None:
        """Block until a published version is Active (with SnapStart: its snapshot is taken),
        at most VERSION_WAIT_SECONDS."""
        waiter = self.client(region, "lambda").get_waiter("published_version_active")
        attempts = max(1, VERSION_WAIT_SECONDS // max(WAITER_DELAY, 1))
        what = f"waiting for version {version} of function {function_name!r} to become Active"
        with aws_errors(region, what):
            waiter.wait(
                FunctionName=function_name,
                Qualifier=version,
                WaiterConfig={"Delay": WAITER_DELAY, "MaxAttempts": attempts},
            )
