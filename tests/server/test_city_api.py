"""The city map and routes as the API serves them."""

from __future__ import annotations

from city import default_city


def test_city_is_the_city_file(api):
    _, token = api.register("station")
    r = api.call("GET", "/city", token)
    assert r.status_code == 200
    assert r.json == default_city().to_dict()


def test_route_between_nodes(api):
    _, token = api.register("station")
    city = default_city()
    a, b = sorted(city.nodes)[0], sorted(city.nodes)[-1]
    r = api.call("GET", f"/routes?from={a}&to={b}", token)
    assert r.status_code == 200
    expected = city.route(a, b)
    assert [s["node"] for s in r.json["steps"]] == [s.node for s in expected.steps]
    assert r.json["steps"][0]["turn"] == "depart" and r.json["steps"][-1]["turn"] == "arrive"
    assert abs(r.json["length_m"] - expected.length_m) < 1e-3


def test_route_to_unknown_node_or_missing_param_is_4xx(api):
    _, token = api.register("station")
    a = sorted(default_city().nodes)[0]
    r = api.call("GET", f"/routes?from={a}&to=NOPE", token)
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_node"
    r = api.call("GET", f"/routes?from={a}", token)
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_request"
