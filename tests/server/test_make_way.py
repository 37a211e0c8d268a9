"""Making way: a car that stops on a road another booking will drive is moved on."""

from __future__ import annotations

from city import default_city
from server.make_way import ParkedCar, in_the_way, parking_route, route_roads


def _trip_and_blocking_stop(city):
    """A trip route R (from a known road) and a road on it where another car can arrive."""
    for w, x in sorted(city.edges):
        for goal in sorted(city.nodes):
            if goal in (w, x):
                continue
            route = city.route(x, goal, arrived_from=w)
            nodes = list(route.nodes)
            if len(nodes) >= 4:
                return (w, x), nodes
    raise AssertionError("no long enough route in the default city")


def test_parking_routes_end_off_every_road_to_keep_clear():
    city = default_city()
    (_, _), nodes = _trip_and_blocking_stop(city)
    car = ParkedCar("p", nodes[2], nodes[1])
    assert in_the_way(nodes, [car, ParkedCar("q", nodes[0], None)]) == [car]
    avoid = route_roads(nodes)
    target = parking_route(city, car, avoid)
    assert target is not None and target.nodes[0] == car.node
    assert (target.nodes[-2], target.nodes[-1]) not in avoid


def test_a_car_arriving_on_another_trips_road_is_relocated(api):
    city = default_city()
    (w, x), nodes = _trip_and_blocking_stop(city)
    # car C stands before x, coming from w; it is booked along `nodes`
    c, c_token = api.register("car", "C")
    assert api.status(c, c_token, "ready", x, from_node=w).status_code == 200
    _, station = api.register("station")
    trip = api.book(station, nodes[-1]).json
    assert trip["car"] == c and [s["node"] for s in trip["route"]["steps"]] == nodes
    # car P is sent to nodes[2] by way of nodes[1]: it will stop on the road nodes[1]→nodes[2]
    p, p_token = api.register("car", "P")
    assert api.status(p, p_token, "ready", nodes[1], from_node=nodes[0]).status_code == 200
    second = api.book(station, nodes[2]).json
    assert second["car"] == p
    assert [s["node"] for s in second["route"]["steps"]][-2:] == [nodes[1], nodes[2]]
    r = api.call("POST", f"/bookings/{second['id']}/arrived", p_token)
    assert r.status_code == 200
    # P got a relocation of its own, to a road off C's route
    relocation = api.call("GET", f"/cars/{p}/assignment", p_token).json
    assert relocation["kind"] == "relocation" and relocation["station"] is None
    steps = [s["node"] for s in relocation["route"]["steps"]]
    assert steps[0] == nodes[2]
    assert (steps[-2], steps[-1]) not in route_roads(nodes)
    # the trip itself is untouched, and stations never see the relocation
    assert api.call("GET", f"/bookings/{trip['id']}", station).json["status"] == "assigned"
    assert api.call("GET", f"/bookings/{relocation['id']}", station).status_code == 403


def test_a_car_arriving_off_every_open_route_stays(api):
    city = default_city()
    car, token = api.register("car", "Alone")
    (w, x) = sorted(city.edges)[0]
    goal = next(n for n in sorted(city.nodes) if n not in (w, x))
    assert api.status(car, token, "ready", x, from_node=w).status_code == 200
    _, station = api.register("station")
    trip = api.book(station, goal).json
    assert api.call("POST", f"/bookings/{trip['id']}/arrived", token).status_code == 200
    r = api.call("GET", f"/cars/{car}/assignment", token, query_string={"wait": 0})
    assert r.status_code == 204
