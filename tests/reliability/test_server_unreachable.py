"""The server-unreachable drill end to end: a real car process cut off the server mid-trip."""

from __future__ import annotations

import pytest

from benchmarks.reliability import server_unreachable
from benchmarks.reliability.__main__ import build_parser, main

pytestmark = pytest.mark.slow


def test_the_car_stops_short_of_an_unheld_junction_and_drives_on_after(tmp_path) -> None:
    a = build_parser().parse_args(
        ["server-unreachable", "--cycles", "1", "--outage-s", "25", "--logs", str(tmp_path)]
    )
    server_unreachable.check_arguments(a)
    result = server_unreachable.run(a)
    assert result["passed"], result["failures"]
    cycle = result["cycles"][0]
    assert cycle["at_rest_after_s"] is not None and cycle["at_rest_after_s"] < 25
    assert all(n in cycle["reservations_at_cut"] for n in cycle["junctions_entered_in_outage"])
    assert cycle["trip_status_after_outage"] == "driving"
    assert cycle["moving_again_after_s"] is not None and cycle["moving_again_after_s"] <= 10
    assert result["cable"]["requests_lost_in_cuts"] > 0  # the car really was cut off


def test_an_outage_the_server_would_not_outlive_is_refused(capsys) -> None:
    code = main(["server-unreachable", "--outage-s", "30", "--liveness-timeout", "20"])
    assert code == 2
    assert "liveness-timeout: must exceed outage-s" in capsys.readouterr().err
