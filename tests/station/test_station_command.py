"""`pixelopolis station` as a real process: serves the screens, and bad input is one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import requests

from server.embedded import free_port
from tests.helpers.fake_car import FakeCarScript
from tests.helpers.fleet_api import FLEET_KEY


def station_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pixelopolis", "station", *args]


def test_station_command_serves_and_stops_cleanly(fleet, cars):
    cars("A", "Alpha", FakeCarScript(start_delay_s=5))
    port = free_port()
    proc = subprocess.Popen(
        station_cmd(
            "--server",
            fleet.removesuffix("/api/v1"),
            "--fleet-key",
            FLEET_KEY,
            "--port",
            str(port),
            "--name",
            "Harbour",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = requests.get(f"{url}/health", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "station did not start"
                time.sleep(0.2)
        assert health.json()["station"].startswith("station-")
        page = requests.get(url, headers={"Accept-Language": "es"}, timeout=5)
        assert page.status_code == 200 and "Bienvenido a Pixelopolis" in page.text
        assert "Harbour" in page.text and FLEET_KEY not in page.text
        assert requests.get(f"{url}/static/station.js", timeout=5).status_code == 200
        assert requests.get(f"{url}/api/places", timeout=5).json()["places"]
        # A visitor books and watches through gunicorn's threaded worker.
        visitor = requests.Session()
        assert visitor.post(f"{url}/api/booking", json={"destination": "E"}).status_code == 201
        with visitor.get(f"{url}/api/booking/stream", stream=True, timeout=10) as stream:
            assert stream.status_code == 200
            first = next(stream.iter_content(256))
        assert first.startswith(b"--frame")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "70000"], "port"),
        (["--language", "de"], "default_language"),
        (["--server", "not-a-url"], "server_url"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, expected):
    base = ["--server", "http://127.0.0.1:9", "--fleet-key", FLEET_KEY]
    r = subprocess.run(station_cmd(*base, *args), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and expected in r.stderr


def test_unreachable_server_or_wrong_key_is_exit_2(fleet):
    r = subprocess.run(
        station_cmd(
            "--server",
            f"http://127.0.0.1:{free_port()}",
            "--fleet-key",
            FLEET_KEY,
            "--port",
            str(free_port()),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot register" in r.stderr
    r = subprocess.run(
        station_cmd("--server", fleet, "--fleet-key", "wrong-key-123", "--port", str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "cannot register" in r.stderr and "fleet-key" in r.stderr.lower()
