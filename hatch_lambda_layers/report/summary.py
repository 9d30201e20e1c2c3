"""The one line a build ends with: where the artifacts are and how big they are. Pure."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..manifest import MANIFEST_NAME, Manifest
from .units import human_bytes, plural


def shown_path(path: Path, cwd: Path) -> str:
    """`path` relative to `cwd` when inside it, else absolute."""
    try:
        return path.relative_to(cwd).as_posix() or "."
    except ValueError:
        return str(path)


def artifacts_summary(manifest: Manifest, directory: Path, cwd: Path | None = None) -> str:
    """``Lambda artifacts in dist/lambda: 5 layers 9.7 MB, 1 function 1.0 KB (manifest.json)``:
    zipped sizes, as they are uploaded."""
    where = shown_path(directory.absolute(), (cwd or Path(os.getcwd())).absolute())
    parts = []
    if manifest.layers:
        zipped = sum(x.size_zipped for x in manifest.layers)
        parts.append(f"{plural(len(manifest.layers), 'layer')} {human_bytes(zipped)}")
    if manifest.functions:
        zipped = sum(f.size_zipped for f in manifest.functions)
        parts.append(f"{plural(len(manifest.functions), 'function')} {human_bytes(zipped)}")
    if manifest.image is not None:
        image = manifest.image
        parts.append(
            f"image context {image.context}/ ({plural(len(image.layers), 'layer')} "
            f"{human_bytes(image.size_unzipped)})"
        )
    if manifest.efs is not None:
        parts.append(f"EFS archive {human_bytes(manifest.efs.size_zipped)}")
    return f"Lambda artifacts in {where}: {', '.join(parts) or 'none'} ({MANIFEST_NAME})"


def identical_functions_warning(group: Sequence[str]) -> str:
    return (
        f"functions {', '.join(group)} get identical zips: each holds all of the project's "
        f"code; give each its own include patterns in [tool.lambda-layers.functions.<name>] "
        f"if they should differ"
    )


def fresh_planfile_warning(path: Path) -> str:
    return (
        f"no {path.name} beside pyproject.toml: wrote a fresh plan to {path}; copy it "
        f"next to pyproject.toml and commit it so every build keeps these layers"
    )


def artifact_lines(manifest: Manifest) -> list[str]:
    """One line per zip of a build, as it ends."""
    lines = [
        f"  {layer.file}  v{layer.version} {'changed' if layer.changed else 'unchanged'}  "
        f"{human_bytes(layer.size_zipped)} zipped, {plural(len(layer.packages), 'package')}"
        for layer in manifest.layers
    ]
    lines += [
        f"  {fn.file}  function {fn.name}  {human_bytes(fn.size_zipped)} zipped"
        for fn in manifest.functions
    ]
    if manifest.image is not None:
        lines += [
            f"  {manifest.image.context}/{x.dir}/  v{x.version} "
            f"{'changed' if x.changed else 'unchanged'}  {human_bytes(x.size_unzipped)}, "
            f"COPY to {x.destination}"
            for x in manifest.image.layers
        ]
    if manifest.efs is not None:
        efs = manifest.efs
        lines.append(
            f"  {efs.file}  v{efs.version} {'changed' if efs.changed else 'unchanged'}  "
            f"{human_bytes(efs.size_zipped)} zipped, to extract at {efs.mount_path}"
        )
    return lines
