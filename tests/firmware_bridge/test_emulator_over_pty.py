"""Host driver (dynamixel-sdk) against the board emulator over a real pty."""

from __future__ import annotations

import time

import pytest
from dynamixel_sdk import COMM_SUCCESS, GroupSyncRead, GroupSyncWrite

from firmware_bridge.control_table import Fault, control_table
from firmware_bridge.errors import BoardDisconnectedError, BoardStatusError
from firmware_bridge.link import BoardLink
from tests.firmware_bridge.support import wait_until


def test_ping_returns_the_model_number(link):
    assert link.ping() == control_table().model_number


def test_read_and_write_every_register(link):
    table = control_table()
    for reg in table.registers.values():
        value = link.read(reg.name)
        if reg.name not in ("battery_voltage", "uptime_ms", "fault", "present_velocity_left"):
            assert value == (200 if reg.name == "id" else reg.default), reg.name
        if not reg.writable:
            with pytest.raises(BoardStatusError) as exc:
                link.write(reg.name, reg.default)
            assert exc.value.code == 0x07
        elif reg.name not in ("id", "torque_enable"):
            target = -400 if reg.signed else reg.max
            link.write(reg.name, target)
            assert link.read(reg.name) == target, reg.name


def test_out_of_range_and_unknown_addresses_are_refused(link):
    with pytest.raises(BoardStatusError) as exc:
        link.write_span(66, [1])  # button is read-only
    assert exc.value.code == 0x07
    with pytest.raises(BoardStatusError) as exc:
        link.write_span(1, [1])  # not a register
    assert exc.value.code == 0x07
    with pytest.raises(BoardStatusError) as exc:
        link.write_goals(601, 0)
    assert exc.value.code == 0x06
    with pytest.raises(BoardStatusError) as exc:
        link.write_span(64, [9])
    assert exc.value.code == 0x04


def test_both_wheels_in_one_write_and_with_sdk_sync_write(link, emulator):
    link.write("torque_enable", 1)
    link.write_goals(150, -120)
    regs = link.read_telemetry()
    assert (regs["goal_velocity_left"], regs["goal_velocity_right"]) == (150, -120)
    sync = GroupSyncWrite(link._port, link.packet, 68, 8)
    assert sync.addParam(200, list((90).to_bytes(4, "little")) + list((80).to_bytes(4, "little")))
    assert sync.txPacket() == COMM_SUCCESS
    time.sleep(0.02)
    assert (link.read("goal_velocity_left"), link.read("goal_velocity_right")) == (90, 80)
    reader = GroupSyncRead(link._port, link.packet, 76, 8)
    assert reader.addParam(200)
    wait_until(lambda: abs(emulator.present_velocity_mps()[0] - 0.09) < 0.002)
    assert reader.txRxPacket() == COMM_SUCCESS
    assert abs(reader.getData(200, 76, 4) - 90) <= 3


def test_stuffing_both_ways_through_the_sdk(link):
    link.write_goals(-513, -3)  # bytes FF FD FF FF FD FF FF FF: a header inside the data
    assert (link.read("goal_velocity_left"), link.read("goal_velocity_right")) == (-513, -3)


def test_wheels_follow_goals_with_lag(link, emulator):
    link.write("torque_enable", 1)
    link.write_goals(200, 200)
    assert emulator.present_velocity_mps()[0] < 0.2
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        link.write_goals(200, 200)
        time.sleep(0.02)
    left, right = emulator.present_velocity_mps()
    assert left == pytest.approx(0.2, abs=0.003) and right == pytest.approx(0.2, abs=0.003)
    assert link.read("present_velocity_left") == pytest.approx(200, abs=2)


def test_watchdog_stops_within_watchdog_ms_plus_50(link, emulator):
    link.write("torque_enable", 1)
    link.write_goals(150, 150)
    last_goal = time.monotonic()
    elapsed = wait_until(lambda: link.read("fault") & Fault.WATCHDOG, timeout=1.0, step=0.002)
    stopped_after = time.monotonic() - last_goal
    assert 0.25 <= stopped_after <= 0.30, stopped_after
    assert elapsed <= 0.30
    assert link.read("goal_velocity_left") == 0
    assert emulator.hardware._left.goal == 0  # the motor command itself is zero


def test_button_turns_torque_off(link, emulator):
    link.write("torque_enable", 1)
    emulator.press_button()
    wait_until(lambda: link.read("torque_enable") == 0)
    assert link.read("fault") & Fault.BUTTON
    assert not emulator.hardware.torque
    link.write("torque_enable", 1)
    assert not link.read("fault") & Fault.BUTTON


def test_low_battery_cuts_torque_and_drains_with_load(link, emulator):
    full = link.read("battery_voltage")
    link.write("torque_enable", 1)
    emulator.set_battery_mv(9000)
    wait_until(lambda: link.read("fault") & Fault.BATTERY_LOW)
    assert link.read("torque_enable") == 0
    with pytest.raises(BoardStatusError) as exc:
        link.write("torque_enable", 1)
    assert exc.value.code == 0x01
    assert link.alert  # hardware-class fault flagged in every status packet
    emulator.set_battery_mv(None)
    wait_until(lambda: not link.read("fault") & Fault.BATTERY_LOW)
    wait_until(lambda: abs(link.read("battery_voltage") - full) < 300)


def test_closed_pty_is_reported_as_disconnect(link, emulator):
    emulator.stop()
    with pytest.raises(BoardDisconnectedError):
        link.ping()


def test_several_emulators_in_one_process():
    from firmware_bridge.emulator import BoardEmulator

    emulators = [BoardEmulator() for _ in range(4)]
    try:
        paths = [e.start() for e in emulators]
        assert len(set(paths)) == 4
        for i, path in enumerate(paths):
            with BoardLink(path, reply_timeout_ms=50) as board_link:
                board_link.write("led", i)
        assert [e.register("led") for e in emulators] == [0, 1, 2, 3]
        time.sleep(0.02)
        assert [e.leds[0] for e in emulators] == [0, 1, 2, 3]
    finally:
        for e in emulators:
            e.stop()
