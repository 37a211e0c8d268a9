"""How well cars drive, measured from the world's ground truth every tick.

The world knows every car's true pose; a car knows none of this. Per tick and car:

- **cross-track error**: the signed distance from the car's axle centre to the nearest
  lane centreline running its way (heading within 60°), outside junctions;
- **off-lane event**: a wheel leaves its lane (|cte| + half the wheel track + half a
  tyre > half the lane width), counted once per excursion;
- **collision**: two cars' body footprints overlap, counted once per contact;
- **intersection conflict**: two cars inside one node's junction zone at the same
  time, counted once per overlap — what node reservations exist to prevent;
- distance driven (km), from the poses.

Junction zones are discs of `zone_radius_m` (default 1.2 lane widths) around every node;
lane metrics are not taken inside them because turning paths leave every lane there.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from city import CarGeometry, City
from sim.pose import Pose

TYRE_WIDTH_M = 0.02
_SAME_WAY_COS = math.cos(math.radians(60.0))

log = logging.getLogger(__name__)


@dataclass
class CarTally:
    """One car's running totals."""

    distance_m: float = 0.0
    off_lane_events: int = 0
    collisions: int = 0
    cte_samples: list[float] = field(default_factory=list)
    off_lane: bool = False
    last: Pose | None = None
    zone: str | None = None
    visits: list[tuple[int, str]] = field(default_factory=list)  # (tick, node) zone entries


