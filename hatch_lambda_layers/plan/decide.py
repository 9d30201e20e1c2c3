"""Which rates and which layer plan a build uses, given the plan file it honours. Pure: the
evidence arrives through a callback, called only when some rate must be estimated."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from ..config import Config
from ..errors import LimitError
from ..layers.entries import FileEntry, PackageFiles, entry_size
from ..manifest import Limits
from ..resolve.graph import DependencyGraph
from ..targets import DIRECT_UPLOAD_MAX
from .limits import Breach, Sizes, assess, limits_of, raise_breaches, upload_breach
from .partition import Constraints, Item, Plan, partition
from .partition import replan as replan_partition
from .planfile import RATE_DIGITS, PlanFile
from .rates import Evidence, RateEstimate, choose_rates, rates_from_evidence

EvidenceSource = Callable[[Sequence[str]], Evidence]


def decide_rates(
    names: Sequence[str],
    config: Config,
    committed: PlanFile | None,
    gather: EvidenceSource,
    *,
    replan: bool = False,
) -> dict[str, RateEstimate]:
    """Each bundled package's change rate. Rates recorded in the plan file are kept (unless
    `replan`) and overrides win, so `gather` is asked only about the others: a committed plan
    builds without the network. Every rate is rounded as the plan file records it, so a plan
    made afresh and the same plan read back from lambda-layers.lock show the same figures."""
    recorded = committed.rates() if committed is not None and not replan else {}
    overridden = set(config.volatile) | set(config.stable)
    query = [n for n in names if n not in recorded and n not in overridden]
    estimated: dict[str, RateEstimate] = {}
    if query:
        estimated = rates_from_evidence(
            query, gather(query), volatile=config.volatile, stable=config.stable
        )
    chosen = choose_rates(
        names,
        estimated=estimated,
        recorded=recorded,
        volatile=config.volatile,
        stable=config.stable,
        replan=replan,
    )
    return {n: RateEstimate(round(r.rate, RATE_DIGITS), r.source) for n, r in chosen.items()}


def decide_plan(
    packages: Sequence[PackageFiles],
    rates: Mapping[str, RateEstimate],
    config: Config,
    committed: PlanFile | None,
    *,
    direct: Collection[str] = (),
    replan: bool = False,
) -> Plan:
    """The layer plan: none in fat mode; else the partition honouring the committed plan, or
    (with `replan`) the fresh optimum when it saves more than `replan-margin`. Layers are
    named after the project's direct dependencies they hold (`direct`) where they hold one."""
    if config.mode == "fat":
        return Plan(
            layers=(), expected_bytes=0.0, single_layer_bytes=0.0, exact=True, lower_bound=None
        )
    items = [
        Item(p.name, p.size_zipped, p.size_unzipped, rates[p.name].rate, p.name in direct)
        for p in packages
    ]
    constraints = Constraints(
        max_layers=config.max_layers,
        max_zipped_per_layer=DIRECT_UPLOAD_MAX if config.upload == "direct" else None,
        pinned_groups=dict(config.layers),
        layer_overhead=float(config.layer_overhead),
    )
    previous = committed.assignment() if committed is not None else None
    if replan:
        return replan_partition(items, constraints, previous, margin=config.replan_margin)
    if previous is None:  # planned from scratch: the same inputs were likely planned before
        from .plancache import fresh_partition

        return fresh_partition(items, constraints)
    return partition(items, constraints, previous)


def layer_names(plan: Plan, prefix: str) -> dict[str, str]:
    """Partition layer name -> published layer name (`<project>-<layer>`)."""
    return {layer.name: f"{prefix}-{layer.name}" for layer in plan.layers}


def plan_within_limits(
    packages: tuple[PackageFiles, ...],
    rates: Mapping[str, RateEstimate],
    config: Config,
    committed: PlanFile | None,
    *,
    graph: DependencyGraph,
    files: Mapping[str, tuple[FileEntry, ...]],
    external: int,
    replan: bool,
) -> tuple[Plan, Limits]:
    """The layer plan and the limits it stands at; one `LimitError` naming every limit broken."""
    refused: list[Breach] = []
    plan: Plan | None = None
    try:
        plan = decide_plan(
            packages, rates, config, committed, direct=frozenset(graph.roots), replan=replan
        )
    except LimitError as exc:
        refused.append(upload_breach(str(exc)))
    sizes = Sizes(
        packages=packages,
        function_unzipped=max((sum(map(entry_size, f)) for f in files.values()), default=0),
        external_unzipped=external,
        layers_built=len(plan.layers) if plan is not None else 0,
        external_layers=len(config.external_layers),
        botocore_services=config.botocore_services is not None,
    )
    raise_breaches([*assess(sizes), *refused])
    assert plan is not None  # a refusal raised above
    return plan, limits_of(sizes, direct_upload=config.upload == "direct")
