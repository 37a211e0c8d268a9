"""`pixelopolis server` as a user runs it: starts bare, keeps its data, refuses a busy folder."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from city import default_city
from server.embedded import free_port
from tests.helpers.server_process import running_server

pytestmark = pytest.mark.slow
KEY = "process-test-key-123"


def test_server_survives_a_restart_with_its_data(tmp_path):
    a, b = sorted(default_city().nodes)[:2]
    slow_liveness = ["--liveness-timeout", "120"]
    with running_server(tmp_path, fleet_key=KEY, extra=slow_liveness) as (base, _):
        r = requests.post(
            f"{base}/devices",
            json={"kind": "car", "name": "c"},
            headers={"X-Fleet-Key": KEY},
            timeout=5,
        )
        car, car_token = r.json()["id"], r.json()["token"]
        station = requests.post(
            f"{base}/devices",
            json={"kind": "station", "name": "s"},
            headers={"X-Fleet-Key": KEY},
            timeout=5,
        ).json()
        h = {"Authorization": f"Bearer {car_token}"}
        hs = {"Authorization": f"Bearer {station['token']}"}
        assert (
            requests.put(
                f"{base}/cars/{car}/status",
                json={"state": "ready", "node": b},
                headers=h,
                timeout=5,
            ).status_code
            == 200
        )
        booking = requests.post(
            f"{base}/bookings", json={"destination": a}, headers=hs, timeout=5
        ).json()
        assert booking["status"] == "assigned"
    with running_server(tmp_path, fleet_key="another-key-456", extra=slow_liveness) as (base, _):
        r = requests.get(f"{base}/bookings/{booking['id']}", headers=hs, timeout=5)
        assert r.status_code == 200 and r.json()["car"] == car
        r = requests.get(f"{base}/cars/{car}/assignment?wait=0", headers=h, timeout=5)
        assert r.status_code == 200 and r.json()["id"] == booking["id"]


def test_second_server_on_the_same_data_folder_is_refused(tmp_path):
    with running_server(tmp_path, fleet_key=KEY):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pixelopolis",
                "server",
                "--data",
                str(tmp_path),
                "--port",
                str(free_port()),
                "--fleet-key",
                KEY,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2
        assert "already" in r.stderr and str(tmp_path) in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_server_starts_with_no_arguments(tmp_path):
    """No flags at all: embedded database in ./pixelopolis-data, generated fleet key, port 8000."""
    import os
    import signal
    import time

    from server.embedded import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXELOPOLIS_", "MONGODB_"))}
    port = 8000
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=0.5)
        port_busy = True
    except requests.RequestException:
        port_busy = False
    args = [] if not port_busy else ["--port", str(free_port())]
    if args:
        port = int(args[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelopolis", "server", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).ok
        assert (tmp_path / "pixelopolis-data").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, out
    assert "fleet key" in out
