"""The data-safety check (benchmarks/reliability/consistency.py) on clean and corrupted data.

The databases here are written directly, without the server's indexes, so states the
server itself refuses (two open bookings for one car) can be planted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from benchmarks.reliability.consistency import check, ledger_problems, unacknowledged

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(mongo_uri: str, db_name: str) -> Iterator[Database]:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    yield client[db_name]
    client.drop_database(db_name)
    client.close()


def car(car_id: str, booking: str | None = None, seen_s_ago: float = 0.5, **kw) -> dict:
    return {
        "_id": car_id,
        "state": "driving" if booking else "ready",
        "node": "A",
        "booking": booking,
        "last_seen": NOW - timedelta(seconds=seen_s_ago),
        **kw,
    }


def booking(bid: str, car_id: str, status: str, start_s: float, end_s: float | None) -> dict:
    doc = {
        "_id": bid,
        "car": car_id,
        "station": "st-1",
        "status": status,
        "open": status in ("assigned", "driving"),
        "created_at": NOW - timedelta(seconds=start_s),
        "updated_at": NOW,
    }
    if end_s is not None:
        doc["ended_at"] = NOW - timedelta(seconds=end_s)
    return doc


def healthy(db: Database) -> None:
    db.cars.insert_many([car("c1", "b3"), car("c2"), car("c3", seen_s_ago=600)])
    db.bookings.insert_many(
        [
            booking("b1", "c1", "arrived", 60, 50),
            booking("b2", "c1", "cancelled", 40, 30),
            booking("b3", "c1", "driving", 10, None),
            booking("b4", "c2", "failed", 30, 20),
            booking("b5", "c3", "arrived", 900, 800),
        ]
    )


def test_a_healthy_fleet_is_clean(db):
    healthy(db)
    report = check(db, at=NOW)
    assert report.ok, report.problems
    assert report.bookings == 5 and report.cars == 3 and report.double_bookings == 0
    assert report.by_status == {"arrived": 2, "cancelled": 1, "driving": 1, "failed": 1}


def test_two_open_bookings_for_one_car_are_a_double_booking(db):
    healthy(db)
    db.bookings.insert_one(booking("b6", "c1", "assigned", 5, None))
    report = check(db, at=NOW)
    assert not report.ok and report.double_bookings >= 1
    assert any("c1: 2 open bookings" in p for p in report.problems)


def test_overlapping_trips_of_one_car_are_a_double_booking(db):
    healthy(db)
    # c2 took b7 while b4 (30 s .. 20 s ago) was still going.
    db.bookings.insert_one(booking("b7", "c2", "arrived", 25, 15))
    report = check(db, at=NOW)
    assert report.double_bookings == 1
    assert any("bookings b4 and b7 overlap" in p for p in report.problems), report.problems


def test_a_start_within_the_tolerance_is_not_an_overlap(db):
    healthy(db)
    db.bookings.insert_one(booking("b7", "c2", "arrived", 20.5, 15))
    assert check(db, at=NOW).ok


def test_a_slow_request_booking_that_began_after_a_short_trip_is_not_an_overlap(db):
    """Seen at saturation: A's request started first (its created_at) but claimed the
    car only after B, a short trip booked meanwhile, had ended; A then ran long."""
    healthy(db)
    db.bookings.insert_many(
        [
            booking("ba", "c2", "arrived", 19.0, 5),  # request took up to 4 s
            booking("bb", "c2", "arrived", 18.5, 16),
        ]
    )
    assert check(db, at=NOW, overlap_tolerance_s=4.0).ok
    report = check(db, at=NOW, overlap_tolerance_s=1.0)  # too fast a request for that
    assert report.double_bookings == 1
    assert any("bookings ba and bb overlap" in p for p in report.problems), report.problems


def test_a_trip_inside_another_is_an_overlap(db):
    healthy(db)
    db.bookings.insert_many(
        [booking("ba", "c2", "arrived", 19, 5), booking("bb", "c2", "arrived", 15, 10)]
    )
    report = check(db, at=NOW, overlap_tolerance_s=2.0)
    assert report.double_bookings == 1 and not report.ok


@pytest.mark.parametrize(
    ("plant", "problem"),
    [
        (lambda db: db.bookings.insert_one(booking("b9", "c2", "lost", 5, None)), "unknown status"),
        (
            lambda db: db.bookings.update_one({"_id": "b1"}, {"$set": {"open": True}}),
            "arrived but open=True",
        ),
        (
            lambda db: db.bookings.insert_one(booking("b9", "ghost", "arrived", 5, 1)),
            "'ghost' does not exist",
        ),
        (
            lambda db: db.cars.update_one({"_id": "c1"}, {"$set": {"booking": None}}),
            "open, but car c1 points at None",
        ),
        (
            lambda db: db.cars.update_one({"_id": "c2"}, {"$set": {"booking": "b4"}}),
            "points at b4, which is failed",
        ),
        (
            lambda db: db.cars.update_one(
                {"_id": "c1"}, {"$set": {"last_seen": NOW - timedelta(seconds=60)}}
            ),
            "silent (stuck)",
        ),
        (
            lambda db: db.cars.update_one(
                {"_id": "c2"},
                {"$set": {"booking": "bk-x", "claimed_at": NOW - timedelta(seconds=60)}},
            ),
            "claimed by bk-x, which was never stored",
        ),
    ],
)
def test_each_corruption_is_named(db, plant, problem):
    healthy(db)
    plant(db)
    report = check(db, at=NOW)
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_a_fresh_claim_is_waiting_for_its_booking_not_broken(db):
    healthy(db)
    db.cars.update_one(
        {"_id": "c2"}, {"$set": {"booking": "bk-new", "claimed_at": NOW - timedelta(seconds=1)}}
    )
    assert check(db, at=NOW).ok


def test_the_ledger_finds_lost_and_changed_bookings(db):
    healthy(db)
    acked = {"b1": "st-1", "b3": "st-1", "b-missing": "st-1", "b4": "st-2"}
    closes = {"b1": "arrived", "b2": "arrived"}
    problems, lost = ledger_problems(db, acked, closes)
    assert lost == 3  # missing, stored for another station, and b2 told arrived but cancelled
    assert any("b-missing" in p for p in problems)
    assert any("b2: acknowledged arrived, stored cancelled" in p for p in problems)
    assert ledger_problems(db, {"b1": "st-1"}, {"b1": "arrived"}) == ([], 0)
    assert unacknowledged(db, {"b1": "st-1"}, ["st-1"]) == 4
    db.bookings.insert_one({**booking("b9", "c3", "arrived", 5, 1), "station": "st-9"})
    assert unacknowledged(db, {"b1": "st-1"}, ["st-1"]) == 4  # another drill's station
    assert unacknowledged(db, {"b1": "st-1"}, ["st-1", "st-9"]) == 5
