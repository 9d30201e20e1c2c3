"""Run a built function the way AWS Lambda loads it, in a subprocess.

Layers unpack in manifest order into `<tmp>/opt` (a later layer overwrites an earlier one file by
file), the function into `<tmp>/var/task`; the import path is Lambda's: `/var/task`,
`/opt/python/lib/pythonX.Y/site-packages`, `/opt/python`, then the runtime's own directory (here a
directory standing in for `/var/runtime`, holding e.g. boto3), then the standard library. No
site-packages of the interpreter running the tests is visible (`-S -I`).

Container images are materialised by copying the context as the Dockerfile's COPY lines say
(`run_image`); an EFS build is extracted at a temporary mount path (`run_efs`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_RUNNER = r"""
import importlib, json, sys
paths, handler, event = json.loads(sys.argv[1])
stdlib = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
sys.path[:] = paths + stdlib
module_name, _, attr = handler.rpartition(".")
module = importlib.import_module(module_name)
result = getattr(module, attr)(event, None)
origins = {}
for name in sorted(sys.modules):
    mod = sys.modules[name]
    f = getattr(mod, "__file__", None)
    if f and "." not in name:
        origins[name] = f
print(json.dumps({"result": result, "origins": origins}))
"""


def unzip_with_modes(zip_path: Path, dest: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            out = dest / info.filename
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(out, mode)


def install_like_lambda(manifest_path: Path, root: Path, function: str | None = None) -> Path:
    data = json.loads(manifest_path.read_text())
    opt = root / "opt"
    task = root / "var" / "task"
    opt.mkdir(parents=True, exist_ok=True)
    task.mkdir(parents=True, exist_ok=True)
    fn = next(f for f in data["functions"] if function is None or f["name"] == function)
    attached = fn.get("layers")  # only the layers the function attaches, when recorded
    for layer in data["layers"]:
        if attached is None or layer["name"] in attached:
            unzip_with_modes(manifest_path.parent / layer["file"], opt)
    unzip_with_modes(manifest_path.parent / fn["file"], task)
    return root


def run_handler(
    manifest_path: Path,
    root: Path,
    event: dict[str, Any],
    *,
    runtime_dirs: Sequence[Path] = (),
    python: str = sys.executable,
    function: str | None = None,
) -> dict[str, Any]:
    """Install into `root` like Lambda and call the function's handler; returns result+origins."""
    data = json.loads(manifest_path.read_text())
    fn = next(f for f in data["functions"] if function is None or f["name"] == function)
    install_like_lambda(manifest_path, root, function)
    return run_in_root(
        root,
        fn["handler"],
        event,
        python_version=data["target"]["python_version"],
        runtime_dirs=runtime_dirs,
        python=python,
    )


def lambda_path(root: Path, python_version: str, runtime_dirs: Sequence[Path] = ()) -> list[str]:
    """Lambda's import path with `root` standing for the file system's root."""
    return [
        str(root / "var" / "task"),
        str(root / "opt" / "python" / "lib" / f"python{python_version}" / "site-packages"),
        str(root / "opt" / "python"),
        *[str(p) for p in runtime_dirs],
    ]


def run_in_root(
    root: Path,
    handler: str,
    event: dict[str, Any],
    *,
    python_version: str,
    runtime_dirs: Sequence[Path] = (),
    python: str = sys.executable,
    extra_paths: Sequence[Path] = (),
    env: dict[str, str] | None = None,
    timeout: int = 120,
) -> dict[str, Any]:
    """Call `handler` with Lambda's import path under `root` (plus `extra_paths` after
    /var/task, as PYTHONPATH would put them); returns result+origins."""
    paths = lambda_path(root, python_version, runtime_dirs)
    paths[1:1] = [str(p) for p in extra_paths]
    proc = subprocess.run(
        [python, "-S", "-I", "-c", _RUNNER, json.dumps([paths, handler, event])],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root / "var" / "task",
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"handler failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- container images


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
    """(ARG defaults, COPY (source, destination) pairs in order, CMD) of a generated
    Dockerfile; any other instruction but FROM is an error."""
    args: dict[str, str] = {}
    copies: list[tuple[str, str]] = []
    command: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "COPY":
            source, destination = rest.split()
            copies.append((source, destination))
        elif instruction == "CMD":
            command = json.loads(rest)
        elif instruction != "FROM":
            raise AssertionError(f"unexpected instruction: {line}")
    return args, copies, command


def materialise_image(context: Path, root: Path) -> list[str]:
    """Copy the context into `root` exactly as the Dockerfile's COPY instructions would (each
    source directory's content merged into its destination, modes kept); returns the CMD."""
    _, copies, command = parse_dockerfile((context / "Dockerfile").read_text())
    for source, destination in copies:
        assert destination.startswith("/"), destination
        shutil.copytree(
            context / source, root / destination.lstrip("/"), dirs_exist_ok=True, symlinks=True
        )
    (root / "var" / "task").mkdir(parents=True, exist_ok=True)
    return command


def run_image(
    context: Path,
    root: Path,
    event: dict[str, Any],
    *,
    python_version: str,
    runtime_dirs: Sequence[Path] = (),
    python: str = sys.executable,
    handler: str | None = None,
    timeout: int = 120,
) -> dict[str, Any]:
    """Materialise the image's file system and call its command (or `handler`)."""
    command = materialise_image(context, root)
    return run_in_root(
        root,
        handler or command[0],
        event,
        python_version=python_version,
        runtime_dirs=runtime_dirs,
        python=python,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- EFS


def run_efs(
    manifest_path: Path,
    root: Path,
    event: dict[str, Any],
    *,
    runtime_dirs: Sequence[Path] = (),
    python: str = sys.executable,
    function: str | None = None,
    pythonpath: bool = False,
    timeout: int = 120,
) -> dict[str, Any]:
    """Extract the EFS archive at a temporary mount path under `root`, the function zip at
    var/task, and call the function: through its bootstrap handler (told the mount path by
    its environment variable), or with `pythonpath` its own handler with the mount path on the
    import path as PYTHONPATH would put it."""
    data = json.loads(manifest_path.read_text())
    efs = data["efs"]
    mount = root / efs["mount_path"].lstrip("/")
    unzip_with_modes(manifest_path.parent / efs["file"], mount)
    fn = next(f for f in data["functions"] if function is None or f["name"] == function)
    (root / "var" / "task").mkdir(parents=True, exist_ok=True)
    unzip_with_modes(manifest_path.parent / fn["file"], root / "var" / "task")
    return run_in_root(
        root,
        fn["handler"] if pythonpath else efs["handler"],
        event,
        python_version=data["target"]["python_version"],
        runtime_dirs=runtime_dirs,
        python=python,
        extra_paths=[mount] if pythonpath else (),
        env={"LAMBDA_LAYERS_EFS_PATH": str(mount), "LAMBDA_TASK_ROOT": str(root / "var" / "task")},
        timeout=timeout,
    )
