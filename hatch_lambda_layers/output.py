"""The output directory (`dist/lambda/`) as one object, in the style of installer's destinations.

It owns everything that touches that directory: reading the previous build's manifest and the
plan file a build left there, layer versions, staging new zips, reusing intact ones, the atomic
commit (zips moved into place, the manifest written last), removing superseded zips, and
confining every name it is given to the directory.

A build is one `Staging`: zips are written into a hidden staging directory inside the output
directory, and nothing visible changes until `commit`. Leaving the `with` block without a commit
(an error, a limit exceeded) removes the staging directory and leaves the previous build's files
and manifest exactly as they were.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .digests import file_sha256
from .errors import LambdaLayersError
from .files import BuildLock, confined, write_text_atomic
from .layers.entries import Entry, entries_content_hash
from .layers.zipwriter import ZipResult, write_zip
from .manifest import (
    MANIFEST_NAME,
    FunctionEntry,
    LayerEntry,
    Manifest,
    PackageEntry,
    dumps,
    read_manifest,
)
from .plan.planfile import PLANFILE_NAME, PlanFile, dumps_planfile, read_planfile

OUTPUT_SUBDIR = "lambda"
OUTPUT_DIR_ENV = "HATCH_LAMBDA_LAYERS_OUTPUT_DIR"
STAGING_PREFIX = ".staging-"
LOCK_NAME = ".build.lock"


def output_directory(
    build_directory: str | os.PathLike[str], environ: os._Environ[str] | dict[str, str] = os.environ
) -> Path:
    """`<build output directory>/lambda`, unless HATCH_LAMBDA_LAYERS_OUTPUT_DIR names the
    artifacts directory itself (relative paths against the current directory). `pip wheel`
    needs it: pip builds into a temporary directory and keeps only the wheel."""
    override = environ.get(OUTPUT_DIR_ENV, "").strip()
    if override:
        return Path(override).absolute()
    return Path(build_directory) / OUTPUT_SUBDIR


def layer_version(
    content_hash: str, previous: LayerEntry | None, record: tuple[int, str | None] | None
) -> tuple[int, bool]:
    """(version, changed) of a layer: against the previous manifest in the output directory,
    else against the version lambda-layers.lock records (a clean CI checkout), else 1."""
    if previous is not None:
        if previous.content_hash == content_hash:
            return previous.version, False
        return previous.version + 1, True
    if record is not None:
        version, recorded_hash = record
        if recorded_hash == content_hash:
            return version, False
        return version + 1, True
    return 1, True


def _hash12(content_hash: str) -> str:
    return content_hash.split(":", 1)[-1][:12]


class OutputDirectory:
    """One build's view of its output directory.

    Used as a context manager by a build: entering takes the directory's build lock (a second
    build into the same directory waits, saying which process holds it) and removes what a
    killed build left behind (staging directories, temporary files, zips the manifest does not
    list). Reading (`previous`, `left_planfile`) needs no lock."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._notify = notify
        self._previous: Manifest | None = None
        self._read = False
        self._lock: BuildLock | None = None
        self._lock_timeout = lock_timeout

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    def __enter__(self) -> OutputDirectory:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _io_error(self.path, "create the output directory", exc) from None
        self._lock = BuildLock(self.path / LOCK_NAME, self._lock_timeout, self._notify)
        self._lock.acquire()
        try:
            self._read = False  # another build may have committed while this one waited
            self.clean()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def previous(self) -> Manifest | None:
        """The manifest already here (read once), None when there is none. A manifest that is
        there but malformed is an error naming the file and the field."""
        if not self._read:
            self._read = True
            self._previous = None
            if self.manifest_path.exists():
                self._previous = read_manifest(self.manifest_path)
        return self._previous

    def clean(self) -> None:
        """Remove what an interrupted build left: staging directories, temporary files and
        artifacts (``layer-*.zip``, ``function-*.zip``) the current manifest does not list."""
        previous = self.previous
        listed = set(previous.artifacts()) if previous else set()
        for name in listed:  # a hostile manifest stops the build before anything is removed
            confined(self.path, name, what=f"the previous manifest {self.manifest_path}")
        for entry in self.path.iterdir():
            name = entry.name
            if name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            elif (name.startswith(".") and name.endswith(".tmp") and entry.is_file()) or (
                _is_artifact(name) and name not in listed and entry.is_file()
            ):
                entry.unlink(missing_ok=True)

    def left_planfile(self) -> tuple[Path, PlanFile] | None:
        """The lambda-layers.lock an earlier build left here, if any."""
        path = self.path / PLANFILE_NAME
        found = read_planfile(path)
        return None if found is None else (path, found)

    def version(
        self, name: str, content_hash: str, record: tuple[int, str | None] | None
    ) -> tuple[int, bool]:
        """(version, changed) of layer `name` with `content_hash` (see `layer_version`)."""
        previous = self.previous.layer(name) if self.previous else None
        return layer_version(content_hash, previous, record)

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """A staging area for one build; removed on exit, committed or not."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            area = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
        except OSError as exc:
            raise _io_error(self.path, "write to the output directory", exc) from None
        try:
            yield Staging(self, area)
        except OSError as exc:
            raise _io_error(self.path, "write the artifacts", exc) from None
        finally:
            shutil.rmtree(area, ignore_errors=True)


def _is_artifact(name: str) -> bool:
    return name.endswith(".zip") and name.startswith(("layer-", "function-", "efs-"))


def _remove(path: Path) -> None:
    """Remove an artifact: a zip, or a directory (an image's build context)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _io_error(path: Path, doing: str, exc: OSError) -> LambdaLayersError:
    reason = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "free some space",
        errno.EDQUOT: "free some space",
        errno.EACCES: "make it writable or build elsewhere with -o",
        errno.EPERM: "make it writable or build elsewhere with -o",
        errno.EROFS: "build elsewhere with -o",
    }.get(exc.errno or 0, "check the directory")
    return LambdaLayersError(
        f"cannot {doing} in {path}: {reason}; {hint} (earlier artifacts are unchanged)"
    )


