"""Random routes and start poses for dataset generation."""

from __future__ import annotations

import numpy as np

from city import LEFT, RIGHT, U_TURN, City, NoRouteError, Route
from sim.path import RoutePath
from sim.pose import Pose

_ATTEMPTS = 50
_CANDIDATES = 8


def random_route(
    city: City,
    rng: np.random.Generator,
    *,
    min_length_m: float = 3.0,
    prefer_turns: float = 0.5,
    start: str | None = None,
) -> Route:
    """A route between two random nodes (or from `start`), at least `min_length_m` long where
    possible.

    Draws up to a few candidate routes that are long enough (falling back to the
    longest found); with probability `prefer_turns` returns the candidate with the
    most left/right turns, otherwise the first, so data sets can be balanced
    towards turning.
    """
    if not 0.0 <= prefer_turns <= 1.0:
        raise ValueError("prefer_turns: must be in [0, 1]")
    ids = list(city.nodes)
    if len(ids) < 2:
        raise ValueError("city: needs at least two nodes for a route")
    candidates: list[Route] = []
    longest: Route | None = None
    for _ in range(_ATTEMPTS):
        first, goal = rng.choice(len(ids), size=2, replace=False)
        origin = ids[int(first)] if start is None else start
        if ids[int(goal)] == origin:
            continue
        try:
            route = city.route(origin, ids[int(goal)])
        except NoRouteError:
            continue
        if longest is None or route.length_m > longest.length_m:
            longest = route
        if route.length_m >= min_length_m:
            candidates.append(route)
            if len(candidates) == _CANDIDATES:
                break
    if not candidates:
        if longest is None:
            raise NoRouteError(ids[0], ids[1])
        return longest
    if rng.random() < prefer_turns:
        return max(candidates, key=_turn_count)
    return candidates[0]


def start_pose(
    city: City,
    path: RoutePath,
    rng: np.random.Generator | None = None,
    *,
    max_lateral_m: float = 0.0,
    max_heading_rad: float = 0.0,
) -> Pose:
    """The pose at the start of `path`, shifted and turned uniformly at random within limits."""
    if max_lateral_m < 0 or max_heading_rad < 0:
        raise ValueError("max_lateral_m and max_heading_rad: must not be negative")
    if max_lateral_m > city.lane_width_m:
        raise ValueError("max_lateral_m: must not exceed the city's lane width")
    if rng is None or (max_lateral_m == 0 and max_heading_rad == 0):
        return path.pose_at(0.0)
    lateral = float(rng.uniform(-max_lateral_m, max_lateral_m))
    heading = float(rng.uniform(-max_heading_rad, max_heading_rad))
    return path.pose_at(0.0, lateral_m=lateral, heading_offset=heading)


def _turn_count(route: Route) -> int:
    return sum(step.turn in (LEFT, RIGHT, U_TURN) for step in route.steps)
