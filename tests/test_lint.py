"""The linter, the formatter and the type checker, run as tests.

CI runs the README's test command and nothing else, so style is checked
here: a change that ruff would reject fails the suite like any other bug.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff")
    command = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module", autouse=True)
def ruff_available() -> None:
    if ruff("--version").returncode != 0:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")


def test_ruff_check() -> None:
    done = ruff("check", "--quiet", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = ruff("format", "--check", "--quiet", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy() -> None:
    if shutil.which("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        ["mypy", "--cache-dir", str(ROOT / ".mypy_cache"), "mailtui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
