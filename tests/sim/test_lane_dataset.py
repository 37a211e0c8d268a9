"""The lane dataset: valid records, real JPEG frames, deterministic whatever the workers."""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from city import default_city
from pixelopolis.cli import main
from sim.datasets.lane import LaneDatasetConfig, generate_lane_dataset
from sim.datasets.output import DatasetError
from sim.routes import dead_end_approaches, departure_route

SCHEMA = json.loads(files("sim").joinpath("schemas/lane_record.schema.json").read_text())


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def _by_episode(records: list[dict]) -> dict[int, list[dict]]:
    episodes: dict[int, list[dict]] = {}
    for record in records:
        episodes.setdefault(record["episode"], []).append(record)
    return episodes


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lane") / "ds"
    cfg = LaneDatasetConfig(frames=120, seed=3, workers=2, frames_per_episode=50)
    generate_lane_dataset(out, cfg, progress=False)
    return out


def test_manifest_records_follow_the_schema_and_point_at_real_frames(small_dataset):
    records = _records(small_dataset)
    assert len(records) == 120
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for record in records:
        validator.validate(record)
    for record in records[::17]:
        image = cv2.imread(str(small_dataset / record["file"]))
        assert image is not None and image.shape == (240, 320, 3)
    assert len(list((small_dataset / "frames").glob("*.jpg"))) == 120


def test_frames_are_50_ms_apart_within_an_episode(small_dataset):
    records = _records(small_dataset)
    by_episode: dict[int, list[dict]] = {}
    for r in records:
        by_episode.setdefault(r["episode"], []).append(r)
    assert len(by_episode) >= 2
    for recs in by_episode.values():
        times = [r["t"] for r in recs]
        assert times == pytest.approx([0.05 * i for i in range(len(recs))])


def test_statistics_report_the_steering_histogram(small_dataset):
    stats = json.loads((small_dataset / "dataset.json").read_text())
    assert stats["frames"] == 120 and stats["complete"]
    assert sum(stats["steering_histogram"]["counts"]) == 120
    assert set(stats["commands"]) <= {"straight", "left", "right"}


def test_same_seed_same_manifest_whatever_the_workers(tmp_path, small_dataset):
    out = tmp_path / "again"
    cfg = LaneDatasetConfig(frames=120, seed=3, workers=1, frames_per_episode=50)
    generate_lane_dataset(out, cfg, progress=False)
    assert (out / "manifest.jsonl").read_bytes() == (small_dataset / "manifest.jsonl").read_bytes()
    other = tmp_path / "other-seed"
    generate_lane_dataset(other, LaneDatasetConfig(frames=30, seed=4, frames_per_episode=50),
                          progress=False)  # fmt: skip
    assert (other / "manifest.jsonl").read_bytes()[:200] != (
        small_dataset / "manifest.jsonl"
    ).read_bytes()[:200]


def test_existing_dataset_is_never_overwritten_silently(tmp_path, small_dataset):
    with pytest.raises(DatasetError, match="--force"):
        generate_lane_dataset(small_dataset, LaneDatasetConfig(frames=5), progress=False)
    out = tmp_path / "forced"
    generate_lane_dataset(out, LaneDatasetConfig(frames=5, workers=1), progress=False)
    generate_lane_dataset(out, LaneDatasetConfig(frames=7, workers=1), force=True, progress=False)
    assert len(_records(out)) == 7
    assert len(list((out / "frames").glob("*.jpg"))) == 7


def test_departures_start_before_a_node_and_turn_round_in_dead_ends(tmp_path):
    out = tmp_path / "dep"
    cfg = LaneDatasetConfig(
        frames=1500,
        seed=4,
        workers=2,
        frames_per_episode=240,
        departures=1.0,
        manoeuvres=0.0,
        traffic=0,
    )
    generate_lane_dataset(out, cfg, progress=False)
    town = default_city()
    episodes: dict[int, list[dict]] = {}
    for record in _records(out):
        episodes.setdefault(record["episode"], []).append(record)
    u_turns = 0
    last = max(episodes)  # cut short where the frames ran out
    for episode, records in episodes.items():
        first = records[0]["pose"]
        # every drive starts on a road, close before a node, not in a node's junction
        nearest = min(math.hypot(n.x - first["x"], n.y - first["y"]) for n in town.nodes.values())
        assert 0.15 < nearest < 1.8
        headings = np.unwrap([r["pose"]["heading"] for r in records])
        swing = math.degrees(float(np.max(np.abs(headings - headings[0]))))
        if (
            episode != last and len(records) == 2 * cfg.frames_per_episode
        ):  # a u-turn gets more time
            u_turns += 1  # and turns round in a dead end, with the u-turn's command
            assert swing > 150 and records[0]["command"] == "left"
    assert u_turns >= 1


