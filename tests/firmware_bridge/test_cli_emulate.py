"""`pixelopolis board emulate [--link PATH]` as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from firmware_bridge.link import BoardLink


def test_emulate_prints_the_path_links_it_and_serves_until_sigterm(tmp_path: Path):
    link = tmp_path / "car1-board"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelopolis", "board", "emulate", "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        assert os.readlink(link) == path
        with BoardLink(str(link), reply_timeout_ms=100) as board_link:
            assert board_link.ping() > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert not link.exists() and not link.is_symlink()


def test_bad_link_is_one_line_exit_2(tmp_path: Path):
    regular = tmp_path / "file"
    regular.write_text("keep me")
    for target in (tmp_path / "missing" / "x", regular):
        r = subprocess.run(
            [sys.executable, "-m", "pixelopolis", "board", "emulate", "--link", str(target)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and "--link" in r.stderr
    assert regular.read_text() == "keep me"
