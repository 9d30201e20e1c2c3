"""Finding an interpreter of the target's Python version on this machine (for bytecode): an
explicit ``HATCH_LAMBDA_LAYERS_PYTHON_<X>_<Y>``, ``pythonX.Y`` on PATH, pyenv's versions, or uv's
managed Pythons, each checked by running it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import ConfigError
from ..targets import Target
from .external import PROBE_TIMEOUT, Runner, child_env, search_path

PYTHON_ENV_PREFIX = "HATCH_LAMBDA_LAYERS_PYTHON_"  # + "<X>_<Y>"


# Prints what decides whether an interpreter can write the target's bytecode. Runs with -S -s
# and imports only the builtin `sys`, so nothing from the working directory is loaded.
_PROBE = "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.version_info[3])"


def _reports_version(
    python: str, version: tuple[int, int], runner: Runner, environ: Mapping[str, str]
) -> bool:
    """Whether `python` runs and is a final (not alpha/beta/rc) CPython of `version`.

    Pre-releases are refused: the magic number may still change up to the final release.
    """
    try:
        result = runner(
            [python, "-S", "-s", "-c", _PROBE],
            capture_output=True,
            check=False,
            env=child_env(environ),
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if result.returncode != 0:
        return False
    out = result.stdout.decode() if isinstance(result.stdout, bytes) else str(result.stdout)
    return out.split() == ["cpython", str(version[0]), str(version[1]), "final"]


def _pyenv_root(environ: Mapping[str, str], runner: Runner) -> Path | None:
    root = environ.get("PYENV_ROOT", "").strip()
    if root:
        return Path(root)
    pyenv = shutil.which("pyenv", path=search_path(environ))
    if pyenv is not None:
        try:
            result = runner(
                [pyenv, "root"],
                capture_output=True,
                check=False,
                env=dict(environ),
                timeout=PROBE_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        if result is not None and result.returncode == 0:
            out = result.stdout.decode() if isinstance(result.stdout, bytes) else result.stdout
            if out.strip():
                return Path(out.strip())
    home = environ.get("HOME", "").strip()
    return Path(home) / ".pyenv" if home else None


def _pyenv_pythons(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    """`<pyenv root>/versions/X.Y.N/bin/pythonX.Y`, highest N first (final releases only)."""
    root = _pyenv_root(environ, runner)
    if root is None:
        return
    pattern = re.compile(rf"{version[0]}\.{version[1]}\.(\d+)")
    try:
        names = os.listdir(root / "versions")
    except OSError:
        return
    patches = sorted(
        ((int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name))),
        reverse=True,
    )
    for _, name in patches:
        binary = root / "versions" / name / "bin" / f"python{version[0]}.{version[1]}"
        if binary.is_file():
            yield str(binary)


def _uv_python(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    """The uv-managed interpreter `uv python find` picks, never downloading one."""
    uv = shutil.which("uv", path=search_path(environ))
    if uv is None:
        return
    env = dict(environ)
    env.update(UV_PYTHON_DOWNLOADS="never", UV_OFFLINE="1")
    try:
        result = runner(
            [
                uv,
                "python",
                "find",
                "--managed-python",
                "--no-project",
                "--no-config",
                f"cpython@{version[0]}.{version[1]}",
            ],
            capture_output=True,
            check=False,
            env=env,
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return
    out = result.stdout.decode() if isinstance(result.stdout, bytes) else str(result.stdout)
    if result.returncode == 0 and out.strip():
        yield out.strip().splitlines()[-1]


def _python_candidates(
    version: tuple[int, int], environ: Mapping[str, str], runner: Runner
) -> Iterator[str]:
    if sys.implementation.name == "cpython" and sys.version_info[:2] == version:
        yield sys.executable
    on_path = shutil.which(f"python{version[0]}.{version[1]}", path=search_path(environ))
    shim = on_path is not None and _is_pyenv_shim(Path(on_path))
    if on_path is not None and not shim:
        yield on_path
    yield from _pyenv_pythons(version, environ, runner)
    if on_path is not None and shim:
        yield on_path
    yield from _uv_python(version, environ, runner)


def _is_pyenv_shim(path: Path) -> bool:
    """A pyenv shim (``<root>/shims/pythonX.Y``) only dispatches to ``<root>/versions``, which
    are tried directly; it is tried after them (running it costs a pyenv start, and it fails
    when the version is not the active one)."""
    return path.parent.name == "shims" and (path.parent.parent / "versions").is_dir()


def find_target_python(
    target: Target, environ: Mapping[str, str] = os.environ, *, runner: Runner = subprocess.run
) -> str | None:
    """A CPython interpreter of exactly the target's X.Y (final release), or None.

    In order: `$HATCH_LAMBDA_LAYERS_PYTHON_<X>_<Y>` (a path or a name on PATH; an unusable
    value is a ConfigError rather than silently ignored), the running interpreter when it is
    X.Y, `pythonX.Y` on PATH (after pyenv's versions when it is a pyenv shim), pyenv's
    `versions/X.Y.*` (highest patch first), and the uv-managed interpreter `uv python find`
    reports (local only, downloads disabled). Every
    candidate is run once to check that it reports that version.
    """
    version = target.python_version
    variable = f"{PYTHON_ENV_PREFIX}{version[0]}_{version[1]}"
    override = environ.get(variable, "").strip()
    if override:
        found = shutil.which(override, path=search_path(environ))
        if found is None or not _reports_version(found, version, runner, environ):
            raise ConfigError(
                f'{variable}="{override}" is not a CPython {version[0]}.{version[1]} '
                "interpreter; point it at one (a path, or a name on PATH)"
            )
        return found
    seen: set[str] = set()
    for candidate in _python_candidates(version, environ, runner):
        if candidate in seen:
            continue
        seen.add(candidate)
        if _reports_version(candidate, version, runner, environ):
            return candidate
    return None


def no_python_error(target: Target) -> ConfigError:
    x, y = target.python_version
    return ConfigError(
        f"tool.lambda-layers.compile = true needs a Python {x}.{y} interpreter to compile for "
        f"{target.runtime}; none found (install it with pyenv or uv, "
        f"or set {PYTHON_ENV_PREFIX}{x}_{y})"
    )


# Prints the magic number that starts every .pyc the interpreter writes (hex).
_MAGIC_PROBE = "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"
_MAGIC_HEX_LENGTH = 8


def interpreter_magic(
    python: str, environ: Mapping[str, str] = os.environ, *, runner: Runner = subprocess.run
) -> str:
    """The bytecode magic number of `python` (hex), which keys its cached bytecode."""
    try:
        result = runner(
            [python, "-S", "-s", "-c", _MAGIC_PROBE],
            capture_output=True,
            check=False,
            env=child_env(environ),
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"cannot run {python} to read its bytecode magic number: {exc}") from exc
    out = result.stdout.decode() if isinstance(result.stdout, bytes) else str(result.stdout)
    magic = out.strip()
    if result.returncode != 0 or len(magic) != _MAGIC_HEX_LENGTH:
        raise ConfigError(f"{python} did not report its bytecode magic number; is it CPython?")
    return magic
