"""The MotorBoard adapter against the board emulator over a real pty."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from firmware_bridge.emulator import BoardEmulator
from firmware_bridge.serial_board import SerialBoardConfig
from vehicle.interfaces import MotorBoard, MotorBoardError
from vehicle.motors import SerialMotorBoardAdapter, fault_names, make_board


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def drive_for(board: MotorBoard, left: float, right: float, seconds: float) -> None:
    """What the car's loop does: send the goals every iteration."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        board.set_wheel_speeds(left, right)
        time.sleep(0.02)


@pytest.fixture
def board(emulator: BoardEmulator) -> Iterator[MotorBoard]:
    assert emulator.path is not None
    with SerialMotorBoardAdapter(SerialBoardConfig(port=emulator.path)) as adapter:
        yield adapter


def test_connect_reports_battery_and_no_torque(board: MotorBoard):
    t = board.telemetry()
    assert t.connected and t.error is None
    assert not t.torque_enabled
    assert t.battery_v is not None and 11.0 < t.battery_v < 12.7


def test_speeds_follow_goals_and_stop_zeroes_them(board: MotorBoard, emulator: BoardEmulator):
    board.set_torque(True)
    drive_for(board, 0.15, 0.1, 1.0)
    t = board.telemetry()
    assert t.torque_enabled
    assert t.left_mps == pytest.approx(0.15, abs=0.005)
    assert t.right_mps == pytest.approx(0.1, abs=0.005)
    assert t.fault == 0 and t.fault_names == ()
    board.stop()
    wait_until(lambda: emulator.register("goal_velocity_left") == 0)
    drive_for(board, 0.0, 0.0, 0.6)  # the loop keeps sending the zero goals
    t = board.telemetry()
    assert abs(t.left_mps) < 0.005 and abs(t.right_mps) < 0.005
    assert t.torque_enabled  # stop() holds the car, it does not unpower it


def test_a_stalled_loop_lets_the_board_watchdog_stop_the_wheels(board: MotorBoard):
    board.set_torque(True)
    drive_for(board, 0.2, 0.2, 0.6)
    assert board.telemetry().left_mps > 0.1
    # the loop stalls: no more set_wheel_speeds calls
    wait_until(lambda: "WATCHDOG" in board.telemetry().fault_names, timeout=1.5)
    wait_until(lambda: abs(board.telemetry().left_mps) < 0.005, timeout=2.0)
    t = board.telemetry()
    assert t.fault & 0x01 and t.torque_enabled
    drive_for(board, 0.1, 0.1, 0.3)  # the next goal resumes driving and clears the fault
    assert "WATCHDOG" not in board.telemetry().fault_names


def test_torque_off(board: MotorBoard):
    board.set_torque(True)
    wait_until(lambda: board.telemetry().torque_enabled)
    board.set_torque(False)
    wait_until(lambda: not board.telemetry().torque_enabled)


def test_close_stops_the_wheels_and_unpowers(emulator: BoardEmulator):
    assert emulator.path is not None
    board = SerialMotorBoardAdapter(SerialBoardConfig(port=emulator.path))
    board.connect()
    board.set_torque(True)
    drive_for(board, 0.2, 0.2, 0.3)
    board.close()
    board.close()  # twice is harmless
    assert not board.telemetry().connected
    assert emulator.register("torque_enable") == 0
    assert emulator.register("goal_velocity_left") == 0


def test_no_board_raises_motor_board_error(tmp_path):
    config = SerialBoardConfig(port=str(tmp_path / "nothing"), connect_timeout_s=0.3)
    with pytest.raises(MotorBoardError, match="no board answered"):
        SerialMotorBoardAdapter(config).connect()


def test_make_board_emulator_runs_in_process():
    board, cleanup = make_board("emulator")
    assert cleanup is not None
    try:
        with board:
            board.set_torque(True)
            drive_for(board, 0.1, 0.1, 0.6)
            assert board.telemetry().left_mps == pytest.approx(0.1, abs=0.005)
    finally:
        cleanup()


def test_make_board_serial_path(emulator: BoardEmulator):
    assert emulator.path is not None
    board, cleanup = make_board(emulator.path)
    assert cleanup is None and isinstance(board, SerialMotorBoardAdapter)
    with board:
        assert board.telemetry().connected


@pytest.mark.parametrize("spec", ["", "emulater", "/dev/no-such-board"])
def test_make_board_refuses_bad_specs(spec: str):
    with pytest.raises(ValueError, match="board"):
        make_board(spec)


def test_fault_names():
    assert fault_names(0) == ()
    assert fault_names(0x05) == ("WATCHDOG", "BUTTON")
    assert fault_names(0x80) == ("BIT7",)
