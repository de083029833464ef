"""Shared fixtures: the `riskops` CLI to compare with, and data made here (seeded)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli_path():
    """The riskops binary the answers are compared with: RISKOPS_BIN, or the workspace's build."""
    candidates = [os.environ.get("RISKOPS_BIN"), REPO / "target" / "debug" / "riskops", shutil.which("riskops")]
    for c in candidates:
        if c and Path(c).is_file():
            return str(c)
    return None


@pytest.fixture(scope="session")
def riskops_cli():
    path = cli_path()
    if path is None:
        pytest.fail("no riskops binary: build it (cargo build -p riskops-cli) or set RISKOPS_BIN")
    return path


def run_cli(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if out.returncode not in (0,):
        raise AssertionError(f"riskops {' '.join(args)} failed: {out.stderr}")
    return out.stdout
