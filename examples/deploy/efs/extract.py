"""A Lambda function that puts a hatch-lambda-layers EFS archive (mode = "efs") onto the file
system, for functions to import from.

Deploy it with the same access point and mount path as the functions (template.yaml), upload
the archive to S3, and invoke it:

    {"bucket": "my-artifacts", "key": "efs-orders-api-3fe1cc9a09bf.zip",
     "sha256": "<efs.sha256 of manifest.json>", "directory": "3fe1cc9a09bf"}

It downloads the archive onto the file system, checks its sha256, extracts it into
`<mount path>/<directory>` (into a temporary directory first, renamed when complete, so a
function never sees half of it; an existing directory of the same content is kept), and returns
that path: set it as the functions' LAMBDA_LAYERS_EFS_PATH to switch them over at once (and back,
to roll back). Without "directory" it extracts into the mount path itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

MOUNT_PATH = Path(os.environ.get("MOUNT_PATH", "/mnt/python"))
MARKER = ".hatch-lambda-layers-sha256"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def extract(archive: Path, sha256: str, target: Path) -> bool:
    """Extract `archive` (checked against `sha256`) into `target`, keeping the modes the zip
    records; False when `target` already holds that content."""
    marker = target / MARKER
    if marker.is_file() and marker.read_text().strip() == sha256:
        return False
    actual = sha256_of(archive)
    if actual != sha256:
        raise ValueError(f"{archive.name}: sha256 {actual}, expected {sha256}")
    staging = target.with_name(f".{target.name}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            out = staging / info.filename
            if not out.resolve().is_relative_to(staging.resolve()):
                raise ValueError(f"{archive.name}: {info.filename!r} leaves the directory")
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            os.chmod(out, (info.external_attr >> 16) & 0o777 or 0o644)
    (staging / MARKER).write_text(sha256 + "\n")
    if target == MOUNT_PATH or target.exists():
        # The mount path itself (or an older extraction) is replaced file by file.
        shutil.copytree(staging, target, dirs_exist_ok=True)
        shutil.rmtree(staging)
    else:
        staging.rename(target)
    return True


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    import boto3  # the runtime ships it

    directory = event.get("directory")
    target = MOUNT_PATH / directory if directory else MOUNT_PATH
    download = MOUNT_PATH / f".{event['key'].rsplit('/', 1)[-1]}.download"
    boto3.client("s3").download_file(event["bucket"], event["key"], str(download))
    try:
        changed = extract(download, event["sha256"], target)
    finally:
        download.unlink(missing_ok=True)
    return {"path": str(target), "changed": changed}
