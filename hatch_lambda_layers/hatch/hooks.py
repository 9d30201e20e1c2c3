"""Registers the `lambda` builder and the `lambda` build hook with hatchling. Nothing else."""

from __future__ import annotations

from hatchling.plugin import hookimpl

from .build_hook import LambdaBuildHook
from .builder import LambdaBuilder


@hookimpl
def hatch_register_builder() -> type[LambdaBuilder]:
    return LambdaBuilder


@hookimpl
def hatch_register_build_hook() -> type[LambdaBuildHook]:
    return LambdaBuildHook
