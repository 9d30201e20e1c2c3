"""Artifacts beyond layer zips: a container image build context (`image`) and an archive for an
EFS mount (`efs`), written from the same plan. Each mode's writer stages its artifacts and
returns the manifest recording them; `writer_for` picks it."""

from __future__ import annotations

from collections.abc import Callable

from .. import manifest
from ..output import Staging
from ..prepared import Prepared
from ..reporting import Reporter

# The modes whose build plans layers (and leaves a fresh lambda-layers.lock to commit).
PLANNED = ("layers", "image")

Writer = Callable[[Prepared, Staging, "manifest.Manifest | None", Reporter], manifest.Manifest]


def writer_for(mode: str) -> Writer | None:
    """The writer of `mode`, or None for the layer and fat zips the pipeline writes itself."""
    if mode == "image":
        from .image import write_image

        return write_image
    if mode == "efs":
        from .efs import write_efs

        return write_efs
    return None
