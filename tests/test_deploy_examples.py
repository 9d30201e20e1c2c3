"""The deploy examples are valid for the tools that consume them (where the tool is here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sam_template_passes_cfn_lint() -> None:
    """cfn-lint validates SAM templates through the SAM translator (both come with moto)."""
    pytest.importorskip("cfnlint", reason="cfn-lint is not installed")
    exe = shutil.which("cfn-lint")
    cmd = [exe] if exe else [sys.executable, "-m", "cfnlint"]
    proc = subprocess.run(
        [*cmd, str(ROOT / "examples" / "deploy" / "sam" / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
