import dataclasses

import pytest

from city import (
    SIGN_TYPES,
    City,
    Node,
    Route,
    RouteStep,
    UnknownNodeError,
    default_city,
    get_sign,
    sign_names,
)
from city.generate import grid_city
from city.signs import SHAPES
from city.validation import city_schema


def test_sign_catalogue():
    names = sign_names()
    assert len(SIGN_TYPES) == 16 and len(set(names)) == 16
    assert len({(s.shape, s.color_bgr) for s in SIGN_TYPES}) == 16
    for sign in SIGN_TYPES:
        assert sign.shape in SHAPES
        assert all(0 <= c <= 255 for c in sign.color_bgr)
        assert get_sign(sign.name) is sign
    with pytest.raises(KeyError, match="foo"):
        get_sign("foo")


def test_schema_sign_enum_matches_catalogue():
    assert city_schema()["$defs"]["sign"]["enum"] == sign_names()


def test_node_is_frozen():
    node = Node(id="A", x=1.0, y=2.0, sign="red-circle")
    assert node.position == (1.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.x = 3.0  # type: ignore[misc]


def test_city_is_read_only():
    city = default_city()
    with pytest.raises(TypeError):
        city.nodes["Z"] = city.nodes["A"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        city.name = "other"  # type: ignore[misc]


def test_lookups():
    city = default_city()
    assert city.has_node("A") and not city.has_node("nowhere")
    assert city.node("A").sign == "red-circle"
    with pytest.raises(UnknownNodeError):
        city.node("nowhere")
    with pytest.raises(UnknownNodeError):
        city.out_edges("nowhere")
    assert {e.to_node for e in city.out_edges("A")} == {"B", "C", "D"}
    assert {e.from_node for e in city.in_edges("F")} == {"E", "L"}
    xmin, ymin, xmax, ymax = city.bounds()
    assert xmin <= min(n.x for n in city.nodes.values()) and xmax >= max(
        n.x for n in city.nodes.values()
    )
    assert ymin < ymax


@pytest.mark.parametrize("city", [default_city(), grid_city(300, seed=5)], ids=["default", "grid"])
def test_round_trip(city):
    data = city.to_dict()
    again = City.from_dict(data)
    assert again.to_dict() == data
    assert dict(again.nodes) == dict(city.nodes)
    assert dict(again.edges) == dict(city.edges)
    assert again.lane_width_m == city.lane_width_m and again.drive_side == city.drive_side


def test_to_dict_with_lengths_still_validates():
    city = default_city()
    data = city.to_dict(include_lengths=True)
    assert all("length_m" in edge for edge in data["edges"])
    assert City.from_dict(data).to_dict() == city.to_dict()


def test_route_to_dict_rounds_to_millimetres():
    route = Route(
        steps=(RouteStep("A", "red-circle", "depart"), RouteStep("B", "blue-circle", "arrive")),
        length_m=1.23456,
    )
    assert route.nodes == ("A", "B")
    assert route.to_dict()["length_m"] == 1.235
