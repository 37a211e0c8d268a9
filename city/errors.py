"""Exceptions raised by the city package; every message names the offending element."""

from __future__ import annotations


class CityError(ValueError):
    """Base class for every error about a city, its file or a route over it."""


class CityValidationError(CityError):
    """A city file or a city built in code is invalid."""


class UnknownNodeError(CityError):
    """A node id that the city does not contain."""

    def __init__(self, node_id: str) -> None:
        super().__init__(f"unknown node {node_id!r}")
        self.node_id = node_id


class NoRouteError(CityError):
    """No route leads from `start` to `goal` under the city's turn rules."""

    def __init__(self, start: str, goal: str) -> None:
        super().__init__(f"no route from node {start!r} to node {goal!r}")
        self.start = start
        self.goal = goal


class UnknownEdgeError(CityError):
    """An edge (from → to) that the city does not contain."""

    def __init__(self, from_node: str, to_node: str) -> None:
        super().__init__(f"no road from node {from_node!r} to node {to_node!r}")
        self.from_node = from_node
        self.to_node = to_node
