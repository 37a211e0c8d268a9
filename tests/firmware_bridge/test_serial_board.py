"""SerialMotorBoard: the car-facing driver, its I/O thread, and reconnection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from firmware_bridge.control_table import Fault
from firmware_bridge.emulator import BoardEmulator, EmulatorConfig
from firmware_bridge.errors import BoardDisconnectedError
from firmware_bridge.serial_board import SerialBoardConfig, SerialMotorBoard
from tests.firmware_bridge.support import wait_until


@pytest.fixture
def linked_emulator(tmp_path: Path):
    link = tmp_path / "board"
    emu = BoardEmulator(EmulatorConfig(link=str(link)))
    emu.start()
    yield emu, link
    emu.stop()


def test_drive_and_read_telemetry(linked_emulator):
    emu, link = linked_emulator
    with SerialMotorBoard(SerialBoardConfig(port=str(link))) as board:
        board.set_torque(True)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            board.set_wheel_speeds(0.15, 0.1)
            time.sleep(0.02)
        t = board.telemetry()
        assert t.connected and t.torque_enabled and t.error is None
        assert (t.goal_left_mps, t.goal_right_mps) == (0.15, 0.1)
        assert t.left_mps == pytest.approx(0.15, abs=0.003)
        assert t.right_mps == pytest.approx(0.1, abs=0.003)
        assert 11.0 < t.battery_v < 12.7
        assert time.monotonic() - t.received_at < 0.05
        assert board.stats().cycles > 50
    # disconnect stops the wheels and turns torque off
    assert emu.register("torque_enable") == 0
    assert emu.register("goal_velocity_left") == 0


def test_car_facing_calls_never_block(linked_emulator):
    emu, link = linked_emulator
    board = SerialMotorBoard(SerialBoardConfig(port=str(link)))
    board.connect()
    try:
        emu.stop()  # the I/O thread is now failing and reconnecting
        worst = 0.0
        for i in range(200):
            start = time.perf_counter()
            board.set_wheel_speeds(0.1, 0.1)
            board.telemetry()
            board.set_torque(i % 2 == 0)
            worst = max(worst, time.perf_counter() - start)
            time.sleep(0.001)
        assert worst < 0.005
        wait_until(lambda: not board.telemetry().connected)
        assert board.telemetry().error
    finally:
        board.disconnect()


def test_stale_goals_are_not_repeated_so_the_watchdog_stops_the_car(linked_emulator):
    emu, link = linked_emulator
    with SerialMotorBoard(SerialBoardConfig(port=str(link), goal_timeout_s=0.1)) as board:
        board.set_torque(True)
        board.set_wheel_speeds(0.2, 0.2)  # then the car's loop "hangs"
        wait_until(lambda: Fault.WATCHDOG in board.telemetry().fault, timeout=1.0)
        assert emu.register("goal_velocity_left") == 0


def test_button_stop_is_reported_and_not_overridden(linked_emulator):
    emu, link = linked_emulator
    with SerialMotorBoard(SerialBoardConfig(port=str(link))) as board:
        board.set_torque(True)
        wait_until(lambda: board.telemetry().torque_enabled)
        emu.press_button()
        wait_until(lambda: Fault.BUTTON in board.telemetry().fault)
        time.sleep(0.1)
        assert not board.telemetry().torque_enabled


def test_reconnects_when_the_device_returns_behind_the_same_link(linked_emulator):
    emu, link = linked_emulator
    config = SerialBoardConfig(port=str(link), reconnect_interval_s=0.05)
    with SerialMotorBoard(config) as board:
        wait_until(lambda: board.telemetry().connected)
        emu.stop()
        wait_until(lambda: not board.telemetry().connected)
        replacement = BoardEmulator(EmulatorConfig(link=str(link)))
        replacement.start()
        try:
            wait_until(lambda: board.telemetry().connected, timeout=3.0)
            assert board.stats().reconnects == 1
            board.set_torque(True)
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                board.set_wheel_speeds(0.1, 0.1)
                time.sleep(0.02)
            assert replacement.register("goal_velocity_left") == 100
        finally:
            board.disconnect()
            replacement.stop()


def test_restore_torque_on_reconnect_when_asked(linked_emulator):
    emu, link = linked_emulator
    config = SerialBoardConfig(
        port=str(link), reconnect_interval_s=0.05, restore_torque_on_reconnect=True
    )
    with SerialMotorBoard(config) as board:
        board.set_torque(True)
        wait_until(lambda: board.telemetry().torque_enabled)
        emu.stop()
        replacement = BoardEmulator(EmulatorConfig(link=str(link)))
        replacement.start()
        try:
            wait_until(lambda: replacement.register("torque_enable") == 1, timeout=3.0)
        finally:
            board.disconnect()
            replacement.stop()


def test_connect_fails_clearly_without_a_board(tmp_path):
    config = SerialBoardConfig(port=str(tmp_path / "nothing"), connect_timeout_s=0.3)
    with pytest.raises(BoardDisconnectedError, match="no board answered"):
        SerialMotorBoard(config).connect()


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: SerialBoardConfig(cycle_hz=0), "cycle_hz"),
        (lambda: SerialBoardConfig(port=""), "port"),
        (lambda: SerialBoardConfig(board_id=300), "board_id"),
        (lambda: SerialBoardConfig(goal_timeout_s=0), "goal_timeout_s"),
        (lambda: EmulatorConfig(update_period_s=1), "update_period_s"),
        (lambda: EmulatorConfig(board_id=-1), "board_id"),
    ],
)
def test_configs_name_the_bad_field(factory, field):
    with pytest.raises(ValueError, match=field):
        factory()


def test_set_leds_checks_its_mask():
    board = SerialMotorBoard()
    with pytest.raises(ValueError, match="mask"):
        board.set_leds(9)
