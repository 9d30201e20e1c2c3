"""manifest.json: round trip, atomic writes, diff, and the `diff` command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hatch_lambda_layers import cli
from hatch_lambda_layers.manifest import (
    FunctionEntry,
    LayerEntry,
    Limits,
    Manifest,
    ManifestError,
    PackageEntry,
    ProvidedEntry,
    Target,
    read_manifest,
    write_manifest,
)
from hatch_lambda_layers.report.diff import diff, format_diff


def _layer(name: str, content: str, *packages: tuple[str, str], version: int = 1) -> LayerEntry:
    return LayerEntry(
        name=name,
        file=f"layer-{name}-{content[:12]}.zip",
        version=version,
        sha256=content * 1,
        code_sha256="b64==",
        content_hash=f"sha256:{content}",
        size_zipped=100,
        size_unzipped=300,
        changed=True,
        packages=tuple(
            PackageEntry(name=n, version=v, size_unzipped=150, change_rate=None)
            for n, v in packages
        ),
    )


def make_manifest(*layers: LayerEntry) -> Manifest:
    return Manifest(
        generator="hatch-lambda-layers 0.1.0",
        project_name="demo",
        project_version="1.0",
        target=Target(
            runtime="python3.12", architecture="arm64", python_version="3.12", glibc="2.34"
        ),
        layers=layers,
        functions=(
            FunctionEntry(
                name="demo",
                file="function-demo-abc.zip",
                handler="demo.handler",
                sha256="ab" * 32,
                code_sha256="q80=",
                size_zipped=10,
                size_unzipped=20,
            ),
        ),
        provided=(ProvidedEntry(name="boto3", version="1.40", reason="provided"),),
        external_layers=("arn:aws:lambda:eu-west-1:123456789012:layer:x:3",),
        limits=Limits(
            layers_used=2,
            layers_max=5,
            unzipped_total=620,
            unzipped_max=262_144_000,
            zipped_layer_max=52_428_800,
            ok=True,
        ),
        history=({"numpy": "2.0"},),
    )


def test_round_trip_and_contract_fields(tmp_path: Path) -> None:
    m = make_manifest(_layer("demo-a", "a" * 64, ("numpy", "2.0")))
    path = tmp_path / "manifest.json"
    write_manifest(path, m)
    data = json.loads(path.read_text())
    assert set(data) >= {
        "schema_version",
        "generator",
        "project",
        "target",
        "layers",
        "functions",
        "provided",
        "external_layers",
        "limits",
    }
    assert set(data["layers"][0]) >= {
        "name",
        "file",
        "version",
        "sha256",
        "code_sha256",
        "content_hash",
        "size_zipped",
        "size_unzipped",
        "changed",
        "packages",
    }
    assert set(data["layers"][0]["packages"][0]) >= {
        "name",
        "version",
        "size_unzipped",
        "change_rate",
        "change_source",
    }
    assert data["layers"][0]["packages"][0]["change_rate"] is None  # explicit unknown
    assert data["layers"][0]["packages"][0]["change_source"] == "unknown"
    assert read_manifest(path) == m
    assert not [p for p in tmp_path.iterdir() if p.name != "manifest.json"]  # no temp files left


def test_unreadable_manifests_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"schema_version": 9}')
    with pytest.raises(ManifestError, match="schema_version 9"):
        read_manifest(tmp_path / "bad.json")
    (tmp_path / "worse.json").write_text("{not json")
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path / "worse.json")


def test_diff_names_changed_layers_and_packages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = make_manifest(
        _layer("demo-big", "a" * 64, ("numpy", "2.0"), ("pandas", "2.2")),
        _layer("demo-small", "b" * 64, ("idna", "3.1")),
        _layer("demo-gone", "c" * 64, ("six", "1.0")),
    )
    new = make_manifest(
        _layer("demo-big", "a" * 64, ("numpy", "2.0"), ("pandas", "2.2")),
        _layer("demo-small", "d" * 64, ("idna", "3.2"), ("certifi", "2025.1"), version=2),
        _layer("demo-new", "e" * 64, ("attrs", "25")),
    )
    changes = {c.name: c for c in diff(old, new)}
    assert changes["demo-big"].status == "unchanged"
    assert changes["demo-small"].status == "changed"
    assert changes["demo-small"].packages_changed == (("idna", "3.1", "3.2"),)
    assert changes["demo-small"].packages_added == ("certifi",)
    assert changes["demo-gone"].status == "removed"
    assert changes["demo-new"].status == "added"
    text = format_diff(diff(old, new))
    assert "~ idna 3.1 -> 3.2" in text
    assert "demo-big: unchanged" in text

    write_manifest(tmp_path / "old.json", old)
    write_manifest(tmp_path / "new.json", replace(new, history=()))
    assert cli.main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out
    assert "demo-small: changed" in out
    assert "+ certifi" in out
    assert cli.main(["diff", str(tmp_path / "old.json"), str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err
