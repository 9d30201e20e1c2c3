"""Which rates and which layer plan a build uses, given the plan file it honours. Pure: the
evidence arrives through a callback, called only when some rate must be estimated."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from ..config import Config
from ..errors import LimitError
from ..layers.entries import Entry, PackageFiles, entry_size
from ..manifest import Limits
from ..resolve.graph import DependencyGraph
from ..targets import DIRECT_UPLOAD_MAX
from .functionsets import FunctionPlan, closures_differ, partition_functions
from .limits import (
    Breach,
    Sizes,
    assess_mode,
    limits_for_mode,
    raise_breaches,
    upload_breach,
)
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
    needs: Mapping[str, frozenset[str]] | None = None,
) -> FunctionPlan:
    """The layer plan: none in fat and efs modes; else the partition honouring the committed
    plan, or (with `replan`) the fresh optimum when it saves more than `replan-margin`. Layers
    are named after the project's direct dependencies they hold (`direct`) where they hold one.
    With `needs` (function -> the packages it needs) that differ, each function attaches only
    the layers holding its packages (`functionsets`); an image holds every layer."""
    functions = tuple(needs or ())
    if config.mode in ("fat", "efs"):
        empty = Plan(
            layers=(), expected_bytes=0.0, single_layer_bytes=0.0, exact=True, lower_bound=None
        )
        return FunctionPlan(empty, dict.fromkeys(functions, ()))
    items = [
        Item(p.name, p.size_zipped, p.size_unzipped, rates[p.name].rate, p.name in direct)
        for p in packages
    ]
    constraints = Constraints(
        max_layers=config.max_layers,
        max_zipped_per_layer=(
            DIRECT_UPLOAD_MAX if config.upload == "direct" and config.mode == "layers" else None
        ),
        pinned_groups=dict(config.layers),
        layer_overhead=float(config.layer_overhead),
    )
    previous = committed.assignment() if committed is not None else None
    if needs and config.mode == "layers" and closures_differ(needs, [p.name for p in packages]):
        return partition_functions(
            items, constraints, needs, previous, replan=replan, margin=config.replan_margin
        )
    if replan:
        plan = replan_partition(items, constraints, previous, margin=config.replan_margin)
    elif previous is None:  # planned from scratch: the same inputs were likely planned before
        from .plancache import fresh_partition

        plan = fresh_partition(items, constraints)
    else:
        plan = partition(items, constraints, previous)
    return FunctionPlan(plan, dict.fromkeys(functions, tuple(x.name for x in plan.layers)))


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
    files: Mapping[str, tuple[Entry, ...]],
    external: int,
    replan: bool,
    needs: Mapping[str, frozenset[str]] | None = None,
) -> tuple[FunctionPlan, Limits]:
    """The layer plan (with the layers each function attaches) and the limits it stands at;
    one `LimitError` naming every limit broken: the mode's limits, and with functions that
    attach different layers, each function's own."""
    refused: list[Breach] = []
    decided: FunctionPlan | None = None
    try:
        decided = decide_plan(
            packages,
            rates,
            config,
            committed,
            direct=frozenset(graph.roots),
            replan=replan,
            needs=needs,
        )
    except LimitError as exc:
        refused.append(upload_breach(str(exc)))
    sizes = Sizes(
        packages=packages,
        function_unzipped=max((sum(map(entry_size, f)) for f in files.values()), default=0),
        external_unzipped=external,
        layers_built=len(decided.plan.layers) if decided is not None else 0,
        external_layers=len(config.external_layers),
        botocore_services=config.botocore_services is not None,
        compile_everything=config.compile is True,
    )
    per_function = _function_sizes(decided, sizes, files) if config.mode == "layers" else None
    raise_breaches([*assess_mode(sizes, config.mode, per_function), *refused])
    assert decided is not None  # a refusal raised above
    return decided, limits_for_mode(
        sizes, config.mode, per_function, direct_upload=config.upload == "direct"
    )


def _function_sizes(
    decided: FunctionPlan | None, sizes: Sizes, files: Mapping[str, tuple[Entry, ...]]
) -> dict[str, Sizes] | None:
    """Each function's sizes, with the packages of the layers it attaches; None when every
    function attaches every layer (the whole build's sizes say it all)."""
    if decided is None or len(set(decided.attached.values())) <= 1:
        return None
    holds = {x.name: set(x.packages) for x in decided.plan.layers}
    result: dict[str, Sizes] = {}
    for fn, layers in sorted(decided.attached.items()):
        names = set().union(*(holds[x] for x in layers)) if layers else set()
        result[fn] = replace(
            sizes,
            packages=[p for p in sizes.packages if p.name in names],
            function_unzipped=sum(map(entry_size, files.get(fn, ()))),
            layers_built=len(layers),
        )
    return result
