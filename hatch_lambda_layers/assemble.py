"""What a build records: the manifest of its written zips, and the lambda-layers.lock of its
plan. Pure: from `Prepared` and the written entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import __version__, manifest
from .layers.entries import entries_content_hash
from .output import layer_version
from .plan.planfile import PlanFile, from_plan
from .plan.rates import next_history
from .prepared import Prepared


def manifest_of(
    prepared: Prepared,
    layers: Sequence[manifest.LayerEntry],
    functions: Sequence[manifest.FunctionEntry],
    previous: manifest.Manifest | None,
) -> manifest.Manifest:
    target = prepared.target
    if prepared.config.mode == "layers":
        functions = [replace(f, layers=_attached_names(prepared, f.name)) for f in functions]
    by_name = {x.name: x for x in layers}
    external = sum(s.unzipped or 0 for s in prepared.external_sizes)
    total = max(
        (
            f.size_unzipped + external + sum(by_name[n].size_unzipped for n in f.layers or ())
            for f in functions
            if f.layers is not None
        ),
        default=sum(x.size_unzipped for x in layers)
        + max((f.size_unzipped for f in functions), default=0)
        + external,
    )
    limits = replace(
        prepared.limits, unzipped_total=total, ok=total <= prepared.limits.unzipped_max
    )
    versions: dict[str, str] = {p.name: p.version for p in prepared.packages}
    return manifest.Manifest(
        generator=f"hatch-lambda-layers {__version__}",
        project_name=prepared.project.name,
        project_version=prepared.project.version,
        target=manifest.Target(
            runtime=target.runtime,
            architecture=target.architecture,
            python_version=".".join(map(str, target.python_version)),
            glibc=".".join(map(str, target.glibc)),
        ),
        layers=tuple(layers),
        functions=tuple(functions),
        provided=tuple(
            manifest.ProvidedEntry(name=x.name, version=x.version, reason=x.reason)
            for x in prepared.closure.left_out
        ),
        external_layers=tuple(prepared.config.external_layers),
        limits=limits,
        license_info=prepared.config.license_info,
        history=next_history(previous.history if previous else (), versions),
    )


def _attached_names(prepared: Prepared, function: str) -> tuple[str, ...]:
    """The published names of the layers `function` attaches, in manifest order."""
    return tuple(prepared.layer_names[x.name] for x in prepared.attached(function))


def planfile_for(
    prepared: Prepared,
    built: manifest.Manifest | None = None,
    previous: manifest.Manifest | None = None,
) -> PlanFile:
    """The lambda-layers.lock record of a plan, with each layer's version and content hash: from
    the built manifest when there is one, else computed from the layer's entries and versioned
    as a build over `previous` would (plan --update)."""
    if built is not None:
        reverse = {v: k for k, v in prepared.layer_names.items()}
        written = built.image.layers if built.image is not None else built.layers
        records = {
            reverse[e.name]: (e.version, e.content_hash) for e in written if e.name in reverse
        }
    else:
        records = {}
        for layer in prepared.plan.layers:
            name = prepared.layer_names[layer.name]
            record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
            content_hash = entries_content_hash(prepared.layer_entries(layer))
            old = previous.layer(name) if previous else None
            records[layer.name] = (layer_version(content_hash, old, record)[0], content_hash)
    return from_plan(
        prepared.plan,
        prepared.rates,
        runtime=prepared.target.runtime,
        architecture=prepared.target.architecture,
        records=records,
    )
