"""Booking: the nearest ready car is claimed once, and the trip runs to a final state."""

from __future__ import annotations

from city import default_city


def nodes() -> list[str]:
    return sorted(default_city().nodes)


def test_booking_assigns_the_ready_car_with_the_shortest_route(api):
    city = default_city()
    dest = nodes()[0]
    others = [n for n in nodes() if n != dest]
    near = min(others, key=lambda n: city.route(n, dest).length_m)
    far = max(others, key=lambda n: city.route(n, dest).length_m)
    far_car, _ = api.ready_car(far, "far")
    near_car, _ = api.ready_car(near, "near")
    _, station = api.register("station")
    r = api.book(station, dest)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["car"] == near_car and body["status"] == "assigned"
    assert [s["node"] for s in body["route"]["steps"]] == list(city.route(near, dest).nodes)
    assert body["route"]["steps"][0]["node"] == near
    assert set(body) >= {"id", "car", "route", "stream_url", "status"}
    assert far_car != near_car


def test_no_ready_car_is_409_no_car_available(api):
    _, station = api.register("station")
    r = api.book(station, nodes()[0])
    assert r.status_code == 409
    assert r.json["error"]["code"] == "no_car_available"


def test_a_car_is_never_booked_twice(api):
    api.ready_car(nodes()[1])
    _, station = api.register("station")
    assert api.book(station, nodes()[0]).status_code == 201
    r = api.book(station, nodes()[0])
    assert r.status_code == 409 and r.json["error"]["code"] == "no_car_available"


def test_paused_and_driving_cars_are_not_booked(api):
    car, token = api.ready_car(nodes()[1])
    api.status(car, token, "paused", nodes()[1])
    _, station = api.register("station")
    assert api.book(station, nodes()[0]).status_code == 409
    api.status(car, token, "ready", nodes()[1])
    assert api.book(station, nodes()[0]).status_code == 201


def test_bad_destination_is_4xx(api):
    api.ready_car(nodes()[1])
    _, station = api.register("station")
    r = api.book(station, "NO-SUCH-NODE")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_node"
    for body in ({}, {"destination": 7}, {"destination": None}, {"destination": ""}):
        r = api.call("POST", "/bookings", station, json=body)
        assert r.status_code == 400, body
        assert r.json["error"]["code"] == "invalid_request"


def test_full_trip_progress_arrived_then_ready_again(api):
    city = default_city()
    start, dest = nodes()[1], nodes()[-1]
    car, car_token = api.ready_car(start)
    _, station = api.register("station")
    booking = api.book(station, dest).json
    bid = booking["id"]

    r = api.call("GET", f"/cars/{car}/assignment?wait=0", car_token)
    assert r.status_code == 200 and r.json["id"] == bid

    api.status(car, car_token, "driving", start)
    route_nodes = list(city.route(start, dest).nodes)
    for node in route_nodes[1:]:
        r = api.call("POST", f"/bookings/{bid}/progress", car_token, json={"node": node})
        assert r.status_code == 200, r.json
        assert r.json["status"] == "driving"
    r = api.call("GET", f"/bookings/{bid}", station)
    assert r.json["passed"] == route_nodes[1:]

    r = api.call("POST", f"/bookings/{bid}/arrived", car_token)
    assert r.status_code == 200 and r.json["status"] == "arrived"
    # The car is free again only once it reports ready.
    r = api.call("GET", f"/cars/{car}/assignment?wait=0", car_token)
    assert r.status_code == 204
    api.status(car, car_token, "ready", dest)
    r = api.book(station, start)
    assert r.status_code == 201 and r.json["car"] == car
    assert r.json["route"]["steps"][0]["node"] == dest


def test_progress_off_route_is_409(api):
    start, dest = nodes()[1], nodes()[-1]
    car, car_token = api.ready_car(start)
    _, station = api.register("station")
    bid = api.book(station, dest).json["id"]
    route_nodes = set(default_city().route(start, dest).nodes)
    off = next((n for n in nodes() if n not in route_nodes), None)
    if off is not None:
        r = api.call("POST", f"/bookings/{bid}/progress", car_token, json={"node": off})
        assert r.status_code == 409 and r.json["error"]["code"] == "node_not_on_route"
    r = api.call("POST", f"/bookings/{bid}/progress", car_token, json={"node": "NOPE"})
    assert r.status_code == 404


def test_cancel_frees_the_car_and_only_the_station_may_cancel(api):
    car, car_token = api.ready_car(nodes()[1])
    _, station = api.register("station")
    _, other_station = api.register("station")
    bid = api.book(station, nodes()[0]).json["id"]
    assert api.call("POST", f"/bookings/{bid}/cancel", other_station).status_code == 403
    assert api.call("GET", f"/bookings/{bid}", other_station).status_code == 403
    assert api.call("POST", f"/bookings/{bid}/cancel", car_token).status_code == 403
    r = api.call("POST", f"/bookings/{bid}/cancel", station)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    # Cancelling twice is harmless; arriving after a cancel is refused.
    assert api.call("POST", f"/bookings/{bid}/cancel", station).json["status"] == "cancelled"
    r = api.call("POST", f"/bookings/{bid}/arrived", car_token)
    assert r.status_code == 409 and r.json["error"]["code"] == "booking_closed"
    assert api.call("GET", f"/cars/{car}/assignment", car_token).status_code == 204
    assert api.book(station, nodes()[0]).json["car"] == car


def test_unknown_booking_is_404(api):
    _, station = api.register("station")
    r = api.call("GET", "/bookings/bk-nothing", station)
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_booking"


