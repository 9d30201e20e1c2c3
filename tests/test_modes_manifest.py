"""manifest.json's additive fields for modes and per-function layers: they round-trip, older
manifests without them still read, and the reader validates them like every other field."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from hatch_lambda_layers.manifest import (
    EfsInfo,
    ImageFunction,
    ImageInfo,
    ImageLayer,
    Manifest,
    ManifestError,
    PackageEntry,
)
from tests.test_manifest import _layer, make_manifest

HASH = "sha256:" + "c" * 64


def _image() -> ImageInfo:
    return ImageInfo(
        context="image",
        base="public.ecr.aws/lambda/python:3.12-arm64",
        platform="linux/arm64",
        dockerfile_sha256="d" * 64,
        command=("demo.handler",),
        size_unzipped=1300,
        layers=(
            ImageLayer(
                name="demo-numpy",
                dir="layers/demo-numpy",
                destination="/opt/",
                version=2,
                changed=True,
                content_hash=HASH,
                size_unzipped=1000,
                files=7,
                packages=(PackageEntry(name="numpy", version="2.0", size_unzipped=1000),),
            ),
            ImageLayer(
                name="function",
                dir="function",
                destination="/var/task/",
                version=1,
                changed=False,
                content_hash=HASH,
                size_unzipped=300,
                files=2,
            ),
        ),
        functions=(ImageFunction(name="demo", handler="demo.handler"),),
    )


def _efs() -> EfsInfo:
    return EfsInfo(
        file="efs-demo-cccccccccccc.zip",
        version=1,
        changed=True,
        sha256="e" * 64,
        content_hash=HASH,
        size_zipped=500,
        size_unzipped=1000,
        mount_path="/mnt/python",
        pythonpath="/mnt/python:/var/runtime",
        handler="lambda_layers_efs.handler",
        packages=(PackageEntry(name="numpy", version="2.0", size_unzipped=1000),),
    )


def _round_trip(manifest: Manifest) -> Manifest:
    return Manifest.from_dict(json.loads(json.dumps(manifest.to_dict())))


def test_new_fields_round_trip_and_list_their_artifacts() -> None:
    base = make_manifest(_layer("demo-a", "a" * 64), _layer("demo-b", "b" * 64))
    fn = replace(base.functions[0], layers=("demo-b",))
    layered = replace(base, functions=(fn,))
    assert _round_trip(layered) == layered
    assert layered.function_layers(fn) == (base.layers[1],)
    assert base.function_layers(base.functions[0]) == base.layers  # none listed: all
    image = replace(base, layers=(), functions=(), image=_image())
    assert _round_trip(image) == image
    assert image.artifacts() == ("image",)
    efs = replace(base, layers=(), efs=_efs())
    assert _round_trip(efs) == efs
    assert efs.artifacts() == ("function-demo-abc.zip", "efs-demo-cccccccccccc.zip")


def test_manifests_without_the_new_fields_still_read() -> None:
    data = make_manifest(_layer("demo-a", "a" * 64)).to_dict()
    assert "image" not in data
    assert "efs" not in data
    assert "layers" not in data["functions"][0]
    read = Manifest.from_dict(data)
    assert read.functions[0].layers is None
    assert read.image is None
    assert read.efs is None


def _bad(change: Any) -> str:
    data = make_manifest(_layer("demo-a", "a" * 64)).to_dict()
    data["image"] = _image().to_dict()
    data["efs"] = _efs().to_dict()
    change(data)
    with pytest.raises(ManifestError) as caught:
        Manifest.from_dict(data, "dist/lambda/manifest.json")
    return str(caught.value)


def test_the_reader_validates_the_new_fields() -> None:
    def hash_(d: Any) -> None:
        d["image"]["layers"][0]["content_hash"] = "md5:1"

    def layers(d: Any) -> None:
        d["functions"][0]["layers"] = "demo-a"

    def sha(d: Any) -> None:
        d["efs"]["sha256"] = 5

    def missing(d: Any) -> None:
        del d["efs"]["mount_path"]

    assert "field image.layers[0].content_hash must be a string matching" in _bad(hash_)
    assert "field functions[0].layers must be an array of strings" in _bad(layers)
    assert "field efs.sha256 must be a string matching" in _bad(sha)
    assert "missing field efs.mount_path" in _bad(missing)


def test_a_build_ends_by_naming_the_image_context_or_the_efs_archive(tmp_path: Any) -> None:
    from hatch_lambda_layers.report.summary import artifact_lines, artifacts_summary

    base = make_manifest()
    image = replace(base, functions=(), image=_image())
    assert artifacts_summary(image, tmp_path / "dist/lambda", tmp_path) == (
        "Lambda artifacts in dist/lambda: image context image/ (2 layers 1.3 KB) (manifest.json)"
    )
    assert artifact_lines(image)[0] == (
        "  image/layers/demo-numpy/  v2 changed  1.0 KB, COPY to /opt/"
    )
    efs = replace(base, efs=_efs())
    assert artifact_lines(efs)[-1] == (
        "  efs-demo-cccccccccccc.zip  v1 changed  500 bytes zipped, to extract at /mnt/python"
    )
