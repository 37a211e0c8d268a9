"""Generated cities for tests and benchmarks: grids of two-way streets, some curved or missing.

Strong connectivity is guaranteed by construction: the streets of a random spanning
tree stay two-way; only other streets are removed or made one-way.
"""

from __future__ import annotations

import math
import random

from city.citymap import City
from city.geometry import Point, Segment, arc_center, build_chain
from city.model import DEFAULT_LANE_WIDTH_M, Edge, Node
from city.signs import sign_names

REMOVE_PROBABILITY = 0.1
ONE_WAY_PROBABILITY = 0.1
CURVE_PROBABILITY = 0.15
EXTRA_U_TURN_PROBABILITY = 0.05
_BULGE_DEG = 30.0


def grid_city(n_nodes: int, *, seed: int = 0, spacing_m: float = 2.0) -> City:
    """A strongly connected city of `n_nodes` nodes on a roughly square grid.

    Streets join grid neighbours; streets off a random spanning tree are removed or
    made one-way at random, and some streets bulge sideways as three arcs. Signs
    cycle through the catalogue. Nodes left with a single way out allow u-turns.
    """
    if n_nodes < 2:
        raise ValueError(f"n_nodes must be at least 2, got {n_nodes}")
    if spacing_m <= 0:
        raise ValueError(f"spacing_m must be positive, got {spacing_m}")
    rng = random.Random(seed)
    cols = math.ceil(math.sqrt(n_nodes))
    positions = [((k % cols) * spacing_m, (k // cols) * spacing_m) for k in range(n_nodes)]
    ids = [f"n{k}" for k in range(n_nodes)]
    streets = [(k, k + 1) for k in range(n_nodes - 1) if (k + 1) % cols]
    streets += [(k, k + cols) for k in range(n_nodes - cols)]
    rng.shuffle(streets)
    in_tree = _spanning_tree(n_nodes, streets)
    # A bulge is three arcs of radius spacing/2; only where the lane still fits inside.
    can_curve = spacing_m / 2 > DEFAULT_LANE_WIDTH_M

    edges: list[Edge] = []
    for (a, b), tree in zip(streets, in_tree, strict=True):
        draw = rng.random()
        if not tree and draw < REMOVE_PROBABILITY:
            continue
        directions = [(a, b), (b, a)]
        if not tree and draw < REMOVE_PROBABILITY + ONE_WAY_PROBABILITY:
            directions = [rng.choice(directions)]
        side = rng.choice((1.0, -1.0)) if can_curve and rng.random() < CURVE_PROBABILITY else 0.0
        for u, v in directions:
            # Travelling the other way, the same bulge lies on the other side.
            bulge = side if (u, v) == (a, b) else -side
            segments = _street(positions[u], positions[v], bulge)
            edges.append(Edge(from_node=ids[u], to_node=ids[v], segments=segments))

    out_degree = [0] * n_nodes
    for edge in edges:
        out_degree[int(edge.from_node[1:])] += 1
    names = sign_names()
    nodes = [
        Node(
            id=ids[k],
            x=positions[k][0],
            y=positions[k][1],
            sign=names[k % len(names)],
            allow_u_turn=out_degree[k] <= 1 or rng.random() < EXTRA_U_TURN_PROBABILITY,
        )
        for k in range(n_nodes)
    ]
    return City(name=f"grid-{n_nodes}-seed{seed}", nodes=nodes, edges=edges)


def _street(start: Point, end: Point, bulge: float) -> tuple[Segment, ...]:
    """A straight street, or one bulging left (bulge > 0) or right (< 0) as three arcs."""
    if not bulge:
        return build_chain(start, [], end)
    (ax, ay), (bx, by) = start, end
    length = math.hypot(bx - ax, by - ay)
    ux, uy = (bx - ax) / length, (by - ay) / length
    radius = length / (4 * math.sin(math.radians(_BULGE_DEG)))
    rise = bulge * radius * (1 - math.cos(math.radians(_BULGE_DEG)))
    p1 = (ax + ux * length / 4 - uy * rise, ay + uy * length / 4 + ux * rise)
    p2 = (ax + ux * 3 * length / 4 - uy * rise, ay + uy * 3 * length / 4 + ux * rise)
    sweeps = (bulge * _BULGE_DEG, -2 * bulge * _BULGE_DEG, bulge * _BULGE_DEG)
    specs = [
        {"type": "arc", "center": arc_center(p, q, sweep), "sweep_deg": sweep}
        for (p, q), sweep in zip(((start, p1), (p1, p2), (p2, end)), sweeps, strict=True)
    ]
    return build_chain(start, specs, end)


def _spanning_tree(n_nodes: int, streets: list[tuple[int, int]]) -> list[bool]:
    """For each street, whether it belongs to the spanning tree Kruskal picks in this order."""
    parent = list(range(n_nodes))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    in_tree = []
    for a, b in streets:
        ra, rb = root(a), root(b)
        in_tree.append(ra != rb)
        if ra != rb:
            parent[ra] = rb
    return in_tree
