"""The city's road layout in metres: paved areas, markings and sign posts, from the map alone.

Built once per city; the ground texture rasterises it for each appearance.

- A two-way street (edges A->B and B->A along the same centreline) is paved one lane
  width either side of the centreline, with a dashed centre line. A one-way edge is
  paved over its lane only. Both have solid edge lines just inside the paving.
- At a node, markings stop `trim` metres short of it (enough for the widest street
  to cross), and edge lines continue round each corner between neighbouring streets:
  a curve for corners under 180 degrees, a straight line across a T, an arc round the
  back of a dead end. The area they enclose is paved too.
- Signs: every node's sign stands at each approach with a lane leading into the node,
  on the driving side (right for `drive_side: right`), `trim + SIGN_BACK_M` before the
  node and `SIGN_CLEARANCE_M` outside the paving, facing the approaching cars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from city import City, Edge

STEP_M = 0.02
DASH_M = 0.10
GAP_M = 0.10
EDGE_INSET_M = 0.012  # gap between the paving's border and an edge line's edge
SIGN_BACK_M = 0.08
SIGN_CLEARANCE_M = 0.08
POST_HEIGHT_M = 0.12
BOARD_SIZE_M = 0.08


@dataclass(frozen=True)
class SignPost:
    """One sign board: its node, type, foot position and the direction its face looks."""

    node: str
    sign: str
    x: float
    y: float
    facing: float  # heading (radians) of the face normal, towards approaching cars


@dataclass
class _Street:
    start: str
    end: str
    points: np.ndarray  # (N, 2) centreline from start to end
    headings: np.ndarray  # (N,)
    s: np.ndarray  # (N,) arc length
    lo: float  # paved extent, metres right of travel (start -> end); lo < hi
    hi: float
    two_way: bool

    def sample(self, s0: float, s1: float) -> tuple[np.ndarray, np.ndarray]:
        """Points and headings between arc lengths s0 < s1."""
        inner = (self.s > s0) & (self.s < s1)
        s = np.concatenate(([s0], self.s[inner], [s1]))
        x = np.interp(s, self.s, self.points[:, 0])
        y = np.interp(s, self.s, self.points[:, 1])
        h = np.interp(s, self.s, np.unwrap(self.headings))
        return np.column_stack((x, y)), h

    @property
    def length(self) -> float:
        return float(self.s[-1])


@dataclass
class _Incidence:
    street: _Street
    at_start: bool
    angle: float  # direction leaving the node
    left_min: float  # paved extent, metres left of the direction leaving the node
    left_max: float
    incoming: bool  # a lane leads into the node along it


class RoadLayout:
    """Polygons and polylines (world metres) to paint, and where the signs stand."""

    def __init__(self, city: City) -> None:
        self.lane_width_m = city.lane_width_m
        self.drive_right = city.drive_side == "right"
        self.streets = _streets(city)
        self.paving: list[np.ndarray] = [_strip(st, st.lo, st.hi) for st in self.streets]
        self.edge_lines: list[np.ndarray] = []  # centred on the line; width from the look
        self.centre_lines: list[np.ndarray] = []
        self.signs: list[SignPost] = []
        self._trim: dict[str, float] = {}
        self._corner_specs: list[tuple] = []
        self._edge_specs: list[tuple] = []
        by_node: dict[str, list[_Incidence]] = {node_id: [] for node_id in city.nodes}
        for st in self.streets:
            by_node[st.start].append(self._incidence(st, True))
            by_node[st.end].append(self._incidence(st, False))
        for node_id, incidences in by_node.items():
            incidences.sort(key=lambda inc: inc.angle % math.tau)
            self._trim[node_id] = _trim(incidences, self.lane_width_m)
        for node_id, incidences in by_node.items():
            node = city.node(node_id)
            self._node(node.x, node.y, node.id, node.sign, incidences)
        for st in self.streets:
            self._street_markings(st)

    def marking_offset(self, width_m: float) -> float:
        """How far inside the paving's border an edge line of `width_m` has its centre."""
        return EDGE_INSET_M + width_m / 2

    def edge_line_paths(self, width_m: float) -> list[np.ndarray]:
        """Solid edge lines (centre polylines) for markings `width_m` wide."""
        inset = self.marking_offset(width_m)
        paths = [_offset_path(*path, inset) for path in self._edge_specs]
        paths += [self._corner(*spec, inset=inset) for spec in self._corner_specs]
        return [p for p in paths if len(p) >= 2]

    # -- construction ------------------------------------------------------------------

    def _incidence(self, st: _Street, at_start: bool) -> _Incidence:
        if at_start:
            angle = float(st.headings[0])
            left_min, left_max = -st.hi, -st.lo
            incoming = st.two_way
        else:
            angle = float(st.headings[-1]) + math.pi
            left_min, left_max = st.lo, st.hi
            incoming = True
        return _Incidence(st, at_start, angle, left_min, left_max, incoming)

    def _node(self, x: float, y: float, node_id: str, sign: str, incs: list[_Incidence]) -> None:
        trim = self._trim[node_id]
        patch: list[np.ndarray] = []
        for i, inc in enumerate(incs):
            nxt = incs[(i + 1) % len(incs)]
            gap = (nxt.angle - inc.angle) % math.tau if len(incs) > 1 else math.tau
            if gap < 1e-6:
                gap = math.tau if len(incs) == 1 else 1e-6
            spec = (x, y, inc, nxt, gap, trim)
            self._corner_specs.append(spec)
            d = (math.cos(inc.angle), math.sin(inc.angle))
            left = (-d[1], d[0])
            patch.append(
                np.array(
                    [
                        [
                            x + trim * d[0] + inc.left_min * left[0],
                            y + trim * d[1] + inc.left_min * left[1],
                        ]
                    ]
                )
            )
            patch.append(self._corner(*spec, inset=0.0))
            if inc.incoming:
                self.signs.append(self._sign(node_id, sign, inc, trim))
        if incs:
            self.paving.append(np.concatenate(patch))

    def _corner(
        self,
        x: float,
        y: float,
        a: _Incidence,
        b: _Incidence,
        gap: float,
        trim: float,
        *,
        inset: float,
    ) -> np.ndarray:
        """The border from street a's left edge round to street b's right edge."""
        da = np.array([math.cos(a.angle), math.sin(a.angle)])
        db = np.array([math.cos(b.angle), math.sin(b.angle)])
        la, lb = np.array([-da[1], da[0]]), np.array([-db[1], db[0]])
        centre = np.array([x, y])
        pa = centre + trim * da + (a.left_max - inset) * la
        pb = centre + trim * db + (b.left_min + inset) * lb
        if gap > math.pi + 0.05:
            ang_a = math.atan2(*(pa - centre)[::-1])
            ang_b = math.atan2(*(pb - centre)[::-1])
            sweep = (ang_b - ang_a) % math.tau or math.tau
            ra, rb = np.linalg.norm(pa - centre), np.linalg.norm(pb - centre)
            n = max(4, int(sweep * max(ra, rb) / STEP_M))
            t = np.linspace(0.0, 1.0, n + 1)
            ang = ang_a + sweep * t
            r = ra + (rb - ra) * t
            return centre + np.column_stack((r * np.cos(ang), r * np.sin(ang)))
        if gap < math.pi - 0.05:
            # Quadratic Bezier with its control point where the two edges would meet.
            mat = np.column_stack((da, -db))
            lam, mu = np.linalg.solve(mat, pb - pa)
            if lam > 0 and mu > 0:
                ctrl = pa + lam * da
                t = np.linspace(0.0, 1.0, 12)[:, None]
                return (1 - t) ** 2 * pa + 2 * (1 - t) * t * ctrl + t**2 * pb
        return np.stack((pa, pb))

    def _street_markings(self, st: _Street) -> None:
        t0, t1 = self._trim[st.start], st.length - self._trim[st.end]
        if t1 - t0 < STEP_M:
            return
        pts, hd = st.sample(t0, t1)
        self._edge_specs.append((pts, hd, st.lo, +1.0))
        self._edge_specs.append((pts, hd, st.hi, -1.0))
        if st.two_way:
            pos = t0 + GAP_M / 2
            while pos < t1 - DASH_M / 2:
                dash_pts, _ = st.sample(pos, min(pos + DASH_M, t1))
                self.centre_lines.append(dash_pts)
                pos += DASH_M + GAP_M

    def _sign(self, node_id: str, sign: str, inc: _Incidence, trim: float) -> SignPost:
        st = inc.street
        back = min(trim + SIGN_BACK_M, st.length)
        s = back if inc.at_start else st.length - back
        pts, hd = st.sample(max(0.0, s - 1e-4), min(st.length, s + 1e-4))
        px, py = pts[0]
        heading = float(hd[0])
        facing = heading if inc.at_start else heading + math.pi
        left = (-math.sin(facing), math.cos(facing))
        lateral = (
            inc.left_max + SIGN_CLEARANCE_M if self.drive_right else inc.left_min - SIGN_CLEARANCE_M
        )
        return SignPost(
            node=node_id,
            sign=sign,
            x=float(px + lateral * left[0]),
            y=float(py + lateral * left[1]),
            facing=math.atan2(math.sin(facing), math.cos(facing)),
        )


