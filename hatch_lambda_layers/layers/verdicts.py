"""Verdicts of `verify.verify_wheel`, cached by the wheel's sha256 and the verifier's version,
so that a wheel is inflated and hashed once and every later build copies it raw.

Layout: ``<cache>/verified/v<VERIFIER_VERSION>/<aa>/<sha256>.json`` holding the wheel's file
name and each member's sha256. The key is the digest of the wheel's bytes, taken from the
cache's sidecar (`resolve.cache.digest_of`, which re-hashes a file whose stat facts changed),
so a verdict never outlives the bytes it is about. A verdict that is missing, unreadable,
malformed or about another file name is recomputed and rewritten; one that cannot be written
only costs the next build a verification.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..files import write_text_atomic
from ..resolve.cache import default_cache_dir, digest_of, is_sha256
from .verify import VERIFIER_VERSION, WheelVerdict, verify_wheel

_MAX_WORKERS = 4


def _verdict_path(cache_dir: Path, sha256: str) -> Path:
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return cache_dir / "verified" / f"v{VERIFIER_VERSION}" / sha256[:2] / f"{sha256}.json"


def _load(path: Path, filename: str) -> WheelVerdict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("filename") != filename:
        return None
    members = data.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(k, str) and is_sha256(v) for k, v in members.items()
    ):
        return None
    return WheelVerdict(filename=filename, members=members)


def _save(path: Path, verdict: WheelVerdict) -> None:
    document = {"filename": verdict.filename, "members": dict(verdict.members)}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(document, sort_keys=True, ensure_ascii=False))


def verified_wheel(
    path: Path, *, sha256: str | None = None, cache_dir: Path | None = None
) -> tuple[WheelVerdict, bool]:
    """The verdict on the wheel at `path` (whose digest is `sha256`, computed when None), and
    whether it came from the cache. Verification failures raise as `verify_wheel` does and
    cache nothing."""
    digest = sha256 or digest_of(path)
    store = _verdict_path(cache_dir or default_cache_dir(), digest)
    cached = _load(store, path.name)
    if cached is not None:
        return cached, True
    verdict = verify_wheel(path)
    _save(store, verdict)
    return verdict, False


def verified_wheels(paths: Sequence[Path], *, cache_dir: Path | None = None) -> list[WheelVerdict]:
    """`verified_wheel` of every path, in order. Cold verifications run on a few threads (zlib
    and hashlib release the GIL); the first failure in `paths` order is raised."""
    workers = max(1, min(len(paths), os.cpu_count() or 1, _MAX_WORKERS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
        return [v for v, _ in pool.map(lambda p: verified_wheel(p, cache_dir=cache_dir), paths)]
