"""The AWS Lambda Python target as data.

A :class:`Target` is fully determined by a Lambda ``runtime`` and ``architecture``: Python
version, glibc ceiling, ordered wheel tags and the PEP 508 marker environment. Nothing is read
off the interpreter that runs the build, so a build on any host yields the same target.

Tags come from ``packaging.tags`` called with explicit arguments; the platform list is spelled
out here because packaging only derives manylinux platforms from the running host's glibc.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .errors import ConfigError

__all__ = [
    "ARCHITECTURES",
    "DESCRIPTION_MAX",
    "DIRECT_UPLOAD_MAX",
    "IMAGE_MAX",
    "LAYERS_MAX",
    "LICENSE_INFO_MAX",
    "RUNTIMES",
    "UNZIPPED_MAX",
    "Target",
    "get_target",
]

# Lambda's limits, written once (CONTRACT section 6).
LAYERS_MAX = 5  # layers attached to one function
UNZIPPED_MAX = 262_144_000  # bytes, function plus all its layers, unzipped
DIRECT_UPLOAD_MAX = 52_428_800  # bytes, a zip sent in the request itself (50 MiB)
LICENSE_INFO_MAX = 512  # characters of a layer version's LicenseInfo
DESCRIPTION_MAX = 256  # characters of a layer version's Description
IMAGE_MAX = 10 * 1024**3  # bytes, a container image's uncompressed size ("10 GB")


@dataclass(frozen=True)
class _RuntimeFacts:
    python_full_version: str
    glibc: tuple[int, int]


# What the public Lambda base images report (python_full_version from the interpreter inside
# each image) and the glibc of their OS: Amazon Linux 2 (2.26) or Amazon Linux 2023 (2.34).
_RUNTIME_FACTS: Mapping[str, _RuntimeFacts] = MappingProxyType(
    {
        "python3.10": _RuntimeFacts("3.10.14", (2, 26)),
        "python3.11": _RuntimeFacts("3.11.9", (2, 26)),
        "python3.12": _RuntimeFacts("3.12.3", (2, 34)),
        "python3.13": _RuntimeFacts("3.13.0", (2, 34)),
        "python3.14": _RuntimeFacts("3.14.0", (2, 34)),
    }
)

# Lambda architecture name -> the machine name used in wheel tags and platform_machine.
_MACHINES: Mapping[str, str] = MappingProxyType({"x86_64": "x86_64", "arm64": "aarch64"})

RUNTIMES: tuple[str, ...] = tuple(_RUNTIME_FACTS)
ARCHITECTURES: tuple[str, ...] = tuple(_MACHINES)

# Oldest manylinux glibc minor per machine (manylinux_2_17 was the first aarch64 manylinux).
_OLDEST_GLIBC_MINOR: Mapping[str, int] = MappingProxyType({"x86_64": 5, "aarch64": 17})

# Legacy manylinux aliases (PEP 600), each placed right after the PEP 600 tag it equals.
_LEGACY_ALIASES: Mapping[tuple[str, int], str] = MappingProxyType(
    {
        ("x86_64", 17): "manylinux2014",
        ("x86_64", 12): "manylinux2010",
        ("x86_64", 5): "manylinux1",
        ("aarch64", 17): "manylinux2014",
    }
)


def _manylinux_platforms(glibc: tuple[int, int], machine: str) -> list[str]:
    """manylinux platform tags for a glibc ceiling, most preferred (newest) first.

    Hand-written because ``packaging.tags.platform_tags()`` probes the running host's glibc;
    the order and alias placement mirror packaging's own ``_manylinux.platform_tags``.
    """
    major, ceiling = glibc
    platforms: list[str] = []
    for minor in range(ceiling, _OLDEST_GLIBC_MINOR[machine] - 1, -1):
        platforms.append(f"manylinux_{major}_{minor}_{machine}")
        alias = _LEGACY_ALIASES.get((machine, minor))
        if alias is not None:
            platforms.append(f"{alias}_{machine}")
    return platforms


def _marker_environment(
    python_version: tuple[int, int], full_version: str, machine: str
) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        # The kernel of a Lambda sandbox is not part of the runtime contract; markers on these
        # keys cannot be decided ahead of time, so they see an empty string.
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full_version,
        "python_version": f"{python_version[0]}.{python_version[1]}",
        "sys_platform": "linux",
    }


@dataclass(frozen=True)
class Target:
    """One Lambda runtime on one architecture: everything wheel selection and markers need."""

    runtime: str
    architecture: str
    python_version: tuple[int, int]
    python_full_version: str
    glibc: tuple[int, int]
    machine: str
    tags: tuple[Tag, ...]
    marker_environment: Mapping[str, str] = field(compare=False, hash=False)
    _ranks: Mapping[Tag, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        ranks: dict[Tag, int] = {}
        for index, tag in enumerate(self.tags):
            ranks.setdefault(tag, index)
        object.__setattr__(self, "_ranks", MappingProxyType(ranks))
        if not isinstance(self.marker_environment, MappingProxyType):
            object.__setattr__(
                self, "marker_environment", MappingProxyType(dict(self.marker_environment))
            )

    @property
    def abi(self) -> str:
        return f"cp{self.python_version[0]}{self.python_version[1]}"

    def tag_rank(self, tag: Tag) -> int | None:
        """Position of ``tag`` in :attr:`tags` (0 is best), or None if the target cannot load it."""
        return self._ranks.get(tag)

    def wheel_rank(self, filename: str) -> int | None:
        """Best rank over a wheel filename's tags; None if incompatible or not a wheel filename."""
        try:
            _, _, _, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        ranks = [rank for rank in map(self._ranks.get, wheel_tags) if rank is not None]
        return min(ranks, default=None)

    def describe_platform(self) -> str:
        return f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{self.machine}"

    def describe(self) -> str:
        glibc = f"{self.glibc[0]}.{self.glibc[1]}"
        return f"{self.runtime} {self.architecture} ({self.abi}, manylinux glibc <= {glibc})"


def _valid_choices(values: tuple[str, ...]) -> str:
    return ", ".join(values)


@cache
def get_target(runtime: str, architecture: str = "x86_64") -> Target:
    """The Lambda target for ``runtime`` (``python3.10`` … ``python3.14``) and ``architecture``.

    Raises :class:`ConfigError` naming every invalid value and the valid choices.
    """
    problems: list[str] = []
    if runtime not in _RUNTIME_FACTS:
        problems.append(
            f"tool.lambda-layers.runtime must be one of {_valid_choices(RUNTIMES)}, got {runtime!r}"
        )
    if architecture not in _MACHINES:
        problems.append(
            "tool.lambda-layers.architecture must be one of "
            f"{_valid_choices(ARCHITECTURES)}, got {architecture!r}"
        )
    if problems:
        raise ConfigError(problems)

    facts = _RUNTIME_FACTS[runtime]
    machine = _MACHINES[architecture]
    major, minor = (int(part) for part in runtime.removeprefix("python").split("."))
    python_version = (major, minor)
    abi = f"cp{major}{minor}"
    platforms = _manylinux_platforms(facts.glibc, machine)
    tags = (
        *cpython_tags(python_version=python_version, abis=[abi], platforms=platforms),
        *compatible_tags(python_version=python_version, interpreter=abi, platforms=platforms),
    )
    return Target(
        runtime=runtime,
        architecture=architecture,
        python_version=python_version,
        python_full_version=facts.python_full_version,
        glibc=facts.glibc,
        machine=machine,
        tags=tags,
        marker_environment=_marker_environment(python_version, facts.python_full_version, machine),
    )
