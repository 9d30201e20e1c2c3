"""The image and EFS deploy examples (examples/deploy/image, examples/deploy/efs) against real
builds of the fixture project: the SAM templates pass cfn-lint, the Terraform image function
validates, push.py names the content and drives a builder, the CDK app makes one image function
per manifest function, and the EFS extractor puts the archive where the bootstrap finds it."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.lambdaemu import run_in_root, unzip_with_modes
from tests.projects import UV, Fixture, build, copy_project, provided_runtime

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "deploy"

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)"),
    pytest.mark.usefixtures("isolated_cache"),
]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _built(fixture: Fixture, path: Path, mode: str) -> Path:
    project = copy_project(fixture.project, path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'mode = "{mode}"\n')
    assert build(project) == 0
    return project / "dist/lambda/manifest.json"


@pytest.mark.parametrize("template", ["image/template.yaml", "efs/template.yaml"])
def test_sam_templates_pass_cfn_lint(template: str) -> None:
    pytest.importorskip("cfnlint", reason="cfn-lint is not installed")
    exe = shutil.which("cfn-lint")
    cmd = [exe] if exe else [sys.executable, "-m", "cfnlint"]
    proc = subprocess.run(
        [*cmd, str(EXAMPLES / template)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


_TF_MIRROR = """
provider_installation {
  filesystem_mirror {
    path    = "%s"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
"""


def test_terraform_image_function_validates(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    plugins = Path("/opt/tf-plugins")
    if terraform is None or not plugins.is_dir():
        pytest.skip("terraform or its offline provider directory /opt/tf-plugins is missing")
    work = tmp_path / "terraform"
    work.mkdir()
    shutil.copy(EXAMPLES / "image" / "main.tf", work)
    rc = tmp_path / "terraformrc"
    rc.write_text(_TF_MIRROR % plugins)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TF_CLI_CONFIG_FILE": str(rc),
        "TF_IN_AUTOMATION": "1",
    }
    for args in (["init", "-backend=false", "-input=false"], ["validate"]):
        done = subprocess.run(
            [terraform, *args, "-no-color"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_push_names_the_content_and_drives_the_builder(fixture: Fixture, tmp_path: Path) -> None:
    push = _load(EXAMPLES / "image" / "push.py")
    manifest = _built(fixture, tmp_path / "p", "image")
    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello"
    steps, uri = push.commands(manifest, repository, "buildah")
    image = json.loads(manifest.read_text())["image"]
    assert uri == f"{repository}:{push.image_tag(image)}"
    assert steps[0][-1].startswith("aws ecr get-login-password --region eu-west-1 | buildah login")
    assert steps[1] == [
        "buildah",
        "bud",
        "--platform",
        "linux/amd64",
        "-t",
        uri,
        str(manifest.parent / "image"),
    ]
    assert steps[2] == ["buildah", "push", uri]
    # The same content elsewhere gets the same tag.
    other = _built(fixture, tmp_path / "elsewhere", "image")
    assert push.commands(other, repository, "docker")[1] == uri


_FAKE_CDK = {
    "constructs.py": "class Construct:\n    pass\n",
    "aws_cdk/__init__.py": textwrap.dedent(
        """
        import json, os
        RECORD = []
        class App:
            def synth(self):
                with open(os.environ["CDK_RECORD"], "w") as fh:
                    json.dump(RECORD, fh)
        class Stack:
            def __init__(self, scope, construct_id, **kwargs):
                pass
        class Duration:
            @staticmethod
            def seconds(n):
                return n
        """
    ),
    "aws_cdk/aws_ecr_assets.py": textwrap.dedent(
        """
        class Platform:
            @staticmethod
            def custom(name):
                return name
        """
    ),
    "aws_cdk/aws_lambda.py": textwrap.dedent(
        """
        from aws_cdk import RECORD
        class Architecture:
            ARM_64 = "arm64"
            X86_64 = "x86_64"
        class DockerImageCode:
            @staticmethod
            def from_image_asset(directory, **kw):
                return {"directory": directory, **kw}
        class DockerImageFunction:
            def __init__(self, scope, cid, **kw):
                RECORD.append([cid, kw["function_name"], kw["code"], kw["architecture"]])
        """
    ),
}


def test_cdk_image_app_makes_one_function_per_manifest_function(
    fixture: Fixture, tmp_path: Path
) -> None:
    fake = tmp_path / "fake"
    for name, text in _FAKE_CDK.items():
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(text)
    manifest = _built(fixture, tmp_path / "p", "image")
    record = tmp_path / "record.json"
    env = {**os.environ, "PYTHONPATH": str(fake), "LAMBDA_MANIFEST": str(manifest)}
    env["CDK_RECORD"] = str(record)
    subprocess.run([sys.executable, str(EXAMPLES / "image" / "app.py")], env=env, check=True)
    code = {
        "directory": str(manifest.parent / "image"),
        "platform": "linux/amd64",
        "cmd": ["hello_fn.handler.handler"],
    }
    assert json.loads(record.read_text()) == [["Function-hello-fn", "hello-fn", code, "x86_64"]]


def test_extractor_puts_the_archive_where_the_bootstrap_finds_it(
    fixture: Fixture, tmp_path: Path
) -> None:
    """The versioned-directory flow: extract into <mount>/<hash>, point the function at it
    with LAMBDA_LAYERS_EFS_PATH, run it."""
    extractor = _load(EXAMPLES / "efs" / "extract.py")
    manifest_path = _built(fixture, tmp_path / "p", "efs")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    efs = manifest["efs"]
    archive = manifest_path.parent / efs["file"]
    root = tmp_path / "lambda"
    target = root / "mnt/python" / efs["sha256"][:12]
    assert extractor.extract(archive, efs["sha256"], target) is True
    assert extractor.extract(archive, efs["sha256"], target) is False  # already there
    with pytest.raises(ValueError, match="sha256"):
        extractor.extract(archive, "0" * 64, root / "mnt/python/other")
    (function,) = manifest["functions"]
    unzip_with_modes(manifest_path.parent / function["file"], root / "var/task")
    result = run_in_root(
        root,
        efs["handler"],
        {"name": "versioned"},
        python_version="3.11",
        runtime_dirs=[provided_runtime(fixture, tmp_path / "runtime")],
        env={"LAMBDA_LAYERS_EFS_PATH": str(target), "LAMBDA_TASK_ROOT": str(root / "var/task")},
    )
    assert result["result"]["message"] == "HELLO VERSIONED!"
    assert str(target / "greet") in result["origins"]["greet"]
