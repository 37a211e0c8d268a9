"""Shared pieces of the API blueprints."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from pymongo.database import Database

from city import City
from server.auth import TokenCache
from server.config import ServerConfig
from server.fleet import Fleet
from server.ratelimit import RateLimit
from server.reservations import Reservations
from server.waiters import AssignmentWaiters

PREFIX = "/api/v1"
BEARER = [{"BearerAuth": []}]
ERRORS = {
    400: "Bad input",
    401: "Missing or unknown token",
    403: "Not this device's to do",
    404: "No such thing",
    429: "Too many requests (`rate_limited`, with Retry-After)",
    503: "Database unavailable",
}


@dataclass
class Services:
    """What every request handler of one worker shares (set up once by the app factory)."""

    config: ServerConfig
    db: Database
    city: City
    fleet: Fleet
    reservations: Reservations
    tokens: TokenCache
    waiters: AssignmentWaiters
    city_document: dict
    version: str
    register_limit: RateLimit
    booking_limit: RateLimit


def services() -> Services:
    return current_app.extensions["pixelopolis"]
