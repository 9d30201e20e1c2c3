"""mode = "efs": the dependencies as one reproducible zip to extract at a mount path of an EFS
file system (``efs-mount-path``, default ``/mnt/python``), and function zips that find them.

The archive holds every bundled package at its root (what a layer holds under ``python/``), so
extracting it at the mount path makes the mount path an import root. Each function zip carries
`BOOTSTRAP_MODULE`: configured as the function's handler, it puts the mount path on the import
path right after the function's own code (where layers would be) and hands over to the
function's handler. Setting ``PYTHONPATH`` to `pythonpath` instead works without it.
"""

from __future__ import annotations

import json
from dataclasses import replace

from .. import manifest
from ..assemble import manifest_of
from ..digests import file_sha256
from ..errors import ConfigError
from ..files import confined
from ..layers.entries import BytesEntry, Entry, entries_content_hash
from ..output import Staging, layer_version
from ..plan.partition import Layer
from ..prepared import Prepared
from ..project import owned_functions, slug
from ..report.units import plural
from ..reporting import Reporter

BOOTSTRAP_MODULE = "lambda_layers_efs"
BOOTSTRAP_HANDLER = f"{BOOTSTRAP_MODULE}.handler"
# Read at import by the bootstrap: where the archive was extracted, when not the mount path.
PATH_ENV = "LAMBDA_LAYERS_EFS_PATH"
RUNTIME_DIR = "/var/runtime"  # Lambda's default PYTHONPATH (the runtime's own modules)

_BOOTSTRAP = '''\
"""Written by hatch-lambda-layers (mode = "efs"): the dependencies are on an EFS file system.

Set the function's handler to {bootstrap}. On import this module puts the directory the
dependencies were extracted to (${env}, else {mount}) on the import path right after the
function's code, then hands every event to {handler}.
"""

import importlib
import os
import sys

MOUNT_PATH = {mount_literal}
HANDLER = {handler_literal}

_path = os.environ.get("{env}") or MOUNT_PATH
_task = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
if _path not in sys.path:
    sys.path.insert(sys.path.index(_task) + 1 if _task in sys.path else 0, _path)
_module, _, _name = HANDLER.rpartition(".")
handler = getattr(importlib.import_module(_module), _name)
'''


def bootstrap_source(mount_path: str, handler: str) -> str:
    """The bootstrap module for a function whose handler is `handler`."""
    return _BOOTSTRAP.format(
        bootstrap=BOOTSTRAP_HANDLER,
        env=PATH_ENV,
        mount=mount_path,
        handler=handler,
        mount_literal=json.dumps(mount_path),
        handler_literal=json.dumps(handler),
    )


def pythonpath(mount_path: str) -> str:
    """The PYTHONPATH that finds the dependencies without the bootstrap (Lambda's default,
    the runtime directory, kept after them)."""
    return f"{mount_path}:{RUNTIME_DIR}"


def write_efs(
    prepared: Prepared,
    staging: Staging,
    previous: manifest.Manifest | None,
    reporter: Reporter,
) -> manifest.Manifest:
    """Stage the archive (or keep the previous one when its content did not change) and the
    function zips; return the manifest recording them."""
    config = prepared.config
    everything = Layer("efs", tuple(sorted(p.name for p in prepared.packages)))
    entries: list[Entry] = [e for p in prepared.packages for e in p.entries]
    info = _archive(prepared, staging, previous, entries)
    info = replace(info, packages=prepared.package_entries(everything))
    state = "unchanged" if not info.changed else "written"
    reporter.info(
        f"EFS archive {info.file}: {state} (v{info.version}), "
        f"{plural(len(prepared.packages), 'package')}, to extract at {config.efs_mount_path}"
    )
    functions = []
    for member, fn in owned_functions(prepared.project, config):
        if fn.handler is None:
            raise ConfigError(
                f"{member.where('tool.lambda-layers.handler')} is required with mode = "
                f'"efs": the function\'s bootstrap hands events to it'
            )
        files: list[Entry] = list(prepared.function_files[fn.name])
        if any(f.path == f"{BOOTSTRAP_MODULE}.py" for f in files):
            raise ConfigError(
                f"{member.where('tool.lambda-layers.functions.' + fn.name)}: the function's "
                f"own {BOOTSTRAP_MODULE}.py would be replaced by the EFS bootstrap; rename it"
            )
        source = bootstrap_source(config.efs_mount_path, fn.handler)
        files.append(BytesEntry(f"{BOOTSTRAP_MODULE}.py", source.encode(), origin="bootstrap"))
        functions.append(staging.function(fn.name, fn.handler, files))
    built = manifest_of(prepared, (), functions, previous)
    return replace(built, efs=info)


def _archive(
    prepared: Prepared,
    staging: Staging,
    previous: manifest.Manifest | None,
    entries: list[Entry],
) -> manifest.EfsInfo:
    """The archive's record: the previous build's file when its content is the same and the
    file intact, else a newly staged zip."""
    mount = prepared.config.efs_mount_path
    content_hash = entries_content_hash(entries)
    old = previous.efs if previous is not None else None
    before = (old.version, old.content_hash) if old is not None else None
    version, changed = layer_version(content_hash, None, before)
    if old is not None and not changed and _intact(staging, old):
        return replace(old, changed=False, mount_path=mount, pythonpath=pythonpath(mount))
    file, result = staging.archive(f"efs-{slug(prepared.project.name)}", entries)
    return manifest.EfsInfo(
        file=file,
        version=version,
        changed=changed,
        sha256=result.sha256,
        content_hash=result.content_hash,
        size_zipped=result.size_zipped,
        size_unzipped=result.size_unzipped,
        mount_path=mount,
        pythonpath=pythonpath(mount),
        handler=BOOTSTRAP_HANDLER,
    )


def _intact(staging: Staging, old: manifest.EfsInfo) -> bool:
    out = staging.output
    try:
        path = confined(out.path, old.file, what=f"the previous manifest {out.manifest_path}")
        return file_sha256(path) == old.sha256
    except OSError:
        return False
