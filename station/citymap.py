"""The city map as the screens draw it (SVG paths), and a trip's progress along its route.

The station knows the city only through the fleet server's city document, so it reads
the file format itself (docs/city-format.md): lines and arcs become SVG path commands,
with y flipped (the file's y points north, SVG's down) and metres scaled by `SCALE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SCALE = 100.0  # SVG units per metre
PADDING = 0.8  # metres around the outermost node

TURNS = ("depart", "left", "straight", "right", "u-turn", "arrive")


@dataclass(frozen=True)
class MapEdge:
    source: str
    target: str
    d: str
    length_m: float


class CityMap:
    """Nodes, edge paths and lengths of one city document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.name = str(document.get("name", ""))
        self.nodes = {
            n["id"]: {
                "id": n["id"],
                "name": n.get("name") or n["id"],
                "sign": n["sign"],
                "position": (float(n["position"][0]), float(n["position"][1])),
            }
            for n in document["nodes"]
        }
        xs = [p["position"][0] for p in self.nodes.values()]
        ys = [p["position"][1] for p in self.nodes.values()]
        self._min_x, self._max_y = min(xs) - PADDING, max(ys) + PADDING
        self._width = max(xs) - min(xs) + 2 * PADDING
        self._height = max(ys) - min(ys) + 2 * PADDING
        self.edges = {(e["from"], e["to"]): self._edge(e) for e in document["edges"]}

    def svg_point(self, x: float, y: float) -> tuple[float, float]:
        return round((x - self._min_x) * SCALE, 1), round((self._max_y - y) * SCALE, 1)

    def _edge(self, edge: dict[str, Any]) -> MapEdge:
        x, y = self.nodes[edge["from"]]["position"]
        sx, sy = self.svg_point(x, y)
        parts = [f"M{sx} {sy}"]
        length = 0.0
        segments = edge.get("geometry") or [
            {"type": "line", "end": list(self.nodes[edge["to"]]["position"])}
        ]
        for seg in segments:
            if seg["type"] == "line":
                ex, ey = float(seg["end"][0]), float(seg["end"][1])
                length += math.hypot(ex - x, ey - y)
                px, py = self.svg_point(ex, ey)
                parts.append(f"L{px} {py}")
            else:  # arc about `center` by `sweep_deg` (counter-clockwise positive)
                cx, cy = float(seg["center"][0]), float(seg["center"][1])
                sweep = math.radians(float(seg["sweep_deg"]))
                radius = math.hypot(x - cx, y - cy)
                start = math.atan2(y - cy, x - cx)
                ex, ey = (
                    cx + radius * math.cos(start + sweep),
                    cy + radius * math.sin(start + sweep),
                )
                length += radius * abs(sweep)
                px, py = self.svg_point(ex, ey)
                r = round(radius * SCALE, 1)
                large = 1 if abs(sweep) > math.pi else 0
                # With y flipped, the file's counter-clockwise is SVG's clockwise (flag 1).
                flag = 1 if sweep > 0 else 0
                parts.append(f"A{r} {r} 0 {large} {flag} {px} {py}")
            x, y = ex, ey
        return MapEdge(edge["from"], edge["to"], " ".join(parts), round(length, 3))

    def place(self, node_id: str) -> dict[str, Any]:
        node = self.nodes.get(node_id)
        if node is None:
            return {"id": node_id, "name": node_id, "sign": None}
        return {"id": node_id, "name": node["name"], "sign": node["sign"]}

    def to_json(self) -> dict[str, Any]:
        """What the screens draw: the view box, the nodes and the road paths."""
        return {
            "name": self.name,
            "view_box": [0, 0, round(self._width * SCALE, 1), round(self._height * SCALE, 1)],
            "nodes": [
                {**self.place(n), "x": p[0], "y": p[1]}
                for n, p in (
                    (node_id, self.svg_point(*node["position"]))
                    for node_id, node in sorted(self.nodes.items())
                )
            ],
            "edges": [
                {"from": e.source, "to": e.target, "d": e.d, "length_m": e.length_m}
                for e in self.edges.values()
            ],
        }

    def places(self) -> list[dict[str, Any]]:
        """Every node a visitor can choose, by name."""
        return sorted(
            (self.place(node_id) for node_id in self.nodes), key=lambda p: (p["name"], p["id"])
        )

    def route_lengths(self, steps: list[dict[str, Any]]) -> list[float]:
        """Length of each leg of a route (leg i runs from step i to step i+1)."""
        legs = []
        for a, b in zip(steps, steps[1:], strict=False):
            edge = self.edges.get((a["node"], b["node"]))
            legs.append(edge.length_m if edge else 0.0)
        return legs


