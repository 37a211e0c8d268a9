"""The data-safety check every drill ends with: is the fleet's database consistent?

`check(db)` reads the `cars` and `bookings` collections (through pymongo, as the server
does) and lists every violation of the booking invariants:

- every booking is in a known state: live (`assigned`/`driving`, `open: true`, no end
  time) or final (`arrived`/`cancelled`/`failed`, `open: false`, with an end time);
- a live booking's car exists, points back at it, and has reported within the liveness
  timeout (plus `stale_slack_s` for the sweep to run) — else the booking is stuck;
- every car is in at most one open booking, and a car's `booking` is an open booking of
  that car (a claim with no booking counts only once the server's repair time is over);
- no car was ever booked twice: a car's bookings never overlap in time. A booking's
  `created_at` is taken when its request starts, before the car is claimed, so the
  booking began somewhere within `overlap_tolerance_s` after it (drills pass the slowest
  request they saw); two bookings count as overlapping only if they do even when each
  began as late as it may have. (Two bookings open at once, the real double booking, the
  database's unique index refuses.)

`ledger_problems` compares the database with what clients were told (bookings answered
201, closes answered 200): an acknowledged booking that is missing or ended otherwise is
lost.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database

LIVE = ("assigned", "driving")
FINAL = ("arrived", "cancelled", "failed")
# The server undoes a claim whose booking never appeared after 10 s (server/fleet.py).
CLAIM_REPAIR_S = 10.0


@dataclass
class Report:
    """What `check` found: counts, and one line per problem (empty when consistent)."""

    bookings: int = 0
    cars: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    double_bookings: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "bookings": self.bookings,
            "cars": self.cars,
            "by_status": self.by_status,
            "double_bookings": self.double_bookings,
            "problems": self.problems[:20],
            "problem_count": len(self.problems),
        }


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check(
    db: Database,
    *,
    liveness_timeout_s: float = 3.0,
    stale_slack_s: float = 3.0,
    overlap_tolerance_s: float = 1.0,
    at: datetime | None = None,
) -> Report:
    """Check the fleet's invariants over `db`; see the module docstring."""
    at = at or datetime.now(UTC)
    cars = {c["_id"]: c for c in db.cars.find({})}
    bookings = list(db.bookings.find({}))
    report = Report(bookings=len(bookings), cars=len(cars))
    report.by_status = dict(Counter(str(b.get("status")) for b in bookings))
    problems = report.problems
    open_by_car: dict[str, list[str]] = defaultdict(list)
    spans: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    stale_before = at - timedelta(seconds=liveness_timeout_s + stale_slack_s)

    for b in bookings:
        bid, status, car_id = b["_id"], b.get("status"), b.get("car")
        created, ended = _aware(b.get("created_at")), _aware(b.get("ended_at"))
        if status in LIVE:
            if b.get("open") is not True or ended is not None:
                problems.append(f"booking {bid}: {status} but open={b.get('open')!r}, ended")
            open_by_car[car_id].append(bid)
            car = cars.get(car_id)
            if car is None:
                problems.append(f"booking {bid}: its car {car_id!r} does not exist")
                continue
            if car.get("booking") != bid:
                problems.append(
                    f"booking {bid}: open, but car {car_id} points at {car.get('booking')!r}"
                )
            seen = _aware(car.get("last_seen"))
            if seen is None or seen < stale_before:
                problems.append(f"booking {bid}: open, but car {car_id} is silent (stuck)")
        elif status in FINAL:
            if b.get("open") is not False or ended is None:
                problems.append(f"booking {bid}: {status} but open={b.get('open')!r}, no end")
        else:
            problems.append(f"booking {bid}: unknown status {status!r}")
            continue
        if car_id not in cars:
            problems.append(f"booking {bid}: its car {car_id!r} does not exist")
        if created is None:
            problems.append(f"booking {bid}: no created_at")
        else:
            spans[car_id].append((created, ended or at, bid))

    for car_id, ids in open_by_car.items():
        if len(ids) > 1:
            report.double_bookings += len(ids) - 1
            problems.append(f"car {car_id}: {len(ids)} open bookings {sorted(ids)}")
    tolerance = timedelta(seconds=overlap_tolerance_s)
    by_id_all = {b["_id"]: b for b in bookings}
    for car_id, car_spans in spans.items():
        # A booking began (its car was claimed) somewhere in [created_at, created_at +
        # tolerance]; two bookings overlap for sure only if they do even when each began
        # as late as it may have. (Sorting by created_at alone is not enough: a slow
        # request's booking may sort before one it was claimed after.)
        late = sorted((min(start + tolerance, end), end, bid) for start, end, bid in car_spans)
        for i, (start_a, end_a, a) in enumerate(late):
            for start_b, end_b, b in late[i + 1 :]:
                if start_b >= end_a:
                    break  # sorted by (late) start: no later one overlaps a
                if start_b < end_b and start_a < end_a:
                    report.double_bookings += 1
                    gap = (min(end_a, end_b) - start_b).total_seconds()
                    problems.append(
                        f"car {car_id}: bookings {a} and {b} overlap by {gap:.2f} s "
                        f"({_describe(by_id_all[a])}; {_describe(by_id_all[b])})"
                    )

    by_id = {b["_id"]: b for b in bookings}
    repair_before = at - timedelta(seconds=CLAIM_REPAIR_S + stale_slack_s)
    for car_id, car in cars.items():
        held = car.get("booking")
        if held is None:
            continue
        booking = by_id.get(held)
        if booking is None:
            claimed = _aware(car.get("claimed_at"))
            if claimed is None or claimed < repair_before:
                problems.append(f"car {car_id}: claimed by {held}, which was never stored")
        elif booking.get("car") != car_id or booking.get("status") not in LIVE:
            problems.append(
                f"car {car_id}: points at {held}, which is {booking.get('status')} "
                f"for {booking.get('car')}"
            )
    return report


def _describe(b: dict[str, Any]) -> str:
    return (
        f"{b['_id']} {b.get('kind', 'trip')} {b.get('status')} "
        f"from {b.get('created_at')} to {b.get('ended_at')} ({b.get('reason')})"
    )


def ledger_problems(
    db: Database, acked: dict[str, str], closes: dict[str, str]
) -> tuple[list[str], int]:
    """Compare the database with what clients were told.

    `acked`: booking id -> station, for every 201 a station got; `closes`: booking id ->
    the final status a 200 answer to cancel/arrived reported. Returns (problems, number of
    lost bookings).
    """
    problems: list[str] = []
    lost = 0
    ids = list(set(acked) | set(closes))
    stored = {b["_id"]: b for b in db.bookings.find({"_id": {"$in": ids}})}
    for bid, station in acked.items():
        doc = stored.get(bid)
        if doc is None:
            lost += 1
            problems.append(f"booking {bid}: acknowledged to {station}, not in the database")
        elif doc.get("station") != station:
            lost += 1
            problems.append(f"booking {bid}: acknowledged to {station}, stored for another")
    for bid, status in closes.items():
        doc = stored.get(bid)
        if doc is not None and doc.get("status") != status:
            lost += 1
            problems.append(f"booking {bid}: acknowledged {status}, stored {doc.get('status')}")
    return problems, lost


def unacknowledged(db: Database, acked: dict[str, str], stations: list[str]) -> int:
    """Trip bookings of `stations` stored whose 201 never reached the station (its request
    was cut off). Other stations' bookings (an earlier drill on the same cluster) are not
    this drill's to count."""
    query = {"station": {"$in": stations}}
    return sum(1 for b in db.bookings.find(query, {"_id": 1}) if b["_id"] not in acked)
