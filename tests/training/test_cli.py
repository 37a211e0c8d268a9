"""`pixelopolis train`: bad input is one line and exit code 2, before TensorFlow loads."""

from __future__ import annotations

from pixelopolis.cli import main


def test_missing_dataset_is_a_usage_error(tmp_path, capsys):
    code = main(["train", "lane", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "not a lane dataset" in err and len(err.strip().splitlines()) == 1


def test_every_repeated_dataset_is_checked(lane_dataset, tmp_path, capsys):
    missing = tmp_path / "second"
    code = main(
        ["train", "lane", "--data", str(lane_dataset), "--data", str(missing), "--out", "o"]
    )
    err = capsys.readouterr().err
    assert code == 2 and str(missing) in err and len(err.strip().splitlines()) == 1


def test_invalid_settings_name_the_field(lane_dataset, tmp_path, capsys):
    code = main(
        ["train", "lane", "--data", str(lane_dataset), "--out", str(tmp_path), "--epochs", "0"]
    )
    assert code == 2 and "epochs" in capsys.readouterr().err
