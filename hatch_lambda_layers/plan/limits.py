"""Lambda's limits checked against a plan before anything is written, and against the written
zips after. Pure; the limits themselves are written once, in `targets`.

Every limit a project breaks is reported at once, each with its figures and the ways out that
apply to this project, ordered so that following the first way out of the first breach can
succeed (the unzipped total first: uploading through S3 does not lift it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from ..errors import LimitError
from ..layers.entries import PackageFiles
from ..manifest import LayerEntry, Limits
from ..targets import DIRECT_UPLOAD_MAX, IMAGE_MAX, LAYERS_MAX, UNZIPPED_MAX

# What every Python runtime ships (CONTRACT section 6): worth leaving out when bundled.
RUNTIME_SHIPS = ("boto3", "botocore", "s3transfer", "jmespath")
_LARGEST_SHOWN = 5


def _mb(n: float) -> str:
    return f"{n / 1_000_000:,.1f} MB"


@dataclass(frozen=True)
class Breach:
    """One limit broken: what and by how much, and the ways out in the order to try them."""

    rank: int  # the order in which to address breaches (the unzipped total first)
    what: str
    ways: tuple[str, ...]

    def describe(self) -> str:
        ways = "; ".join(f"({n}) {way}" for n, way in enumerate(self.ways, 1))
        return f"{self.what}; ways out: {ways}" if ways else self.what


@dataclass(frozen=True, kw_only=True)
class Sizes:
    """What counts against the limits, in bytes."""

    packages: Sequence[PackageFiles]
    function_unzipped: int  # the largest function (each is deployed with all the layers)
    external_unzipped: int = 0  # the external layers whose size is known
    layers_built: int = 0
    external_layers: int = 0
    botocore_services: bool = False  # botocore-services already trims botocore's data
    compile_everything: bool = False  # compile = true: bytecode for every module

    @property
    def total(self) -> int:
        bundled = sum(p.size_unzipped for p in self.packages)
        return bundled + self.function_unzipped + self.external_unzipped


def _largest(packages: Sequence[PackageFiles]) -> str:
    top = sorted(packages, key=lambda p: (-p.size_unzipped, p.name))[:_LARGEST_SHOWN]
    return ", ".join(f"{p.name} {p.version} {_mb(p.size_unzipped)}" for p in top)


def _total_ways(sizes: Sizes) -> tuple[str, ...]:
    by_name: dict[str, PackageFiles] = {p.name: p for p in sizes.packages}
    ways: list[str] = []
    if sizes.compile_everything:
        ways.append(
            'set compile = "auto": bytecode for what the handlers import first, within the limit'
        )
    shipped = [by_name[n] for n in RUNTIME_SHIPS if n in by_name]
    if shipped:
        saved = sum(p.size_unzipped for p in shipped)
        names = ", ".join(p.name for p in shipped)
        ways.append(
            f"add {names} to tool.lambda-layers.provided: the runtime ships "
            f"{'it' if len(shipped) == 1 else 'them'} ({_mb(saved)})"
        )
    if "botocore" in by_name and not sizes.botocore_services:
        ways.append(
            "keep only the AWS services you call with tool.lambda-layers.botocore-services "
            "(most of botocore is service data)"
        )
    ways.append(
        f"leave out what an external layer or the runtime supplies with provided, or trim with "
        f"exclude (largest: {_largest(sizes.packages)})"
    )
    if sizes.total <= IMAGE_MAX:
        ways.append(
            f'build a container image instead: fits as mode = "image" ({_mb(sizes.total)} of '
            f"{IMAGE_MAX / 1024**3:g} GB)"
        )
    beside = sizes.function_unzipped + sizes.external_unzipped
    if beside <= UNZIPPED_MAX:
        bundled = sum(p.size_unzipped for p in sizes.packages)
        ways.append(
            f'mount the dependencies from EFS instead: fits as mode = "efs" (function '
            f"{_mb(beside)} of {_mb(UNZIPPED_MAX)}, {_mb(bundled)} of dependencies on the "
            f"file system)"
        )
    return tuple(ways)


def assess(sizes: Sizes) -> list[Breach]:
    """The limits `sizes` break, before any partition: the unzipped total and the layer count."""
    breaches: list[Breach] = []
    total = sizes.total
    if total > UNZIPPED_MAX:
        external = (
            f" with {_mb(sizes.external_unzipped)} of external layers"
            if sizes.external_unzipped
            else ""
        )
        breaches.append(
            Breach(
                0,
                f"function plus layers unzip to {total:,} bytes ({_mb(total)}){external}, over "
                f"Lambda's {UNZIPPED_MAX:,}-byte limit by {total - UNZIPPED_MAX:,}",
                _total_ways(sizes),
            )
        )
    used = sizes.layers_built + sizes.external_layers
    if used > LAYERS_MAX:
        breaches.append(
            Breach(
                1,
                f"{used} layers ({sizes.layers_built} built + {sizes.external_layers} external) "
                f"exceed Lambda's {LAYERS_MAX}",
                (
                    "lower tool.lambda-layers.max-layers to "
                    f"{max(1, LAYERS_MAX - sizes.external_layers)}",
                    "attach fewer external layers",
                ),
            )
        )
    return breaches


def assess_mode(
    sizes: Sizes, mode: str, functions: Mapping[str, Sizes] | None = None
) -> list[Breach]:
    """The limits of `mode`: Lambda's zip limits for layers and fat (per function when
    `functions` attach different layers), the image's size for an image, and for EFS the
    function zip with its external layers (the dependencies live on the file system)."""
    if mode == "image":
        return _assess_image(sizes)
    if mode == "efs":
        return assess(replace(sizes, packages=(), layers_built=0))
    if not functions:
        return assess(sizes)
    return [
        replace(breach, what=f"function {name}: {breach.what}")
        for name, own in sorted(functions.items())
        for breach in assess(own)
    ]


def _assess_image(sizes: Sizes) -> list[Breach]:
    total = sizes.total
    if total <= IMAGE_MAX:
        return []
    return [
        Breach(
            0,
            f"the image's function and dependencies take {total:,} bytes ({_mb(total)}), over "
            f"the {IMAGE_MAX:,}-byte limit of a Lambda container image by {total - IMAGE_MAX:,}",
            (
                f"leave out what the function does not need with provided or exclude (largest: "
                f"{_largest(sizes.packages)})",
                'mount the dependencies from EFS instead with mode = "efs"',
            ),
        )
    ]


def limits_for_mode(
    sizes: Sizes,
    mode: str,
    functions: Mapping[str, Sizes] | None = None,
    *,
    direct_upload: bool,
) -> Limits:
    """The limits a planned build of `mode` stands at: for functions attaching different
    layers, the largest figures of any of them."""
    if mode == "image":
        return Limits(
            layers_used=0,
            layers_max=0,
            unzipped_total=sizes.total,
            unzipped_max=IMAGE_MAX,
            zipped_layer_max=None,
            ok=True,
        )
    if mode == "efs":
        sizes = replace(sizes, packages=(), layers_built=0)
    limits = limits_of(sizes, direct_upload=direct_upload)
    if not functions:
        return limits
    each = [limits_of(own, direct_upload=direct_upload) for own in functions.values()]
    return replace(
        limits,
        layers_used=max(x.layers_used for x in each),
        unzipped_total=max(x.unzipped_total for x in each),
    )


def upload_breach(message: str) -> Breach:
    """The partitioner's own refusal (a package or group over the direct-upload limit, or no
    packing into max-layers layers), ranked after the total."""
    return Breach(2, message, ())


def raise_breaches(breaches: Collection[Breach]) -> None:
    """One `LimitError` naming every breach, in the order to address them."""
    if not breaches:
        return
    ordered = sorted(breaches, key=lambda b: b.rank)
    if len(ordered) == 1:
        raise LimitError(ordered[0].describe())
    raise LimitError(
        f"{len(ordered)} Lambda limits broken, fix them in this order: "
        + " ".join(f"[{n}] {b.describe()}." for n, b in enumerate(ordered, 1))
    )


def limits_of(sizes: Sizes, *, direct_upload: bool) -> Limits:
    """The limits a planned build stands at (it breaks none)."""
    return Limits(
        layers_used=sizes.layers_built + sizes.external_layers,
        layers_max=LAYERS_MAX,
        unzipped_total=sizes.total,
        unzipped_max=UNZIPPED_MAX,
        zipped_layer_max=DIRECT_UPLOAD_MAX if direct_upload else None,
        ok=True,
    )


def check_written(layers: Sequence[LayerEntry], limits: Limits) -> None:
    """Every written layer zip within the direct-upload limit (when it applies)."""
    cap = limits.zipped_layer_max
    for entry in layers:
        if cap is not None and entry.size_zipped > cap:
            raise LimitError(
                f"layer {entry.name} is {entry.size_zipped:,} bytes zipped, over the "
                f'{cap:,}-byte direct-upload limit; set upload = "s3" in [tool.lambda-layers] '
                f"or lower max-layers pressure with provided/exclude"
            )
