"""The output directory (`dist/lambda/`) as one object, in the style of installer's destinations.

It owns everything that touches that directory: reading the previous build's manifest and the
plan file a build left there, layer versions, staging new zips, reusing intact ones, the atomic
commit (zips moved into place, the manifest written last), removing superseded zips, and
confining every name it is given to the directory.

A build is one `Staging`: zips are written into a hidden staging directory inside the output
directory, and nothing visible changes until `commit`. Leaving the `with` block without a commit
(an error, a limit exceeded) removes the staging directory and leaves the previous build's files
and manifest exactly as they were.

After the manifest, `commit` writes `.build-state.json`: the build's inputs (`fingerprint.Inputs`)
and the stat facts and sha256 of every file it left (zips, manifest, plan file). `unchanged` reads
it back (untrusted: validated, names confined) and answers a rebuild with nothing changed from
`stat` calls alone; an output whose stat facts differ is re-hashed, and `verify` re-hashes every
one. The state is removed before a commit moves anything, so a build killed half-way leaves none.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .digests import file_sha256
from .errors import LambdaLayersError
from .files import BuildLock, confined, write_text_atomic
from .fingerprint import (
    PLANFILE,
    FileState,
    Inputs,
    file_state,
    inputs_changed,
    restat,
    still_same,
)
from .manifest import (
    MANIFEST_NAME,
    FunctionEntry,
    LayerEntry,
    Manifest,
    PackageEntry,
    dumps,
    read_manifest,
)

if TYPE_CHECKING:
    from .layers.entries import Entry
    from .layers.zipwriter import ZipResult
    from .plan.planfile import PlanFile
    from .project import ProjectInfo

OUTPUT_SUBDIR = "lambda"
OUTPUT_DIR_ENV = "HATCH_LAMBDA_LAYERS_OUTPUT_DIR"
STAGING_PREFIX = ".staging-"
LOCK_NAME = ".build.lock"
STATE_NAME = ".build-state.json"
STATE_FORMAT = 1


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


@dataclass(frozen=True)
class BuildState:
    """What `.build-state.json` records: the inputs of the build that wrote the directory and
    the state of each file it left there."""

    inputs: Inputs
    outputs: Mapping[str, FileState]  # file name in the output directory -> its state
    manifest: str  # `settled_digest` of the manifest the build wrote

    def to_json(self) -> str:
        document = {
            "format": STATE_FORMAT,
            "fingerprint": self.inputs.fingerprint,
            "inputs": self.inputs.to_dict(),
            "outputs": {k: v.to_list() for k, v in sorted(self.outputs.items())},
            "manifest": self.manifest,
        }
        return json.dumps(document, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, directory: Path) -> BuildState:
        """`ValueError` (or `UnsafePathError` for a name leaving `directory`) when `text` is not
        a state this version wrote."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ValueError("not a build state of this version")
        inputs = Inputs.from_dict(data.get("inputs"))
        outputs, manifest = data.get("outputs"), data.get("manifest")
        if not isinstance(outputs, dict) or data.get("fingerprint") != inputs.fingerprint:
            raise ValueError("the state's outputs or fingerprint are missing")
        if not isinstance(manifest, str):
            raise ValueError("the state records no manifest")
        for name in outputs:
            confined(directory, name, what=f"the build state {directory / STATE_NAME}")
        return cls(inputs, {k: FileState.from_list(v) for k, v in outputs.items()}, manifest)


def settled(manifest: Manifest) -> Manifest:
    """`manifest` as a rebuild that finds nothing changed leaves it: every layer unchanged."""
    if not any(layer.changed for layer in manifest.layers):
        return manifest
    return replace(manifest, layers=tuple(replace(x, changed=False) for x in manifest.layers))


