"""Where each member of a wheel goes in a Lambda layer, or why it is left out (pure, no I/O).

Lambda imports from ``/opt/python`` for layers, so every importable member of a wheel (its
purelib/platlib root and ``<dist>.data/purelib|platlib/``) lands under the ``python/`` prefix
(``""`` in fat mode, where the function zip's root is the import root). The other ``.data``
schemes (scripts, headers, data) have no importable place on Lambda and are dropped.

Exclude patterns (``tool.lambda-layers.exclude``) are matched against the path relative to the
import root, case-sensitively, with these gitignore-like semantics:

- ``*`` matches any run of characters within one path component, ``?`` one character,
  ``[abc]`` / ``[!abc]`` one character in / not in the set (``fnmatch`` rules per component);
- ``**`` as a whole component matches zero or more components (``a/**/b``, ``**/tests``);
  a trailing ``/**`` matches everything under the directory (``a/**`` is the same as ``a/``);
- a pattern with no ``/`` except a trailing one matches a name at any depth (``*.pyi``,
  ``tests/``); a leading ``/`` anchors it to the import root (``/six.py``); a pattern with a
  ``/`` inside is anchored (``numpy/tests``);
- a pattern matches a file when it matches the file's path or the path of any directory above
  it, so ``numpy/tests`` drops the whole directory; a trailing ``/`` matches only directories
  (``tests/`` drops every ``tests`` directory, not a file named ``tests``).

Safety is checked on every member, dropped ones included: a wheel that carries an absolute
path, a drive letter, a ``..`` component (with ``/`` or ``\\``), a symbolic link or a special
file is refused as a whole (`UnsafeWheelError`).
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from ..errors import ConfigError, LambdaLayersError, UnsafeWheelError

PYTHON_PREFIX = "python/"

# Kept under `python/`; the other schemes of a wheel's `.data` directory are dropped.
IMPORTABLE_SCHEMES = frozenset({"purelib", "platlib"})
DROPPED_SCHEMES = frozenset({"scripts", "headers", "data"})

# dist-info files that differ between installs or only describe the wheel archive itself
# (RECORD's signatures go with RECORD).
NON_REPRODUCIBLE_DIST_INFO = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED", "direct_url.json"}
)

# Top-level packages whose `data/<service>/` directories hold the AWS service models.
BOTOCORE_DATA_ROOTS = ("botocore", "boto3")
_SERVICES_SHOWN = 10  # known services listed in an unknown-service error

MODE_FILE = 0o644
MODE_EXECUTABLE = 0o755

# Why a member is left out (`Placement.dropped`).
DROPPED_DIRECTORY = "directory"
DROPPED_DEFAULT_EXCLUDES = "default-excludes"
DROPPED_BOTOCORE_SERVICES = "botocore-services"

_DATA_DIR = re.compile(r"[^/]+-[^/]+\.data")
_DIST_INFO_DIR = re.compile(r"[^/]+-[^/]+\.dist-info")
_DRIVE = re.compile(r"[A-Za-z]:")
_SHARED_OBJECT = re.compile(r"\.so(\.|$)")


# --------------------------------------------------------------------------------------------
# Exclude patterns


@dataclass(frozen=True)
class ExcludePattern:
    """One parsed `exclude` pattern (see the module docstring for its semantics)."""

    pattern: str
    parts: tuple[str, ...]
    dir_only: bool

    @classmethod
    def parse(cls, pattern: str) -> ExcludePattern:
        """Parse `pattern`; raises ValueError saying what is wrong with it."""
        body = pattern.strip()
        if not body:
            raise ValueError("an empty pattern matches nothing")
        dir_only = body.endswith("/")
        body = body.rstrip("/")
        anchored = body.startswith("/") or "/" in body
        body = body.lstrip("/")
        if not body:
            raise ValueError('"/" alone would exclude everything')
        if "\\" in body:
            raise ValueError("use '/' to separate path components, not '\\'")
        parts = body.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError("empty, '.' and '..' components never match a layer path")
        if len(parts) > 1 and parts[-1] == "**":
            parts, dir_only = parts[:-1], True
        if not anchored and parts != ["**"]:
            parts = ["**", *parts]
        return cls(pattern=pattern, parts=tuple(parts), dir_only=dir_only)

    def matches(self, relpath: str) -> bool:
        """Whether `relpath` (a file path relative to the import root) is excluded."""
        components = tuple(relpath.split("/"))
        stop = len(components) if self.dir_only else len(components) + 1
        return any(_match_parts(self.parts, components[:n]) for n in range(1, stop))


def _match_parts(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    # Component-wise fnmatch, so `*`, `?` and `[...]` never cross a `/` (fnmatch alone would
    # let `*` match across directories); `**` consumes zero or more whole components.
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_parts(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _match_parts(rest, path[1:])


def exclude_pattern_problems(
    patterns: Iterable[str], key: str = "tool.lambda-layers.exclude"
) -> list[str]:
    """One message per invalid pattern, naming the full key (for the config module to collect)."""
    problems = []
    for index, pattern in enumerate(patterns):
        try:
            ExcludePattern.parse(pattern)
        except ValueError as exc:
            problems.append(f'{key}[{index}] "{pattern}" is not a usable pattern: {exc}')
    return problems


# --------------------------------------------------------------------------------------------
# Options and placements


@dataclass(frozen=True)
class LayoutOptions:
    """How wheel members map onto a layer (or onto the fat zip's root when `prefix` is "")."""

    prefix: str = PYTHON_PREFIX
    default_excludes: bool = True
    exclude: tuple[str, ...] = ()
    botocore_services: frozenset[str] | None = None
    compile: bool = False
    _patterns: tuple[ExcludePattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.prefix and (not self.prefix.endswith("/") or unsafe_path_reason(self.prefix)):
            raise ValueError(f'layout prefix must be "" or a relative "dir/", got "{self.prefix}"')
        object.__setattr__(self, "exclude", tuple(self.exclude))
        if self.botocore_services is not None:
            object.__setattr__(self, "botocore_services", frozenset(self.botocore_services))
        problems = exclude_pattern_problems(self.exclude)
        if problems:
            raise ConfigError(problems)
        patterns = tuple(ExcludePattern.parse(p) for p in self.exclude)
        object.__setattr__(self, "_patterns", patterns)

    @property
    def patterns(self) -> tuple[ExcludePattern, ...]:
        return self._patterns


@dataclass(frozen=True)
class Placement:
    """Where one wheel member goes: `target` is its path in the zip, or None when dropped."""

    member: str
    target: str | None
    mode: int = MODE_FILE
    dropped: str = ""  # why it is left out, e.g. "default-excludes", 'exclude "tests/"'

    @property
    def kept(self) -> bool:
        return self.target is not None


# --------------------------------------------------------------------------------------------
# Safety


def unsafe_path_reason(name: str) -> str | None:
    """Why `name` must never become a path in an extracted tree, or None when it is safe.

    Backslashes count as separators here: they are harmless on Lambda's Linux but become
    traversal on Windows tooling, and a wheel has no business using them for traversal.
    """
    slashed = name.replace("\\", "/")
    parts = slashed.rstrip("/").split("/")
    checks = (
        (not name, "empty name"),
        ("\x00" in name, "NUL character in the name"),
        (slashed.startswith("/"), "absolute path"),
        (_DRIVE.match(slashed) is not None, "drive letter"),
        (".." in parts, "'..' component"),
        (any(p in ("", ".") for p in parts), "empty or '.' component"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _file_type(external_attr: int) -> int:
    return stat.S_IFMT(external_attr >> 16)


def check_member(wheel: str, member: str, external_attr: int) -> None:
    """Raise UnsafeWheelError when `member` of `wheel` must not be extracted."""
    reason = unsafe_path_reason(member)
    kind = _file_type(external_attr)
    if reason is None and kind == stat.S_IFLNK:
        reason = "symbolic link"
    elif reason is None and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        reason = f"special file of type 0o{kind:o}"
    if reason is not None:
        raise UnsafeWheelError(
            f'wheel {wheel} holds an unsafe member "{member}" ({reason}); refusing to use it, '
            "get the wheel from a trusted source or report it to its maintainers"
        )


# --------------------------------------------------------------------------------------------
# Placement rules


def import_path(wheel: str, member: str) -> str | None:
    """The member's path relative to the import root, or None for a dropped `.data` scheme."""
    top, _, rest = member.partition("/")
    if not _DATA_DIR.fullmatch(top):
        return member
    scheme, _, inner = rest.partition("/")
    if scheme in IMPORTABLE_SCHEMES and inner:
        return inner
    if scheme in DROPPED_SCHEMES:
        return None
    raise LambdaLayersError(
        f'wheel {wheel} has member "{member}" outside the known .data schemes '
        "(purelib, platlib, scripts, headers, data); the wheel is malformed, rebuild it"
    )


def member_mode(member: str, external_attr: int) -> int:
    """0o755 for members with an exec bit or shared objects (`.so`, `.so.N`), else 0o644."""
    basename = member.rsplit("/", 1)[-1]
    if (external_attr >> 16) & 0o111 or _SHARED_OBJECT.search(basename):
        return MODE_EXECUTABLE
    return MODE_FILE


def _default_excluded(relpath: str, options: LayoutOptions) -> bool:
    parts = relpath.split("/")
    if "__pycache__" in parts[:-1]:
        return True
    if relpath.endswith(".pyc") and not options.compile:
        return True
    return (
        len(parts) == 2  # noqa: PLR2004  (a file directly inside <name>.dist-info/)
        and _DIST_INFO_DIR.fullmatch(parts[0]) is not None
        and parts[1] in NON_REPRODUCIBLE_DIST_INFO
    )


def botocore_service(relpath: str) -> str | None:
    """The service whose model `relpath` belongs to (`botocore/data/<service>/…`), if any."""
    parts = relpath.split("/")
    match parts:
        case [root, "data", service, _, *_] if root in BOTOCORE_DATA_ROOTS:
            return service
    return None


def place_member(wheel: str, member: str, external_attr: int, options: LayoutOptions) -> Placement:
    """Where `member` of `wheel` goes (checks its safety first)."""
    check_member(wheel, member, external_attr)
    if member.endswith("/") or _file_type(external_attr) == stat.S_IFDIR:
        return Placement(member, None, dropped=DROPPED_DIRECTORY)
    relpath = import_path(wheel, member)
    if relpath is None:
        scheme = member.split("/")[1]
        return Placement(member, None, dropped=f".data/{scheme}")
    if options.default_excludes and _default_excluded(relpath, options):
        return Placement(member, None, dropped=DROPPED_DEFAULT_EXCLUDES)
    if options.botocore_services is not None:
        service = botocore_service(relpath)
        if service is not None and service not in options.botocore_services:
            return Placement(member, None, dropped=DROPPED_BOTOCORE_SERVICES)
    for pattern in options.patterns:
        if pattern.matches(relpath):
            return Placement(member, None, dropped=f'exclude "{pattern.pattern}"')
    return Placement(member, options.prefix + relpath, member_mode(member, external_attr))


def layout_wheel(
    wheel: str, members: Iterable[tuple[str, int]], options: LayoutOptions
) -> tuple[Placement, ...]:
    """Place every `(member name, external_attr)` of `wheel`, in the given order.

    Every member is checked before any is placed; a name that occurs twice in the archive or
    two members that would land on the same path make the wheel ambiguous and are refused.
    """
    listed = list(members)
    seen: set[str] = set()
    for name, attr in listed:
        check_member(wheel, name, attr)
        if name in seen:
            raise UnsafeWheelError(
                f'wheel {wheel} holds member "{name}" twice; tools disagree on which copy wins, '
                "so it is refused: rebuild the wheel"
            )
        seen.add(name)
    placements = tuple(place_member(wheel, name, attr, options) for name, attr in listed)
    by_target: dict[str, str] = {}
    for placement in placements:
        if placement.target is None:
            continue
        other = by_target.setdefault(placement.target, placement.member)
        if other != placement.member:
            raise UnsafeWheelError(
                f'wheel {wheel} places both "{other}" and "{placement.member}" at '
                f'"{placement.target}"; the wheel is ambiguous, rebuild it'
            )
    return placements


# --------------------------------------------------------------------------------------------
# botocore / boto3 service models


def known_botocore_services(member_names: Iterable[str]) -> set[str]:
    """Services with a model directory among `member_names` (wheel members or import paths)."""
    services: set[str] = set()
    for member in member_names:
        name = member
        top, _, rest = member.partition("/")
        if _DATA_DIR.fullmatch(top):
            scheme, _, name = rest.partition("/")
            if scheme not in IMPORTABLE_SCHEMES:
                continue
        service = botocore_service(name)
        if service is not None:
            services.add(service)
    return services


def botocore_services_problems(
    requested: Iterable[str],
    known: Iterable[str],
    key: str = "tool.lambda-layers.botocore-services",
) -> list[str]:
    """One message per requested service that the bundled botocore/boto3 do not know."""
    known_sorted = sorted(set(known))
    problems = []
    for service in sorted(set(requested)):
        if service in known_sorted:
            continue
        # Close matches first (did you mean), then the others in order, ten at most.
        close = difflib.get_close_matches(service, known_sorted, n=5, cutoff=0.5)
        shown = (close + [k for k in known_sorted if k not in close])[:_SERVICES_SHOWN]
        rest = len(known_sorted) - _SERVICES_SHOWN
        more = f" and {rest} more" if rest > 0 else ""
        listed = ", ".join(shown) if shown else "none (is botocore bundled?)"
        problems.append(
            f'{key} names unknown service "{service}"; known services include: {listed}{more}'
        )
    return problems


def check_botocore_services(requested: Iterable[str], known: Iterable[str]) -> None:
    """Raise ConfigError listing every unknown service name at once."""
    problems = botocore_services_problems(requested, known)
    if problems:
        raise ConfigError(problems)
