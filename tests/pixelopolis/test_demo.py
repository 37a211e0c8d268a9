"""End to end: `pixelopolis demo --headless` runs the whole city with the shipped models.

The fleet server (embedded database), the simulated world, the car runtimes (each its
own process, driving through the board emulator over a pty) and the stations all
start; trips are booked through the stations' own API and must be driven to the end on
camera alone, with no collision.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _consecutive_free_ports(n: int) -> int:
    for _ in range(50):
        first = _free_port()
        try:
            socks = []
            for k in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", first + k))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


@pytest.mark.timeout(900)
def test_headless_demo_drives_booked_trips_to_the_end(tmp_path):
    logs = tmp_path / "logs"
    cmd = [
        sys.executable,
        "-m",
        "pixelopolis",
        "demo",
        "--headless",
        "--json",
        "--cars",
        "2",
        "--trips",
        "3",
        "--seed",
        "3",
        "--port",
        str(_free_port()),
        "--station-port",
        str(_consecutive_free_ports(2)),
        "--logs",
        str(logs),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=840, env=env)
    assert done.returncode == 0, (
        f"rc {done.returncode}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    summary = json.loads(done.stdout)
    assert summary["trips_booked"] == 3
    assert summary["trips_completed"] == 3
    assert summary["route_completion"] == 1.0
    assert summary["wrong_turns"] == 0
    assert summary["collisions"] == 0
    assert summary["intersection_conflicts"] == 0
    assert summary["km_driven"] > 0
    # every process left a log, and none of them a traceback
    assert sorted(p.name for p in logs.iterdir())
    for log_file in logs.iterdir():
        assert "Traceback" not in log_file.read_text(errors="replace"), log_file.name
