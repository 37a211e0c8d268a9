"""The firmware's device logic under CPython, against a recording hardware shim."""

from __future__ import annotations

import pytest

from firmware_bridge.control_table import Fault, control_table
from firmware_bridge.firmware import packet as pk
from firmware_bridge.firmware.device import Board

ID = 200


def request(board: Board, instruction: int, params: bytes = b"", now: int = 0, pid: int = ID):
    """Send one instruction; returns the parsed status packets."""
    wire = board.feed(pk.encode(pid, instruction, params), now)
    return pk.Parser(status=True).feed(wire, now)


def write(board: Board, name: str, value: int, now: int = 0) -> int:
    reg = control_table()[name]
    data = (value & ((1 << (8 * reg.size)) - 1)).to_bytes(reg.size, "little")
    (status,) = request(board, pk.INST_WRITE, reg.address.to_bytes(2, "little") + data, now)
    return status.error & 0x7F


def read(board: Board, name: str) -> int:
    reg = control_table()[name]
    params = reg.address.to_bytes(2, "little") + reg.size.to_bytes(2, "little")
    (status,) = request(board, pk.INST_READ, params)
    assert status.error & 0x7F == 0
    return reg.decode(status.params)


@pytest.fixture
def board(fake_hw) -> Board:
    b = Board(fake_hw, 0)
    b.update(0)
    return b


def test_ping_reports_model_and_firmware(board):
    (status,) = request(board, pk.INST_PING)
    table = control_table()
    assert status.id == ID and status.error == 0
    assert status.params == bytes(
        [table.model_number & 0xFF, table.model_number >> 8, table.firmware_version]
    )
    (broadcast,) = request(board, pk.INST_PING, pid=pk.BROADCAST_ID)
    assert broadcast.id == ID


def test_every_register_reads_its_default(board):
    for reg in control_table().registers.values():
        if reg.name in ("battery_voltage", "uptime_ms"):
            continue
        assert read(board, reg.name) == reg.default, reg.name


def test_every_writable_register_round_trips_and_read_only_ones_refuse(board):
    for reg in control_table().registers.values():
        if reg.writable:
            value = reg.max if reg.name not in ("id", "torque_enable") else reg.default
            if reg.name.startswith("goal_velocity"):
                value = -500
            assert write(board, reg.name, value) == 0, reg.name
            assert read(board, reg.name) == value, reg.name
        else:
            assert write(board, reg.name, reg.default) == pk.ERR_ACCESS, reg.name


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (bytes([64, 0, 2]), pk.ERR_DATA_RANGE),  # torque_enable = 2
        (bytes([18, 0, 5, 0]), pk.ERR_DATA_RANGE),  # watchdog_ms = 5
        (bytes([2, 0, 1]), pk.ERR_ACCESS),  # gap in the table
        (bytes([200, 0, 1]), pk.ERR_ACCESS),  # past the end
        (bytes([68, 0, 1, 0]), pk.ERR_DATA_LENGTH),  # half a goal
        (bytes([68, 0]), pk.ERR_DATA_LENGTH),  # no data
        (bytes([68, 0, 0x59, 0x02, 0, 0]), pk.ERR_DATA_LIMIT),  # left goal alone: 601 > 600
        (bytes([68, 0, 0x59, 0x02, 0, 0, 0, 0, 0, 0]), pk.ERR_DATA_LIMIT),  # 601 > limit 600
    ],
)
def test_bad_writes_are_refused_with_protocol_errors_and_change_nothing(board, params, error):
    before = bytes(board.table)
    (status,) = request(board, pk.INST_WRITE, params)
    assert status.error & 0x7F == error
    assert bytes(board.table) == before


def test_write_is_all_or_nothing(board):
    # left goal fine, right goal over the limit: neither is applied
    params = bytes([68, 0]) + (100).to_bytes(4, "little", signed=True)
    params += (900).to_bytes(4, "little", signed=True)
    (status,) = request(board, pk.INST_WRITE, params)
    assert status.error & 0x7F == pk.ERR_DATA_LIMIT
    assert read(board, "goal_velocity_left") == 0


def test_reads_outside_the_table_and_bad_instructions_are_refused(board):
    (s1,) = request(board, pk.INST_READ, bytes([90, 0, 10, 0]))
    (s2,) = request(board, pk.INST_READ, bytes([0, 0, 0, 0]))
    (s3,) = request(board, pk.INST_READ, bytes([0, 0, 4]))
    (s4,) = request(board, 0x77)
    (s5,) = request(board, pk.INST_REG_WRITE, bytes([64, 0, 1]))
    assert [s.error & 0x7F for s in (s1, s2, s3, s4, s5)] == [
        pk.ERR_ACCESS,
        pk.ERR_ACCESS,
        pk.ERR_DATA_LENGTH,
        pk.ERR_INSTRUCTION,
        pk.ERR_INSTRUCTION,
    ]


def test_corrupt_packet_gets_crc_error_and_no_change(board):
    wire = bytearray(pk.encode(ID, pk.INST_WRITE, bytes([68, 0, 100, 0, 0, 0])))
    wire[9] ^= 0x10
    (status,) = pk.Parser(status=True).feed(board.feed(bytes(wire), 0), 0)
    assert status.error & 0x7F == pk.ERR_CRC
    assert read(board, "goal_velocity_left") == 0
    assert read(board, "rx_crc_errors") == 1


def test_other_ids_are_ignored_and_broadcast_writes_are_silent(board):
    assert board.feed(pk.encode(7, pk.INST_WRITE, bytes([65, 0, 3])), 0) == b""
    assert read(board, "led") == 0
    assert board.feed(pk.encode(pk.BROADCAST_ID, pk.INST_WRITE, bytes([65, 0, 3])), 0) == b""
    assert read(board, "led") == 3


