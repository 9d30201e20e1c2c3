"""Run a built function the way AWS Lambda loads it, in a subprocess.

Layers unpack in manifest order into `<tmp>/opt` (a later layer overwrites an earlier one file by
file), the function into `<tmp>/var/task`; the import path is Lambda's: `/var/task`,
`/opt/python/lib/pythonX.Y/site-packages`, `/opt/python`, then the runtime's own directory (here a
directory standing in for `/var/runtime`, holding e.g. boto3), then the standard library. No
site-packages of the interpreter running the tests is visible (`-S -I`).
"""

from __future__ import annotations

import json
import os
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
    for layer in data["layers"]:
        unzip_with_modes(manifest_path.parent / layer["file"], opt)
    fn = next(f for f in data["functions"] if function is None or f["name"] == function)
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
    version = data["target"]["python_version"]
    paths = [
        str(root / "var" / "task"),
        str(root / "opt" / "python" / "lib" / f"python{version}" / "site-packages"),
        str(root / "opt" / "python"),
        *[str(p) for p in runtime_dirs],
    ]
    proc = subprocess.run(
        [python, "-S", "-I", "-c", _RUNNER, json.dumps([paths, fn["handler"], event])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root / "var" / "task",
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"handler failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
