"""Exclusive reservations of city nodes (intersections), one holder per node, on pymongo only.

A reservation is one document in `reservations` with `_id` = the node id, so the
database itself keeps one holder per node. A hold is *valid* while both its lease has
not expired and its car is alive (last status within the liveness timeout). Every
change is a guarded single-document write, never read-modify-write:

- a free node is taken by `insert_one` (a duplicate `_id` means someone else has it);
- the holder renews with `update_one({_id, car: me})`;
- an invalid hold is taken over with `update_one` filtering on the old holder, its
  `acquired_at` and its `expires_at`, so of several cars racing for a stale hold exactly
  one matches, and a renewal by the old holder in between makes every takeover miss;
- a release deletes only the caller's own document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.errors import ApiError, Conflict, NotFound
from server.fleet import Fleet, now

log = logging.getLogger(__name__)

# Attempts of one acquire or release before giving up on a node that keeps changing hands.
MAX_ATTEMPTS = 8


class ResourceBusy(ApiError):
    status, code = 409, "resource_busy"


def _ms(value: datetime) -> datetime:
    """BSON dates keep milliseconds: store exactly what we answer and later filter on."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reservation_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A reservation as the API shows it."""
    return {
        "node": doc["_id"],
        "car": doc["car"],
        "acquired_at": _iso(doc["acquired_at"]),
        "expires_at": _iso(doc["expires_at"]),
    }


@dataclass
class Reservations:
    """Node reservations for one worker; all state is in the `reservations` collection."""

    fleet: Fleet
    lease_s: float = 10.0

    @property
    def _col(self):  # noqa: ANN202 - a pymongo Collection with the database's write concern
        return self.fleet.db.reservations

    def _car_alive(self, car_id: str, at: datetime) -> bool:
        car = self.fleet.db.cars.find_one({"_id": car_id}, {"last_seen": 1})
        return bool(car and car.get("last_seen") and car["last_seen"] >= self.fleet.cutoff(at))

    def is_valid(self, doc: dict[str, Any], at: datetime | None = None) -> bool:
        """A hold counts while its lease runs and its car keeps reporting."""
        at = at or now()
        return doc["expires_at"] > at and self._car_alive(doc["car"], at)

    def acquire(self, node: str, car_id: str) -> dict[str, Any]:
        """Grant `node` to `car_id` or renew its lease; ResourceBusy if another car holds it."""
        self.fleet.check_node(node)
        for _ in range(MAX_ATTEMPTS):
            t = _ms(now())
            expires = _ms(t + timedelta(seconds=self.lease_s))
            doc = {"_id": node, "car": car_id, "acquired_at": t, "expires_at": expires}
            try:
                self._col.insert_one(doc)
            except DuplicateKeyError:
                pass
            else:
                log.debug("node %s reserved by %s", node, car_id)
                return reservation_view(doc)
            held = self._col.find_one({"_id": node})
            if held is None:
                continue  # released meanwhile: try to insert again
            if held["car"] == car_id:
                result = self._col.update_one(
                    {"_id": node, "car": car_id}, {"$set": {"expires_at": expires}}
                )
                if result.matched_count == 1:
                    return reservation_view({**held, "expires_at": expires})
                continue  # taken over meanwhile
            if self.is_valid(held, t):
                break
            result = self._col.update_one(
                {
                    "_id": node,
                    "car": held["car"],
                    "acquired_at": held["acquired_at"],
                    "expires_at": held["expires_at"],
                },
                {"$set": {"car": car_id, "acquired_at": t, "expires_at": expires}},
            )
            if result.modified_count == 1:
                log.info("node %s taken over by %s from stale holder %s", node, car_id, held["car"])
                return reservation_view(doc)
            # another car took it over (or the holder renewed) first: look again
        raise ResourceBusy(f"node {node!r} is reserved by another car")

    def release(self, node: str, car_id: str) -> dict[str, Any]:
        """Release `car_id`'s hold of `node` and return it.

        NotFound (`not_reserved`) when no valid hold exists, Conflict (`not_holder`) when
        another car validly holds it. The caller's own hold is released even if expired.
        """
        self.fleet.check_node(node)
        for _ in range(MAX_ATTEMPTS):
            held = self._col.find_one({"_id": node})
            if held is None:
                break
            if held["car"] != car_id:
                if self.is_valid(held):
                    raise Conflict(f"node {node!r} is reserved by another car", code="not_holder")
                break
            if self._col.delete_one({"_id": node, "car": car_id}).deleted_count == 1:
                log.debug("node %s released by %s", node, car_id)
                return reservation_view(held)
        raise NotFound(f"node {node!r} is not reserved", code="not_reserved")

    def list_valid(self) -> list[dict[str, Any]]:
        """Every valid hold, by node."""
        t = now()
        docs = list(self._col.find({"expires_at": {"$gt": t}}).sort("_id", 1))
        if not docs:
            return []
        alive = {
            c["_id"]
            for c in self.fleet.db.cars.find(
                {
                    "_id": {"$in": sorted({d["car"] for d in docs})},
                    "last_seen": {"$gte": self.fleet.cutoff(t)},
                },
                {"_id": 1},
            )
        }
        return [reservation_view(d) for d in docs if d["car"] in alive]

    def sweep(self) -> int:
        """Delete expired leases and holds of silent cars; idempotent, safe in every worker.

        Each delete is guarded on the exact hold that was judged invalid, so a hold renewed
        or taken over meanwhile is left alone.
        """
        t = now()
        removed = self._col.delete_many({"expires_at": {"$lte": t}}).deleted_count
        docs = list(self._col.find({}))
        if not docs:
            return removed
        alive = {
            c["_id"]
            for c in self.fleet.db.cars.find(
                {
                    "_id": {"$in": sorted({d["car"] for d in docs})},
                    "last_seen": {"$gte": self.fleet.cutoff(t)},
                },
                {"_id": 1},
            )
        }
        for d in docs:
            if d["car"] in alive:
                continue
            guard = {k: d[k] for k in ("_id", "car", "acquired_at", "expires_at")}
            if self._col.delete_one(guard).deleted_count == 1:
                log.info("node %s freed: its car %s stopped reporting", d["_id"], d["car"])
                removed += 1
        return removed
