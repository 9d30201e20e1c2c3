"""`lambda-layers diff OLD NEW`: what changed between two manifests: first the target (runtime,
architecture, Python, glibc), then each layer and the packages in it. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..manifest import Manifest


@dataclass(frozen=True)
class TargetChange:
    """One field of the target that differs: `label` in words, old and new value."""

    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class LayerChange:
    """One layer between two manifests, and the packages added, removed or moved in it."""

    name: str
    status: str  # "added", "removed", "changed", "unchanged"
    packages_added: tuple[str, ...] = ()
    packages_removed: tuple[str, ...] = ()
    packages_changed: tuple[tuple[str, str, str], ...] = ()  # (name, old, new)


_TARGET_FIELDS = (
    ("runtime", "runtime"),
    ("architecture", "architecture"),
    ("python_version", "Python"),
    ("glibc", "glibc"),
)


def target_changes(old: Manifest, new: Manifest) -> tuple[TargetChange, ...]:
    """The target fields that differ, in the order runtime, architecture, Python, glibc."""
    a, b = old.target.to_dict(), new.target.to_dict()
    return tuple(
        TargetChange(key, label, str(a[key]), str(b[key]))
        for key, label in _TARGET_FIELDS
        if a[key] != b[key]
    )


def diff(old: Manifest, new: Manifest) -> tuple[LayerChange, ...]:
    """Which layers changed between two manifests, and which of their packages did."""
    names = sorted({x.name for x in old.layers} | {x.name for x in new.layers})
    changes: list[LayerChange] = []
    for name in names:
        a, b = old.layer(name), new.layer(name)
        if a is None or b is None:
            layer = b if a is None else a
            assert layer is not None
            pkgs = tuple(sorted(p.name for p in layer.packages))
            changes.append(
                LayerChange(name, "added", packages_added=pkgs)
                if a is None
                else LayerChange(name, "removed", packages_removed=pkgs)
            )
            continue
        av = {p.name: p.version for p in a.packages}
        bv = {p.name: p.version for p in b.packages}
        added = tuple(sorted(set(bv) - set(av)))
        removed = tuple(sorted(set(av) - set(bv)))
        changed = tuple(sorted((n, av[n], bv[n]) for n in set(av) & set(bv) if av[n] != bv[n]))
        status = "unchanged" if a.content_hash == b.content_hash else "changed"
        changes.append(LayerChange(name, status, added, removed, changed))
    return tuple(changes)


def target_sentence(changes: Sequence[TargetChange]) -> str:
    """The target change in one sentence, or "" when the target is the same."""
    if not changes:
        return ""
    moved = ", ".join(f"{c.label} {c.old} -> {c.new}" for c in changes)
    fields = {c.field for c in changes}
    setting = " and ".join(
        word
        for key, word in (("runtime", "runtime"), ("architecture", "architecture"))
        if key in fields
    )
    then = (
        f"; the layers hold wheels for the new target: deploy them with the function's "
        f"{setting} set to match"
        if setting
        else "; the layers hold wheels for the new target"
    )
    return f"Target changed: {moved}{then}."


def format_diff(changes: Sequence[LayerChange], target: Sequence[TargetChange] = ()) -> str:
    """The diff as text: a change of target first, in words, then one line per layer."""
    lines: list[str] = [target_sentence(target)] if target else []
    for c in changes:
        if c.status == "unchanged":
            lines.append(f"  {c.name}: unchanged")
            continue
        lines.append(
            f"{'+' if c.status == 'added' else '-' if c.status == 'removed' else '~'} "
            f"{c.name}: {c.status}"
        )
        lines += [f"    + {n}" for n in c.packages_added]
        lines += [f"    - {n}" for n in c.packages_removed]
        lines += [f"    ~ {n} {o} -> {v}" for n, o, v in c.packages_changed]
    return "\n".join(lines)