def _streets(city: City) -> list[_Street]:
    """Edges paired into two-way streets where a reverse edge shares the centreline."""
    lw = city.lane_width_m
    right = city.drive_side == "right"
    done: set[tuple[str, str]] = set()
    streets = []
    for key, edge in city.edges.items():
        if key in done:
            continue
        done.add(key)
        back = city.edges.get((key[1], key[0]))
        two_way = back is not None and key[::-1] not in done and _same_road(edge, back)
        if two_way:
            done.add(key[::-1])
            lo, hi = -lw, lw
        else:
            lo, hi = (0.0, lw) if right else (-lw, 0.0)
        pts, hd = _sample_edge(edge)
        s = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))))
        streets.append(_Street(key[0], key[1], pts, hd, s, lo, hi, two_way))
    return streets


def _same_road(edge: Edge, back: Edge) -> bool:
    if abs(edge.length_m - back.length_m) > 1e-3:
        return False
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        a = edge.sample_road(f * edge.length_m)
        b = back.sample_road((1.0 - f) * back.length_m)
        if math.hypot(a[0] - b[0], a[1] - b[1]) > 0.01:
            return False
    return True


def _sample_edge(edge: Edge) -> tuple[np.ndarray, np.ndarray]:
    n = max(2, math.ceil(edge.length_m / STEP_M) + 1)
    poses = [edge.sample_road(s) for s in np.linspace(0.0, edge.length_m, n)]
    arr = np.asarray(poses)
    return arr[:, :2], np.unwrap(arr[:, 2])


def _offset_path(
    points: np.ndarray, headings: np.ndarray, lateral: float, sign: float, inset: float
):
    right = np.column_stack((np.sin(headings), -np.cos(headings)))
    return points + right * (lateral + sign * inset)


def _strip(st: _Street, lo: float, hi: float) -> np.ndarray:
    right = np.column_stack((np.sin(st.headings), -np.cos(st.headings)))
    return np.concatenate((st.points + right * lo, (st.points + right * hi)[::-1]))


def _trim(incs: list[_Incidence], lane_width: float) -> float:
    """How far from the node markings stop so that crossing streets keep clear mouths."""
    if len(incs) < 2:
        return 0.0
    width = max(max(abs(i.left_min), abs(i.left_max)) for i in incs)
    trim = width if len(incs) >= 3 else 0.0
    for i, inc in enumerate(incs):
        gap = (incs[(i + 1) % len(incs)].angle - inc.angle) % math.tau
        if 0.05 < gap < math.pi - 0.05:
            trim = max(trim, width / math.tan(gap / 2))
    return min(trim, 3 * lane_width)
