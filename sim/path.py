"""The drivable path of a route: lane centrelines joined through each node.

At a node where the car turns, the incoming and outgoing lanes do not meet (each lies
to the driving side of its own road), so both are trimmed a little and joined by a
tangent-continuous connector: a cubic Bezier for ordinary turns (a right turn stays
tight, a left turn wide, as on real roads) and a "light bulb" of three arcs for a
u-turn, whose lanes lie closer together than the car's tightest circle. Every
connector keeps its curvature within `max_curvature_per_m`, so the car can drive it.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import pairwise

import numpy as np

from city import ARRIVE, DEPART, LEFT, RIGHT, STRAIGHT, U_TURN, City, Route, classify_turn
from city.geometry import Arc, ChainSampler, Segment
from city.kinematics import CarGeometry
from city.model import Edge
from sim.pose import Pose, wrap_angle

logger = logging.getLogger(__name__)

STEP_M = 0.01  # spacing of the path's points
DESIGN_CURVATURE_FRACTION = 0.8  # connectors stay this far inside the car's tightest turn
_JOIN_GAP_M = 1e-3  # lanes closer than this (and aligned) join without a connector
_JOIN_ANGLE_RAD = math.radians(1.0)
_TRIM_FACTORS = (1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0)
_HANDLES = np.linspace(0.1, 1.2, 23)  # Bezier handle lengths, as fractions of the chord
_BEZIER_T = np.linspace(0.0, 1.0, 65)
_U_TURN_TAILS_M = (0.1, 0.2, 0.3, 0.45, 0.6)  # joins from a u-turn bulb's end into the lane
# Built paths by (city id, route steps, options): episodes and traffic drive the same
# routes again and again, and a path costs tens of ms to build. Values keep their city,
# so a recycled id never returns another city's path.
_PATH_CACHE_SIZE = 256
_PATHS: OrderedDict[tuple, tuple[City, RoutePath]] = OrderedDict()


@dataclass(frozen=True)
class PathNode:
    """Where a path passes a route node: `s` of the closest point, and the turn taken.

    `entry_s` and `exit_s` bound the junction connector through the node (both equal
    `s` where the lanes join directly and at the path's ends).
    """

    node: str
    s: float
    turn: str
    entry_s: float = math.nan
    exit_s: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.entry_s):
            object.__setattr__(self, "entry_s", self.s)
        if math.isnan(self.exit_s):
            object.__setattr__(self, "exit_s", self.s)


@dataclass(frozen=True, eq=False)
class RoutePath:
    """A route's path as points about `STEP_M` apart, with arc length, heading and curvature."""

    points: np.ndarray  # (N, 2)
    s: np.ndarray  # (N,) arc length from the start
    headings: np.ndarray  # (N,) radians in (-pi, pi]
    curvatures: np.ndarray  # (N,) 1/m, positive to the left
    nodes: tuple[PathNode, ...]
    length: float = field(init=False)
    drive_side: str = "right"

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError("points: a path needs at least two points")
        object.__setattr__(self, "length", float(self.s[-1]))

    @classmethod
    def from_route(
        cls,
        city: City,
        route: Route,
        *,
        junction_trim_m: float | None = None,
        max_curvature_per_m: float | None = None,
    ) -> RoutePath:
        """The path along `route`'s lanes.

        `junction_trim_m` is how far each lane is first trimmed before/after a node
        where a connector is needed (default: the lane width); it grows where the turn
        would otherwise be too tight for `max_curvature_per_m` (default: 80 % of the
        car's tightest curvature).
        """
        if len(route.steps) < 2:
            raise ValueError("route: needs at least two nodes to have a path")
        key = (id(city), route.steps, junction_trim_m, max_curvature_per_m)
        cached = _PATHS.get(key)
        if cached is not None and cached[0] is city:
            _PATHS.move_to_end(key)
            return cached[1]
        path = cls._build(city, route, junction_trim_m, max_curvature_per_m)
        for array in (path.points, path.s, path.headings, path.curvatures):
            array.flags.writeable = False  # shared by every caller of this route
        _PATHS[key] = (city, path)
        if len(_PATHS) > _PATH_CACHE_SIZE:
            _PATHS.popitem(last=False)
        return path

    @classmethod
    def _build(
        cls,
        city: City,
        route: Route,
        junction_trim_m: float | None,
        max_curvature_per_m: float | None,
    ) -> RoutePath:
        trim = city.lane_width_m if junction_trim_m is None else junction_trim_m
        if trim <= 0:
            raise ValueError("junction_trim_m: must be positive")
        limit = max_curvature_per_m or DESIGN_CURVATURE_FRACTION * CarGeometry().max_curvature_per_m
        edges = [city.edge(a, b) for a, b in pairwise(route.nodes)]
        junctions = [
            _junction(e_in, e_out, trim, limit, city.node(e_in.to_node).position)
            for e_in, e_out in pairwise(edges)
        ]
        builder = _Builder()
        for i, edge in enumerate(edges):
            start = junctions[i - 1].trim_out if i > 0 else 0.0
            end = edge.lane_length_m - (junctions[i].trim_in if i < len(junctions) else 0.0)
            builder.add_samples(_sample_edge(edge, start, end))
            if i < len(junctions):
                builder.mark()
                builder.add_samples(junctions[i].samples)
                builder.mark()
        points, s, headings, curvatures = builder.arrays()
        marks = builder.marks
        nodes = [PathNode(route.steps[0].node, 0.0, DEPART)]
        for k, step in enumerate(route.steps[1:-1]):
            entry, exit_ = s[marks[2 * k]], s[marks[2 * k + 1]]
            lo, hi = marks[2 * k], marks[2 * k + 1] + 1
            node_xy = np.asarray(city.node(step.node).position)
            closest = lo + int(np.argmin(np.hypot(*(points[lo:hi] - node_xy).T)))
            nodes.append(
                PathNode(step.node, float(s[closest]), step.turn, float(entry), float(exit_))
            )
        nodes.append(PathNode(route.steps[-1].node, float(s[-1]), ARRIVE))
        return cls(
            points=points,
            s=s,
            headings=headings,
            curvatures=curvatures,
            nodes=tuple(nodes),
            drive_side=city.drive_side,
        )

    def point_at(self, s: float) -> tuple[float, float, float]:
        """(x, y, heading) at arc length `s`, clamped to [0, length]."""
        s = min(max(s, 0.0), self.length)
        i, t = self._segment(s)
        xs, ys, hs = self._lists
        x = xs[i] + t * (xs[i + 1] - xs[i])
        y = ys[i] + t * (ys[i + 1] - ys[i])
        return x, y, wrap_angle(hs[i] + t * (hs[i + 1] - hs[i]))

    def _segment(self, s: float) -> tuple[int, float]:
        """(i, t): `s` lies at fraction t of the way from point i to point i + 1."""
        arc = self._s_list
        i = min(max(bisect_right(arc, s) - 1, 0), len(arc) - 2)
        span = arc[i + 1] - arc[i]
        t = min(1.0, max(0.0, (s - arc[i]) / span)) if span > 0 else 0.0
        return i, t

    @cached_property
    def _s_list(self) -> list[float]:
        return self.s.tolist()

    @cached_property
    def _lists(self) -> tuple[list[float], list[float], list[float]]:
        """x, y and unwrapped heading of the points as lists (scalar look-ups per frame)."""
        return self.points[:, 0].tolist(), self.points[:, 1].tolist(), self._unwrapped.tolist()

    def curvature_at(self, s: float) -> float:
        return float(np.interp(s, self.s, self.curvatures))

    def max_curvature(self, s_from: float, s_to: float) -> float:
        """The largest |curvature| between two arc lengths."""
        lo, hi = np.searchsorted(self.s, [s_from, s_to])
        window = self.curvatures[max(0, lo - 1) : min(len(self.s), hi + 1)]
        return float(np.max(np.abs(window)))

    def pose_at(self, s: float, *, lateral_m: float = 0.0, heading_offset: float = 0.0) -> Pose:
        """The pose on the path at `s`, shifted `lateral_m` to the left and turned."""
        x, y, heading = self.point_at(s)
        return Pose(
            x - lateral_m * math.sin(heading),
            y + lateral_m * math.cos(heading),
            wrap_angle(heading + heading_offset),
        )

    def project(
        self, x: float, y: float, *, hint_s: float | None = None, window_m: float = 0.5
    ) -> tuple[float, float, float]:
        """(s, cross-track error, path heading) of the closest point to (x, y).

        The cross-track error is positive when the point is left of the path. With
        `hint_s` the closest point is searched from the hint outwards, and only within
        `window_m` either side of it, so a path that passes near itself (a loop, a
        u-turn) cannot snap to its other pass.
        """
        if hint_s is None:
            i, tk = self._closest_segment(x, y, 0, len(self.s) - 1)
        else:
            arc = self._s_list
            lo, hi = bisect_left(arc, hint_s - window_m), bisect_left(arc, hint_s + window_m)
            lo, hi = max(0, lo - 1), min(len(arc) - 1, hi)
            if hi <= lo:
                lo, hi = max(0, min(lo, len(self.s) - 2)), max(1, min(hi, len(self.s) - 1))
                lo = min(lo, hi - 1)
            i, tk = self._descend(x, y, lo, hi, hint_s)
        arc = self._s_list
        s = arc[i] + tk * (arc[i + 1] - arc[i])
        j, f = self._segment(s)
        hs = self._lists[2]
        heading = wrap_angle(hs[j] + f * (hs[j + 1] - hs[j]))
        xs, ys, _ = self._lists
        dx = x - (xs[i] + tk * (xs[i + 1] - xs[i]))
        dy = y - (ys[i] + tk * (ys[i + 1] - ys[i]))
        cross_track = -dx * math.sin(heading) + dy * math.cos(heading)
        return s, cross_track, heading

    def _closest_segment(self, x: float, y: float, lo: int, hi: int) -> tuple[int, float]:
        """(segment, fraction along it) of the closest point of segments lo..hi-1."""
        # Segment vectors and squared lengths are the path's own (made once); the rest are
        # plain ufunc calls (numpy's Python-level wrappers cost more than the arithmetic).
        ab_all, len2_all = self._segments
        ab = ab_all[lo:hi]
        ap = np.array((x, y)) - self.points[lo:hi]
        prod = ap * ab
        t = np.add(prod[:, 0], prod[:, 1])
        t /= len2_all[lo:hi]
        np.minimum(np.maximum(t, 0.0, out=t), 1.0, out=t)
        offset = ap - t[:, None] * ab
        offset *= offset
        k = int(np.add(offset[:, 0], offset[:, 1]).argmin())
        return lo + k, float(t[k])

    def _descend(self, x: float, y: float, lo: int, hi: int, hint_s: float) -> tuple[int, float]:
        """The nearest local minimum of the distance to (x, y), walking segment by segment
        from the one at `hint_s` and staying within segments lo..hi-1.

        A car moves a few mm per frame, so this takes a handful of scalar steps where a
        search of the whole window would take a dozen numpy calls; and it follows the
        pass of the path the hint is on even where another pass comes closer.
        """
        xs, ys, _ = self._lists
        len2 = self._len2_list
        arc = self._s_list

        def dist2(i: int) -> tuple[float, float]:
            ax, ay = xs[i], ys[i]
            bx, by = xs[i + 1] - ax, ys[i + 1] - ay
            px, py = x - ax, y - ay
            t = (px * bx + py * by) / len2[i]
            t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
            ex, ey = px - t * bx, py - t * by
            return ex * ex + ey * ey, t

        i = min(max(bisect_right(arc, hint_s) - 1, lo), hi - 1)
        best, t = dist2(i)
        moved = False
        while i + 1 < hi:
            d, tn = dist2(i + 1)
            if d >= best:
                break
            i, best, t, moved = i + 1, d, tn, True
        if not moved:
            while i - 1 >= lo:
                d, tn = dist2(i - 1)
                if d >= best:
                    break
                i, best, t = i - 1, d, tn
        return i, t

    def next_node(self, s: float) -> PathNode | None:
        """The first node strictly ahead of `s` (not the one just passed)."""
        return next((node for node in self.nodes if node.s > s + 1e-9), None)

    def command_at(self, s: float) -> str:
        """The high-level command at `s`: "left", "right" or "straight".

        It is the turn at the next node whose junction the car has not yet left, so
        the command holds through the whole turn. A u-turn counts as a turn across
        the traffic ("left" when driving on the right); arriving counts as "straight".
        """
        for node in self.nodes[1:]:
            if node.exit_s > s + 1e-9 or node is self.nodes[-1]:
                if node.turn == U_TURN:
                    return LEFT if self.drive_side == "right" else RIGHT
                return node.turn if node.turn in (LEFT, RIGHT) else STRAIGHT
        return STRAIGHT

    @cached_property
    def _segments(self) -> tuple[np.ndarray, np.ndarray]:
        """(segment vectors, squared lengths at least 1e-18) between successive points."""
        ab = self.points[1:] - self.points[:-1]
        len2 = ab[:, 0] * ab[:, 0] + ab[:, 1] * ab[:, 1]
        return ab, np.maximum(len2, 1e-18)

    @cached_property
    def _len2_list(self) -> list[float]:
        return self._segments[1].tolist()

    @cached_property
    def _unwrapped(self) -> np.ndarray:
        return np.unwrap(self.headings)


@dataclass(frozen=True)
class _Junction:
    trim_in: float
    trim_out: float
    samples: np.ndarray  # (M, 4): x, y, heading, curvature of the connector


class _Builder:
    """Concatenates sampled pieces, dropping the duplicate point where two meet."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._count = 0
        self.marks: list[int] = []

    def add_samples(self, samples: np.ndarray) -> None:
        if self._parts and len(samples):
            last = self._parts[-1][-1]
            if math.hypot(samples[0, 0] - last[0], samples[0, 1] - last[1]) < 1e-6:
                samples = samples[1:]
        if len(samples):
            self._parts.append(samples)
            self._count += len(samples)

    def mark(self) -> None:
        """Remember the index of the last point added so far."""
        self.marks.append(self._count - 1)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        data = np.concatenate(self._parts)
        points = data[:, :2].copy()
        steps = np.hypot(*np.diff(points, axis=0).T)
        s = np.concatenate([[0.0], np.cumsum(steps)])
        headings = np.array([wrap_angle(h) for h in data[:, 2]])
        return points, s, headings, data[:, 3].copy()


# Pieces of paths by their (hashable, frozen) edges: a city has a few dozen edges and
# turns, and routes share them, so a new route's path is mostly a concatenation of pieces
# already built (a junction's connector search costs several ms).
_PIECE_CACHE_SIZE = 1024


@lru_cache(maxsize=_PIECE_CACHE_SIZE)
def _sample_edge(edge: Edge, start: float, end: float) -> np.ndarray:
    n = max(1, math.ceil((end - start) / STEP_M))
    samples = np.array([edge.sample(s) for s in np.linspace(start, end, n + 1)])
    samples.flags.writeable = False
    return samples


@lru_cache(maxsize=_PIECE_CACHE_SIZE)
def _junction(
    e_in: Edge, e_out: Edge, trim: float, limit: float, node_xy: tuple[float, float]
) -> _Junction:
    junction = _build_junction(e_in, e_out, trim, limit, node_xy)
    junction.samples.flags.writeable = False
    return junction


def _build_junction(
    e_in: Edge, e_out: Edge, trim: float, limit: float, node_xy: tuple[float, float]
) -> _Junction:
    x0, y0, h0, _ = e_in.sample(e_in.lane_length_m)
    x1, y1, h1, _ = e_out.sample(0.0)
    if math.hypot(x1 - x0, y1 - y0) < _JOIN_GAP_M and abs(wrap_angle(h1 - h0)) < _JOIN_ANGLE_RAD:
        return _Junction(0.0, 0.0, np.empty((0, 4)))
    cap_in, cap_out = 0.45 * e_in.lane_length_m, 0.45 * e_out.lane_length_m
    if classify_turn(e_in, e_out) == U_TURN:
        return _u_turn(e_in, e_out, limit, cap_in, cap_out)
    best: tuple[float, float, float, np.ndarray] | None = None
    trims_in = [min(trim * f, cap_in) for f in _TRIM_FACTORS]
    trims_out = [min(trim * f, cap_out) for f in _TRIM_FACTORS]
    # Least trimming first (a wide left stays wide); more only where the turn is too tight.
    pairs = sorted(
        ((a, b) for a in trims_in for b in trims_out),
        key=lambda p: (p[0] + p[1], abs(p[0] - p[1])),
    )
    for d_in, d_out in dict.fromkeys(pairs):
        p0 = e_in.sample(e_in.lane_length_m - d_in)
        p1 = e_out.sample(d_out)
        peak, samples = _best_bezier(p0[:3], p1[:3])
        if best is None or peak < best[0]:
            best = (peak, d_in, d_out, samples)
        if peak <= limit:
            return _Junction(d_in, d_out, samples)
    assert best is not None
    logger.warning(
        "junction %s->%s->%s: tightest connector has curvature %.2f/m (limit %.2f/m)",
        e_in.from_node, e_in.to_node, e_out.to_node, best[0], limit,
    )  # fmt: skip
    return _Junction(best[1], best[2], best[3])


def _best_bezier(
    start: tuple[float, float, float], end: tuple[float, float, float]
) -> tuple[float, np.ndarray]:
    """The cubic Bezier from pose `start` to pose `end` whose peak |curvature| is least.

    Returns that peak and the connector sampled about `STEP_M` apart as (x, y, heading,
    curvature) rows.
    """
    p0, p3 = np.array(start[:2]), np.array(end[:2])
    t0 = np.array([math.cos(start[2]), math.sin(start[2])])
    t1 = np.array([math.cos(end[2]), math.sin(end[2])])
    chord = float(np.linalg.norm(p3 - p0))
    # With handles a (along t0) and b (back along t1) the derivatives are linear in a, b.
    t, u = _BEZIER_T, 1.0 - _BEZIER_T
    a = (_HANDLES * chord)[:, None, None, None]
    b = (_HANDLES * chord)[None, :, None, None]
    chord_vec = p3 - p0
    d1 = (
        (6 * u * t)[:, None] * chord_vec
        + a * ((3 * u**2 - 6 * u * t)[:, None] * t0)
        + b * ((3 * t**2 - 6 * u * t)[:, None] * t1)
    )
    d2 = (
        (6 * (u - t))[:, None] * chord_vec
        + a * ((6 * t - 12 * u)[:, None] * t0)
        + b * ((12 * t - 6 * u)[:, None] * t1)
    )
    peaks = np.max(np.abs(_curvature(d1, d2)), axis=-1)
    i, j = np.unravel_index(int(np.argmin(peaks)), peaks.shape)
    p1 = p0 + _HANDLES[i] * chord * t0
    p2 = p3 - _HANDLES[j] * chord * t1
    return float(peaks[i, j]), _sample_bezier(p0, p1, p2, p3)


def _bezier(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points and first and second derivatives at parameters `t`, each shape (T, 2)."""
    t = t[:, None]
    u = 1.0 - t
    point = u**3 * p0 + 3 * u**2 * t * p1 + 3 * u * t**2 * p2 + t**3 * p3
    d1 = 3 * u**2 * (p1 - p0) + 6 * u * t * (p2 - p1) + 3 * t**2 * (p3 - p2)
    d2 = 6 * u * (p2 - 2 * p1 + p0) + 6 * t * (p3 - 2 * p2 + p1)
    return point, d1, d2


def _curvature(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    speed = np.maximum(np.hypot(d1[..., 0], d1[..., 1]), 1e-12)
    return (d1[..., 0] * d2[..., 1] - d1[..., 1] * d2[..., 0]) / speed**3


def _sample_bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """The Bezier resampled evenly in arc length, rows (x, y, heading, curvature)."""
    t = np.linspace(0.0, 1.0, 1001)
    point, d1, d2 = _bezier(p0, p1, p2, p3, t)
    dense_s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(point, axis=0).T))])
    heading = np.unwrap(np.arctan2(d1[:, 1], d1[:, 0]))
    curvature = _curvature(d1, d2)
    n = max(1, math.ceil(dense_s[-1] / STEP_M))
    s = np.linspace(0.0, dense_s[-1], n + 1)
    columns = [np.interp(s, dense_s, v) for v in (point[:, 0], point[:, 1], heading, curvature)]
    return np.column_stack(columns)


