"""The Dockerfile of an image build context, as text. Pure.

It starts from the AWS base image of the runtime and architecture (the `BASE_IMAGE` build
argument, so a build can pin it by digest or take it from a mirror), copies each dependency
directory to ``/opt`` (each holds ``python/...``, the layout of a layer zip, so the base image's
``/opt/python`` import path finds them as it finds layers) in the order given, the function code
last to ``/var/task`` (``LAMBDA_TASK_ROOT``, first on the import path), and names the handler as
the command. Only ``ARG``, ``FROM``, ``COPY`` and ``CMD`` are used, which every OCI builder
(Docker, BuildKit, buildah, podman, kaniko) accepts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

BASE_REPOSITORY = "public.ecr.aws/lambda/python"
LAYER_DESTINATION = "/opt/"
TASK_ROOT = "/var/task/"
_PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}


@dataclass(frozen=True)
class Copy:
    """One COPY instruction: a directory of the context to a directory of the image."""

    source: str  # relative to the context, ends with "/"
    destination: str  # absolute, ends with "/"


def base_image(python_version: tuple[int, int], architecture: str) -> str:
    """The AWS base image for the runtime and architecture (e.g. ``...python:3.12-arm64``)."""
    return f"{BASE_REPOSITORY}:{python_version[0]}.{python_version[1]}-{architecture}"


def platform(architecture: str) -> str:
    """The OCI platform of a Lambda architecture."""
    return _PLATFORMS[architecture]


def render(
    *,
    project: str,
    runtime: str,
    architecture: str,
    base: str,
    copies: Sequence[Copy],
    command: Sequence[str],
) -> str:
    """The Dockerfile text: a header saying what it is, then the instructions."""
    lines = [
        f"# {project}: {runtime} {architecture}, written by hatch-lambda-layers (rebuild, "
        "do not edit).",
        "# The dependencies come first, the most stable first, and the function code last: a",
        "# rebuild reuses every cached layer up to the first one that changed, and a push",
        "# uploads only the layers that changed.",
        "# Pin the base image by digest with --build-arg BASE_IMAGE=<image>@sha256:<digest>.",
        f"ARG BASE_IMAGE={base}",
        f"FROM --platform={platform(architecture)} ${{BASE_IMAGE}}",
    ]
    lines += [f"COPY {c.source} {c.destination}" for c in copies]
    if command:
        lines.append(f"CMD {json.dumps(list(command))}")
    return "\n".join(lines) + "\n"
