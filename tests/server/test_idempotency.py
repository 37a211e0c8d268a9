"""`Idempotency-Key` on POST /bookings: a retried booking sends one car, never two."""

from __future__ import annotations

import threading

import pytest

from city import default_city


def nodes() -> list[str]:
    return sorted(default_city().nodes)


def test_a_retry_with_the_same_key_returns_the_first_booking(api):
    api.ready_car(nodes()[1], "a")
    api.ready_car(nodes()[2], "b")
    _, station = api.register("station")
    first = api.book(station, nodes()[0], key="k-1")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    again = api.book(station, nodes()[0], key="k-1")
    assert again.status_code == 201, again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"] and again.json["car"] == first.json["car"]
    # The second car is still free: a new key books it.
    other = api.book(station, nodes()[0], key="k-2")
    assert other.status_code == 201 and other.json["car"] != first.json["car"]


def test_the_key_is_the_stations_own(api):
    api.ready_car(nodes()[1], "a")
    api.ready_car(nodes()[2], "b")
    _, one = api.register("station", "one")
    _, two = api.register("station", "two")
    a = api.book(one, nodes()[0], key="same")
    b = api.book(two, nodes()[0], key="same")
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"] and b.headers["Idempotent-Replayed"] == "false"


def test_a_key_reused_for_another_destination_is_409(api):
    api.ready_car(nodes()[1])
    _, station = api.register("station")
    first = api.book(station, nodes()[0], key="k")
    r = api.book(station, nodes()[3], key="k")
    assert r.status_code == 409 and r.json["error"]["code"] == "idempotency_key_reused"
    assert first.json["id"] in r.json["error"]["message"]


def test_the_key_still_answers_after_the_trip_ended(api):
    api.ready_car(nodes()[1])
    _, station = api.register("station")
    first = api.book(station, nodes()[0], key="k")
    cancelled = api.call("POST", f"/bookings/{first.json['id']}/cancel", station)
    assert cancelled.status_code == 200
    again = api.book(station, nodes()[0], key="k")
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    assert again.json["status"] == cancelled.json["status"]


def test_without_a_key_every_request_is_a_new_booking(api):
    api.ready_car(nodes()[1], "a")
    api.ready_car(nodes()[2], "b")
    _, station = api.register("station")
    a, b = api.book(station, nodes()[0]), api.book(station, nodes()[0])
    assert a.status_code == b.status_code == 201 and a.json["id"] != b.json["id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "é"])
def test_a_bad_key_is_a_4xx_with_a_json_error(api, key):
    api.ready_car(nodes()[1])
    _, station = api.register("station")
    r = api.book(station, nodes()[0], key=key)
    assert 400 <= r.status_code < 500 and "error" in r.json, r.json
    assert api.book(station, nodes()[0]).status_code == 201, "nothing was booked"


def test_racing_retries_with_one_key_book_one_car(app, api):
    """Two requests with one key at once: the index settles it, one car moves."""
    for i in range(1, 5):
        api.ready_car(nodes()[i], f"car{i}")
    _, station = api.register("station")
    results: list = [None] * 5  # the booking limit is 5 a second
    barrier = threading.Barrier(len(results))

    def go(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[i] = client.post(
            "/api/v1/bookings",
            json={"destination": nodes()[0]},
            headers={"Authorization": f"Bearer {station}", "Idempotency-Key": "race"},
        )

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 201 for r in results), [
        (r.status_code, r.json.get("error")) for r in results
    ]
    assert len({r.json["id"] for r in results}) == 1
    assert sum(r.headers["Idempotent-Replayed"] == "false" for r in results) == 1
    booked = [c for c in api.cars(station).json["cars"] if c.get("booking")]
    assert len(booked) == 1, booked


def test_a_replay_is_not_held_to_the_booking_rate_limit(api):
    api.ready_car(nodes()[1], "a")
    _, station = api.register("station")
    first = api.book(station, nodes()[0], key="k-1")
    assert first.status_code == 201
    answers = [api.book(station, nodes()[0], key="k-1") for _ in range(12)]
    assert [r.status_code for r in answers] == [201] * 12
    assert {r.json["id"] for r in answers} == {first.json["id"]}
    # New requests from the same station are still limited (5 a second).
    fresh = [api.book(station, nodes()[0], key=f"n-{i}").status_code for i in range(8)]
    assert 429 in fresh
