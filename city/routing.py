"""Shortest paths that respect the turn rules, over edge states.

A search state is the edge a car arrived on, because whether it may leave a node
along an edge depends on where it came from (no u-turn unless the node allows one).
The graph is flattened into integer-indexed lists once, so a query is plain heapq.

On big cities the A* bound is sharpened with landmarks (ALT): shortest distances to
and from a few far-apart nodes, ignoring turn rules, give by the triangle inequality a
lower bound on the remaining distance that is much tighter than the straight line.
Ignoring turn rules only makes the bound smaller, so it stays admissible.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Sequence

import numpy as np

from city.model import Edge, Node
from city.turns import U_TURN_LIMIT_DEG, heading_change_deg

LANDMARK_MIN_NODES = 2000  # below this, the straight-line bound is fast enough


class RoutingGraph:
    """Precomputed adjacency between edge states; nodes and edges are referred to by index."""

    def __init__(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        index = {node.id: i for i, node in enumerate(nodes)}
        self.xs = [node.x for node in nodes]
        self.ys = [node.y for node in nodes]
        self.edge_from = [index[edge.from_node] for edge in edges]
        self.edge_to = [index[edge.to_node] for edge in edges]
        self.edge_length = [edge.length_m for edge in edges]
        self.out_edges: list[list[int]] = [[] for _ in nodes]
        self.in_edges: list[list[int]] = [[] for _ in nodes]
        for e, (a, b) in enumerate(zip(self.edge_from, self.edge_to, strict=True)):
            self.out_edges[a].append(e)
            self.in_edges[b].append(e)
        starts = [edge.start_heading for edge in edges]
        ends = [edge.end_heading for edge in edges]
        allow_u_turn = [node.allow_u_turn for node in nodes]
        # successors[e]: edges a car arriving on e may leave along; predecessors: the reverse.
        self.successors: list[list[int]] = [[] for _ in edges]
        self.predecessors: list[list[int]] = [[] for _ in edges]
        for e_in, node in enumerate(self.edge_to):
            came_from = self.edge_from[e_in]
            for e_out in self.out_edges[node]:
                is_u_turn = self.edge_to[e_out] == came_from or (
                    abs(heading_change_deg(ends[e_in], starts[e_out])) > U_TURN_LIMIT_DEG
                )
                if is_u_turn and not allow_u_turn[node]:
                    continue
                self.successors[e_in].append(e_out)
                self.predecessors[e_out].append(e_in)
        self._landmarks: tuple[np.ndarray, np.ndarray] | None = None
        self._landmark_lock = threading.Lock()
        self._use_landmarks = len(nodes) >= LANDMARK_MIN_NODES

    def _node_dijkstra(self, source: int, *, reverse: bool) -> list[float]:
        """Plain shortest distances from (or, reversed, to) `source`, turn rules ignored."""
        dist = [math.inf] * len(self.xs)
        dist[source] = 0.0
        heap = [(0.0, source)]
        adjacency = self.in_edges if reverse else self.out_edges
        ends = self.edge_from if reverse else self.edge_to
        length = self.edge_length
        while heap:
            d, n = heapq.heappop(heap)
            if d > dist[n]:
                continue
            for e in adjacency[n]:
                m = ends[e]
                nd = d + length[e]
                if nd < dist[m]:
                    dist[m] = nd
                    heapq.heappush(heap, (nd, m))
        return dist

    def landmarks(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(distances from, distances to) each landmark, shape (L, nodes); None on small cities.

        Landmarks are the nodes furthest out in eight compass directions; computed once,
        on first use.
        """
        if not self._use_landmarks:
            return None
        with self._landmark_lock:
            if self._landmarks is None:
                xs, ys = np.asarray(self.xs), np.asarray(self.ys)
                picks: list[int] = []
                for dx, dy in (
                    (1, 0),
                    (1, 1),
                    (0, 1),
                    (-1, 1),
                    (-1, 0),
                    (-1, -1),
                    (0, -1),
                    (1, -1),
                ):
                    n = int(np.argmax(dx * xs + dy * ys))
                    if n not in picks:
                        picks.append(n)
                frm = np.array([self._node_dijkstra(n, reverse=False) for n in picks])
                to = np.array([self._node_dijkstra(n, reverse=True) for n in picks])
                self._landmarks = (frm, to)
        return self._landmarks

    def _bound_to(self, goal: int) -> list[float]:
        """A lower bound on the route length from every node to `goal`."""
        xs, ys = np.asarray(self.xs), np.asarray(self.ys)
        bound = np.hypot(xs - xs[goal], ys - ys[goal])
        marks = self.landmarks()
        if marks is not None:
            frm, to = marks
            with np.errstate(invalid="ignore"):
                # d(v, g) >= d(v, L) - d(g, L)  and  d(v, g) >= d(L, g) - d(L, v)
                alt = np.maximum(to - to[:, goal : goal + 1], frm[:, goal : goal + 1] - frm)
            alt = np.where(np.isfinite(alt), alt, 0.0).max(axis=0)
            bound = np.maximum(bound, alt)
        return bound.tolist()

    def shortest_path(
        self, start: int, goal: int, *, arrived_on: int | None = None
    ) -> tuple[list[int], float] | None:
        """(edge indices, length) of a shortest route, or None; A* with a Euclidean bound.

        `arrived_on`: the edge the car stands at the end of (it must end at `start`); the
        route then leaves `start` only by a turn allowed from that edge.
        """
        if start == goal:
            return [], 0.0
        to, length = self.edge_to, self.edge_length
        successors, push, pop = self.successors, heapq.heappush, heapq.heappop
        if arrived_on is not None and to[arrived_on] != start:
            raise ValueError("arrived_on: the edge must end at the start node")
        first = self.out_edges[start] if arrived_on is None else successors[arrived_on]
        h = self._bound_to(goal)
        best = [math.inf] * len(to)
        parent = [-1] * len(to)
        heap: list[tuple[float, float, int]] = []
        for e in first:
            g = length[e]
            if g < best[e]:
                best[e] = g
                push(heap, (g + h[to[e]], -g, e))
        while heap:
            _, neg_g, e = pop(heap)
            g = -neg_g
            if g > best[e]:
                continue
            if to[e] == goal:
                return self._unwind(parent, e), g
            for nxt in successors[e]:
                ng = g + length[nxt]
                if ng < best[nxt]:
                    best[nxt] = ng
                    parent[nxt] = e
                    push(heap, (ng + h[to[nxt]], -ng, nxt))
        return None

    def distances_to(self, goal: int) -> list[float]:
        """Shortest route length from every node to `goal` (inf if none); reverse Dijkstra."""
        length, predecessors = self.edge_length, self.predecessors
        remaining = [math.inf] * len(length)  # from the end of edge e to goal
        heap: list[tuple[float, int]] = []
        for e in self.in_edges[goal]:
            remaining[e] = 0.0
            heap.append((0.0, e))
        while heap:
            d, e = heapq.heappop(heap)
            if d > remaining[e]:
                continue
            through = d + length[e]
            for prev in predecessors[e]:
                if through < remaining[prev]:
                    remaining[prev] = through
                    heapq.heappush(heap, (through, prev))
        result = [
            min((length[e] + remaining[e] for e in out), default=math.inf) for out in self.out_edges
        ]
        result[goal] = 0.0
        return result

    @staticmethod
    def _unwind(parent: list[int], last: int) -> list[int]:
        path = [last]
        while parent[path[-1]] != -1:
            path.append(parent[path[-1]])
        path.reverse()
        return path
