"""`pixelopolis server`: the fleet server, on the embedded database unless told otherwise."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from pathlib import Path

from pixelopolis.commands._secrets import add_fleet_key_arguments, fleet_key_from
from pixelopolis.errors import UsageError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "server",
        help="run the fleet server",
        description="Run the fleet server (HTTP API under /api/v1). Without --db or "
        "MONGODB_URI it starts the embedded database with its data under --data.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--db", help="MongoDB URI (default: $MONGODB_URI, else the embedded database)")
    p.add_argument(
        "--data",
        help="data folder of the embedded database "
        "(default: $PIXELOPOLIS_DATA, else ./pixelopolis-data)",
    )
    add_fleet_key_arguments(p, purpose="devices register with (none given: one is generated)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=64, help="threads per worker (default 64)")
    p.add_argument("--city", help="city file (default: the shipped town)")
    p.add_argument(
        "--liveness-timeout",
        type=float,
        default=None,
        help="seconds without a status before a car counts as offline "
        "(default: $PIXELOPOLIS_LIVENESS_TIMEOUT, else 3)",
    )
    p.add_argument(
        "--reservation-lease",
        type=float,
        default=None,
        help="seconds an intersection reservation lasts unless renewed "
        "(default: $PIXELOPOLIS_RESERVATION_LEASE, else 10)",
    )
    p.add_argument("--database", default="pixelopolis", help="database name (default pixelopolis)")
    p.add_argument(
        "--register-limit",
        help="device registrations per client address and worker, e.g. '120/minute', or 'off' "
        "(default: $PIXELOPOLIS_REGISTER_LIMIT, else 120/minute)",
    )
    p.add_argument(
        "--booking-limit",
        help="bookings per station and worker, e.g. '30/minute;5/second', or 'off' "
        "(default: $PIXELOPOLIS_BOOKING_LIMIT, else 30/minute;5/second)",
    )
    p.add_argument(
        "--trusted-proxies",
        type=int,
        default=None,
        help="reverse proxies in front whose X-Forwarded-For is trusted "
        "(default: $PIXELOPOLIS_TRUSTED_PROXIES, else 0)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from city import CityError, load_city
    from server.config import ConfigError, ServerConfig, env_float, env_int
    from server.embedded import EmbeddedDatabase, EmbeddedDatabaseError
    from server.runner import HttpConfig, check_port_free, serve

    if args.city:
        try:
            load_city(args.city)
        except CityError as exc:
            raise UsageError(str(exc)) from exc
    fleet_key = fleet_key_from(args)
    generated = not fleet_key
    if generated:
        fleet_key = secrets.token_urlsafe(24)
    uri = args.db or os.environ.get("MONGODB_URI")
    embedded = None
    try:
        http = HttpConfig(
            host=args.host, port=args.port, workers=args.workers, threads=args.threads
        )
        liveness = args.liveness_timeout
        if liveness is None:
            liveness = env_float("PIXELOPOLIS_LIVENESS_TIMEOUT", 3.0)
        lease = args.reservation_lease
        if lease is None:
            lease = env_float("PIXELOPOLIS_RESERVATION_LEASE", 10.0)
        limits = {
            "register_limit": args.register_limit
            or os.environ.get("PIXELOPOLIS_REGISTER_LIMIT")
            or ServerConfig.register_limit,
            "booking_limit": args.booking_limit
            or os.environ.get("PIXELOPOLIS_BOOKING_LIMIT")
            or ServerConfig.booking_limit,
        }
        proxies = args.trusted_proxies
        if proxies is None:
            proxies = env_int("PIXELOPOLIS_TRUSTED_PROXIES", 0)
        settings = {
            "fleet_key": fleet_key,
            "database": args.database,
            "city_path": Path(args.city) if args.city else None,
            "liveness_timeout_s": liveness,
            "reservation_lease_s": lease,
            "trusted_proxies": proxies,
            **limits,
        }
        # Every setting (a given URI included) is checked before the port or data is taken.
        ServerConfig(mongodb_uri=uri or "mongodb://127.0.0.1", **settings)
        check_port_free(http.host, http.port)
        if uri is None:
            data = Path(args.data or os.environ.get("PIXELOPOLIS_DATA") or "pixelopolis-data")
            embedded = EmbeddedDatabase(data.resolve())
            uri = embedded.start()
        config = ServerConfig(mongodb_uri=uri, **settings)
        where = f"embedded database in {embedded.data_dir}" if embedded else "MongoDB at --db"
        print(
            f"Pixelopolis fleet server on http://{args.host}:{args.port}/api/v1 ({where})",
            flush=True,
        )
        if generated:
            print(f"fleet key (generated, shown once): {fleet_key}", flush=True)
        serve(config, http)
    except (ConfigError, EmbeddedDatabaseError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if embedded is not None:
            embedded.stop()
    return 0
