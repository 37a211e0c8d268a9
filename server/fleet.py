"""Booking, claiming, progress and liveness: the fleet's rules, on top of pymongo only.

Invariants, each held by an atomic conditional update rather than read-modify-write:
- a car is claimed by setting `cars.booking` only where it is still null, so two
  stations can never win the same car; the unique partial index on open bookings
  backs this up inside the database;
- a booking leaves an open state (`assigned`, `driving`) exactly once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from city import City, CityError, NoRouteError
from server.db import IDEMPOTENCY_INDEX
from server.errors import ApiError, Conflict, Forbidden, NotFound
from server.make_way import ParkedCar, in_the_way, parking_route, route_roads

log = logging.getLogger(__name__)

OPEN_STATUSES = ("assigned", "driving")
# What an operator may set a car to; only `in_service` cars are ever claimed for a booking.
SERVICE_STATES = ("in_service", "paused", "out_of_service")
# Matches cars whose operator has not held them (a car registered before the field existed
# has no `service` and counts as in service).
IN_SERVICE = {"$nin": ["paused", "out_of_service"]}
# A claim whose booking document never appeared (its worker died in between) is undone
# after this long.
ORPHAN_CLAIM_GRACE = timedelta(seconds=10)


class NoCarAvailable(ApiError):
    status, code = 409, "no_car_available"


class IdempotencyKeyReused(ApiError):
    status, code = 409, "idempotency_key_reused"


class UnknownNode(ApiError):
    status, code = 404, "unknown_node"


def now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def booking_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A booking as the API shows it."""
    return {
        "id": doc["_id"],
        "car": doc["car"],
        "station": doc.get("station"),
        "kind": doc.get("kind", "trip"),
        "destination": doc["destination"],
        "route": doc["route"],
        "stream_url": doc.get("stream_url"),
        "stream_token": doc.get("stream_token"),
        "status": doc["status"],
        "passed": doc.get("passed", []),
        "reason": doc.get("reason"),
        "created_at": _iso(doc["created_at"]),
        "updated_at": _iso(doc["updated_at"]),
    }


