"""The city launcher hands the fleet key to its processes without a command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from pixelopolis.launch import CityLaunch, LaunchConfig

# token_urlsafe can start a key with "-"; on a command line argparse took it for an option
DASH_KEY = "-Zk3-dash-first-fleet-key"


@pytest.mark.timeout(300)
def test_a_key_starting_with_a_dash_reaches_every_process_and_no_command_line():
    with CityLaunch(LaunchConfig(cars=1, stations=1), fleet_key=DASH_KEY) as city:
        headers = {"X-Fleet-Key": DASH_KEY}
        deadline = time.monotonic() + 180
        while True:  # the car registers once its models are loaded
            answer = requests.get(f"{city.server_url}/api/v1/devices", headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            kinds = {device["kind"] for device in answer.json()["devices"]}
            if {"car", "station"} <= kinds or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert {"car", "station"} <= kinds, answer.json()
        wrong = requests.get(
            f"{city.server_url}/api/v1/devices", headers={"X-Fleet-Key": "x" * 24}, timeout=10
        )
        assert wrong.status_code == 401
        children = city._children
        assert len(children) >= 4  # server, world, car, station
        for child in children:
            assert child.proc.poll() is None, child.name
            cmdline = Path(f"/proc/{child.proc.pid}/cmdline").read_bytes()
            assert DASH_KEY.encode() not in cmdline, child.name
        # the world's own output (its off-lane warnings) is kept beside the others' logs
        assert (city.log_dir / "world.log").is_file()
