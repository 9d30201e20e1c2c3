"""Shared phrases of the reports: where a change rate came from, where the layer plan came from,
who keeps a shared dependency, and the target. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ..manifest import Target
from .plan_model import PlanOrigin
from .shared import SharedDependency

SOURCE_WORDS = {
    "lock-history": "lock history",
    "manifest-history": "earlier builds",
    "release-cadence": "release cadence",
    "override": "your override",
    "unknown": "default guess",
}


def source_words(source: str) -> str:
    """Where a change rate came from, in words (`lock-history` -> ``lock history``)."""
    return SOURCE_WORDS.get(source, source)


def and_list(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def target_words(target: Target) -> str:
    """``python3.12 on arm64 (Python 3.12, glibc 2.34)``."""
    return (
        f"{target.runtime} on {target.architecture} "
        f"(Python {target.python_version}, glibc {target.glibc})"
    )


def origin_words(origin: PlanOrigin) -> str:
    """Where the layer plan came from, in one sentence."""
    if origin.kind == "committed":
        return f"Layer plan: the committed {origin.path}"
    if origin.kind == "last-build":
        return (
            f"Layer plan: the plan the last build left in {origin.path} - not committed yet "
            "(copy it beside pyproject.toml and commit it)"
        )
    if origin.kind == "replanned":
        kept = (
            f", keeping the layers of {origin.path} unless it saves enough" if origin.path else ""
        )
        return f"Layer plan: planned afresh (--update){kept}"
    return (
        "Layer plan: planned afresh (no lambda-layers.lock yet; the first build leaves one "
        "in dist/lambda/ to commit)"
    )


def shared_words(shared: SharedDependency, project: str) -> str:
    """``botocore 1.35.0: bundled because aws-xray-sdk needs it (boto3, provided, needs it
    too); add botocore to provided if the runtime's copy will do``."""
    keepers = ["the project itself" if n == project else n for n in shared.needed_by]
    others = [n.name for n in shared.also_needed_by]
    status = "provided" if all(n.provided for n in shared.also_needed_by) else "left out"
    return (
        f"{shared.name} {shared.version}: bundled because {and_list(keepers)} "
        f"{'needs' if len(keepers) == 1 else 'need'} it ({and_list(others)}, {status}, "
        f"{'needs' if len(others) == 1 else 'need'} it too); add {shared.name} to provided if "
        "the runtime's copy will do"
    )