@dataclass(frozen=True)
class DriveSummary:
    """What `DriveMetrics.summary` reports (also the world's `/metrics` answer)."""

    ticks: int
    sim_time_s: float
    km_driven: float
    off_lane_events: int
    collisions: int
    intersection_conflicts: int
    mean_abs_cte_m: float | None
    p95_abs_cte_m: float | None
    per_car: dict[str, dict[str, Any]]

    def as_dict(self) -> dict:
        return {
            "ticks": self.ticks,
            "sim_time_s": round(self.sim_time_s, 3),
            "km_driven": round(self.km_driven, 5),
            "off_lane_events": self.off_lane_events,
            "collisions": self.collisions,
            "intersection_conflicts": self.intersection_conflicts,
            "mean_abs_cte_m": _round(self.mean_abs_cte_m),
            "p95_abs_cte_m": _round(self.p95_abs_cte_m),
            "per_car": self.per_car,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class DriveMetrics:
    """Ground-truth scoring of every car in a world, fed one `update` per tick."""

    def __init__(
        self,
        city: City,
        *,
        geometry: CarGeometry | None = None,
        zone_radius_m: float | None = None,
    ) -> None:
        self.city = city
        self.geometry = geometry or CarGeometry()
        self.zone_radius_m = zone_radius_m or 1.2 * city.lane_width_m
        points, directions, owners = [], [], []
        self._edge_names = [edge.key_str for edge in city.edges.values()]
        for k, edge in enumerate(city.edges.values()):
            poly = edge.lane_polyline(0.02)
            d = np.diff(poly, axis=0)
            d = np.vstack([d, d[-1:]])
            d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
            points.append(poly)
            directions.append(d)
            owners.append(np.full(len(poly), k, np.int32))
        self._points = np.vstack(points)
        self._owner = np.concatenate(owners)  # the edge each lane point belongs to
        self._dirs = np.vstack(directions)
        self._nodes = np.array([n.position for n in city.nodes.values()])
        self._node_ids = list(city.nodes)
        self._max_cte = city.lane_width_m / 2 - self.geometry.wheel_base_m / 2 - TYRE_WIDTH_M / 2
        half_l, half_w = self.geometry.length_m / 2, self.geometry.width_m / 2
        self._corners = np.array(
            [[half_l, half_w], [half_l, -half_w], [-half_l, -half_w], [-half_l, half_w]]
        )
        self._tallies: dict[str, CarTally] = {}
        self._touching: set[tuple[str, str]] = set()
        self._sharing: set[tuple[str, str, str]] = set()
        self.collisions = 0
        self.conflicts = 0
        self.ticks = 0
        self.sim_time_s = 0.0

    def tally(self, car_id: str) -> CarTally:
        return self._tallies.setdefault(car_id, CarTally())

    def cross_track(self, pose: Pose) -> float | None:
        """Signed distance (m, + = left of the lane's direction) to the nearest same-way lane."""
        found = self._nearest_lane(pose)
        return None if found is None else found[0]

    def _nearest_lane(self, pose: Pose) -> tuple[float, str] | None:
        """The cross-track distance and the edge of the nearest same-way lane."""
        fwd = np.array([math.cos(pose.heading), math.sin(pose.heading)])
        same_way = self._dirs @ fwd >= _SAME_WAY_COS
        if not same_way.any():
            return None
        pts = self._points[same_way]
        dirs = self._dirs[same_way]
        delta = np.array([pose.x, pose.y]) - pts
        k = int(np.argmin(np.einsum("ij,ij->i", delta, delta)))
        d = dirs[k]
        edge = self._edge_names[int(self._owner[same_way][k])]
        return float(d[0] * delta[k, 1] - d[1] * delta[k, 0]), edge

    def zone_of(self, pose: Pose) -> str | None:
        """The node whose junction zone holds the car's axle centre, if any."""
        dist = np.hypot(self._nodes[:, 0] - pose.x, self._nodes[:, 1] - pose.y)
        k = int(np.argmin(dist))
        return self._node_ids[k] if dist[k] <= self.zone_radius_m else None

    def footprint(self, pose: Pose) -> np.ndarray:
        c, s = math.cos(pose.heading), math.sin(pose.heading)
        rot = np.array([[c, -s], [s, c]])
        return self._corners @ rot.T + np.array([pose.x, pose.y])

    def update(self, poses: dict[str, Pose], dt: float) -> None:
        """Score one tick: every car's pose after the world stepped `dt` seconds."""
        self.ticks += 1
        self.sim_time_s += dt
        zones: dict[str, str | None] = {}
        for car_id, pose in poses.items():
            t = self.tally(car_id)
            if t.last is not None:
                t.distance_m += math.hypot(pose.x - t.last.x, pose.y - t.last.y)
            t.last = pose
            zone = self.zone_of(pose)
            zones[car_id] = zone
            if zone is not None and zone != t.zone:
                t.visits.append((self.ticks, zone))
            t.zone = zone
            if zone is not None:
                t.off_lane = False
                continue
            found = self._nearest_lane(pose)
            if found is None:
                continue
            cte, edge = found
            t.cte_samples.append(abs(cte))
            outside = abs(cte) > self._max_cte
            if outside and not t.off_lane:
                t.off_lane_events += 1
                # where and how: what tells a lane-keeping fault from a wrong turn
                log.warning(
                    "drive: tick %d: %s off its lane on %s at (%.2f, %.2f) heading %.0f deg, "
                    "%.3f m %s of the lane centre",
                    self.ticks, car_id, edge, pose.x, pose.y, math.degrees(pose.heading),
                    abs(cte), "left" if cte > 0 else "right",
                )  # fmt: skip
            t.off_lane = outside
        touching: set[tuple[str, str]] = set()
        sharing: set[tuple[str, str, str]] = set()
        for a, b in combinations(sorted(poses), 2):
            pa, pb = poses[a], poses[b]
            if math.hypot(pa.x - pb.x, pa.y - pb.y) < self.geometry.length_m + 0.01 and (
                _overlap(self.footprint(pa), self.footprint(pb))
            ):
                touching.add((a, b))
            if zones[a] is not None and zones[a] == zones[b]:
                sharing.add((zones[a], a, b))
        for pair in touching - self._touching:
            self.collisions += 1
            for car_id in pair:
                self.tally(car_id).collisions += 1
            log.warning("drive: tick %d: collision of %s and %s", self.ticks, *pair)
        for zone, a, b in sharing - self._sharing:
            log.warning("drive: tick %d: %s and %s both in junction %s", self.ticks, a, b, zone)
        self.conflicts += len(sharing - self._sharing)
        self._touching, self._sharing = touching, sharing

    def summary(self) -> DriveSummary:
        samples = [v for t in self._tallies.values() for v in t.cte_samples]
        arr = np.asarray(samples) if samples else None
        return DriveSummary(
            ticks=self.ticks,
            sim_time_s=self.sim_time_s,
            km_driven=sum(t.distance_m for t in self._tallies.values()) / 1000.0,
            off_lane_events=sum(t.off_lane_events for t in self._tallies.values()),
            collisions=self.collisions,
            intersection_conflicts=self.conflicts,
            mean_abs_cte_m=None if arr is None else float(arr.mean()),
            p95_abs_cte_m=None if arr is None else float(np.percentile(arr, 95)),
            per_car={
                car_id: {
                    "distance_m": round(t.distance_m, 3),
                    "off_lane_events": t.off_lane_events,
                    "collisions": t.collisions,
                    "visits": [[tick, node] for tick, node in t.visits],
                }
                for car_id, t in sorted(self._tallies.items())
            },
        )


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex quadrilaterals overlap (separating axis test)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True
