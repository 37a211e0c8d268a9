"""Conversion between the city file's JSON document (format version 1) and the model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from city.errors import CityValidationError
from city.geometry import Line, build_chain
from city.model import DEFAULT_LANE_WIDTH_M, Edge, Node
from city.validation import (
    LENGTH_TOLERANCE_M,
    check_edge_nodes,
    check_unique_node_ids,
    validate_schema,
)

FORMAT = "pixelopolis-city"
VERSION = 1


def parse_city_document(data: Any) -> dict[str, Any]:
    """Keyword arguments for `City` from a city document; schema errors name the JSON path.

    Checks that need the parsed geometry (length_m) happen here; the rest of the
    semantic checks run when the `City` is built.
    """
    validate_schema(data)
    check_unique_node_ids([raw["id"] for raw in data["nodes"]])
    nodes = [
        Node(
            id=raw["id"],
            x=float(raw["position"][0]),
            y=float(raw["position"][1]),
            sign=raw["sign"],
            allow_u_turn=raw.get("allow_u_turn", False),
            name=raw.get("name"),
        )
        for raw in data["nodes"]
    ]
    positions = {node.id: node.position for node in nodes}
    edges = [_parse_edge(raw, index, positions) for index, raw in enumerate(data["edges"])]
    return {
        "name": data["name"],
        "nodes": nodes,
        "edges": edges,
        "lane_width_m": float(data.get("lane_width_m", DEFAULT_LANE_WIDTH_M)),
        "drive_side": data.get("drive_side", "right"),
        "description": data.get("description"),
    }


def _parse_edge(
    raw: Mapping[str, Any], index: int, positions: Mapping[str, tuple[float, float]]
) -> Edge:
    from_node, to_node = raw["from"], raw["to"]
    check_edge_nodes(from_node, to_node, positions, f" (edges[{index}])")
    segments = build_chain(positions[from_node], raw.get("geometry", []), positions[to_node])
    edge = Edge(
        from_node=from_node,
        to_node=to_node,
        segments=segments,
        speed_limit_mps=raw.get("speed_limit_mps"),
    )
    given = raw.get("length_m")
    if given is not None and not abs(given - edge.length_m) <= LENGTH_TOLERANCE_M:
        raise CityValidationError(
            f"edge {edge.key_str}: length_m {given} does not match its geometry's "
            f"{edge.length_m:.3f} m (length_m is optional and derived from the geometry)"
        )
    return edge


def city_document(
    *,
    name: str,
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    lane_width_m: float,
    drive_side: str,
    description: str | None = None,
    include_lengths: bool = False,
) -> dict[str, Any]:
    """The city document for a city's parts; `include_lengths` adds each edge's length_m."""
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": name}
    if description is not None:
        document["description"] = description
    document["lane_width_m"] = lane_width_m
    document["drive_side"] = drive_side
    positions: dict[str, tuple[float, float]] = {}
    node_docs = []
    for node in nodes:
        positions[node.id] = node.position
        node_doc: dict[str, Any] = {
            "id": node.id,
            "position": [node.x, node.y],
            "sign": node.sign,
            "allow_u_turn": node.allow_u_turn,
        }
        if node.name is not None:
            node_doc["name"] = node.name
        node_docs.append(node_doc)
    document["nodes"] = node_docs
    document["edges"] = [_edge_document(edge, positions, include_lengths) for edge in edges]
    return document


def _edge_document(
    edge: Edge, positions: Mapping[str, tuple[float, float]], include_length: bool
) -> dict[str, Any]:
    doc: dict[str, Any] = {"from": edge.from_node, "to": edge.to_node}
    only = edge.segments[0]
    straight = (
        len(edge.segments) == 1
        and isinstance(only, Line)
        and only.start == positions[edge.from_node]
        and only.end == positions[edge.to_node]
    )
    doc["geometry"] = [] if straight else [segment.to_dict() for segment in edge.segments]
    if include_length and math.isfinite(edge.length_m):
        doc["length_m"] = round(edge.length_m, 4)
    if edge.speed_limit_mps is not None:
        doc["speed_limit_mps"] = edge.speed_limit_mps
    return doc
