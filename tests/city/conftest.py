"""Factories for small hand-built and random city documents."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from city import City
from city.geometry import arc_center


def make_doc(
    nodes: list[tuple[str, float, float]] | list[dict[str, Any]],
    edges: list[tuple[str, str]] | list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """A city document; nodes as (id, x, y) or dicts, edges as (from, to) or dicts."""
    node_docs = [
        n if isinstance(n, dict) else {"id": n[0], "position": [n[1], n[2]], "sign": "red-circle"}
        for n in nodes
    ]
    edge_docs = [e if isinstance(e, dict) else {"from": e[0], "to": e[1]} for e in edges]
    return {
        "format": "pixelopolis-city",
        "version": 1,
        "name": "test",
        "nodes": node_docs,
        "edges": edge_docs,
        **extra,
    }


def random_city(seed: int, n_nodes: int = 12, extra_edges: int = 14) -> City:
    """A random strongly connected city of straight edges, with some arcs and u-turn nodes."""
    rng = random.Random(seed)
    nodes = [
        {
            "id": f"v{k}",
            "position": [rng.uniform(0, 10), rng.uniform(0, 10)],
            "sign": "blue-square",
            "allow_u_turn": rng.random() < 0.3,
        }
        for k in range(n_nodes)
    ]
    order = list(range(n_nodes))
    rng.shuffle(order)
    pairs = {(order[k], order[(k + 1) % n_nodes]) for k in range(n_nodes)}
    while len(pairs) < n_nodes + extra_edges:
        a, b = rng.sample(range(n_nodes), 2)
        pairs.add((a, b))
    edges = []
    for a, b in sorted(pairs):
        edge: dict[str, Any] = {"from": f"v{a}", "to": f"v{b}"}
        if rng.random() < 0.3:
            (ax, ay), (bx, by) = nodes[a]["position"], nodes[b]["position"]
            edge["geometry"] = [
                {
                    "type": "arc",
                    "center": list(arc_center((ax, ay), (bx, by), 60.0)),
                    "sweep_deg": 60.0,
                }
            ]
        edges.append(edge)
    return City.from_dict(make_doc(nodes, edges))


@pytest.fixture
def doc() -> Callable[..., dict[str, Any]]:
    return make_doc


@pytest.fixture
def random_cities() -> Callable[..., City]:
    return random_city


@pytest.fixture
def four_way() -> City:
    """A plus-shaped intersection X at the origin; two-way arms to dead ends N, E, S, W."""
    arms = {"N": (0, 2), "E": (2, 0), "S": (0, -2), "W": (-2, 0)}
    nodes = [{"id": "X", "position": [0, 0], "sign": "red-circle"}] + [
        {"id": k, "position": [x, y], "sign": "red-circle", "allow_u_turn": True}
        for k, (x, y) in arms.items()
    ]
    edges = [(k, "X") for k in arms] + [("X", k) for k in arms]
    return City.from_dict(make_doc(nodes, edges))
