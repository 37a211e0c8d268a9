"""Making way: idle cars parked on a trip's path are sent one place further.

A car that arrives stops in its lane, just before its destination's junction, and
stays there until it is booked again — as on the real table, where there is no parking
bay. A trip whose route runs along that lane would stop behind it for ever. So when a
trip is booked (or rerouted), every idle car standing on one of the route's roads gets a
*relocation*: a booking of its own, with no station, to the nearest node where it stands
out of the way — its last road not on the trip's route, not where another car is parked,
and not where an open booking will end. openTCS does the same with parking orders for
idle vehicles.

Pure planning here; `Fleet` claims the cars and stores the bookings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from city import City, CityError, Route

MAX_CANDIDATES = 40  # nearest nodes (straight line) tried as parking places


@dataclass(frozen=True)
class ParkedCar:
    car_id: str
    node: str
    from_node: str | None

    @property
    def road(self) -> tuple[str, str] | None:
        return (self.from_node, self.node) if self.from_node else None


def route_roads(nodes: Sequence[str]) -> set[tuple[str, str]]:
    """The roads (edges) a route drives along."""
    return set(pairwise(nodes))


def in_the_way(route_nodes: Sequence[str], parked: Iterable[ParkedCar]) -> list[ParkedCar]:
    """The parked cars standing on one of the route's roads (ahead of its start)."""
    roads = route_roads(route_nodes)
    return [car for car in parked if car.road is not None and car.road in roads]


def parking_route(city: City, car: ParkedCar, avoid: set[tuple[str, str]]) -> Route | None:
    """The shortest route for `car` to a node whose last road is not in `avoid`."""
    here = city.node(car.node)
    others = sorted(
        (n for n in city.nodes.values() if n.id != car.node),
        key=lambda n: math.hypot(n.x - here.x, n.y - here.y),
    )[:MAX_CANDIDATES]
    best: Route | None = None
    for node in others:
        try:
            route = city.route(car.node, node.id, arrived_from=car.from_node)
        except CityError:
            continue
        nodes = route.nodes
        if len(nodes) < 2 or (nodes[-2], nodes[-1]) in avoid:
            continue
        if best is None or route.length_m < best.length_m:
            best = route
    return best
