"""The only door to MongoDB: a pymongo `Database` with the write concern and indexes we rely on."""

from __future__ import annotations

import logging

from pymongo import ASCENDING, MongoClient, WriteConcern
from pymongo.database import Database

log = logging.getLogger(__name__)

# Writes that a booking depends on wait for the journal (j=True) on every store.
DURABLE = WriteConcern(w=1, j=True)


def connect(uri: str, database: str, *, timeout_ms: int = 2000) -> Database:
    """A database handle; the client connects lazily and reconnects by itself.

    Short server-selection and socket timeouts make a dead database a quick 503,
    not a hung request.
    """
    client: MongoClient = MongoClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 5, 10_000),
        retryWrites=True,
        retryReads=True,
        appname="pixelopolis-server",
        tz_aware=True,
    )
    return client.get_database(database, write_concern=DURABLE)


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
