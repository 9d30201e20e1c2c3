"""mode = "image": the plan written as a container build context, ``<output>/image/``.

``layers/<layer name>/`` holds each planned layer's files exactly as its zip would (under
``python/``), ``function/`` the code of every function, and ``Dockerfile`` copies the layers to
``/opt`` in stability order (the least likely to change first) and the code last to
``/var/task`` (`dockerfile`). Every file and directory has a fixed mode and date (`tree`), so
two builds of the same inputs give the same context and the same image layers. The manifest
records each COPY layer with its content hash, version and packages (`manifest.ImageInfo`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .. import manifest
from ..assemble import manifest_of
from ..errors import LimitError
from ..layers.entries import Entry
from ..layers.zipformat import resolve_epoch
from ..output import Staging, layer_version
from ..plan.partition import Layer
from ..prepared import Prepared
from ..project import owned_functions
from ..report.units import plural
from ..reporting import Reporter
from ..targets import IMAGE_MAX
from . import dockerfile
from .tree import write_tree

CONTEXT = "image"
DOCKERFILE = "Dockerfile"
FUNCTION_LAYER = "function"


def stability_order(prepared: Prepared) -> list[Layer]:
    """The planned layers, the least likely to change in a build first (ties by name)."""

    def changes(layer: Layer) -> float:
        survive = 1.0
        for name in sorted(layer.packages):
            survive *= 1.0 - prepared.rates[name].rate
        return 1.0 - survive

    return sorted(prepared.plan.layers, key=lambda x: (changes(x), prepared.layer_names[x.name]))


def function_code(prepared: Prepared) -> list[Entry]:
    """Every function's files once (with their bytecode when compiled): functions built from
    one project share them."""
    seen: dict[tuple[str, str], Entry] = {}
    for files in prepared.function_files.values():
        for f in files:
            seen.setdefault((f.path, f.source), f)
    return [seen[k] for k in sorted(seen)]


def write_image(
    prepared: Prepared,
    staging: Staging,
    previous: manifest.Manifest | None,
    reporter: Reporter,
) -> manifest.Manifest:
    """Stage the build context and return the manifest recording it."""
    context = staging.area / CONTEXT
    old = {x.name: x for x in previous.image.layers} if previous and previous.image else {}
    layers: list[manifest.ImageLayer] = []
    for layer in stability_order(prepared):
        name = prepared.layer_names[layer.name]
        record = prepared.planfile.layer_record(layer.name) if prepared.planfile else None
        written = _copied_layer(
            context, name, prepared.layer_entries(layer), old.get(name) or record, "/opt/"
        )
        layers.append(replace(written, packages=prepared.package_entries(layer)))
        reporter.info(f"Image layer {name}: {plural(len(layer.packages), 'package')}")
    code = _copied_layer(
        context, FUNCTION_LAYER, function_code(prepared), old.get(FUNCTION_LAYER), "/var/task/"
    )
    info = _write_dockerfile(prepared, context, [*layers, code])
    check_image_size(info)
    built = manifest_of(prepared, (), (), previous)
    limits = replace(built.limits, unzipped_total=info.size_unzipped, ok=True)
    return replace(built, image=info, limits=limits)


def _copied_layer(
    context: Path,
    name: str,
    entries: Sequence[Entry],
    before: manifest.ImageLayer | tuple[int, str | None] | None,
    destination: str,
) -> manifest.ImageLayer:
    """Write one COPY source directory and describe it, versioned against the last build's
    image layer of that name, else the version lambda-layers.lock records."""
    directory = f"layers/{name}" if name != FUNCTION_LAYER else FUNCTION_LAYER
    tree = write_tree(context / directory, entries)
    if isinstance(before, manifest.ImageLayer):
        before = (before.version, before.content_hash)
    version, changed = layer_version(tree.content_hash, None, before)
    return manifest.ImageLayer(
        name=name,
        dir=directory,
        destination=destination,
        version=version,
        changed=changed,
        content_hash=tree.content_hash,
        size_unzipped=tree.size_unzipped,
        files=tree.files,
    )


def _write_dockerfile(
    prepared: Prepared, context: Path, layers: Sequence[manifest.ImageLayer]
) -> manifest.ImageInfo:
    target = prepared.target
    base = dockerfile.base_image(target.python_version, target.architecture)
    handlers = [
        manifest.ImageFunction(name=fn.name, handler=fn.handler)
        for _, fn in owned_functions(prepared.project, prepared.config)
    ]
    command = tuple(h.handler for h in handlers[:1] if h.handler is not None)
    text = dockerfile.render(
        project=prepared.project.name,
        runtime=target.runtime,
        architecture=target.architecture,
        base=base,
        copies=[dockerfile.Copy(f"{x.dir}/", x.destination) for x in layers],
        command=command,
    )
    data = text.encode("utf-8")
    path = context / DOCKERFILE
    path.write_bytes(data)
    stamp = resolve_epoch()
    os.chmod(path, 0o644)
    for directory in (path, context / "layers", context):
        if directory.exists():
            os.utime(directory, (stamp, stamp))
    return manifest.ImageInfo(
        context=CONTEXT,
        base=base,
        platform=dockerfile.platform(target.architecture),
        dockerfile_sha256=hashlib.sha256(data).hexdigest(),
        command=command,
        size_unzipped=sum(x.size_unzipped for x in layers),
        layers=tuple(layers),
        functions=tuple(handlers),
    )


def check_image_size(info: manifest.ImageInfo) -> None:
    """The written context within a container image's limit."""
    if info.size_unzipped > IMAGE_MAX:
        raise LimitError(
            f"the image's layers take {info.size_unzipped:,} bytes, over the {IMAGE_MAX:,}-byte "
            f"limit of a Lambda container image; leave packages out with provided or exclude"
        )


__all__ = ["CONTEXT", "stability_order", "write_image"]
