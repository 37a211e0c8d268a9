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
    ["train"],
    ["train", "lane"],
    ["train", "detect"],
    ["eval"],
    ["eval", "drive"],
]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_every_subcommand_has_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0
    assert "usage: pixelopolis" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["demo"],
        ["car"],
        ["train", "detect", "--data", "d", "--out", "o"],
        ["eval", "drive"],
    ],
    ids=" ".join,
)
def test_unbuilt_subcommands_say_so_and_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not built yet" in err and len(err.splitlines()) == 1


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
