"""The firmware type-checks against MicroPython's own stubs (micropython-stm32-stubs).

mypy runs over a copy of `firmware_bridge/firmware/` laid out as on the board
(`/firmware/*.py`), with MicroPython's stdlib stubs as its typeshed and the STM32
port's modules (`machine`, `pyb`, `micropython`, `time`, ...) on its path, and with
`--no-site-packages`: CPython's typeshed and the venv's packages are not visible, so
`time.ticks_ms` exists and `import threading` does not. The stubs are copied from
the installed distributions into a temporary folder, which keeps them out of the
project's own CPython type environment (and site-packages out of mypy's path).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import firmware_bridge

FIRMWARE = Path(firmware_bridge.__file__).parent / "firmware"
FIRMWARE_FILES = sorted(FIRMWARE.glob("*.py"))
STUB_DISTRIBUTIONS = ("micropython-stm32-stubs", "micropython-stdlib-stubs")

MYPY_CONFIG = """\
[mypy]
mypy_path = {stubs}
custom_typeshed_dir = {stubs}
no_site_packages = True
cache_dir = {cache}
check_untyped_defs = True
strict_equality = True
warn_unreachable = True
warn_unused_ignores = True
extra_checks = True
show_error_codes = True
# errors inside the third-party stubs themselves are not ours
ignore_errors = True

[mypy-firmware,firmware.*,canary]
ignore_errors = False
"""


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> Path:
    """MicroPython stubs in a folder of their own (copied from the installed wheels)."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the dev extras: pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("micropython-stubs")
    for name in STUB_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(
                name + " is not installed (dev extras: micropython-stm32-stubs==1.29.0.post1)"
            )
        for file in dist.files or ():
            if file.suffix == ".pyi" or file.name == "VERSIONS":
                target = root / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(str(dist.locate_file(file))), target)
    assert (root / "stdlib" / "VERSIONS").is_file(), "micropython-stdlib-stubs has no stdlib/"
    assert (root / "machine.pyi").is_file(), "micropython-stm32-stubs has no machine.pyi"
    return root


def _mypy(stubs: Path, board: Path, *targets: str) -> tuple[int, str]:
    """Run mypy in `board` (the board's root folder); returns (exit code, output)."""
    config = board / "mypy.ini"
    config.write_text(MYPY_CONFIG.format(stubs=stubs, cache=board / ".mypy_cache"))
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *targets],
        cwd=board,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def _board_copy(tmp_path: Path) -> Path:
    board = tmp_path / "board"
    (board / "firmware").mkdir(parents=True)
    for path in FIRMWARE_FILES:
        shutil.copyfile(path, board / "firmware" / path.name)
    return board


def test_firmware_type_checks_against_micropython_stubs(stubs, tmp_path):
    board = _board_copy(tmp_path)
    code, output = _mypy(stubs, board, "-p", "firmware")
    # point the messages at the real files
    output = re.sub(r"^firmware/", str(FIRMWARE) + "/", output, flags=re.MULTILINE)
    assert code == 0, output
    checked = re.search(r"(?:checked|in) (\d+) source files", output)
    assert checked and int(checked.group(1)) == len(FIRMWARE_FILES), output


def test_the_check_really_uses_the_micropython_stubs(stubs, tmp_path):
    """A canary: MicroPython-only APIs pass, CPython-only ones and misuse of `pyb` fail."""
    board = _board_copy(tmp_path)
    (board / "canary.py").write_text(
        "import time\n"
        "import micropython\n"
        "import pyb\n"
        "from firmware import crc\n"
        "\n"
        "start = time.ticks_ms()\n"
        "elapsed = time.ticks_diff(time.ticks_ms(), start)\n"
        "micropython.kbd_intr(-1)\n"
        "pyb.repl_uart(None)\n"
        "checksum = crc.crc16(b'abc')\n"
        "pyb.no_such_function()\n"  # line 11
        "import threading\n"  # line 12: CPython only
        "time.sleep_ms('ten')\n"  # line 13
    )
    code, output = _mypy(stubs, board, "canary.py")
    assert code == 1, output
    errors = sorted(
        int(m.group(1)) for m in re.finditer(r"^canary\.py:(\d+): error", output, re.MULTILINE)
    )
    assert errors == [11, 12, 13], output