@dataclass(frozen=True)
class _Written:
    file: str
    result: ZipResult


class Staging:
    """New zips for one build, invisible until `commit`."""

    def __init__(self, output: OutputDirectory, area: Path) -> None:
        self.output = output
        self.area = area

    def _write(self, stem: str, entries: Sequence[Entry]) -> _Written:
        content_hash = entries_content_hash(entries)
        file = f"{stem}-{_hash12(content_hash)}.zip"
        result = write_zip(confined(self.area, file, what="a layer or function name"), entries)
        if result.content_hash != content_hash:  # pragma: no cover - guards the writer's contract
            raise LambdaLayersError(f"internal error: content hash of {file} changed while writing")
        return _Written(file=file, result=result)

    def archive(self, stem: str, entries: Sequence[Entry]) -> tuple[str, ZipResult]:
        """Stage a zip of `entries` named `<stem>-<content hash prefix>.zip`: its name and
        what the writer reports."""
        written = self._write(stem, entries)
        return written.file, written.result

    def _intact(self, entry: LayerEntry) -> bool:
        try:
            path = confined(
                self.output.path,
                entry.file,
                what=f"the previous manifest {self.output.manifest_path}",
            )
            return file_sha256(path) == entry.sha256
        except OSError:
            return False

    def layer(
        self,
        name: str,
        entries: Sequence[Entry],
        packages: tuple[PackageEntry, ...],
        record: tuple[int, str | None] | None,
    ) -> tuple[LayerEntry, bool]:
        """The manifest entry of layer `name`, and whether its zip was reused: an unchanged
        layer whose zip is still intact keeps its file untouched; otherwise a zip is staged."""
        content_hash = entries_content_hash(entries)
        version, changed = self.output.version(name, content_hash, record)
        old = self.output.previous.layer(name) if self.output.previous else None
        if old is not None and not changed and self._intact(old):
            return replace(old, changed=False, packages=packages), True
        written = self._write(f"layer-{name}", entries)
        result = written.result
        entry = LayerEntry(
            name=name,
            file=written.file,
            version=version,
            sha256=result.sha256,
            code_sha256=result.code_sha256,
            content_hash=result.content_hash,
            size_zipped=result.size_zipped,
            size_unzipped=result.size_unzipped,
            changed=changed,
            packages=packages,
        )
        return entry, False

    def function(self, name: str, handler: str | None, entries: Sequence[Entry]) -> FunctionEntry:
        written = self._write(f"function-{name}", entries)
        result = written.result
        return FunctionEntry(
            name=name,
            file=written.file,
            handler=handler,
            sha256=result.sha256,
            code_sha256=result.code_sha256,
            size_zipped=result.size_zipped,
            size_unzipped=result.size_unzipped,
        )

    def commit(self, manifest: Manifest, planfile: PlanFile | None) -> Path | None:
        """Move the staged zips into place, write the manifest last and atomically, then remove
        the zips the previous manifest listed and this one does not. With `planfile`, also
        leave it here (a fresh plan to commit); returns its path."""
        out = self.output.path
        keep = set(manifest.artifacts())
        previous = self.output.previous
        listed = list(previous.artifacts()) if previous else []
        # Every name is checked before anything moves: a bad one changes nothing.
        stale = [
            confined(out, old, what="the previous manifest") for old in listed if old not in keep
        ]
        staged = [
            (self.area / n, confined(out, n, what="a staged artifact"))
            for n in sorted(os.listdir(self.area))
        ]
        for source, target in staged:
            if source.is_dir() and target.is_dir() and not target.is_symlink():
                # A directory replaces a directory: the old one goes into the staging area,
                # which is removed on leaving.
                os.replace(target, self.area / f".replaced-{target.name}")
            os.replace(source, target)
        write_text_atomic(self.output.manifest_path, dumps(manifest))
        for path in stale:
            _remove(path)
        if planfile is None:
            return None
        path = out / PLANFILE_NAME
        write_text_atomic(path, dumps_planfile(planfile))
        return path
