"""benchmarks/lane_closed_loop.py: city specs, bad input, and a short drive that is scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.benchmarks import load_benchmark

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "lane_int8.tflite"

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("lane_closed_loop")


def test_grid_spec_regenerates_the_unseen_city(bench):
    from city.generate import grid_city

    label, city = bench.parse_city("grid:12:7")
    assert label == "grid:12:7"
    assert city.to_dict() == grid_city(12, seed=7).to_dict()
    _, spaced = bench.parse_city("grid:9:3:2.4")
    assert spaced.to_dict() == grid_city(9, seed=3, spacing_m=2.4).to_dict()


def test_bad_input_is_one_line_and_exit_2(bench, tmp_path, capsys):
    assert bench.main(["--model", str(MODEL), "--city", "grid:x"]) == 2
    assert bench.main(["--model", str(tmp_path / "none.tflite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--city grid:x" in err[0] and "no such file" in err[1]


def test_a_short_drive_is_scored_per_city(bench):
    from vehicle.perception.lane_model import LaneModel

    label, city = bench.parse_city("default")
    result = bench.drive_city(label, city, LaneModel(MODEL), routes=1, seed=5, max_steps=80)
    assert result.routes == 1 and result.completed == 0  # 4 s cannot finish a route
    assert result.per_route[0].reason == "timeout"
    assert result.mean_abs_cte_m is not None and result.mean_abs_cte_m < 0.1
    assert "default" in bench.table("m", [result])
