"""Checks that a city is well formed: the JSON Schema first, then the graph's meaning.

Every check raises `CityValidationError` with a message naming the offending element.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema

from city.errors import CityValidationError
from city.geometry import Arc, Line, Point
from city.model import Edge, Node
from city.schema_check import conforms
from city.signs import sign_names

NODE_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ENDPOINT_TOLERANCE_M = 1e-3
LENGTH_TOLERANCE_M = 0.01
DRIVE_SIDES = ("right", "left")
_MIN_SEGMENT_M = 1e-9


@cache
def city_schema() -> dict[str, Any]:
    """The city file's JSON Schema (``city/city.schema.json``)."""
    return json.loads(files("city").joinpath("city.schema.json").read_text(encoding="utf-8"))


@cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = city_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def format_json_path(path: Iterable[str | int]) -> str:
    """A JSON path like ``nodes[3].sign``; ``city`` for the document itself."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "city"


def validate_schema(data: Any) -> None:
    """Raise `CityValidationError` for the most relevant way `data` breaks the schema."""
    if conforms(data, city_schema()):
        return
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(data))
    if error is not None:
        raise CityValidationError(f"{format_json_path(error.absolute_path)}: {error.message}")


def check_city_settings(lane_width_m: float, drive_side: str) -> None:
    if not (isinstance(lane_width_m, int | float) and lane_width_m > 0):
        raise CityValidationError(f"lane_width_m: must be a positive number, got {lane_width_m!r}")
    if drive_side not in DRIVE_SIDES:
        raise CityValidationError(f"drive_side: must be 'right' or 'left', got {drive_side!r}")


def check_unique_node_ids(ids: Sequence[str]) -> None:
    """Raise for the first node id that appears twice, naming both places."""
    first_index: dict[str, int] = {}
    for index, node_id in enumerate(ids):
        if node_id in first_index:
            raise CityValidationError(
                f"duplicate node id {node_id!r} (nodes[{first_index[node_id]}] and nodes[{index}])"
            )
        first_index[node_id] = index


def check_nodes(nodes: Sequence[Node]) -> dict[str, Node]:
    """The nodes by id, after checking ids, signs and positions."""
    check_unique_node_ids([node.id for node in nodes])
    known_signs = set(sign_names())
    for node in nodes:
        if not isinstance(node.id, str) or not NODE_ID_PATTERN.fullmatch(node.id):
            raise CityValidationError(f"node {node.id!r}: id must match {NODE_ID_PATTERN.pattern}")
        if node.sign not in known_signs:
            raise CityValidationError(f"node {node.id!r}: unknown sign {node.sign!r}")
        if not (math.isfinite(node.x) and math.isfinite(node.y)):
            raise CityValidationError(f"node {node.id!r}: position must be finite")
    return {node.id: node for node in nodes}


def check_edge_nodes(from_node: str, to_node: str, known: Mapping[str, Any], where: str) -> None:
    """Raise if the edge is a self-loop or names a node the city does not have."""
    label = f"edge {from_node}->{to_node}{where}"
    for node_id in (from_node, to_node):
        if node_id not in known:
            raise CityValidationError(f"{label}: unknown node {node_id!r}")
    if from_node == to_node:
        raise CityValidationError(f"{label}: self-loop (an edge must join two different nodes)")


def check_edges(edges: Sequence[Edge], nodes: Mapping[str, Node]) -> dict[tuple[str, str], Edge]:
    """The edges by (from, to), after checking nodes, duplicates and geometry."""
    by_key: dict[tuple[str, str], Edge] = {}
    first_index: dict[tuple[str, str], int] = {}
    for index, edge in enumerate(edges):
        where = f" (edges[{index}])"
        check_edge_nodes(edge.from_node, edge.to_node, nodes, where)
        if edge.key in by_key:
            raise CityValidationError(
                f"duplicate edge {edge.key_str} (edges[{first_index[edge.key]}] and edges[{index}])"
            )
        check_edge_geometry(edge, nodes[edge.from_node], nodes[edge.to_node])
        if edge.speed_limit_mps is not None and not edge.speed_limit_mps > 0:
            raise CityValidationError(
                f"edge {edge.key_str}: speed_limit_mps must be positive, got {edge.speed_limit_mps}"
            )
        by_key[edge.key] = edge
        first_index[edge.key] = index
    return by_key


def check_edge_geometry(edge: Edge, start: Node, end: Node) -> None:
    """Raise unless the segments are sound and join `start` to `end` within 1 mm."""
    label = f"edge {edge.key_str}"
    first = edge.segments[0].start
    if not math.dist(first, start.position) <= ENDPOINT_TOLERANCE_M:
        raise CityValidationError(
            f"{label}: geometry starts at {_fmt(first)}, "
            f"{math.dist(first, start.position):.3g} m from node {start.id} "
            f"at {_fmt(start.position)}"
        )
    for index, segment in enumerate(edge.segments):
        where = f"{label}: geometry[{index}]"
        if isinstance(segment, Line) and segment.length < _MIN_SEGMENT_M:
            raise CityValidationError(f"{where} (line) has zero length")
        if isinstance(segment, Arc):
            if segment.radius < _MIN_SEGMENT_M:
                raise CityValidationError(f"{where} (arc) has zero radius: center is its start")
            if segment.sweep_deg == 0:
                raise CityValidationError(f"{where} (arc) has zero sweep_deg")
            lane_radius = segment.radius + math.copysign(edge.lane_offset_m, segment.sweep_deg)
            if not lane_radius > 0:
                raise CityValidationError(
                    f"{where} (arc): radius {segment.radius:.3g} m is too tight for a lane "
                    f"{abs(edge.lane_offset_m):.3g} m inside the centreline"
                )
    last = edge.segments[-1].end
    gap = math.dist(last, end.position)
    if not gap <= ENDPOINT_TOLERANCE_M:
        raise CityValidationError(
            f"{label}: geometry ends at {_fmt(last)}, {gap:.3g} m from node {end.id} "
            f"at {_fmt(end.position)}"
        )


def check_strongly_connected(node_ids: Sequence[str], edges: Iterable[tuple[str, str]]) -> None:
    """Raise naming a node that the first node cannot reach, or that cannot reach it.

    Strongly connected iff every node is reachable from the first node both in the
    graph and in its reverse; two breadth-first searches, linear in the graph's size.
    """
    if not node_ids:
        return
    forward: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    backward: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for from_node, to_node in edges:
        forward[from_node].append(to_node)
        backward[to_node].append(from_node)
    root = node_ids[0]
    for adjacency, problem in ((forward, "cannot be reached from"), (backward, "cannot reach")):
        seen = _reachable(root, adjacency)
        if len(seen) < len(node_ids):
            missing = next(node_id for node_id in node_ids if node_id not in seen)
            raise CityValidationError(
                f"node {missing!r} {problem} node {root!r}: "
                "every node must be reachable from every other"
            )


def _reachable(root: str, adjacency: Mapping[str, list[str]]) -> set[str]:
    seen = {root}
    queue = deque([root])
    while queue:
        for neighbour in adjacency[queue.popleft()]:
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append(neighbour)
    return seen


def _fmt(point: Point) -> str:
    return f"({point[0]:.3f}, {point[1]:.3f})"