def test_assignment_long_poll_waits_and_returns_when_booked(api, app):
    import threading
    import time

    car, car_token = api.ready_car(nodes()[1])
    _, station = api.register("station")
    client = app.test_client()
    result: dict = {}

    def poll() -> None:
        started = time.monotonic()
        r = client.get(
            f"/api/v1/cars/{car}/assignment?wait=5",
            headers={"Authorization": f"Bearer {car_token}"},
        )
        result.update(status=r.status_code, body=r.json, waited=time.monotonic() - started)

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    bid = api.book(station, nodes()[0]).json["id"]
    t.join(10)
    assert result["status"] == 200 and result["body"]["id"] == bid
    assert 0.4 < result["waited"] < 3


def test_assignment_wait_validated(api):
    car, car_token = api.ready_car(nodes()[1])
    for wait in ("-1", "abc", "1000"):
        r = api.call("GET", f"/cars/{car}/assignment?wait={wait}", car_token)
        assert r.status_code == 400, wait


def test_status_validation(api):
    car, token = api.register("car")
    assert api.status(car, token, "flying").status_code == 400
    assert api.status(car, token, "ready", "NOPE").status_code == 404
    r = api.call("PUT", f"/cars/{car}/status", token, json={"state": "ready"})
    assert r.status_code == 400
    r = api.status(car, token, "ready", battery_v="7.4")
    assert r.status_code == 400
    r = api.status(car, token, "ready", battery_v=7.4, stream_url="http://127.0.0.1:8080/stream")
    assert r.status_code == 200 and r.json["online"] and r.json["battery_v"] == 7.4


def test_each_booking_has_its_own_stream_token_for_its_station_and_car(api):
    car, car_token = api.ready_car(nodes()[1])
    _, station = api.register("station")
    booked = api.book(station, nodes()[0]).json
    token = booked["stream_token"]
    assert isinstance(token, str) and len(token) >= 16
    assert api.call("GET", f"/bookings/{booked['id']}", station).json["stream_token"] == token
    assert api.call("GET", f"/bookings/{booked['id']}", car_token).json["stream_token"] == token
    r = api.call("GET", f"/cars/{car}/assignment", car_token)
    assert r.json["stream_token"] == token
    # Not shown in the car list any device can read.
    assert token not in str(api.cars(station).json)
    api.call("POST", f"/bookings/{booked['id']}/arrived", car_token)
    assert api.call("GET", f"/bookings/{booked['id']}", station).json["stream_token"] == token
    api.status(car, car_token, "ready", nodes()[0])
    again = api.book(station, nodes()[1]).json
    assert again["car"] == car and again["stream_token"] != token


def test_a_car_that_reports_where_it_came_from_gets_a_route_starting_with_its_turn(api):
    city = default_city()
    (frm, node) = next(iter(city.edges))
    goal = next(n for n in sorted(city.nodes) if n not in (frm, node))
    car, token = api.register("car", "Heading")
    assert api.status(car, token, "ready", node, from_node=frm).status_code == 200
    _, station = api.register("station")
    booking = api.book(station, goal).json
    expected = city.route(node, goal, arrived_from=frm).to_dict()
    assert booking["route"] == expected
    assert booking["route"]["steps"][0]["turn"] != "depart"
    # after arrival the server knows the road it came in by
    assert api.call("POST", f"/bookings/{booking['id']}/arrived", token).status_code == 200
    me = {c["id"]: c for c in api.cars(station).json["cars"]}[car]
    assert me["node"] == goal and me["from_node"] == expected["steps"][-2]["node"]


def test_a_from_node_with_no_road_to_the_node_is_ignored(api):
    city = default_city()
    node = sorted(city.nodes)[0]
    stranger = next(n for n in sorted(city.nodes) if (n, node) not in city.edges and n != node)
    car, token = api.register("car", "Lost")
    r = api.status(car, token, "ready", node, from_node=stranger)
    assert r.status_code == 200 and r.json["from_node"] is None


def test_a_lost_car_is_rerouted_from_where_it_is_and_reports_on_the_new_route(api):
    city = default_city()
    nodes = sorted(city.nodes)
    car, token = api.register("car", "Lost")
    assert api.status(car, token, "ready", nodes[0]).status_code == 200
    _, station = api.register("station")
    booking = api.book(station, nodes[-1]).json
    # the car ends up somewhere off its route, arriving from a known road
    off = next(
        (a, b)
        for (a, b) in sorted(city.edges)
        if b not in [s["node"] for s in booking["route"]["steps"]] and b != nodes[-1]
    )
    r = api.call(
        "POST",
        f"/bookings/{booking['id']}/reroute",
        token,
        json={"node": off[1], "from_node": off[0]},
    )
    assert r.status_code == 200, r.json
    route = r.json["route"]
    assert route == city.route(off[1], nodes[-1], arrived_from=off[0]).to_dict()
    assert r.json["status"] == "driving"
    nxt = route["steps"][1]["node"]
    assert (
        api.call(
            "POST", f"/bookings/{booking['id']}/progress", token, json={"node": nxt}
        ).status_code
        == 200
    )
    # only the booking's car may reroute it, and only while it is open
    assert api.call(
        "POST", f"/bookings/{booking['id']}/reroute", station, json={"node": nodes[0]}
    ).status_code in (401, 403)
    assert api.call(
        "POST", f"/bookings/{booking['id']}/reroute", token, json={"node": "nowhere"}
    ).status_code in (400, 404, 422)
    api.call("POST", f"/bookings/{booking['id']}/arrived", token)
    assert (
        api.call(
            "POST", f"/bookings/{booking['id']}/reroute", token, json={"node": nodes[0]}
        ).status_code
        == 409
    )
