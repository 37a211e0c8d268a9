"""Test helpers shared by the firmware_bridge suites (not fixtures: see conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 2.0, step: float = 0.005) -> float:
    """Poll until `condition()` is truthy; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(step)
    return time.monotonic() - start


class FakeHardware:
    """The firmware's hardware interface, recording what the board asks of it."""

    def __init__(self) -> None:
        self.torque = False
        self.goals: list[tuple[int, int]] = []
        self.present: tuple[int, int] | None = (0, 0)
        self.battery = 12000
        self.button_down = False
        self.led_state = (0, False)

    def motors_torque(self, on):
        self.torque = on

    def motors_goal(self, left, right):
        self.goals.append((left, right))

    def motors_present(self):
        return self.present

    def battery_mv(self):
        return self.battery

    def button(self):
        return self.button_down

    def leds(self, user_mask, status_on):
        self.led_state = (user_mask, status_on)
