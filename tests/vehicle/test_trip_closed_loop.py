"""benchmarks/trip_closed_loop.py: a trip driven by the car's own models, and bad input."""

from __future__ import annotations

import json

import pytest

from tests.helpers.benchmarks import load_benchmark

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("trip_closed_loop")


def test_a_short_trip_arrives_and_is_traced(bench, tmp_path, capsys):
    # seed 1: the first trip is L → F, one leg round the town's roundabout
    assert bench.main(["--trips", "1", "--seed", "1", "--json", "--trace", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trips"] == 1 and summary["arrived"] == 1
    assert summary["collisions"] == 0 and summary["km_driven"] > 0
    trips = json.loads((tmp_path / "trips.json").read_text())
    assert trips[0]["route"] == ["L", "F"] and trips[0]["arrived"]
    assert any("reached F" in m["what"] for m in trips[0]["moments"])
    frames = (tmp_path / "frames.jsonl").read_text().splitlines()
    assert len(frames) > 50 and {"x", "y", "cmd", "state"} <= set(json.loads(frames[0]))


def test_reservations_hold_one_car_per_node_with_a_lease(bench):
    table = bench._Reservations()
    assert table.reserve("a", "C") and table.reserve("a", "C")  # a renewal
    assert not table.reserve("b", "C")
    table.now = table.LEASE_S + 1.0  # a holder that went silent loses it
    assert table.reserve("b", "C") and table.holding("b") == ["C"]
    table.release("a", "C")  # not a's any more: nothing happens
    assert table.held_by("C") == "b"


def test_bad_input_is_one_line_and_exit_2(bench, tmp_path, capsys):
    assert bench.main(["--city", "grid:x"]) == 2
    assert bench.main(["--trips", "0"]) == 2
    bad = tmp_path / "car.toml"
    bad.write_text('lane_model = "/no/such/model.tflite"\n')
    assert bench.main(["--car-config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("trip_closed_loop: ") for line in err)
