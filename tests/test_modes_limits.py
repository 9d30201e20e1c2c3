"""The limits of each mode, pure: an image counts against 10 GB, EFS only the function zip and
external layers; a layers build over Lambda's limit names the modes that fit, with figures;
functions attaching different layers are checked one by one."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from hatch_lambda_layers.layers.entries import PackageFiles
from hatch_lambda_layers.plan.limits import Sizes, assess_mode, limits_for_mode
from hatch_lambda_layers.targets import IMAGE_MAX, UNZIPPED_MAX

MB = 1_000_000


def _package(name: str, unzipped: int) -> PackageFiles:
    return PackageFiles(
        name=canonicalize_name(name),
        version="1.0",
        wheel_path=Path(f"{name}-1.0-py3-none-any.whl"),
        entries=(),
        size_unzipped=unzipped,
        size_zipped=unzipped // 3,
    )


DATA_STACK = (
    _package("pyarrow", 171 * MB),
    _package("pandas", 70 * MB),
    _package("numpy", 40 * MB),
)


def _sizes(function: int = 2 * MB, external: int = 0) -> Sizes:
    return Sizes(
        packages=DATA_STACK, function_unzipped=function, external_unzipped=external, layers_built=3
    )


def test_a_layers_build_over_the_limit_names_image_and_efs_with_figures() -> None:
    (breach,) = assess_mode(_sizes(), "layers")
    text = breach.describe()
    assert "283,000,000 bytes (283.0 MB)" in text
    assert f"over Lambda's {UNZIPPED_MAX:,}-byte limit" in text
    assert 'fits as mode = "image" (283.0 MB of 10 GB)' in text
    assert 'fits as mode = "efs" (function 2.0 MB of 262.1 MB, 281.0 MB of dependencies' in text


def test_efs_is_not_suggested_when_the_function_alone_is_too_big() -> None:
    (breach,) = assess_mode(_sizes(function=300 * MB), "layers")
    assert 'mode = "image"' in breach.describe()
    assert 'mode = "efs"' not in breach.describe()


def test_the_same_sizes_fit_as_an_image_and_as_efs() -> None:
    assert assess_mode(_sizes(), "image") == []
    assert assess_mode(_sizes(), "efs") == []
    image = limits_for_mode(_sizes(), "image", direct_upload=True)
    assert (image.unzipped_total, image.unzipped_max, image.layers_max) == (283 * MB, IMAGE_MAX, 0)
    efs = limits_for_mode(_sizes(external=5 * MB), "efs", direct_upload=True)
    assert (efs.unzipped_total, efs.layers_used) == (7 * MB, 0)


def test_an_image_over_ten_gigabytes_is_refused() -> None:
    huge = Sizes(packages=(_package("model", IMAGE_MAX),), function_unzipped=1)
    (breach,) = assess_mode(huge, "image")
    assert f"over the {IMAGE_MAX:,}-byte limit of a Lambda container image by 1" in breach.what
    assert 'mode = "efs"' in breach.describe()


def test_efs_counts_the_function_and_its_external_layers() -> None:
    (breach,) = assess_mode(_sizes(function=200 * MB, external=70 * MB), "efs")
    assert "270,000,000 bytes" in breach.what


def test_each_function_is_checked_with_its_own_layers() -> None:
    small = Sizes(packages=(_package("pyjwt", MB),), function_unzipped=MB, layers_built=1)
    functions = {"auth": small, "worker": _sizes()}
    (breach,) = assess_mode(_sizes(), "layers", functions)
    assert breach.what.startswith("function worker: function plus layers unzip to 283,000,000")
    within = {"auth": small, "api": small}
    assert assess_mode(_sizes(), "layers", within) == []
    limits = limits_for_mode(_sizes(), "layers", within, direct_upload=True)
    assert (limits.unzipped_total, limits.layers_used) == (2 * MB, 1)