@dataclass
class TripClock:
    """What the station saw of a trip: when each node pass first showed up (monotonic s)."""

    started: float
    seen_passes: list[float]
    driving_since: float | None = None


def trip_view(
    booking: dict[str, Any],
    city: CityMap,
    *,
    car_name: str | None,
    clock: TripClock,
    now: float,
    nominal_speed_mps: float,
) -> dict[str, Any]:
    """The station's view of its booking: places by name, progress, next turn and ETA.

    The ETA divides the length still to drive by the car's measured pace on this trip
    (metres covered between node passes the station saw), or by `nominal_speed_mps`
    until two passes have been seen.
    """
    steps = booking["route"]["steps"]
    legs = city.route_lengths(steps)
    passed = booking.get("passed") or []
    status = booking["status"]
    if status in ("driving", "arrived") and clock.driving_since is None:
        clock.driving_since = now
    while len(clock.seen_passes) < len(passed):
        clock.seen_passes.append(now)
    # Index of the step the car was last at: the start, or the last node it reported.
    at = 0
    nodes = [s["node"] for s in steps]
    for node in passed:
        if node in nodes[at:]:
            at = nodes.index(node, at)
    if status == "arrived":
        at = len(steps) - 1
    remaining = sum(legs[at:])
    speed = nominal_speed_mps
    if len(clock.seen_passes) >= 2 and clock.seen_passes[-1] > clock.seen_passes[0]:
        covered = sum(legs[:at]) - sum(legs[: _first_passed_index(nodes, passed)])
        elapsed = clock.seen_passes[-1] - clock.seen_passes[0]
        if covered > 0:
            speed = covered / elapsed
    since_node = now - (
        clock.seen_passes[-1] if clock.seen_passes else (clock.driving_since or now)
    )
    if status in ("driving", "assigned"):
        leg = legs[at] if at < len(legs) else 0.0
        along = min(since_node * speed, leg) if status == "driving" else 0.0
        eta_s: float | None = max(remaining - along, 0.0) / speed
    else:
        eta_s, along = None, 0.0
    next_step = steps[at + 1] if at + 1 < len(steps) and status in ("assigned", "driving") else None
    return {
        "id": booking["id"],
        "status": status,
        "reason": booking.get("reason"),
        "car": {"id": booking["car"], "name": car_name or booking["car"]},
        "destination": city.place(booking["destination"]),
        "route": [
            {**city.place(s["node"]), "turn": s["turn"], "passed": i <= at and status != "assigned"}
            for i, s in enumerate(steps)
        ],
        "at": at,
        "next": {**city.place(next_step["node"]), "turn": next_step["turn"]} if next_step else None,
        "length_m": round(sum(legs), 3),
        "remaining_m": round(max(remaining - along, 0.0), 3),
        "speed_mps": round(speed, 3),
        "since_node_s": round(max(since_node, 0.0), 2),
        "eta_s": None if eta_s is None else round(eta_s, 1),
        "stream": bool(booking.get("stream_url") and booking.get("stream_token"))
        and status in ("assigned", "driving"),
    }


def _first_passed_index(nodes: list[str], passed: list[str]) -> int:
    return nodes.index(passed[0]) if passed and passed[0] in nodes else 0
