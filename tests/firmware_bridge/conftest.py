"""Fixtures: a virtual board on a real pty, and host links to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_bridge.emulator import BoardEmulator
from firmware_bridge.link import BoardLink
from tests.firmware_bridge.support import FakeHardware


@pytest.fixture
def fake_hw() -> FakeHardware:
    return FakeHardware()


@pytest.fixture
def link(emulator: BoardEmulator) -> Iterator[BoardLink]:
    assert emulator.path is not None
    with BoardLink(emulator.path, reply_timeout_ms=50) as board_link:
        yield board_link
