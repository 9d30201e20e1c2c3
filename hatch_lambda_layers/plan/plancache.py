"""Fresh partitions kept in the cache. The partitioner is pure, so a plan made from scratch is
stored under a digest of everything it was made from (each item's name, sizes, change rate and
whether it is a direct dependency, the constraints, and the partitioner's code), and a later
build from the same inputs (a warm build without a committed plan, into a fresh directory) takes
it instead of solving again.

Entries: ``<cache>/plans/v<PLAN_FORMAT>/<aa>/<key>.json``, written atomically. Untrusted when
read back: the entry must place exactly the same packages, each in one layer with a valid name,
use at most `max_layers` layers, keep every layer within the per-layer zipped limit and every
pinned group in its named layer, and carry finite figures; anything else is solved again and
rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import write_text_atomic
from ..resolve.cache import default_cache_dir
from .partition import Constraints, Item, Layer, Plan, partition
from .planfile import LAYER_NAME

PLAN_FORMAT = 1
_CODE = ("plancache.py", "partition.py", "solver.py")
_IDENTITY: list[str] = []


def _code_identity() -> str:
    if not _IDENTITY:
        digest = hashlib.sha256(__version__.encode())
        for name in _CODE:
            digest.update((Path(__file__).parent / name).read_bytes())
        _IDENTITY.append(digest.hexdigest())
    return _IDENTITY[0]


def plan_key(items: Sequence[Item], constraints: Constraints) -> str:
    """The digest a fresh plan for these inputs is stored under."""
    rows = [[i.name, i.size_zipped, i.size_unzipped, repr(i.change_rate), i.direct] for i in items]
    document = [
        sorted(rows),
        [constraints.max_layers, constraints.max_zipped_per_layer,
         sorted([k, sorted(v)] for k, v in constraints.pinned_groups.items()),
         repr(constraints.layer_overhead)],
        _code_identity(),
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(document, separators=(",", ":")).encode()).hexdigest()


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("not a finite number")
    return float(value)


def plan_from_dict(data: object, items: Sequence[Item], constraints: Constraints) -> Plan:
    """A stored plan, validated against the inputs it claims to be for (`ValueError`)."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise ValueError("not a stored plan")
    sizes = {i.name: i.size_zipped for i in items}
    layers, placed = [], []
    for entry in data["layers"]:
        if not isinstance(entry, dict):
            raise ValueError("a layer is an object")
        name, packages = entry.get("name"), entry.get("packages")
        if not isinstance(name, str) or not LAYER_NAME.fullmatch(name):
            raise ValueError("bad layer name")
        if not isinstance(packages, list) or not packages or packages != sorted(packages):
            raise ValueError("a layer holds a sorted, non-empty list of packages")
        limit = constraints.max_zipped_per_layer
        if limit is not None and sum(sizes.get(p, 0) for p in packages) > limit:
            raise ValueError("a layer over the per-layer limit")
        layers.append(Layer(name, tuple(packages), _number(entry.get("expected_bytes"))))
        placed += packages
    if sorted(placed) != sorted(sizes) or len(layers) > constraints.max_layers:
        raise ValueError("the plan does not place these packages")
    where = {p: layer.name for layer in layers for p in layer.packages}
    for group, members in constraints.pinned_groups.items():
        if any(where.get(p, group) != group for p in members):
            raise ValueError("a pinned group is not in its layer")
    bound = data.get("lower_bound")
    if not isinstance(data.get("exact"), bool):
        raise ValueError("exact must be true or false")
    return Plan(
        layers=tuple(sorted(layers, key=lambda x: x.name)),
        expected_bytes=_number(data.get("expected_bytes")),
        single_layer_bytes=_number(data.get("single_layer_bytes")),
        exact=data["exact"],
        lower_bound=None if bound is None else _number(bound),
        layer_overhead=_number(data.get("layer_overhead")),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "layers": [
            {"name": x.name, "packages": list(x.packages), "expected_bytes": x.expected_bytes}
            for x in plan.layers
        ],
        "expected_bytes": plan.expected_bytes,
        "single_layer_bytes": plan.single_layer_bytes,
        "exact": plan.exact,
        "lower_bound": plan.lower_bound,
        "layer_overhead": plan.layer_overhead,
    }


def fresh_partition(
    items: Sequence[Item], constraints: Constraints, *, cache_dir: Path | None = None
) -> Plan:
    """`partition(items, constraints)` (no previous plan), from the cache when these inputs
    were planned before."""
    key = plan_key(items, constraints)
    path = (cache_dir or default_cache_dir()) / "plans" / f"v{PLAN_FORMAT}" / key[:2]
    path = path / f"{key}.json"
    try:
        return plan_from_dict(json.loads(path.read_text(encoding="utf-8")), items, constraints)
    except (OSError, ValueError):
        pass
    plan = partition(items, constraints)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(plan_to_dict(plan)))
    return plan
