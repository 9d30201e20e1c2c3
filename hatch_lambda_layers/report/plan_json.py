"""`lambda-layers plan --format json`: the plan model as JSON, versioned by `SCHEMA_VERSION`
(documented in docs/plan-json.md, JSON Schema in docs/plan.schema.json). Pure.

Additive fields keep the version; a field that changes meaning or goes away bumps it."""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..layers.budget import BytecodeReport
from .headroom import LimitUse
from .plan_model import LayerRow, PackageRow, PlanReport

SCHEMA_VERSION = 1


def _package(p: PackageRow) -> dict[str, Any]:
    return {
        "name": p.name,
        "version": p.version,
        "size_zipped": p.size_zipped,
        "size_unzipped": p.size_unzipped,
        "change_rate": p.change_rate,
        "change_source": p.change_source,
    }


def _layer(layer: LayerRow) -> dict[str, Any]:
    return {
        "name": layer.name,
        "size_zipped": layer.size_zipped,
        "size_unzipped": layer.size_unzipped,
        "change_probability": layer.change_probability,
        "expected_bytes_per_build": layer.expected_bytes,
        "packages": [_package(p) for p in layer.packages],
    }


def _limit(limit: LimitUse, report: PlanReport) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if limit.key == "layers":
        external = len(report.external_layers)
        extra = {"built": limit.used - external, "external": external}
    elif limit.key == "zipped_layer":
        extra = {"layer": limit.detail or None}
    return {
        "label": limit.label,
        "unit": limit.unit,
        "used": limit.used,
        "max": limit.maximum,
        "headroom": limit.headroom,
        "ok": limit.ok,
        **extra,
    }


def _dependencies(report: PlanReport) -> dict[str, Any]:
    return {
        "source": report.dependency_source,
        "bundled": [
            {
                "name": p.name,
                "version": p.version,
                "layer": p.layer,
                "needed_by": list(p.needed_by),
            }
            for p in report.bundled
        ],
        "left_out": [
            {"name": x.name, "version": x.version, "reason": x.reason} for x in report.left_out
        ],
        "shared_with_left_out": [
            {
                "name": s.name,
                "version": s.version,
                "needed_by": list(s.needed_by),
                "also_needed_by": [
                    {"name": n.name, "provided": n.provided} for n in s.also_needed_by
                ],
            }
            for s in report.shared
        ],
    }


def plan_to_dict(report: PlanReport) -> dict[str, Any]:
    """The JSON document (see docs/plan-json.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"hatch-lambda-layers {__version__}",
        "project": {"name": report.project_name, "version": report.project_version},
        "target": report.target.to_dict(),
        "mode": report.mode,
        "dependencies": _dependencies(report),
        "plan": {
            "origin": {"kind": report.origin.kind, "path": report.origin.path},
            "expected_bytes_per_build": report.expected_bytes,
            "single_layer_bytes_per_build": report.single_layer_bytes,
            "exact": report.exact,
            "lower_bound": report.lower_bound,
        },
        "layers": [_layer(layer) for layer in report.layers],
        "functions": [
            {"name": f.name, "files": f.files, "size_unzipped": f.size_unzipped}
            | ({} if f.layers is None else {"layers": list(f.layers)})
            for f in report.functions
        ],
        "external_layers": [
            {"arn": x.arn, "size_unzipped": x.unzipped, "source": x.source, "note": x.note}
            for x in report.external_layers
        ],
        "limits": {limit.key: _limit(limit, report) for limit in report.limits},
        "pruned": {
            "bytes": report.pruned.bytes,
            "rules": [
                {"rule": s.rule, "files": s.files, "bytes": s.bytes} for s in report.pruned.savings
            ],
        },
        "bytecode": _bytecode(report.bytecode),
    }


def _bytecode(report: BytecodeReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "mode": report.mode,
        "python": report.python,
        "modules": report.candidates,
        "with_bytecode": report.chosen,
        "bytecode_bytes": report.chosen_bytes,
        "budget": report.budget,
        "closure": report.closure_note,
        "functions": [
            {
                "name": fn.function,
                "handler": fn.handler,
                "closure_modules": fn.modules,
                "closure_bytes": fn.source_bytes,
                "with_bytecode": fn.compiled,
                "bytecode_bytes": fn.pyc_bytes,
            }
            for fn in report.functions
        ],
    }


def dumps_plan(report: PlanReport) -> str:
    """The JSON document as text, indented."""
    return json.dumps(plan_to_dict(report), indent=2)
