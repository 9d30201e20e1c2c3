"""Wheels built from source distributions, for dependencies that publish only an sdist.

The sdist is fetched into the cache like a wheel (its sha256 checked against the lock's or the
index's), unpacked with every member name checked, and built with the standard PEP 517 front
end, `build`'s `ProjectBuilder`, in an isolated environment (`build.env.DefaultIsolatedEnv`):
a fresh virtual environment where the build requirements are installed by uv when it is
available, else by pip, from the index settings the build uses (the lock's registries, the
tool table, or the user's pip/uv configuration, which the installers read themselves).

Only pure-Python results are accepted: a wheel tagged for one interpreter or platform, or a
build that needs a C compiler (``CC``/``CXX`` point at a command that does not exist, so a
compiling build stops at once), is a `SdistBuildError` naming the package. The backend's
output is captured, never printed; a failure quotes its last line. A build that takes longer
than ``$HATCH_LAMBDA_LAYERS_SDIST_TIMEOUT`` seconds (default 600) is stopped.

The built wheel is cached under the sdist's sha256 (``<cache>/built/sha256/<aa>/<sdist
sha256>/<wheel>``, with the cache's stat sidecar), so the next build does not rebuild; it is
then verified and read like any downloaded wheel.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from ..digests import file_sha256
from ..errors import ConfigError, SdistBuildError
from .cache import ContentCache, default_cache_dir
from .graph import WheelLink
from .http import Session
from .indexconfig import IndexSettings

TIMEOUT_ENV = "HATCH_LAMBDA_LAYERS_SDIST_TIMEOUT"


DEFAULT_TIMEOUT = 600.0


NO_COMPILER = "hatch-lambda-layers-no-compiler"  # what CC and CXX name during a build


@dataclass(frozen=True)
class SdistBuild:
    """Where sdists are built from and into: the cache, the HTTP session, the index settings
    the installers use (None: their own configuration), and who hears warnings."""

    cache_dir: Path | None = None
    http: Session | None = None
    settings: IndexSettings | None = None
    warn: Callable[[str], None] | None = None


def is_sdist(filename: str) -> bool:
    try:
        parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return False
    return True


def built_wheel(link: WheelLink, options: SdistBuild, *, allow_unhashed: bool = False) -> Path:
    """The pure-Python wheel built from the sdist at `link` (cached by the sdist's sha256)."""
    from .fetch import fetch_wheels

    warn = options.warn
    sdist = fetch_wheels(
        [link],
        cache_dir=options.cache_dir,
        http=options.http,
        allow_unhashed=allow_unhashed,
        warn=warn,
        kind="sdists",
    )[link.filename]
    cache = ContentCache(options.cache_dir or default_cache_dir(), warn=warn)
    key = link.sha256.lower() if link.sha256 else file_sha256(sdist)
    hit = cache.find("built", key, ".whl")
    if hit is not None:
        return hit
    return _build(sdist, key, cache, options.settings)


def _sdist_facts(sdist: Path) -> tuple[str, str]:
    try:
        name, version = parse_sdist_filename(sdist.name)
    except InvalidSdistFilename as exc:
        raise SdistBuildError(f"{sdist.name} is not an sdist file name: {exc}") from None
    return name, str(version)


def _build(sdist: Path, key: str, cache: ContentCache, settings: IndexSettings | None) -> Path:
    name, version = _sdist_facts(sdist)
    what = f"{name} {version} (from its sdist {sdist.name})"
    work = Path(tempfile.mkdtemp(prefix="sdist-", dir=cache.make_dir(cache.root / "tmp")))
    try:
        source = _unpack(sdist, work / "src", what)
        wheel = _run_backend(source, work / "out", what, settings)
        _check_pure(wheel.name, name, version, what)
        return cache.store(wheel, "built", key, wheel.name, sha256=file_sha256(wheel))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- unpacking


def _safe_name(name: str, what: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or "\x00" in name or ":" in parts[0]:
        raise SdistBuildError(f"{what} holds an unsafe path {name!r}; refusing to unpack it")
    return name


def _unpack(sdist: Path, dest: Path, what: str) -> Path:
    """Unpack `sdist` into `dest` (names checked, no links or devices); its source tree."""
    dest.mkdir(parents=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for info in zf.infolist():
                    _safe_name(info.filename, what)
                zf.extractall(dest)
        else:
            with tarfile.open(sdist) as tar:
                for member in tar.getmembers():
                    _safe_name(member.name, what)
                    if not (member.isfile() or member.isdir()):
                        raise SdistBuildError(
                            f"{what} holds {member.name!r}, which is not a plain file; refusing it"
                        )
                if hasattr(tarfile, "data_filter"):  # Python's own filter, where it exists
                    tar.extractall(dest, filter="data")
                else:  # pragma: no cover - Python < 3.10.12 / 3.11.4: the checks above
                    tar.extractall(dest)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SdistBuildError(f"{what} cannot be unpacked: {exc}") from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    source = tops[0] if len(tops) == 1 and not (dest / "pyproject.toml").exists() else dest
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise SdistBuildError(f"{what} has no pyproject.toml or setup.py to build from")
    return source


# --------------------------------------------------------------------------- building


def _timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds above 0, got {raw!r}")
    return value


def _installer() -> Literal["pip", "uv"]:
    """uv when it can be found (as `build` looks for it), else pip."""
    if importlib.util.find_spec("uv") is not None or shutil.which(os.environ.get("UV") or "uv"):
        return "uv"
    return "pip"


def _installer_environ(settings: IndexSettings | None) -> dict[str, str | None]:
    """Environment for pip and uv to install from `settings` (None values are unset)."""
    if settings is None:
        return {}
    env: dict[str, str | None] = {}
    if settings.index_urls:
        first, *rest = settings.index_urls
        env |= {"PIP_INDEX_URL": first, "UV_INDEX_URL": first, "UV_DEFAULT_INDEX": None}
        env |= {"PIP_EXTRA_INDEX_URL": " ".join(rest), "UV_EXTRA_INDEX_URL": " ".join(rest)}
        env["UV_INDEX"] = None
    if settings.find_links:
        env |= {"PIP_FIND_LINKS": " ".join(settings.find_links)}
        env |= {"UV_FIND_LINKS": ",".join(settings.find_links)}
    return env


@contextlib.contextmanager
def _environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """`os.environ` with `changes` applied, restored after. `build`'s installers read the
    process environment; sdist builds run one at a time on the calling thread."""
    saved = {key: os.environ.get(key) for key in changes}
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _runner(timeout: float) -> Callable[..., None]:
    """A `pyproject_hooks` runner: the hook in a subprocess, output captured, no compiler."""

    def run(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = {**os.environ, **(extra_environ or {}), "CC": NO_COMPILER, "CXX": NO_COMPILER}
        result = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode:
            raise subprocess.CalledProcessError(
                result.returncode, cmd, result.stdout, result.stderr
            )

    return run


def _run_backend(source: Path, out: Path, what: str, settings: IndexSettings | None) -> Path:
    """Build `source` into a wheel in `out` in an isolated environment; the wheel's path."""
    try:
        from build import BuildBackendException, BuildException, ProjectBuilder
        from build.env import DefaultIsolatedEnv
    except ImportError:
        raise SdistBuildError(
            f"building {what} needs the `build` package, a dependency of hatch-lambda-layers "
            "that is missing here: install it (pip install build)"
        ) from None

    try:
        # Backends' own warnings (relayed by pyproject_hooks) concern the dependency's
        # packaging, which the user cannot act on: they are not printed.
        with warnings.catch_warnings(), DefaultIsolatedEnv(installer=_installer()) as env:
            warnings.simplefilter("ignore")
            builder = ProjectBuilder.from_isolated_env(env, source, runner=_runner(_timeout()))
            with _environ(_installer_environ(settings)):
                env.install(builder.build_system_requires)
                env.install(builder.get_requires_for_build("wheel"))
            return Path(builder.build("wheel", out))
    except subprocess.TimeoutExpired:
        raise SdistBuildError(
            f"building {what} took more than {_timeout():g} s; set {TIMEOUT_ENV} to wait longer"
        ) from None
    except (BuildBackendException, BuildException, subprocess.CalledProcessError, OSError) as exc:
        raise SdistBuildError(f"building {what} failed: {_reason(exc)}") from None
    except RuntimeError as exc:  # e.g. no virtual environment could be created
        raise SdistBuildError(f"building {what} failed: {exc}") from None


def _reason(exc: BaseException) -> str:
    """The last meaningful line a failed build printed, and a hint when it wanted a compiler."""
    cause = getattr(exc, "exception", None) or exc.__cause__ or exc
    output = "\n".join(
        str(getattr(cause, stream, "") or "") for stream in ("stdout", "stderr", "output")
    )
    if NO_COMPILER in output:
        return (
            "it needs a C compiler, and only pure-Python sdists are built for Lambda; lock a "
            "release that ships a wheel for the target"
        )
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else " ".join(str(exc).split()) or type(exc).__name__


def _check_pure(filename: str, name: str, version: str, what: str) -> None:
    """The built wheel must be this distribution, for any platform and any Python 3."""
    try:
        wheel_name, wheel_version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise SdistBuildError(f"building {what} gave {filename!r}: {exc}") from None
    if wheel_name != canonicalize_name(name) or str(wheel_version) != version:
        raise SdistBuildError(f"building {what} gave a wheel of another release: {filename}")
    pure = all(t.abi == "none" and t.platform == "any" for t in tags) and any(
        t.interpreter.startswith("py3") for t in tags
    )
    if not pure:
        shown = ".".join(sorted(str(t) for t in tags))
        raise SdistBuildError(
            f"building {what} gave {filename}, a wheel for one interpreter or platform "
            f"({shown}); only pure-Python sdists are built for Lambda: lock a release of "
            f"{name} that ships a wheel for the target"
        )