def _u_turn(e_in: Edge, e_out: Edge, limit: float, cap_in: float, cap_out: float) -> _Junction:
    """A "light bulb": swing out, round a circle of the design radius, swing back in.

    Built in the frame of the incoming lane where the bulb starts; a Bezier tail then
    joins the bulb's end to the outgoing lane, absorbing lanes that are curved or not
    quite parallel there.
    """
    radius = 1.0 / limit
    origin, fwd, left = _frame(e_in.sample(e_in.lane_length_m))
    side, width = _opposite_lane(origin, left, e_out.sample(0.0))
    reach = width / 2 if width >= 2 * radius else _bulb_reach(width, radius)
    # Start the bulb so that it reaches half a lane beyond the node.
    d_in = min(max(reach - width / 2, 0.0), cap_in)
    origin, fwd, left = _frame(e_in.sample(e_in.lane_length_m - d_in))
    side, width = _opposite_lane(origin, left, e_out.sample(min(d_in, cap_out)))
    if width >= 2 * radius:
        plan = [((0.0, width / 2), 180.0)]
    else:
        c = _bulb_reach(width, radius) - radius
        beta = math.degrees(math.atan2(c, width / 2 + radius))
        plan = [
            ((0.0, -radius), -beta),
            ((c, width / 2), 180.0 + 2 * beta),
            ((0.0, width + radius), -beta),
        ]
    segments: list[Segment] = []
    current = (float(origin[0]), float(origin[1]))
    for (cu, cv), sweep in plan:
        centre = origin + cu * fwd + side * cv * left
        segments.append(Arc(current, (float(centre[0]), float(centre[1])), side * sweep))
        current = segments[-1].end
    sampler = ChainSampler(segments)
    n = max(1, math.ceil(sampler.length / STEP_M))
    bulb = np.array([sampler.pose(s) for s in np.linspace(0.0, sampler.length, n + 1)])
    bulb[:, 2] = np.unwrap(bulb[:, 2])
    best: tuple[float, float, np.ndarray] | None = None
    for tail_m in _U_TURN_TAILS_M:
        d_out = min(d_in + tail_m, cap_out)
        peak, tail = _best_bezier(tuple(bulb[-1, :3]), e_out.sample(d_out)[:3])
        if best is None or peak < best[0]:
            best = (peak, d_out, tail)
        if peak <= limit:
            break
    assert best is not None
    if best[0] > limit:
        logger.warning(
            "u-turn %s->%s->%s: curvature %.2f/m (limit %.2f/m)",
            e_in.from_node, e_in.to_node, e_out.to_node, best[0], limit,
        )  # fmt: skip
    return _Junction(d_in, best[1], np.concatenate([bulb, best[2][1:]]))


def _frame(pose: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin, forward and left unit vectors of a sampled (x, y, heading, ...) pose."""
    x, y, heading = pose[:3]
    return (
        np.array([x, y]),
        np.array([math.cos(heading), math.sin(heading)]),
        np.array([-math.sin(heading), math.cos(heading)]),
    )


def _opposite_lane(
    origin: np.ndarray, left: np.ndarray, other: tuple[float, ...]
) -> tuple[float, float]:
    """(side, width): which side the other lane lies on (+1 left) and how far across."""
    lateral = float((np.array(other[:2]) - origin) @ left)
    return (1.0 if lateral >= 0 else -1.0), max(abs(lateral), 1e-3)


def _bulb_reach(width: float, radius: float) -> float:
    """How far ahead of its start a bulb between lanes `width` apart reaches."""
    return math.sqrt(4 * radius**2 - (width / 2 + radius) ** 2) + radius
