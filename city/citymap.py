"""`City`: the validated, immutable city map with its routing."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

from city.errors import NoRouteError, UnknownEdgeError, UnknownNodeError
from city.model import DEFAULT_LANE_WIDTH_M, Edge, Node, Route, RouteStep
from city.routing import RoutingGraph
from city.serialization import city_document, parse_city_document
from city.turns import ARRIVE, DEPART, U_TURN, classify_turn
from city.validation import (
    check_city_settings,
    check_edges,
    check_nodes,
    check_strongly_connected,
)

logger = logging.getLogger(__name__)


class City:
    """A city map: nodes marked by signs and one-way edges between them.

    Built once and validated on construction (see docs/city-format.md); never changes
    afterwards, so it can be shared between threads.
    """

    def __init__(
        self,
        *,
        name: str,
        nodes: Iterable[Node],
        edges: Iterable[Edge],
        lane_width_m: float = DEFAULT_LANE_WIDTH_M,
        drive_side: str = "right",
        description: str | None = None,
        require_strongly_connected: bool = True,
    ) -> None:
        check_city_settings(lane_width_m, drive_side)
        node_list = list(nodes)
        nodes_by_id = check_nodes(node_list)
        lane_offset = lane_width_m / 2 if drive_side == "right" else -lane_width_m / 2
        edge_list = [edge.with_lane_offset(lane_offset) for edge in edges]
        edges_by_key = check_edges(edge_list, nodes_by_id)
        if require_strongly_connected:
            check_strongly_connected(list(nodes_by_id), edges_by_key)
        self._name = name
        self._description = description
        self._lane_width_m = float(lane_width_m)
        self._drive_side = drive_side
        self._nodes = MappingProxyType(nodes_by_id)
        self._edges = MappingProxyType(edges_by_key)
        self._node_index = {node_id: i for i, node_id in enumerate(nodes_by_id)}
        self._node_list = node_list
        self._edge_list = edge_list
        self._edge_index = {edge.key: i for i, edge in enumerate(edge_list)}
        self._out: dict[str, list[Edge]] = {node_id: [] for node_id in nodes_by_id}
        self._in: dict[str, list[Edge]] = {node_id: [] for node_id in nodes_by_id}
        for edge in edge_list:
            self._out[edge.from_node].append(edge)
            self._in[edge.to_node].append(edge)
        self._graph = RoutingGraph(node_list, edge_list)
        logger.debug("city %r: %d nodes, %d edges", name, len(node_list), len(edge_list))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, require_strongly_connected: bool = True) -> City:
        """A city from its file document; raises `CityValidationError` naming the problem."""
        return cls(
            **parse_city_document(data), require_strongly_connected=require_strongly_connected
        )

    def to_dict(self, *, include_lengths: bool = False) -> dict[str, Any]:
        """The city file document (`from_dict` round-trips it); optionally with edge lengths."""
        return city_document(
            name=self._name,
            nodes=self._node_list,
            edges=self._edge_list,
            lane_width_m=self._lane_width_m,
            drive_side=self._drive_side,
            description=self._description,
            include_lengths=include_lengths,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def lane_width_m(self) -> float:
        return self._lane_width_m

    @property
    def drive_side(self) -> str:
        return self._drive_side

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Nodes by id, in file order (a read-only mapping)."""
        return self._nodes

    @property
    def edges(self) -> Mapping[tuple[str, str], Edge]:
        """Edges by (from, to), in file order (a read-only mapping)."""
        return self._edges

    def has_node(self, node_id: str) -> bool:
        return node_id in self._nodes

    def node(self, node_id: str) -> Node:
        """The node called `node_id`; `UnknownNodeError` if there is none."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise UnknownNodeError(node_id) from None

    def edge(self, from_node: str, to_node: str) -> Edge:
        """The edge from `from_node` to `to_node`; KeyError naming it if there is none."""
        try:
            return self._edges[(from_node, to_node)]
        except KeyError:
            raise KeyError(f"no edge {from_node}->{to_node}") from None

    def out_edges(self, node_id: str) -> tuple[Edge, ...]:
        self.node(node_id)
        return tuple(self._out[node_id])

    def in_edges(self, node_id: str) -> tuple[Edge, ...]:
        self.node(node_id)
        return tuple(self._in[node_id])

    def turns_at(self, node_id: str) -> dict[tuple[str, str], str]:
        """Allowed turns through a node: (from node, to node) -> turn name.

        Disallowed u-turns (at nodes without allow_u_turn) are left out, so every
        entry is a manoeuvre a route may use.
        """
        node = self.node(node_id)
        turns = {}
        for incoming in self._in[node_id]:
            for outgoing in self._out[node_id]:
                turn = classify_turn(incoming, outgoing)
                if turn != U_TURN or node.allow_u_turn:
                    turns[(incoming.from_node, outgoing.to_node)] = turn
        return turns

    def route(self, start: str, goal: str, *, arrived_from: str | None = None) -> Route:
        """The shortest route from `start` to `goal` that obeys the turn rules.

        Without `arrived_from` any outgoing edge may be taken from `start` (the car's
        heading is unknown) and the first step's turn is `depart`. With it, the car stands
        at the end of the edge `arrived_from → start`: the route leaves `start` only by a
        turn allowed from that edge, and the first step carries that turn.
        Raises `UnknownNodeError`, `UnknownEdgeError` or `NoRouteError`.
        """
        start_index = self._node_index_of(start)
        goal_index = self._node_index_of(goal)
        incoming: Edge | None = None
        arrived_on: int | None = None
        if arrived_from is not None:
            arrived_on = self._edge_index.get((arrived_from, start))
            if arrived_on is None:
                raise UnknownEdgeError(arrived_from, start)
            incoming = self._edge_list[arrived_on]
        found = self._graph.shortest_path(start_index, goal_index, arrived_on=arrived_on)
        if found is None:
            raise NoRouteError(start, goal)
        edge_indices, length = found
        path = [self._edge_list[i] for i in edge_indices]
        if not path:
            return Route(steps=(RouteStep(goal, self._nodes[goal].sign, ARRIVE),), length_m=0.0)
        first_turn = DEPART if incoming is None else classify_turn(incoming, path[0])
        steps = [RouteStep(start, self._nodes[start].sign, first_turn)]
        for incoming, outgoing in zip(path, path[1:], strict=False):
            node = self._nodes[incoming.to_node]
            steps.append(RouteStep(node.id, node.sign, classify_turn(incoming, outgoing)))
        steps.append(RouteStep(goal, self._nodes[goal].sign, ARRIVE))
        return Route(steps=tuple(steps), length_m=length)

    def distances_to(self, goal: str) -> dict[str, float]:
        """Shortest route length to `goal` from every node that has a route there (goal: 0)."""
        distances = self._graph.distances_to(self._node_index_of(goal))
        return {
            node_id: distance
            for node_id, distance in zip(self._nodes, distances, strict=True)
            if distance != float("inf")
        }

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in metres of the nodes and road centrelines."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[float, float, float, float]:
        boxes = [(n.x, n.y, n.x, n.y) for n in self._node_list]
        boxes += [seg.bbox() for edge in self._edge_list for seg in edge.segments]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    def _node_index_of(self, node_id: str) -> int:
        try:
            return self._node_index[node_id]
        except KeyError:
            raise UnknownNodeError(node_id) from None

    def __repr__(self) -> str:
        return f"City(name={self._name!r}, nodes={len(self._nodes)}, edges={len(self._edges)})"
