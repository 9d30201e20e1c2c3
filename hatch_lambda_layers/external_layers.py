"""The unzipped size of each external layer (`external-layers`), which counts against Lambda's
262,144,000-byte total like the layers this tool builds.

Where a size comes from, in order: `external-layer-sizes` in the configuration; the cache (a
layer version never changes, so a size read once is kept by ARN under the tool's cache
directory); the Lambda API, when boto3 is installed and credentials are available
(GetLayerVersion, then the zip its Content.Location points to, whose central directory gives
the unzipped size); else unknown, with the reason. Never fatal: an unknown size is reported and
left out of the total.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SizeSource = Literal["configuration", "cache", "Lambda API", "unknown"]
API_TIMEOUT = 10.0  # seconds, connect and each read
_MAX_ZIP = 300 * 1024 * 1024  # a layer zip is at most 250 MB unzipped; refuse anything bigger


@dataclass(frozen=True)
class ExternalSize:
    arn: str
    unzipped: int | None  # None: unknown
    source: SizeSource
    note: str = ""  # why it is unknown


def _cache_file(cache_dir: Path, arn: str) -> Path:
    return cache_dir / "external-layers" / f"{hashlib.sha256(arn.encode()).hexdigest()}.json"


def _cached(cache_dir: Path, arn: str) -> int | None:
    try:
        data = json.loads(_cache_file(cache_dir, arn).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    size = data.get("unzipped") if isinstance(data, dict) and data.get("arn") == arn else None
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _remember(cache_dir: Path, arn: str, size: int) -> None:
    from .files import write_text_atomic

    path = _cache_file(cache_dir, arn)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"arn": arn, "unzipped": size}) + "\n")


def unzipped_size(path: Path) -> int:
    """The sum of the members' sizes in a zip's central directory."""
    with zipfile.ZipFile(path) as zf:
        return sum(info.file_size for info in zf.infolist() if not info.is_dir())


def _download(url: str, dest: Path) -> None:
    import urllib3

    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=API_TIMEOUT, read=API_TIMEOUT),
        retries=urllib3.Retry(total=2, backoff_factor=0.5),
    )
    response = http.request("GET", url, preload_content=False)
    try:
        if response.status != 200:  # noqa: PLR2004
            raise OSError(f"HTTP {response.status}")
        written = 0
        with dest.open("wb") as out:
            for chunk in response.stream(1 << 20):
                written += len(chunk)
                if written > _MAX_ZIP:
                    raise OSError("the layer zip is larger than any Lambda layer can be")
                out.write(chunk)
    finally:
        response.release_conn()


def _lambda_client(region: str) -> Any:
    """A boto3 Lambda client with short timeouts, or None when boto3 or credentials lack."""
    try:
        import boto3
        from botocore.config import Config as BotoConfig
    except ImportError:
        return None
    session = boto3.session.Session()
    if session.get_credentials() is None:
        return None
    config = BotoConfig(
        connect_timeout=API_TIMEOUT,
        read_timeout=API_TIMEOUT,
        retries={"mode": "standard", "max_attempts": 2},
    )
    return session.client("lambda", region_name=region, config=config)


def _from_api(arn: str, client_for: Callable[[str], Any]) -> tuple[int | None, str]:
    """(size, why unknown) read through the Lambda API."""
    parts = arn.split(":")  # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
    region, layer, version = parts[3], ":".join(parts[:7]), int(parts[7])
    client = client_for(region)
    if client is None:
        return None, "no AWS credentials (or boto3) to read it through the Lambda API"
    try:
        response = client.get_layer_version(LayerName=layer, VersionNumber=version)
        location = response["Content"]["Location"]
    except Exception as exc:  # any AWS failure leaves the size unknown
        return None, f"the Lambda API did not give it ({type(exc).__name__}: {exc})"
    if not str(location).startswith(("https://", "http://")):
        return None, "the Lambda API gave no download location for its content"
    with tempfile.TemporaryDirectory(prefix="hatch-lambda-layers-") as tmp:
        zip_path = Path(tmp) / "layer.zip"
        try:
            _download(str(location), zip_path)
            return unzipped_size(zip_path), ""
        except (OSError, zipfile.BadZipFile, ValueError) as exc:
            return None, f"its content could not be read ({exc})"


def external_sizes(
    arns: Sequence[str],
    configured: Mapping[str, int],
    *,
    cache_dir: Path,
    client_for: Callable[[str], Any] = _lambda_client,
) -> tuple[ExternalSize, ...]:
    """The size of every external layer, each with where it came from (module docstring)."""
    sizes: list[ExternalSize] = []
    for arn in arns:
        if arn in configured:
            sizes.append(ExternalSize(arn, configured[arn], "configuration"))
            continue
        cached = _cached(cache_dir, arn)
        if cached is not None:
            sizes.append(ExternalSize(arn, cached, "cache"))
            continue
        size, why = _from_api(arn, client_for)
        if size is None:
            sizes.append(ExternalSize(arn, None, "unknown", why))
            continue
        _remember(cache_dir, arn, size)
        sizes.append(ExternalSize(arn, size, "Lambda API"))
    return tuple(sizes)


def cache_root() -> Path:
    from .resolve.fetch import default_cache_dir

    return default_cache_dir(os.environ)
