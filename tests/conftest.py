"""Fixtures shared across test modules: the end-to-end fixture project (`fixture`, built once
per session) and a wheel cache of its own for tests that build it (`isolated_cache`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localindex import serve_index
from tests.projects import Fixture, make_fixture_wheels, uv_lock, write_project


@pytest.fixture(scope="session")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    base = tmp_path_factory.mktemp("e2e")
    wheels = base / "wheels"
    wheels.mkdir()
    make_fixture_wheels(wheels)
    with serve_index(wheels) as index:
        project = write_project(base / "project")
        uv_lock(project, index, base / "uv-cache")
        yield Fixture(wheels, index, project, base / "cache")


@pytest.fixture
def isolated_cache(fixture: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(fixture.cache))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
