"""Configuration is checked at start: a bad flag, variable or secret file is one line, exit 2.

These are the settings the compose file in docker/ passes (flags, MONGODB_URI,
PIXELOPOLIS_* variables and the fleet key as a secret file).
"""

from __future__ import annotations

import argparse

import pytest

from pixelopolis.cli import main
from pixelopolis.commands._secrets import fleet_key_from
from server.embedded import free_port

SERVER = ["server", "--port", str(free_port())]


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        (["--db", "mongodb://"], {}, "mongodb_uri: "),
        ([], {"MONGODB_URI": "mongodb://a,,b/?replicaSet=rs0"}, "mongodb_uri: "),
        ([], {"MONGODB_URI": "postgres://db"}, "mongodb_uri: must start with"),
        (["--booking-limit", "lots"], {}, "booking_limit: 'lots' is not a rate limit"),
        ([], {"PIXELOPOLIS_REGISTER_LIMIT": "9/fortnight"}, "register_limit: "),
        ([], {"PIXELOPOLIS_TRUSTED_PROXIES": "one"}, "PIXELOPOLIS_TRUSTED_PROXIES: not an integer"),
        (["--trusted-proxies", "-1"], {}, "trusted_proxies: must be 0-8"),
        (
            [],
            {"PIXELOPOLIS_LIVENESS_TIMEOUT": "soon"},
            "PIXELOPOLIS_LIVENESS_TIMEOUT: not a number",
        ),
        (["--fleet-key", "short"], {}, "fleet_key: must be at least 8 characters"),
        (["--fleet-key-file", "/nonexistent/key"], {}, "--fleet-key-file: cannot read"),
        ([], {"PIXELOPOLIS_FLEET_KEY_FILE": "/nonexistent/k"}, "PIXELOPOLIS_FLEET_KEY_FILE: "),
        (["--workers", "0"], {}, "workers: must be 1-64"),
    ],
)
def test_server_settings_are_checked_before_anything_starts(
    argv, env, expected, capsys, monkeypatch, tmp_path
):
    for name in ("MONGODB_URI", "PIXELOPOLIS_FLEET_KEY", "PIXELOPOLIS_FLEET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    err = _error([*SERVER, "--data", str(tmp_path / "data"), *argv], capsys)
    assert err.startswith("pixelopolis server: error: ") and expected in err, err
    assert not (tmp_path / "data").exists()  # no embedded database was started


def test_an_empty_secret_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY", raising=False)
    key_file = tmp_path / "fleet_key"
    key_file.write_text("\n")
    err = _error([*SERVER, "--fleet-key-file", str(key_file)], capsys)
    assert "is empty" in err


@pytest.mark.parametrize("command", ["station", "car"])
def test_station_and_car_need_a_fleet_key_from_somewhere(command, capsys, monkeypatch):
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY", raising=False)
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY_FILE", raising=False)
    argv = [command, "--server", f"http://127.0.0.1:{free_port()}"]
    if command == "car":
        argv += ["--camera", "0", "--board", "emulator", "--node", "A"]
    err = _error(argv, capsys)
    assert f"pixelopolis {command}: error: fleet key: give --fleet-key-file" in err


def test_the_key_comes_from_flag_then_file_then_environment(tmp_path, monkeypatch):
    key_file = tmp_path / "fleet_key"
    key_file.write_text("from-the-file-123\n")
    monkeypatch.setenv("PIXELOPOLIS_FLEET_KEY", "from-the-env-123")
    args = argparse.Namespace(fleet_key=None, fleet_key_file=str(key_file))
    assert fleet_key_from(args) == "from-the-file-123"
    args.fleet_key = "from-the-flag-123"
    assert fleet_key_from(args) == "from-the-flag-123"
    args.fleet_key, args.fleet_key_file = None, None
    assert fleet_key_from(args) == "from-the-env-123"
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY")
    monkeypatch.setenv("PIXELOPOLIS_FLEET_KEY_FILE", str(key_file))
    assert fleet_key_from(args) == "from-the-file-123"