@dataclass
class Fleet:
    """The fleet's operations for one worker; stateless apart from caches of the city."""

    db: Database
    city: City
    liveness_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        self._distances = lru_cache(maxsize=256)(self.city.distances_to)

    # -- helpers -----------------------------------------------------------------------

    def cutoff(self, at: datetime | None = None) -> datetime:
        return (at or now()) - timedelta(seconds=self.liveness_timeout_s)

    def check_node(self, node: str) -> None:
        if not self.city.has_node(node):
            raise UnknownNode(f"unknown node {node!r}")

    def route(self, start: str, goal: str) -> dict[str, Any]:
        self.check_node(start)
        self.check_node(goal)
        try:
            return self.city.route(start, goal).to_dict()
        except CityError as exc:
            raise Conflict(str(exc), code="no_route") from exc

    # -- cars --------------------------------------------------------------------------

    def car_view(self, doc: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        online = doc.get("last_seen") is not None and doc["last_seen"] >= self.cutoff(at)
        return {
            "id": doc["_id"],
            "name": doc.get("name", doc["_id"]),
            "state": doc["state"] if online else "offline",
            "node": doc.get("node"),
            "battery_v": doc.get("battery_v"),
            "from_node": doc.get("from_node"),
            "stream_url": doc.get("stream_url"),
            "booking": doc.get("booking"),
            "online": online,
            "service": doc.get("service") or "in_service",
        }

    def report_status(self, car_id: str, status: dict[str, Any]) -> dict[str, Any]:
        """Store a car's status; this is also its heartbeat."""
        self.check_node(status["node"])
        t = now()
        fields: dict[str, Any] = {
            "state": status["state"],
            "node": status["node"],
            "from_node": self._arrived_from(status.get("from_node"), status["node"]),
            "last_seen": t,
        }
        for key in ("battery_v", "stream_url"):
            if status.get(key) is not None:
                fields[key] = status[key]
        doc = self.db.cars.find_one_and_update(
            {"_id": car_id}, {"$set": fields}, return_document=True
        )
        if doc is None:
            raise NotFound(f"no car {car_id!r}")
        if doc.get("booking"):
            if status["state"] == "driving":
                self.db.bookings.update_one(
                    {"_id": doc["booking"], "status": "assigned"},
                    {"$set": {"status": "driving", "updated_at": t}},
                )
            elif status["state"] == "offline":
                self._close(doc["booking"], "failed", reason="car went offline")
        return self.car_view(doc, t)

    def list_cars(self) -> list[dict[str, Any]]:
        t = now()
        return [self.car_view(d, t) for d in self.db.cars.find({}).sort("_id", 1)]

    def set_service(self, car_id: str, service: str) -> dict[str, Any]:
        """An operator pauses a car, takes it out of service or returns it to service.

        A car that is not `in_service` is never claimed; an open booking it already has
        is left to finish (or to the operator to cancel at the station).
        """
        if service not in SERVICE_STATES:
            raise ApiError(f"service: must be one of {', '.join(SERVICE_STATES)}")
        result = self.db.cars.update_one({"_id": car_id}, {"$set": {"service": service}})
        if result.matched_count != 1:
            raise NotFound(f"no car {car_id!r}")
        log.info("car %s set %s by an operator", car_id, service)
        return self.car_view(self.db.cars.find_one({"_id": car_id}) or {})

    # -- bookings ----------------------------------------------------------------------

    def list_bookings(self, *, limit: int, open_only: bool = False) -> list[dict[str, Any]]:
        """The newest bookings first (for operators)."""
        query = {"open": True} if open_only else {}
        docs = self.db.bookings.find(query).sort("created_at", -1).limit(limit)
        return [booking_view(doc) for doc in docs]

    def book(
        self, station_id: str, destination: str, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Claim the ready car nearest (by route) to `destination` and create its booking.

        Returns (booking, created). With an `idempotency_key` the station already used,
        nothing is booked: the booking that key made comes back with `created` False. A
        unique index on (station, key) settles two retries racing each other.
        """
        self.check_node(destination)
        if idempotency_key is not None:
            earlier = self.replay(station_id, idempotency_key, destination)
            if earlier is not None:
                return earlier, False
        t = now()
        distances = self._distances(destination)
        candidates = [
            (distances[c["node"]], c["_id"], c["node"], c.get("stream_url"), c.get("from_node"))
            for c in self.db.cars.find(
                {
                    "booking": None,
                    "state": "ready",
                    "service": IN_SERVICE,
                    "last_seen": {"$gte": self.cutoff(t)},
                },
                {"node": 1, "stream_url": 1, "from_node": 1},
            )
            if c.get("node") in distances
        ]
        candidates.sort()
        booking_id = f"bk-{secrets.token_hex(8)}"
        for _, car_id, node, stream_url, from_node in candidates:
            claim = self.db.cars.update_one(
                {
                    "_id": car_id,
                    "booking": None,
                    "state": "ready",
                    "node": node,
                    "service": IN_SERVICE,
                    "last_seen": {"$gte": self.cutoff(t)},
                },
                {"$set": {"booking": booking_id, "claimed_at": t}},
            )
            if claim.modified_count != 1:
                continue  # another station took it first, or it moved: try the next one
            doc = {
                "_id": booking_id,
                "car": car_id,
                "station": station_id,
                "origin": node,
                "destination": destination,
                "route": self._route_from(node, from_node, destination),
                "stream_url": stream_url,
                # Viewers of the car's MJPEG stream present it: `<stream_url>?token=...`.
                "stream_token": secrets.token_urlsafe(16),
                "status": "assigned",
                "open": True,
                "passed": [],
                "reason": None,
                "created_at": t,
                "updated_at": t,
            }
            if idempotency_key is not None:
                doc["idempotency_key"] = idempotency_key
            try:
                self.db.bookings.insert_one(doc)
            except DuplicateKeyError as exc:
                self._release(car_id, booking_id)
                if idempotency_key is not None and IDEMPOTENCY_INDEX in str(exc):
                    log.info("booking key of station %s used by a concurrent request", station_id)
                    earlier = self.replay(station_id, idempotency_key, destination)
                    if earlier is not None:
                        return earlier, False
                log.error("car %s already had an open booking; releasing claim", car_id)
                continue
            log.info("booking %s: car %s %s -> %s", booking_id, car_id, node, destination)
            self._make_way(doc["route"], car_id)
            return booking_view(doc), True
        if idempotency_key is not None:  # a racing retry may have taken the last car
            earlier = self.replay(station_id, idempotency_key, destination)
            if earlier is not None:
                return earlier, False
        raise NoCarAvailable("no car is ready to take this trip; try again shortly")

    def replay(self, station_id: str, key: str, destination: str) -> dict[str, Any] | None:
        """The booking `station_id` made with idempotency `key`, if any (409 if it was for
        another destination: a key names one booking request, never two)."""
        doc = self.db.bookings.find_one({"station": station_id, "idempotency_key": key})
        if doc is None:
            return None
        if doc["destination"] != destination:
            raise IdempotencyKeyReused(
                f"Idempotency-Key already used for booking {doc['_id']} to "
                f"{doc['destination']!r}; make a new key for a new booking"
            )
        return booking_view(doc)

    def _make_way(self, route: dict[str, Any], moving_car: str, depth: int = 0) -> None:
        """Send the idle cars parked on `route`'s roads somewhere out of the way
        (see server/make_way.py). Best effort: a car that cannot be claimed stays."""
        nodes = [step["node"] for step in route["steps"]]
        idle = self._idle_cars(exclude=moving_car)
        avoid = self._roads_to_keep_clear(idle) | route_roads(nodes)
        for car in in_the_way(nodes, idle):
            self._relocate(car, avoid, depth=depth)

    def _make_way_after_arrival(self, car_id: str, node: str, from_node: str | None) -> None:
        """A car that just stopped on a road an open booking will drive moves on."""
        car = ParkedCar(car_id, node, from_node)
        if car.road is None:
            return
        idle = self._idle_cars(exclude=car_id)
        avoid = self._roads_to_keep_clear(idle)
        on_routes = set()
        for booking in self.db.bookings.find({"open": True}, {"route": 1, "passed": 1}):
            on_routes |= route_roads([s["node"] for s in booking["route"]["steps"]])
        if car.road in on_routes:
            self._relocate(car, avoid | on_routes, require_ready=False)

    def _idle_cars(self, *, exclude: str) -> list[ParkedCar]:
        return [
            ParkedCar(c["_id"], c["node"], c.get("from_node"))
            for c in self.db.cars.find(
                {"booking": None, "_id": {"$ne": exclude}, "node": {"$ne": None}},
                {"node": 1, "from_node": 1},
            )
        ]

    def _roads_to_keep_clear(self, idle: list[ParkedCar]) -> set[tuple[str, str]]:
        """Roads where a car is parked, and the last road of every open booking."""
        keep = {c.road for c in idle if c.road is not None}
        for booking in self.db.bookings.find({"open": True}, {"route": 1}):
            steps = booking.get("route", {}).get("steps", [])
            if len(steps) >= 2:
                keep.add((steps[-2]["node"], steps[-1]["node"]))
        return keep

    def _relocate(
        self,
        car: ParkedCar,
        avoid: set[tuple[str, str]],
        *,
        depth: int = 0,
        require_ready: bool = True,
    ) -> None:
        target = parking_route(self.city, car, avoid)
        if target is None:
            log.warning("car %s stands on a trip's road with nowhere to go", car.car_id)
            return
        t = now()
        booking_id = f"rl-{secrets.token_hex(8)}"
        guard: dict[str, Any] = {
            "_id": car.car_id,
            "booking": None,
            "node": car.node,
            "service": IN_SERVICE,
            "last_seen": {"$gte": self.cutoff(t)},
        }
        if require_ready:
            guard["state"] = "ready"
        claim = self.db.cars.update_one(guard, {"$set": {"booking": booking_id, "claimed_at": t}})
        if claim.modified_count != 1:
            log.warning("car %s is in the way and cannot be moved now", car.car_id)
            return
        doc = {
            "_id": booking_id,
            "kind": "relocation",
            "car": car.car_id,
            "station": None,
            "origin": car.node,
            "destination": target.goal,
            "route": target.to_dict(),
            "stream_url": None,
            "stream_token": secrets.token_urlsafe(16),
            "status": "assigned",
            "open": True,
            "passed": [],
            "reason": "making way for a trip",
            "created_at": t,
            "updated_at": t,
        }
        try:
            self.db.bookings.insert_one(doc)
        except DuplicateKeyError:
            self._release(car.car_id, booking_id)
            return
        avoid.add((target.nodes[-2], target.nodes[-1]))
        log.info("relocation %s: car %s %s -> %s", booking_id, car.car_id, car.node, target.goal)
        if depth < 2:
            self._make_way(doc["route"], car.car_id, depth + 1)

    def get_booking(self, booking_id: str, *, check_car: bool = True) -> dict[str, Any]:
        """The booking; with `check_car`, an open booking of a silent car is failed first."""
        doc = self.db.bookings.find_one({"_id": booking_id})
        if doc is None:
            raise NotFound(f"no booking {booking_id!r}", code="unknown_booking")
        if check_car and doc.get("open"):
            car = self.db.cars.find_one({"_id": doc["car"]}, {"last_seen": 1})
            if car is None or car.get("last_seen") is None or car["last_seen"] < self.cutoff():
                self.fail_silent_cars()
                doc = self.db.bookings.find_one({"_id": booking_id}) or doc
        return doc

    def booking_for(self, booking_id: str, device_id: str, *roles: str) -> dict[str, Any]:
        """The booking, if `device_id` is its car or station (as `roles` allow).

        When the car itself asks, it is evidently alive: no liveness check then.
        """
        doc = self.get_booking(booking_id, check_car=roles != ("car",))
        if not any(doc.get(role) == device_id for role in roles):
            raise Forbidden("this booking belongs to another device")
        return doc

    def assignment(self, car_id: str) -> dict[str, Any] | None:
        doc = self.db.bookings.find_one({"car": car_id, "open": True})
        return booking_view(doc) if doc else None

    def assignments(self, car_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Open bookings of many cars in one query (for the long-poll watcher)."""
        docs = self.db.bookings.find({"car": {"$in": car_ids}, "open": True})
        return {doc["car"]: booking_view(doc) for doc in docs}

    def progress(self, booking_id: str, car_id: str, node: str) -> dict[str, Any]:
        doc = self.booking_for(booking_id, car_id, "car")
        self._require_open(doc)
        self.check_node(node)
        nodes = [s["node"] for s in doc["route"]["steps"]]
        last = doc.get("progress_index", -1)
        try:
            index = nodes.index(node, last + 1)
        except ValueError:
            raise Conflict(
                f"node {node!r} is not ahead on this booking's route", code="node_not_on_route"
            ) from None
        t = now()
        result = self.db.bookings.update_one(
            {"_id": booking_id, "open": True, "progress_index": doc.get("progress_index")},
            {
                "$push": {"passed": node},
                "$set": {"status": "driving", "progress_index": index, "updated_at": t},
            },
        )
        if result.modified_count != 1:
            raise Conflict("the booking changed meanwhile; retry", code="booking_changed")
        came_from = nodes[index - 1] if index > 0 else None
        self.db.cars.update_one(
            {"_id": car_id},
            {"$set": {"node": node, "from_node": self._arrived_from(came_from, node)}},
        )
        doc.update(status="driving", passed=[*doc.get("passed", []), node], updated_at=t)
        return booking_view(doc)

    def reroute(
        self, booking_id: str, car_id: str, node: str, from_node: str | None
    ) -> dict[str, Any]:
        """Replace the open booking's route by one from `node` to its destination."""
        doc = self.booking_for(booking_id, car_id, "car")
        self._require_open(doc)
        self.check_node(node)
        route = self._route_from(node, self._arrived_from(from_node, node), doc["destination"])
        t = now()
        result = self.db.bookings.update_one(
            {"_id": booking_id, "open": True},
            {
                "$set": {"route": route, "updated_at": t, "status": "driving"},
                "$unset": {"progress_index": ""},
                "$inc": {"reroutes": 1},
            },
        )
        if result.modified_count != 1:
            raise Conflict("the booking changed meanwhile; retry", code="booking_changed")
        self.db.cars.update_one(
            {"_id": car_id},
            {"$set": {"node": node, "from_node": self._arrived_from(from_node, node)}},
        )
        log.info("booking %s: rerouted from %s", booking_id, node)
        self._make_way(route, car_id)
        doc.update(route=route, updated_at=t, status="driving")
        doc.pop("progress_index", None)
        return booking_view(doc)

    def arrived(self, booking_id: str, car_id: str) -> dict[str, Any]:
        doc = self.booking_for(booking_id, car_id, "car")
        was_open = bool(doc.get("open"))
        view = self._finish(doc, "arrived", node=doc["destination"])
        if was_open:
            steps = doc["route"]["steps"]
            came_from = steps[-2]["node"] if len(steps) >= 2 else None
            self._make_way_after_arrival(car_id, doc["destination"], came_from)
        return view

    def _arrived_from(self, from_node: str | None, node: str) -> str | None:
        """`from_node` if the road from_node → node exists, else None (heading unknown)."""
        if from_node is not None and (from_node, node) in self.city.edges:
            return from_node
        return None

    def _route_from(self, node: str, from_node: str | None, destination: str) -> dict[str, Any]:
        """The route for a car at `node` that came from `from_node` (if known).

        If no allowed turn out of that road leads to the destination, the route starts
        from the node itself (any heading) and the log says so.
        """
        if from_node is not None:
            try:
                return self.city.route(node, destination, arrived_from=from_node).to_dict()
            except NoRouteError:
                log.warning("no route %s→%s→%s; any heading", from_node, node, destination)
        return self.city.route(node, destination).to_dict()

    def cancel(self, booking_id: str, station_id: str) -> dict[str, Any]:
        doc = self.booking_for(booking_id, station_id, "station")
        return self._finish(doc, "cancelled", reason="cancelled by the station")

    def _finish(
        self,
        doc: dict[str, Any],
        status: str,
        *,
        reason: str | None = None,
        node: str | None = None,
    ) -> dict[str, Any]:
        """Close `doc` as `status`; repeating the same close is harmless, another is a 409."""
        if doc["status"] != status:
            self._require_open(doc)
            closed = self._close(doc["_id"], status, car=doc["car"], reason=reason, node=node)
            if closed is None:  # closed by someone else meanwhile
                return self._finish(self.get_booking(doc["_id"], check_car=False), status)
            doc = {**doc, **closed}
        return booking_view(doc)

    def _require_open(self, doc: dict[str, Any]) -> None:
        if not doc.get("open"):
            raise Conflict(f"booking is already {doc['status']}", code="booking_closed")

    def _close(
        self,
        booking_id: str,
        status: str,
        *,
        car: str | None = None,
        reason: str | None = None,
        node: str | None = None,
    ) -> dict[str, Any] | None:
        """Move an open booking to a final status once, then free its car.

        Returns the closed booking's changed fields (with `car`), or None when the booking
        was not open any more (someone else closed it).
        """
        t = now()
        changes = {"status": status, "open": False, "reason": reason, "updated_at": t}
        result = self.db.bookings.update_one(
            {"_id": booking_id, "open": True}, {"$set": {**changes, "ended_at": t}}
        )
        if result.modified_count != 1:
            return None
        if car is None:
            car = (self.db.bookings.find_one({"_id": booking_id}, {"car": 1}) or {}).get("car")
        extra: dict[str, Any] = {}
        if node:
            booking = self.db.bookings.find_one({"_id": booking_id}, {"route": 1}) or {}
            steps = booking.get("route", {}).get("steps", [])
            came_from = steps[-2]["node"] if len(steps) >= 2 else None
            extra = {"node": node, "from_node": self._arrived_from(came_from, node)}
        self.db.cars.update_one(
            {"_id": car, "booking": booking_id}, {"$set": {"booking": None, **extra}}
        )
        log.info("booking %s %s%s", booking_id, status, f" ({reason})" if reason else "")
        return {"_id": booking_id, "car": car, **changes}

    def _release(self, car_id: str, booking_id: str) -> None:
        self.db.cars.update_one({"_id": car_id, "booking": booking_id}, {"$set": {"booking": None}})

    # -- liveness ----------------------------------------------------------------------

    def fail_silent_cars(self) -> int:
        """Fail the open booking of every car silent for longer than the timeout.

        Idempotent and safe to run in every worker at once.
        """
        t = now()
        failed = 0
        silent = self.db.cars.find(
            {
                "booking": {"$ne": None},
                "$or": [{"last_seen": None}, {"last_seen": {"$lt": self.cutoff(t)}}],
            },
            {"booking": 1},
        )
        for car in silent:
            if self._close(car["booking"], "failed", reason="car stopped reporting") is not None:
                failed += 1
            else:
                self._repair_claim(car["_id"], car["booking"], t)
        return failed

    def repair_orphan_claims(self) -> int:
        """Free cars claimed by a worker that died before writing the booking."""
        t = now()
        repaired = 0
        for car in self.db.cars.find(
            {"booking": {"$ne": None}, "claimed_at": {"$lt": t - ORPHAN_CLAIM_GRACE}},
            {"booking": 1},
        ):
            repaired += self._repair_claim(car["_id"], car["booking"], t)
        return repaired

    def _repair_claim(self, car_id: str, booking_id: str, t: datetime) -> int:
        booking = self.db.bookings.find_one({"_id": booking_id}, {"open": 1})
        if booking is not None and booking.get("open"):
            return 0
        car = self.db.cars.find_one({"_id": car_id, "booking": booking_id}, {"claimed_at": 1})
        if car is None or (booking is None and car.get("claimed_at", t) > t - ORPHAN_CLAIM_GRACE):
            return 0
        self._release(car_id, booking_id)
        log.warning("released car %s from dead claim %s", car_id, booking_id)
        return 1
