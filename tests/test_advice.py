"""The release to lock instead when a pinned one has no wheel the target loads."""

from __future__ import annotations

from packaging.version import Version

from hatch_lambda_layers.errors import FetchError
from hatch_lambda_layers.resolve.advice import newest_loadable, refusal_with_advice
from hatch_lambda_layers.resolve.graph import PinnedPackage, WheelLink
from hatch_lambda_layers.resolve.pages import IndexFile, ProjectPage
from hatch_lambda_layers.targets import get_target

PY311 = get_target("python3.11")
OLD = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
NEW = "cp311-cp311-manylinux_2_28_x86_64"


def wheel(version: str, tag: str, **kw: object) -> IndexFile:
    return IndexFile(f"np-{version}-{tag}.whl", f"https://index.invalid/np-{version}", **kw)  # type: ignore[arg-type]


def test_newest_loadable_skips_yanked_prereleases_and_other_pythons() -> None:
    files = [
        wheel("2.1.0", OLD),
        wheel("2.2.5", OLD),
        wheel("2.2.6", OLD, yanked=True),
        wheel("2.2.7", OLD, requires_python=">=3.12"),
        wheel("2.3.0rc1", OLD),
        wheel("2.3.0", NEW),
        wheel("2.4.0", NEW),
    ]
    advice = newest_loadable(files, PY311)
    assert advice is not None
    assert advice.release == Version("2.2.5")
    assert advice.below == Version("2.2.6")
    assert newest_loadable([wheel("2.3.0", NEW)], PY311) is None
    latest = newest_loadable([wheel("1.0", OLD)], PY311)
    assert latest is not None
    assert latest.below is None


def test_refusal_names_the_release_and_falls_back_without_the_index() -> None:
    pinned = PinnedPackage(
        name="np",  # type: ignore[arg-type]
        version="2.4.0",
        wheels=(WheelLink(f"np-2.4.0-{NEW}.whl", "u"),),
    )
    page = ProjectPage((wheel("2.2.5", OLD), wheel("2.3.0", NEW), wheel("2.4.0", NEW)))
    message = refusal_with_advice(pinned, PY311, lambda name: page)
    assert "np 2.4.0 has no wheel for python3.11 x86_64" in message
    assert 'the newest release that ships one is 2.2.5: add "np<2.3.0"' in message

    def unreachable(name: str) -> ProjectPage:
        raise FetchError("index down")

    assert "lock a release that ships one" in refusal_with_advice(pinned, PY311, unreachable)