def settled_digest(manifest: Manifest) -> str:
    """sha256 hex of the `settled` manifest's data: the same before and after `settle`."""
    text = json.dumps(settled(manifest).to_dict(), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class OutputDirectory:
    """One build's view of its output directory.

    Used as a context manager by a build: entering takes the directory's build lock (a second
    build into the same directory waits, saying which process holds it) and removes what a
    killed build left behind (staging directories, temporary files, zips the manifest does not
    list). Reading (`previous`, `left_planfile`) needs no lock. With `verify`, no file is
    trusted for its stat facts: every output is re-hashed before it is kept."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float | None = None,
        notify: Callable[[str], None] | None = None,
        verify: bool = False,
    ) -> None:
        self.path = Path(path)
        self.verify = verify
        self._notify = notify
        self._previous: Manifest | None = None
        self._read = False
        self._state: BuildState | None = None
        self._state_read = False
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
            # another build may have committed while this one waited
            self._read = self._state_read = False
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

    @property
    def state(self) -> BuildState | None:
        """The last build's `.build-state.json` (read once); None when it is missing or is not
        a state this version wrote (it is only ever a shortcut)."""
        if not self._state_read:
            self._state_read = True
            try:
                text = (self.path / STATE_NAME).read_text(encoding="utf-8")
                self._state = BuildState.from_json(text, self.path)
            except (OSError, ValueError, LambdaLayersError):
                self._state = None
        return self._state

    def unchanged(
        self, root: Path, *, project: ProjectInfo | None = None
    ) -> tuple[Manifest | None, str]:
        """(the previous manifest, "") when the inputs of the project at `root` are those the
        last build recorded and every file it left is intact; else (None, why not)."""
        state = self.state
        if state is None:
            return None, "no record of an earlier build"
        reason = inputs_changed(state.inputs, root, project=project, rehash=self.verify)
        if reason is not None:
            return None, reason
        for name, recorded in state.outputs.items():
            if not still_same(recorded, self.path / name, rehash=self.verify):
                return None, f"{name} is not the file the last build wrote"
        previous = self.previous
        if previous is None or settled_digest(previous) != state.manifest:
            return None, "the manifest is not the one the last build wrote"
        listed = {x.file: x.sha256 for x in previous.layers + previous.functions}
        if any(
            state.outputs.get(n, None) is None or state.outputs[n].sha256 != sha
            for n, sha in listed.items()
        ):
            return None, "the manifest lists files the last build did not record"
        self._restat(state, root, project)
        return previous, ""

    def _restat(self, state: BuildState, root: Path, project: ProjectInfo | None) -> None:
        """Record the current stat facts of inputs and outputs whose bytes were found the same
        by hashing (touched, restored from a cache), and, when hatch confirmed the file
        selection (`project`), the directories it is watched by: the next check needs neither
        a hash nor hatch."""
        try:
            inputs = {k: restat(v, root / k) for k, v in state.inputs.files.items()}
            outputs = {k: restat(v, self.path / k) for k, v in state.outputs.items()}
            dirs = state.inputs.dirs
            if project is not None and state.inputs.hatchless:
                from .inputs import watched_dirs

                sources = [source for _, source in state.inputs.selection]
                dirs = watched_dirs(root, sources, skip=self.path) or {}
        except OSError:
            return
        if (inputs, outputs, dirs) == (state.inputs.files, state.outputs, state.inputs.dirs):
            return
        fresh_inputs = replace(state.inputs, files=inputs, dirs=dirs, hatchless=bool(dirs))
        fresh = BuildState(fresh_inputs, outputs, state.manifest)
        with contextlib.suppress(OSError):
            write_text_atomic(self.path / STATE_NAME, fresh.to_json())
        self._state = fresh

    def intact(self, name: str, sha256: str) -> bool:
        """Whether the output `name` holds bytes with `sha256`: from the recorded state's stat
        facts when they still hold (and not `verify`), else by hashing it."""
        try:
            path = confined(self.path, name, what=f"the previous manifest {self.manifest_path}")
        except LambdaLayersError:
            return False
        recorded = self.state.outputs.get(name) if self.state is not None else None
        if recorded is not None and recorded.sha256 == sha256 and not self.verify:
            try:
                if recorded.same_stat(os.stat(path)):
                    return True
            except OSError:
                return False
        return _hash_matches(path, sha256)

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
                import shutil

                shutil.rmtree(entry, ignore_errors=True)
            elif (name.startswith(".") and name.endswith(".tmp") and entry.is_file()) or (
                _is_artifact(name) and name not in listed and entry.is_file()
            ):
                entry.unlink(missing_ok=True)

    def left_planfile(self) -> tuple[Path, PlanFile] | None:
        """The lambda-layers.lock an earlier build left here, if any."""
        from .plan.planfile import read_planfile

        path = self.path / PLANFILE
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
        import shutil
        import tempfile

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

    def record(self, inputs: Inputs, manifest: Manifest) -> None:
        """Write `.build-state.json` for the files the build just committed. Losing it only
        costs the next build its shortcut."""
        known = {x.file: x.sha256 for x in manifest.layers + manifest.functions}
        outputs: dict[str, FileState] = {}
        for name in (*known, PLANFILE):
            path = self.path / name
            if name in known:
                st = path.stat()
                executable = bool(st.st_mode & 0o111)
                outputs[name] = FileState(
                    st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, executable, known[name]
                )
            elif path.is_file():
                outputs[name] = file_state(path)
        with contextlib.suppress(OSError):
            state = BuildState(inputs, outputs, settled_digest(manifest))
            write_text_atomic(self.path / STATE_NAME, state.to_json())

    def settle(self, kept: Manifest) -> Manifest:
        """The manifest of a rebuild that found nothing changed (`settled`): rewritten only
        when the build that wrote it marked a layer changed; otherwise nothing is written."""
        result = settled(kept)
        if result is not kept:
            write_text_atomic(self.manifest_path, dumps(result))
            self._previous = result
        return result

    def forget(self) -> None:
        """Remove `.build-state.json` (before a commit changes what it describes)."""
        (self.path / STATE_NAME).unlink(missing_ok=True)
        self._state, self._state_read = None, True


def _hash_matches(path: Path, sha256: str) -> bool:
    try:
        return file_sha256(path) == sha256
    except OSError:
        return False


def _is_artifact(name: str) -> bool:
    return name.endswith(".zip") and name.startswith(("layer-", "function-", "efs-"))


def _remove(path: Path) -> None:
    """Remove an artifact: a zip, or a directory (an image's build context)."""
    if path.is_dir() and not path.is_symlink():
        import shutil

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

    def _write(
        self, stem: str, entries: Sequence[Entry], content_hash: str | None = None
    ) -> _Written:
        from .layers.entries import entries_content_hash
        from .layers.zipwriter import write_zip

        content_hash = content_hash or entries_content_hash(entries)
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

    def layer(
        self,
        name: str,
        entries: Sequence[Entry],
        packages: tuple[PackageEntry, ...],
        record: tuple[int, str | None] | None,
    ) -> tuple[LayerEntry, bool]:
        """The manifest entry of layer `name`, and whether its zip was reused: an unchanged
        layer whose zip is still intact keeps its file untouched; otherwise a zip is staged."""
        from .layers.entries import entries_content_hash

        content_hash = entries_content_hash(entries)
        version, changed = self.output.version(name, content_hash, record)
        old = self.output.previous.layer(name) if self.output.previous else None
        if old is not None and not changed and self.output.intact(old.file, old.sha256):
            return replace(old, changed=False, packages=packages), True
        written = self._write(f"layer-{name}", entries, content_hash)
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

    def commit(
        self, manifest: Manifest, planfile: PlanFile | None, inputs: Inputs | None = None
    ) -> Path | None:
        """Move the staged zips into place, write the manifest last and atomically, then remove
        the zips the previous manifest listed and this one does not. With `planfile`, also
        leave it here (a fresh plan to commit); returns its path. With `inputs`, record them
        and the committed files' state (`.build-state.json`) last."""
        from .plan.planfile import dumps_planfile

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
        self.output.forget()
        for source, target in staged:
            if source.is_dir() and target.is_dir() and not target.is_symlink():
                # A directory replaces a directory: the old one goes into the staging area,
                # which is removed on leaving.
                os.replace(target, self.area / f".replaced-{target.name}")
            os.replace(source, target)
        write_text_atomic(self.output.manifest_path, dumps(manifest))
        for path in stale:
            _remove(path)
        left = None
        if planfile is not None:
            left = out / PLANFILE
            write_text_atomic(left, dumps_planfile(planfile))
        if inputs is not None:
            self.output.record(inputs, manifest)
        return left
