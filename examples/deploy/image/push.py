"""Build the container image that a `mode = "image"` build describes and push it to Amazon ECR.

    python push.py dist/lambda/manifest.json 123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-app
        [--builder docker|podman|buildah] [--dry-run]

The tag comes from the content (the Dockerfile and every image layer's content hash), so an
unchanged build pushes nothing new: the registry already holds every layer and the tag. Prints
the image URI to give the function (`ImageUri`). Logs in with `aws ecr get-login-password`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any


def image_tag(image: dict[str, Any]) -> str:
    """A tag naming the image's content: 16 hex digits of a hash over what the image holds."""
    parts = [image["dockerfile_sha256"], *(layer["content_hash"] for layer in image["layers"])]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def commands(manifest_path: Path, repository: str, builder: str) -> tuple[list[list[str]], str]:
    """The commands to log in, build and push, and the image URI they push."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    image = manifest["image"]
    context = manifest_path.parent / image["context"]
    uri = f"{repository}:{image_tag(image)}"
    registry = repository.split("/", 1)[0]
    region = registry.split(".")[3]  # <account>.dkr.ecr.<region>.amazonaws.com
    build = "bud" if builder == "buildah" else "build"
    return [
        [
            "sh",
            "-c",
            f"aws ecr get-login-password --region {region} | "
            f"{builder} login --username AWS --password-stdin {registry}",
        ],
        [builder, build, "--platform", image["platform"], "-t", uri, str(context)],
        [builder, "push", uri],
    ], uri


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("repository", help="<account>.dkr.ecr.<region>.amazonaws.com/<name>")
    parser.add_argument("--builder", default="docker", choices=("docker", "podman", "buildah"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    steps, uri = commands(args.manifest, args.repository, args.builder)
    for step in steps:
        print("+", shlex.join(step), file=sys.stderr)
        if not args.dry_run:
            subprocess.run(step, check=True)
    print(uri)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
