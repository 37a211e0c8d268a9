"""Fixtures for the fleet server: an app on a fresh database, and an API client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server import create_app
from tests.helpers.fleet_api import Api, make_config


@pytest.fixture
def app(mongo_uri: str, db_name: str) -> Iterator[Any]:
    application = create_app(make_config(mongo_uri, db_name), start_reaper=False)
    yield application
    svc = application.extensions["pixelopolis"]
    svc.db.client.drop_database(db_name)
    svc.db.client.close()


@pytest.fixture
def api(app: Any) -> Api:
    return Api(app.test_client())
