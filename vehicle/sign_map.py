"""Whether a sign the car sees could be where odometry and the map say the car can be.

A sign read wrongly looks to the tracker like a wrong turn: the car stops and asks for a
route from the node that carries the sign it read, and drives on believing it is there.
A car that left node N and drove d metres can only be on a road whose start is at most
d (plus a margin) from N along the lanes and whose end is at least d (minus the margin,
and minus what a departure manoeuvre adds to d) from it; the sign it sees ahead marks
that road's end. A sign that no such road ends at is a misread, not a wrong turn.
"""

from __future__ import annotations

import heapq
import math

from city import City


class SignMap:
    """`could_see` queries on a city's map (read only)."""

    def __init__(self, city: City) -> None:
        self._city = city

    @property
    def lane_width_m(self) -> float:
        return self._city.lane_width_m

    def could_see(self, sign: str, *, from_node: str, nearest_m: float, farthest_m: float) -> bool:
        """Whether some road into a node marked `sign` holds a point between `nearest_m`
        and `farthest_m` along the lanes from `from_node` (the car's odometry since it
        left the node, with its error). An unknown node: True (nothing to check)."""
        nodes = self._city.nodes
        if from_node not in nodes:
            return True
        dist = {from_node: 0.0}
        heap = [(0.0, from_node)]
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist.get(node, math.inf):
                continue
            for edge in self._city.out_edges(node):
                to, end = edge.to_node, d + edge.lane_length_m
                if nodes[to].sign == sign and end >= nearest_m:
                    return True
                if end <= farthest_m and end < dist.get(to, math.inf):
                    dist[to] = end
                    heapq.heappush(heap, (end, to))
        return False
