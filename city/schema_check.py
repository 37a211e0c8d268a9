"""A fast conformance check for large city documents, equivalent to (or stricter than) the schema.

jsonschema takes seconds on a 10,000-node city; this walks the document once in
plain Python. It reads its constants (signs, id pattern, format) from the schema
itself. When it says no, jsonschema decides and words the error, so it can only
ever be stricter than the schema, never looser (tests compare the two).
"""

from __future__ import annotations

import math
import re
from typing import Any

_TOP_KEYS = {
    "format",
    "version",
    "name",
    "description",
    "lane_width_m",
    "drive_side",
    "nodes",
    "edges",
}
_TOP_REQUIRED = {"format", "version", "name", "nodes", "edges"}
_NODE_KEYS = {"id", "position", "sign", "allow_u_turn", "name"}
_NODE_REQUIRED = {"id", "position", "sign"}
_EDGE_KEYS = {"from", "to", "geometry", "length_m", "speed_limit_mps"}
_LINE_KEYS = {"type", "end"}
_ARC_KEYS = {"type", "center", "sweep_deg"}


def conforms(data: Any, schema: dict[str, Any]) -> bool:
    """True if `data` certainly satisfies the city schema (False: ask jsonschema)."""
    try:
        return _conforms(data, schema)
    except (KeyError, TypeError, AttributeError, IndexError):
        return False


def _conforms(data: Any, schema: dict[str, Any]) -> bool:
    props = schema["properties"]
    defs = schema["$defs"]
    id_pattern = re.compile(defs["node_id"]["pattern"])
    signs = set(defs["sign"]["enum"])
    if type(data) is not dict or not _keys_ok(data, _TOP_KEYS, _TOP_REQUIRED):
        return False
    if data["format"] != props["format"]["const"]:
        return False
    if type(data["version"]) is not int or data["version"] != props["version"]["const"]:
        return False
    if not (type(data["name"]) is str and data["name"]):
        return False
    if "description" in data and type(data["description"]) is not str:
        return False
    if "lane_width_m" in data and not (
        _number(data["lane_width_m"]) and 0 < data["lane_width_m"] <= 10
    ):
        return False
    if "drive_side" in data and data["drive_side"] not in ("right", "left"):
        return False
    nodes, edges = data["nodes"], data["edges"]
    if type(nodes) is not list or not nodes or type(edges) is not list:
        return False
    for node in nodes:
        if not (
            type(node) is dict
            and _keys_ok(node, _NODE_KEYS, _NODE_REQUIRED)
            and _node_id(node["id"], id_pattern)
            and _point(node["position"])
            and type(node["sign"]) is str
            and node["sign"] in signs
            and type(node.get("allow_u_turn", False)) is bool
            and type(node.get("name", "")) is str
        ):
            return False
    return all(_edge_ok(edge, id_pattern) for edge in edges)


def _edge_ok(edge: Any, id_pattern: re.Pattern[str]) -> bool:
    if not (
        type(edge) is dict
        and _keys_ok(edge, _EDGE_KEYS, {"from", "to"})
        and _node_id(edge["from"], id_pattern)
        and _node_id(edge["to"], id_pattern)
        and type(edge.get("geometry", [])) is list
    ):
        return False
    for key in ("length_m", "speed_limit_mps"):
        if key in edge and not (_number(edge[key]) and edge[key] > 0):
            return False
    for segment in edge.get("geometry", []):
        if type(segment) is not dict:
            return False
        kind = segment.get("type")
        if kind == "line":
            if not (_keys_ok(segment, _LINE_KEYS, _LINE_KEYS) and _point(segment["end"])):
                return False
        elif kind == "arc":
            if not (
                _keys_ok(segment, _ARC_KEYS, _ARC_KEYS)
                and _point(segment["center"])
                and _number(segment["sweep_deg"])
                and -360 < segment["sweep_deg"] < 360
            ):
                return False
        else:
            return False
    return True


def _keys_ok(obj: dict, allowed: set[str], required: set[str]) -> bool:
    keys = obj.keys()
    return keys <= allowed and required <= keys


def _node_id(value: Any, pattern: re.Pattern[str]) -> bool:
    return type(value) is str and pattern.match(value) is not None and "\n" not in value


def _number(value: Any) -> bool:
    return (type(value) is float and math.isfinite(value)) or type(value) is int


def _point(value: Any) -> bool:
    return type(value) is list and len(value) == 2 and _number(value[0]) and _number(value[1])
