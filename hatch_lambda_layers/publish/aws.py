"""boto3 behind one small object: clients per region and service, every API call counted,
botocore's errors turned into one-line PublishErrors.

boto3 and botocore are imported only inside functions: they live in the ``publish`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import PublishError

__all__ = [
    "WAITER_DELAY",
    "WAITER_MAX_ATTEMPTS",
    "Aws",
    "SessionFactory",
    "aws_errors",
    "default_session_factory",
    "error_code",
    "explain",
    "require_boto3",
]

# Polling for function updates; Lambda updates usually finish within seconds.
WAITER_DELAY = 2
WAITER_MAX_ATTEMPTS = 150

SessionFactory = Callable[[str], Any]
"""`factory(region)` returns a boto3-Session-like object with a `client(service)` method."""


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


def error_code(exc: BaseException) -> str | None:
    """The `Error.Code` of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = (response.get("Error") or {}).get("Code")
        return None if code is None else str(code)
    return None


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
    """Clients per region and service, counting every API call they make (pages and waiter
    polls included) through botocore's ``before-call`` event, and the bytes sent as zips."""

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self.api_calls = 0
        self.bytes_uploaded = 0

    def _count(self, **_: Any) -> None:
        self.api_calls += 1

    def client(self, region: str, service: str) -> Any:
        """The `service` client for `region`, created (with its session) on first use."""
        key = (region, service)
        if key not in self._clients:
            if region not in self._sessions:
                self._sessions[region] = self._factory(region)
            with aws_errors(region, f"creating the {service} client"):
                client = self._sessions[region].client(service)
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:  # any botocore client; a bare test double may lack it
                events.register("before-call", self._count)
            self._clients[key] = client
        return self._clients[key]

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
