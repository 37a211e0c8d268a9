"""Fixtures for the station: a real fleet server, scripted cars, a station app, a browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from station import StationConfig, create_app
from tests.helpers.fake_car import FakeCar, FakeCarScript
from tests.helpers.fleet_api import FLEET_KEY
from tests.helpers.live_servers import fleet_server, serving


@pytest.fixture
def fleet(mongo_uri: str, db_name: str) -> Iterator[str]:
    """API base URL of a real fleet server on a fresh database."""
    with fleet_server(mongo_uri, db_name) as api_base:
        yield api_base


@pytest.fixture
def cars(fleet: str) -> Iterator[Callable[..., FakeCar]]:
    """Start scripted cars: `cars(node="A", name="Alpha", script=FakeCarScript(...))`."""
    with ExitStack() as stack:

        def start(node: str, name: str = "Alpha", script: FakeCarScript | None = None) -> FakeCar:
            car = FakeCar(fleet, FLEET_KEY, name=name, node=node, script=script)
            return stack.enter_context(car)

        yield start


@pytest.fixture
def station_config(fleet: str) -> StationConfig:
    return StationConfig(server_url=fleet, fleet_key=FLEET_KEY, name="Test station")


@pytest.fixture
def station_app(station_config: StationConfig) -> Any:
    return create_app(station_config)


@pytest.fixture
def client(station_app: Any) -> Any:
    return station_app.test_client()


@pytest.fixture
def station_url(station_app: Any) -> Iterator[str]:
    """The station served over real HTTP (for browsers and the stream relay)."""
    with serving(station_app) as url:
        yield url
