"""The `pixelopolis` command: every verb has --help; bad input is exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pixelopolis.cli import main

VERBS = [
    ["demo"],
    ["server"],
    ["station"],
    ["car"],
    ["board"],
    ["board", "emulate"],
    ["sim"],
    ["sim", "lane"],
    ["sim", "detect"],
    ["sim", "view"],
    ["sim", "world"],
    ["train"],
    ["train", "lane"],
    ["train", "detect"],
    ["train", "signs"],
    ["eval"],
    ["eval", "drive"],
    ["eval", "detect"],
]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_every_subcommand_has_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0
    assert "usage: pixelopolis" in capsys.readouterr().out


def test_detect_with_no_dataset_says_so_and_exits_2(tmp_path, capsys):
    assert main(["train", "detect", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a detection dataset" in err and len(err.splitlines()) == 1


def test_bad_flag_is_one_line_exit_2():
    r = subprocess.run(
        [sys.executable, "-m", "pixelopolis", "server", "--port", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "--port" in r.stderr


def test_server_with_invalid_city_file_is_exit_2(tmp_path):
    bad = tmp_path / "city.json"
    bad.write_text('{"format": "pixelopolis-city", "version": 1, "nodes": []')
    r = subprocess.run(
        [sys.executable, "-m", "pixelopolis", "server", "--city", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "city.json" in r.stderr


CAR = ["car", "--server", "http://127.0.0.1:9", "--fleet-key", "k", "--node", "A"]


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "argv",
    [
        CAR,  # no camera, no board
        [*CAR, "--camera", "0", "--board", "emulator", "--server", "nope"],
        [*CAR, "--camera", "/no/such", "--board", "emulator"],
        [*CAR, "--camera", "0", "--board", "emulator", "--config", "/no/such.toml"],
        [*CAR, "--camera", "0", "--board", "/dev/no-such-board"],
        [*CAR, "--camera", "0", "--board", "emulator", "--stream-port", "70000"],
        ["eval", "drive", "--cars", "0"],
        ["eval", "drive", "--city", "/no/such/city.json"],
        ["sim", "world", "--cars", "0"],
        ["demo", "--cars", "0"],
        ["demo", "--headless", "--trips", "0"],
        ["demo", "--city", "/no/such/city.json"],
        ["demo", "--port", "99999"],
        ["sim", "world", "--city", "/no/such/city.json"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_bad_runtime_input_is_one_line_exit_2(argv, capsys):
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1, err


def test_a_bad_car_settings_file_names_the_section_and_key(tmp_path, capsys):
    bad = tmp_path / "car.toml"
    bad.write_text("[planner]\ncruise_speed_mps = -1\n")
    assert _exit_code([*CAR, "--camera", "0", "--board", "emulator", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "[planner]" in err and "cruise_speed_mps" in err


@pytest.mark.parametrize(
    "text, key",
    [
        ("[classifier]\nmin_prob = 2\n", "min_prob"),
        ("[classifier]\nenabled = 'yes'\n", "enabled"),
        ("[classifier]\nmodel = '/no/such/signs.tflite'\n", "sign classifier"),
    ],
)
def test_a_bad_classifier_setting_is_one_line_exit_2(tmp_path, capsys, text, key):
    bad = tmp_path / "car.toml"
    bad.write_text(text)
    assert _exit_code([*CAR, "--camera", "0", "--board", "emulator", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and len(err.splitlines()) == 1, err
