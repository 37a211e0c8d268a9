"""Shared fixtures: one real MongoDB-protocol server per test session.

With `MONGODB_URI` set the suites run against that server; otherwise against the
embedded SecantusDB the product itself uses.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.emulator import BoardEmulator, EmulatorConfig
from server.embedded import EmbeddedDatabase


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    data: Path = tmp_path_factory.mktemp("embedded-db")
    with EmbeddedDatabase(data) as db:
        yield db.uri


@pytest.fixture
def db_name() -> str:
    """A fresh database for each test, so tests never see each other's cars."""
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def emulator() -> Iterator[BoardEmulator]:
    """A virtual control board on a real pseudo-terminal."""
    emu = BoardEmulator(EmulatorConfig())
    emu.start()
    yield emu
    emu.stop()