def test_a_departure_leaves_by_a_turn_its_road_allows():
    town = default_city()
    rng = np.random.default_rng(0)
    assert dead_end_approaches(town) == [("C", "G"), ("K", "M")]
    for _ in range(30):
        route = departure_route(town, rng, dead_end_approaches(town))
        assert route.steps[1].turn == "u-turn" and route.nodes[1] in ("G", "M")
    for _ in range(30):
        route = departure_route(town, rng)
        frm, node = route.nodes[:2]
        assert (
            route.steps[1].turn == town.route(node, route.nodes[-1], arrived_from=frm).steps[0].turn
        )
        assert route.length_m == pytest.approx(
            town.edge(frm, node).lane_length_m
            + town.route(node, route.nodes[-1], arrived_from=frm).length_m
        )


def test_manoeuvre_drives_start_before_their_junction_all_over_the_city(tmp_path):
    out = tmp_path / "man"
    cfg = LaneDatasetConfig(
        frames=2400, seed=6, workers=2, frames_per_episode=60, manoeuvres=1.0, traffic=0,
        oncoming_starts=0.0, wide_starts=0.0,
    )  # fmt: skip
    generate_lane_dataset(out, cfg, progress=False)
    town = default_city()
    nearest_nodes = set()
    for records in _by_episode(_records(out)).values():
        first = records[0]["pose"]
        distances = {
            n.id: math.hypot(n.x - first["x"], n.y - first["y"]) for n in town.nodes.values()
        }
        node = min(distances, key=distances.get)
        assert distances[node] < 1.6  # 0.3-1.2 m of lane before the junction
        nearest_nodes.add(node)
    assert len(nearest_nodes) >= 8  # spread over the town, not the busiest junctions


def test_junction_starts_begin_mid_turn_askew_and_leave_the_rest_as_it_was(tmp_path):
    base = dict(
        frames=720, seed=4, workers=2, frames_per_episode=60, manoeuvres=1.0, traffic=0,
        oncoming_starts=0.0, wide_starts=0.0,
    )  # fmt: skip
    generate_lane_dataset(
        tmp_path / "j", LaneDatasetConfig(**base, junction_starts=0.5), progress=False
    )
    generate_lane_dataset(tmp_path / "n", LaneDatasetConfig(**base), progress=False)
    town = default_city()
    with_j, without = _by_episode(_records(tmp_path / "j")), _by_episode(_records(tmp_path / "n"))
    assert with_j.keys() == without.keys()
    changed = [e for e in with_j if with_j[e] != without[e]]
    assert 0 < len(changed) < len(with_j)  # about half the drives; the others unchanged
    askew = 0
    for e in changed:
        first = with_j[e][0]
        pose = first["pose"]
        near = min(math.hypot(n.x - pose["x"], n.y - pose["y"]) for n in town.nodes.values())
        assert near < 0.6  # inside a junction, not 0.3-1.2 m of lane before it
        assert abs(first["cte"]) <= 0.06
        assert abs(first["heading_error"]) <= 0.46
        askew += abs(first["heading_error"]) > 0.15
        assert without[e][0]["pose"] != pose
    assert askew >= len(changed) // 3


def test_oncoming_starts_begin_in_the_other_lane_and_come_back(tmp_path):
    out = tmp_path / "onc"
    cfg = LaneDatasetConfig(
        frames=600, seed=2, workers=2, frames_per_episode=120, oncoming_starts=1.0,
        manoeuvres=0.0, departures=0.0, traffic=0, recoveries=False,
    )  # fmt: skip
    generate_lane_dataset(out, cfg, progress=False)
    width = default_city().lane_width_m
    episodes = _by_episode(_records(out))
    assert len(episodes) == 5
    for records in episodes.values():
        assert 0.55 * width <= records[0]["cte"] <= 1.15 * width
        assert abs(records[-1]["cte"]) < 0.25 * width  # the expert brings it back


def test_manoeuvre_shares_are_validated():
    for field in ("manoeuvres", "oncoming_starts", "manoeuvre_bend_weight", "junction_starts"):
        with pytest.raises(DatasetError, match=field):
            LaneDatasetConfig(frames=5, **{field: -0.5})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--frames", "-3"], "frames"),
        (["--frames", "0"], "frames"),
        (["--frames", "5", "--workers", "0"], "workers"),
        (["--frames", "5", "--randomise", "2"], "randomise"),
        (["--frames", "5", "--departures", "-0.1"], "departures"),
        (["--frames", "5", "--manoeuvres", "1.5"], "manoeuvres"),
        (["--frames", "5", "--junction-starts", "-1"], "junction_starts"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    code = main(["sim", "lane", "--out", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_unwritable_output_and_bad_city_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["sim", "lane", "--out", str(blocker / "sub"), "--frames", "2"]) == 2
    bad_city = tmp_path / "city.json"
    bad_city.write_text("{}")
    assert main(["sim", "lane", "--out", str(tmp_path / "o"), "--frames", "2",
                 "--city", str(bad_city)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "city.json" in err[1]
