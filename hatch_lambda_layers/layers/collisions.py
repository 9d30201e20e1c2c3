"""Two distributions that write the same file. Lambda unpacks layers in order, each overwriting
the files of the ones before, so such a file would silently come from whichever layer is last:
refused, naming both, unless the bytes are the same (then it is written once). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import LambdaLayersError
from .entries import PackageFiles, entry_sha256

_SHOWN = 3  # colliding paths quoted per pair


class FileCollisionError(LambdaLayersError):
    """Two bundled distributions write different bytes to the same path."""


def resolve_collisions(packages: Sequence[PackageFiles]) -> tuple[PackageFiles, ...]:
    """`packages` with every file that two of them write identically kept once (by the first in
    name order); `FileCollisionError` naming both distributions and the paths when the bytes
    (or modes) differ."""
    owner: dict[str, tuple[PackageFiles, tuple[int, str]]] = {}
    drop: dict[str, set[str]] = {}
    clashes: dict[tuple[str, str], list[str]] = {}
    for package in sorted(packages, key=lambda p: p.name):
        for entry in package.entries:
            facts = (entry.mode, entry_sha256(entry))
            first = owner.setdefault(entry.path, (package, facts))
            if first[0] is package:
                continue
            if first[1] == facts:
                drop.setdefault(package.name, set()).add(entry.path)
            else:
                clashes.setdefault((first[0].name, package.name), []).append(entry.path)
    if clashes:
        raise FileCollisionError(_message(packages, clashes))
    return tuple(
        p.with_entries(e for e in p.entries if e.path not in drop[p.name]) if p.name in drop else p
        for p in packages
    )


def _message(packages: Sequence[PackageFiles], clashes: dict[tuple[str, str], list[str]]) -> str:
    versions: dict[str, str] = {p.name: p.version for p in packages}
    parts = []
    for (a, b), paths in sorted(clashes.items()):
        shown = ", ".join(sorted(paths)[:_SHOWN])
        more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
        parts.append(f"{a} {versions[a]} and {b} {versions[b]} both write {shown}{more}")
    return (
        "; ".join(parts) + " with different contents: on Lambda the layer unpacked last would "
        "silently win, so the function would import whichever it happened to be; keep one of "
        "them (drop the other from the dependencies, or list it in tool.lambda-layers.provided), "
        "or exclude its copy with tool.lambda-layers.exclude"
    )
