"""Random routes and start poses for dataset generation."""

from __future__ import annotations

import numpy as np

from city import ARRIVE, DEPART, LEFT, RIGHT, U_TURN, City, NoRouteError, Route, RouteStep
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


def dead_end_approaches(city: City) -> list[tuple[str, str]]:
    """Roads (from, to) into a dead end: `to` allows a u-turn and its only way out is back."""
    return [
        (frm, to)
        for frm, to in sorted(city.edges)
        if city.node(to).allow_u_turn and {e.to_node for e in city.out_edges(to)} == {frm}
    ]


def departure_route(
    city: City, rng: np.random.Generator, roads: list[tuple[str, str]] | None = None
) -> Route:
    """A route along a random road (of `roads`, default all) into a node, then on from that
    node by a turn the road allows, to a random destination.

    It is how a car drives after arriving somewhere: it stands on the road it came by and
    leaves by whatever turn the next trip needs, often one no shortest route between two
    nodes ever takes (turning round in a dead end, a sharp turn off a roundabout's arm).
    The lane model learns those turns from these drives.
    """
    roads = sorted(city.edges) if roads is None else roads
    if not roads:
        raise ValueError("roads: none to start from")
    for _ in range(_ATTEMPTS):
        frm, node = roads[int(rng.integers(len(roads)))]
        goals = [n for n in city.nodes if n not in (frm, node)]
        onward = _onward(city, frm, node, goals, rng, attempts=1)
        if onward is None:
            continue
        first = RouteStep(frm, city.node(frm).sign, DEPART)
        length = city.edge(frm, node).lane_length_m + onward.length_m
        return Route(steps=(first, *onward.steps), length_m=length)
    raise NoRouteError(roads[0][1], "any destination")


Manoeuvre = tuple[str, str, str, str]  # (came from, node, going to, turn)


def manoeuvres(city: City) -> list[Manoeuvre]:
    """Every manoeuvre a route may use (`City.turns_at`) as (from, node, to, turn), sorted."""
    return [
        (frm, node, to, turn)
        for node in sorted(city.nodes)
        for (frm, to), turn in sorted(city.turns_at(node).items())
    ]


def manoeuvre_route(
    city: City,
    came_from: str,
    node: str,
    to: str,
    turn: str,
    rng: np.random.Generator | None = None,
) -> Route:
    """The route "road came_from→node, `turn` at node, road node→to".

    With `rng` the route goes on from `to` to a random destination (by the turns the road
    node→to allows), so a drive does not end right after its manoeuvre.
    """
    first = RouteStep(came_from, city.node(came_from).sign, DEPART)
    middle = RouteStep(node, city.node(node).sign, turn)
    length = city.edge(came_from, node).lane_length_m + city.edge(node, to).lane_length_m
    if rng is not None:
        goals = [n for n in sorted(city.nodes) if n not in (node, to)]
        onward = _onward(city, node, to, goals, rng, attempts=_ATTEMPTS)
        if onward is not None:
            return Route(steps=(first, middle, *onward.steps), length_m=length + onward.length_m)
    last = RouteStep(to, city.node(to).sign, ARRIVE)
    return Route(steps=(first, middle, last), length_m=length)


def manoeuvre_bend(
    city: City, manoeuvre: Manoeuvre, *, before_m: float = 1.0, after_m: float = 0.5
) -> float:
    """How much a manoeuvre turns the car: the integral of |curvature| (radians) along its
    path from `before_m` ahead of the junction to `after_m` past it.

    A right turn at the end of a right-hand curve (onto a roundabout from its arm) turns
    twice as far as a plain right turn in a grid, within the same metre or two.
    """
    path = RoutePath.from_route(city, manoeuvre_route(city, *manoeuvre))
    node = path.nodes[1]
    lo, hi = np.searchsorted(path.s, [node.entry_s - before_m, node.exit_s + after_m])
    s = path.s[lo : hi + 1]
    k = np.abs(path.curvatures[lo : hi + 1])
    return float(np.sum(0.5 * (k[1:] + k[:-1]) * np.diff(s))) if len(s) > 1 else 0.0


def manoeuvre_weights(
    city: City, max_pairs: int = 2000, *, bend_weight: float
) -> dict[Manoeuvre, float]:
    """How often to drive each manoeuvre so the rare and the sharp ones are not rare in data.

    Each manoeuvre weighs (1 + bend_weight * its bend in radians, `manoeuvre_bend`) /
    (1 + the number of shortest routes between two nodes that take it), normalised to sum
    1: a trip's route is a shortest route, but a car that arrives somewhere leaves by
    whatever turn its next trip needs, and the lane model must know those turns too; the
    sharper a manoeuvre, the more its few frames must teach (the steering saturates).
    Above `max_pairs` node pairs a fixed sample of them counts.
    """
    if bend_weight < 0:
        raise ValueError(f"bend_weight: must not be negative, got {bend_weight}")
    ids = sorted(city.nodes)
    pairs = [(a, b) for a in ids for b in ids if a != b]
    if len(pairs) > max_pairs:
        picked = np.random.default_rng(0).choice(len(pairs), size=max_pairs, replace=False)
        pairs = [pairs[int(i)] for i in sorted(picked)]
    uses: dict[tuple[str, str, str], int] = {}
    for a, b in pairs:
        try:
            nodes = city.route(a, b).nodes
        except NoRouteError:
            continue
        for triple in zip(nodes, nodes[1:], nodes[2:], strict=False):
            uses[triple] = uses.get(triple, 0) + 1
    raw = {
        m: (1.0 + (bend_weight * manoeuvre_bend(city, m) if bend_weight else 0.0))
        / (1 + uses.get(m[:3], 0))
        for m in manoeuvres(city)
    }
    total = sum(raw.values())
    return {m: w / total for m, w in raw.items()}


def start_pose(
    city: City,
    path: RoutePath,
    rng: np.random.Generator | None = None,
    *,
    max_lateral_m: float = 0.0,
    max_heading_rad: float = 0.0,
    s: float = 0.0,
) -> Pose:
    """The pose at `s` along `path` (its start by default), shifted and turned uniformly at
    random within limits."""
    if max_lateral_m < 0 or max_heading_rad < 0:
        raise ValueError("max_lateral_m and max_heading_rad: must not be negative")
    if max_lateral_m > city.lane_width_m:
        raise ValueError("max_lateral_m: must not exceed the city's lane width")
    if rng is None or (max_lateral_m == 0 and max_heading_rad == 0):
        return path.pose_at(s)
    lateral = float(rng.uniform(-max_lateral_m, max_lateral_m))
    heading = float(rng.uniform(-max_heading_rad, max_heading_rad))
    return path.pose_at(s, lateral_m=lateral, heading_offset=heading)


def _onward(
    city: City,
    came_from: str,
    node: str,
    goals: list[str],
    rng: np.random.Generator,
    attempts: int,
) -> Route | None:
    """A shortest route from `node` to one of `goals` drawn at random, leaving by a turn the
    road came_from→node allows; None when `attempts` draws find none."""
    for _ in range(attempts if goals else 0):
        goal = goals[int(rng.integers(len(goals)))]
        try:
            return city.route(node, goal, arrived_from=came_from)
        except NoRouteError:
            continue
    return None


def _turn_count(route: Route) -> int:
    return sum(step.turn in (LEFT, RIGHT, U_TURN) for step in route.steps)
