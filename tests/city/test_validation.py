import copy
import json
import math

import pytest

from city import City, CityValidationError, default_city, load_city
from city.schema_check import conforms
from city.validation import city_schema

TRIANGLE = [("A", 0, 0), ("B", 2, 0), ("C", 1, 2)]
CYCLE = [("A", "B"), ("B", "C"), ("C", "A")]


def error_of(data, **kwargs) -> str:
    with pytest.raises(CityValidationError) as caught:
        City.from_dict(data, **kwargs)
    return str(caught.value)


def test_valid_triangle(doc):
    city = City.from_dict(doc(TRIANGLE, CYCLE))
    assert len(city.nodes) == 3 and len(city.edges) == 3


def test_schema_error_names_json_path(doc):
    data = doc(TRIANGLE, CYCLE)
    data["nodes"][1]["sign"] = "foo"
    assert error_of(data).startswith("nodes[1].sign: 'foo' is not one of")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("name"), "city: 'name' is a required property"),
        (lambda d: d.update(version=2), "version: 1 was expected"),
        (lambda d: d["nodes"][0].update(id="bad id"), "nodes[0].id: 'bad id' does not match"),
        (lambda d: d["nodes"][2].update(position=[1]), "nodes[2].position"),
        (lambda d: d["edges"][0].update(speed_limit_mps=0), "edges[0].speed_limit_mps"),
        (lambda d: d["edges"][1].update(colour="red"), "edges[1]: Additional properties"),
        (
            lambda d: d["edges"][2].update(geometry=[{"type": "spline"}]),
            "edges[2].geometry[0].type",
        ),
        (
            lambda d: d["edges"][2].update(geometry=[{"type": "arc", "center": [0, 0]}]),
            "edges[2].geometry[0]: 'sweep_deg' is a required property",
        ),
    ],
)
def test_schema_errors(doc, mutate, expected):
    data = doc(TRIANGLE, CYCLE)
    mutate(data)
    assert expected in error_of(data)


def test_duplicate_node_id(doc):
    message = error_of(doc([*TRIANGLE, ("B", 5, 5)], CYCLE))
    assert message == "duplicate node id 'B' (nodes[1] and nodes[3])"


def test_duplicate_edge(doc):
    message = error_of(doc(TRIANGLE, [*CYCLE, ("B", "C")]))
    assert message == "duplicate edge B->C (edges[1] and edges[3])"


def test_unknown_node_in_edge(doc):
    message = error_of(doc(TRIANGLE, [*CYCLE, ("C", "Z")]))
    assert message == "edge C->Z (edges[3]): unknown node 'Z'"


def test_self_loop(doc):
    assert "edge A->A (edges[3]): self-loop" in error_of(doc(TRIANGLE, [*CYCLE, ("A", "A")]))


def test_geometry_that_misses_its_node(doc):
    data = doc(TRIANGLE, CYCLE)
    data["edges"][0]["geometry"] = [{"type": "line", "end": [1.58, 0]}]
    assert error_of(data) == (
        "edge A->B: geometry ends at (1.580, 0.000), 0.42 m from node B at (2.000, 0.000)"
    )


def test_geometry_within_a_millimetre_is_accepted(doc):
    data = doc(TRIANGLE, CYCLE)
    data["edges"][0]["geometry"] = [{"type": "line", "end": [2.0005, 0]}]
    assert City.from_dict(data).edges[("A", "B")].length_m == pytest.approx(2.0005)


def test_arc_too_tight_for_the_lane(doc):
    data = doc(TRIANGLE, CYCLE)
    # A half circle of radius 0.1 m turning right: the lane (0.15 m to the right) cannot fit.
    data["nodes"][1]["position"] = [0.2, 0]
    data["edges"][0]["geometry"] = [{"type": "arc", "center": [0.1, 0], "sweep_deg": -180}]
    assert "edge A->B: geometry[0] (arc): radius 0.1 m is too tight" in error_of(data)


def test_length_must_match_geometry(doc):
    data = doc(TRIANGLE, CYCLE)
    data["edges"][0]["length_m"] = 2.005
    City.from_dict(data)
    data["edges"][0]["length_m"] = 3.0
    assert "edge A->B: length_m 3.0 does not match" in error_of(data)


def test_unreachable_nodes_are_named(doc):
    one_way_out = doc([*TRIANGLE, ("D", 3, 3)], [*CYCLE, ("C", "D")])
    assert error_of(one_way_out).startswith("node 'D' cannot reach node 'A'")
    one_way_in = doc([*TRIANGLE, ("D", 3, 3)], [*CYCLE, ("D", "C")])
    assert error_of(one_way_in).startswith("node 'D' cannot be reached from node 'A'")
    assert len(City.from_dict(one_way_in, require_strongly_connected=False).nodes) == 4


def test_load_city_errors_name_the_path(tmp_path, doc):
    missing = tmp_path / "missing.json"
    with pytest.raises(CityValidationError, match="missing.json: no such city file"):
        load_city(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "format": "pixelopolis-city",\n  "version": 1,,\n}')
    with pytest.raises(CityValidationError, match=r"broken.json: invalid JSON at line 3 column"):
        load_city(broken)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc(TRIANGLE, [*CYCLE, ("C", "Z")])))
    with pytest.raises(CityValidationError, match=r"bad.json: edge C->Z \(edges\[3\]\)"):
        load_city(bad)


def test_fast_check_never_looser_than_schema(doc):
    """The fast path may only accept documents that jsonschema accepts too."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(city_schema())
    base = default_city().to_dict(include_lengths=True)
    variants = [base]
    for path, value in [
        (("nodes", 0, "sign"), "foo"),
        (("nodes", 0, "position"), [1, True]),
        (("nodes", 0, "allow_u_turn"), 1),
        (("nodes", 0, "id"), "a b"),
        (("edges", 0, "geometry", 0, "end"), [0, 1, 2]),
        (("edges", 0, "geometry", 1, "sweep_deg"), 360),
        (("edges", 0, "from"), 3),
        (("edges", 0, "speed_limit_mps"), -1),
        (("version",), True),
        (("lane_width_m",), 0),
        (("drive_side",), "middle"),
        (("name",), ""),
        (("edges", 0, "geometry", 0, "type"), "arc"),
        (("nodes", 0, "extra"), 1),
        (("edges", 0, "length_m"), math.nan),
    ]:
        variant = copy.deepcopy(base)
        target = variant
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        variants.append(variant)
    for variant in variants:
        if conforms(variant, city_schema()):
            assert validator.is_valid(variant)
    assert conforms(base, city_schema())
    assert sum(conforms(v, city_schema()) for v in variants) == 1


def test_docs_example_is_a_valid_city():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "city-format.md").read_text(encoding="utf-8")
    example = re.findall(r"```json\n(.*?)```", text, re.S)[0]
    city = City.from_dict(json.loads(example))
    assert city.route("A", "C").nodes == ("A", "B", "C")
