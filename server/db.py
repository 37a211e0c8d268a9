"""The only door to MongoDB: a pymongo `Database` with the concerns and indexes we rely on.

On a single node (the embedded SecantusDB, a standalone mongod) every write waits for the
journal (`{w: 1, j: true}`). On a replica set every write waits for a majority of members
(`{w: "majority", j: true}`) and every read sees majority-committed data only
(`readConcern: majority`, from the primary): what a station or car is told survives a
primary step-down, and a write the old primary could not replicate is never shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, MongoClient, ReadPreference, WriteConcern
from pymongo.database import Database
from pymongo.errors import ConfigurationError
from pymongo.read_concern import ReadConcern
from pymongo.uri_parser import parse_uri

log = logging.getLogger(__name__)

# Writes that a booking depends on wait for the journal (j=True) on every store.
DURABLE = WriteConcern(w=1, j=True)


class DatabaseUriError(ValueError):
    """The MongoDB URI cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class Concerns:
    """The write and read concerns of one deployment kind."""

    replica_set: bool
    write: WriteConcern
    read: ReadConcern


def is_replica_set(uri: str) -> bool:
    """A replica set (or a sharded/SRV deployment): `replicaSet=`, several hosts, or SRV."""
    if uri.startswith("mongodb+srv://"):
        return True  # parsing would resolve DNS records; SRV deployments are replica sets
    try:
        parsed = parse_uri(uri)
    except (ConfigurationError, ValueError) as exc:
        raise DatabaseUriError(f"mongodb_uri: {_without_password(str(exc), uri)}") from exc
    options = {k.lower() for k in parsed["options"]}
    return "replicaset" in options or len(parsed["nodelist"]) > 1


def concerns_for(uri: str, *, timeout_ms: int = 2000) -> Concerns:
    """Majority writes and reads on a replica set; journaled single-node writes otherwise.

    `wtimeout` bounds how long a write waits for a majority (a primary cut off from its
    members): the request then fails with 503 instead of hanging.
    """
    if is_replica_set(uri):
        wtimeout = max(timeout_ms * 5, 10_000)
        return Concerns(
            replica_set=True,
            write=WriteConcern(w="majority", j=True, wtimeout=wtimeout),
            read=ReadConcern("majority"),
        )
    return Concerns(replica_set=False, write=DURABLE, read=ReadConcern())


def client_options(uri: str, *, timeout_ms: int = 2000) -> dict[str, Any]:
    """The MongoClient keyword options for `uri` (explicit, so a URI cannot weaken them).

    Retryable writes and reads are pymongo's defaults, made explicit: an insert or a
    guarded update interrupted by a step-down is retried once on the new primary, and the
    server recognises the retry (same session and transaction number), so it applies once.
    """
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "socketTimeoutMS": max(timeout_ms * 5, 10_000),
        "retryWrites": True,
        "retryReads": True,
        "appname": "pixelopolis-server",
        "tz_aware": True,
    }
    concerns = concerns_for(uri, timeout_ms=timeout_ms)
    if concerns.replica_set:
        # A step-down elects a new primary in a second or two: wait that long for it.
        options["serverSelectionTimeoutMS"] = max(timeout_ms, 5_000)
        options["readPreference"] = "primary"
        options["readConcernLevel"] = "majority"
        options["w"] = "majority"
        options["journal"] = True
        options["wTimeoutMS"] = concerns.write.document["wtimeout"]
    return options


def connect(uri: str, database: str, *, timeout_ms: int = 2000) -> Database:
    """A database handle; the client connects lazily and reconnects by itself.

    Short server-selection and socket timeouts make a dead database a quick 503,
    not a hung request.
    """
    concerns = concerns_for(uri, timeout_ms=timeout_ms)
    client: MongoClient = MongoClient(uri, **client_options(uri, timeout_ms=timeout_ms))
    return client.get_database(
        database,
        write_concern=concerns.write,
        read_concern=concerns.read,
        read_preference=ReadPreference.PRIMARY,
    )


def _without_password(message: str, uri: str) -> str:
    try:
        password = uri.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    except IndexError:
        return message
    return message.replace(password, "***") if password else message


IDEMPOTENCY_INDEX = "one_booking_per_station_key"


def ensure_indexes(db: Database) -> None:
    """Create every index the server relies on; safe to run at every start, in every worker."""
    db.devices.create_index([("token_hash", ASCENDING)], unique=True, name="token_hash")
    db.cars.create_index(
        [("booking", ASCENDING), ("state", ASCENDING), ("last_seen", ASCENDING)],
        name="claimable",
    )
    # The database itself refuses a second open booking for one car.
    db.bookings.create_index(
        [("car", ASCENDING)],
        unique=True,
        partialFilterExpression={"open": True},
        name="one_open_booking_per_car",
    )
    db.bookings.create_index([("station", ASCENDING), ("created_at", ASCENDING)], name="station")
    # A station's Idempotency-Key books once, even when two retries race.
    db.bookings.create_index(
        [("station", ASCENDING), ("idempotency_key", ASCENDING)],
        unique=True,
        partialFilterExpression={"idempotency_key": {"$exists": True}},
        name=IDEMPOTENCY_INDEX,
    )
    # Node reservations: `_id` is the node, so the database keeps one holder per node.
    db.reservations.create_index([("car", ASCENDING)], name="holder")
    db.reservations.create_index([("expires_at", ASCENDING)], name="lease_expiry")
    log.debug("indexes ensured on %s", db.name)


def ping(db: Database) -> bool:
    """True when the database answers."""
    try:
        db.client.admin.command("ping")
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False
    return True
