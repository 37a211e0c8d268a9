"""The reliability drills, short and small: the load drill and the worker-kill drill hold
their targets (no 5xx, no lost or double booking, a clean consistency check), and bad
arguments are one line and exit 2. The full-length runs and their figures are in
docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.reliability import kill_worker, load
from benchmarks.reliability.__main__ import build_parser, main
from benchmarks.reliability.cluster import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(Path(tmp_path_factory.mktemp("drill")), workers=2, threads=32) as c:
        yield c


def args(*argv: str):
    return build_parser().parse_args(list(argv))


def assert_safe(result: dict) -> None:
    assert result["lost_bookings"] == 0, result["ledger_problems"]
    assert result["double_bookings"] == 0
    assert result["conflicting_answers"] == 0
    assert result["consistency"]["ok"], result["consistency"]["problems"]
    assert result["traffic"]["http_500"] == 0 and result["traffic"]["bad_5xx_bodies"] == 0
    assert result["passed"], result["failures"]


def test_load_drill_holds_its_targets(cluster):
    a = args(
        "load", "--duration", "3", "--ramp", "2", "--cars-per-station", "2", "--step-s", "0.05"
    )
    result = load.drive(a, cluster)
    assert_safe(result)
    assert result["traffic"]["server_errors"] == 0
    assert result["bookings_acknowledged"] > 0 and result["trips_driven"] > 0
    level = result["levels"][0]
    assert level["requests_per_s"] > 0 and level["p99_ms"] >= level["p50_ms"] > 0
    assert "POST /bookings" in level["endpoints"] and "PUT /cars/{id}/status" in level["endpoints"]


def test_killed_workers_are_replaced_and_nothing_is_lost(cluster):
    a = args(
        "kill-worker", "--duration", "4", "--interval", "1.5", "--stations", "2", "--cars", "4",
        "--step-s", "0.05",
    )  # fmt: skip
    result = kill_worker.drive(a, cluster)
    assert_safe(result)
    assert len(result["kills"]) >= 1
    assert all(k["replaced_s"] is not None for k in result["kills"])
    assert result["traffic"]["gave_up"] == 0
    assert len(cluster.worker_pids()) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load", "--ramp", "8,4"], "ramp: rising station counts"),
        (["load", "--duration", "0"], "duration: must be within"),
        (["kill-worker", "--interval", "100", "--duration", "10"], "interval:"),
        (["restart-db", "--down-s", "30", "--duration", "40"], "duration: must be at least"),
        (["kill-car", "--cars", "40"], "cars: at most 32"),
        (["fuzz-api", "--max-examples", "0"], "max-examples:"),
        (["load", "--workers", "x"], "invalid int value"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