def test_sync_write_bulk_write_and_sync_bulk_read(board):
    goal = (150).to_bytes(4, "little") + (120).to_bytes(4, "little")
    params = bytes([68, 0, 8, 0, 1]) + bytes(8) + bytes([ID]) + goal
    assert board.feed(pk.encode(pk.BROADCAST_ID, pk.INST_SYNC_WRITE, params), 0) == b""
    assert (read(board, "goal_velocity_left"), read(board, "goal_velocity_right")) == (150, 120)
    params = bytes([ID, 65, 0, 1, 0, 5])
    assert board.feed(pk.encode(pk.BROADCAST_ID, pk.INST_BULK_WRITE, params), 0) == b""
    assert read(board, "led") == 5
    (sync,) = request(board, pk.INST_SYNC_READ, bytes([68, 0, 8, 0, ID]), pid=pk.BROADCAST_ID)
    assert sync.params == goal
    (bulk,) = request(board, pk.INST_BULK_READ, bytes([ID, 65, 0, 1, 0]), pid=pk.BROADCAST_ID)
    assert bulk.params == bytes([5])


def test_id_change_takes_effect_after_the_reply(board):
    assert write(board, "id", 17) == 0
    assert board.feed(pk.encode(ID, pk.INST_PING), 0) == b""
    (status,) = request(board, pk.INST_PING, pid=17)
    assert status.id == 17


def test_factory_reset_and_reboot(board, fake_hw):
    write(board, "watchdog_ms", 900)
    write(board, "torque_enable", 1)
    request(board, pk.INST_REBOOT)
    assert read(board, "torque_enable") == 0 and not fake_hw.torque
    assert read(board, "watchdog_ms") == 900  # EEPROM area survives a reboot
    request(board, pk.INST_FACTORY_RESET, bytes([0xFF]))
    assert read(board, "watchdog_ms") == 250


def drive(board: Board, left: int, right: int, now: int) -> None:
    params = bytes([68, 0]) + left.to_bytes(4, "little", signed=True)
    params += right.to_bytes(4, "little", signed=True)
    (status,) = request(board, pk.INST_WRITE, params, now)
    assert status.error & 0x7F == 0


def test_goals_reach_the_motors_through_the_acceleration_limit(board, fake_hw):
    write(board, "torque_enable", 1)
    assert fake_hw.torque
    drive(board, 200, -200, 0)
    for t in range(10, 210, 10):
        board.update(t)
    steps = board.steps_per_mm_s()
    assert fake_hw.goals[-1] == (round(200 * steps), round(-200 * steps))
    # 2000 mm/s^2: after 10 ms only 20 mm/s
    assert fake_hw.goals[-20][0] == round(20 * steps)


def test_watchdog_stops_wheels_after_watchdog_ms(board, fake_hw):
    write(board, "torque_enable", 1)
    drive(board, 100, 100, 1000)
    board.update(1250)
    assert not read(board, "fault") & Fault.WATCHDOG
    board.update(1251)
    assert read(board, "fault") & Fault.WATCHDOG
    assert fake_hw.goals[-1] == (0, 0)
    assert read(board, "goal_velocity_left") == 0
    assert read(board, "torque_enable") == 1  # stopped, still powered
    drive(board, 100, 100, 1300)
    board.update(1310)
    assert not read(board, "fault") & Fault.WATCHDOG
    assert fake_hw.goals[-1][0] > 0


def test_button_turns_torque_off_until_reenabled(board, fake_hw):
    write(board, "torque_enable", 1)
    fake_hw.button_down = True
    board.update(10)
    assert read(board, "button") == 1
    assert read(board, "torque_enable") == 0 and not fake_hw.torque
    assert read(board, "fault") & Fault.BUTTON
    fake_hw.button_down = False
    board.update(20)
    assert read(board, "fault") & Fault.BUTTON
    assert write(board, "torque_enable", 1) == 0
    assert not read(board, "fault") & Fault.BUTTON


def test_battery_cutoff_with_hysteresis(board, fake_hw):
    write(board, "torque_enable", 1)
    fake_hw.battery = 9000
    for t in range(10, 2000, 10):
        board.update(t)
    assert read(board, "fault") & Fault.BATTERY_LOW
    assert read(board, "torque_enable") == 0
    assert write(board, "torque_enable", 1) == pk.ERR_RESULT_FAIL
    (status,) = request(board, pk.INST_PING)
    assert status.error & pk.ERR_ALERT  # a hardware-class fault raises the alert bit
    fake_hw.battery = 9700  # above the cut-off but inside the hysteresis band
    for t in range(2000, 4000, 10):
        board.update(t)
    assert read(board, "fault") & Fault.BATTERY_LOW
    fake_hw.battery = 11000
    for t in range(4000, 6000, 10):
        board.update(t)
    assert not read(board, "fault") & Fault.BATTERY_LOW
    assert write(board, "torque_enable", 1) == 0


def test_silent_motors_are_a_fault(board, fake_hw):
    write(board, "torque_enable", 1)
    fake_hw.present = None
    board.update(10)
    assert read(board, "fault") & Fault.MOTOR_ERROR and not fake_hw.torque


def test_leds_follow_the_register_and_status(board, fake_hw):
    write(board, "led", 5)
    write(board, "torque_enable", 1)
    drive(board, 0, 0, 0)
    board.update(10)
    assert fake_hw.led_state == (5, True)
