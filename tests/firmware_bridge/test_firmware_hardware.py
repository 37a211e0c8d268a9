"""The firmware's hardware side under CPython: the XL430 bus master and app.run()."""

from __future__ import annotations

import types

from firmware_bridge.firmware import app, boards
from firmware_bridge.firmware import packet as pk
from firmware_bridge.firmware.xl430 import MotorBus


class FakeXl430Bus:
    """A UART with two XL430s on the far side of the half-duplex line."""

    def __init__(self, direction) -> None:
        self.direction = direction
        self.parser = pk.Parser()
        self.rx = b""
        self.mem = {1: {64: 0, 11: 3, 104: 0, 128: 0}, 2: {64: 0, 11: 3, 104: 0, 128: 0}}
        self.silent: set[int] = set()

    def any(self):
        return len(self.rx)

    def read(self, n=None):
        data, self.rx = self.rx, b""
        return data or None

    def write(self, data):
        assert self.direction.level == 1, "transmitting with the buffer turned to receive"
        for p in self.parser.feed(data, 0):
            assert p.ok and p.id == pk.BROADCAST_ID
            address, size = p.params[0] | p.params[1] << 8, p.params[2] | p.params[3] << 8
            if p.instruction == pk.INST_SYNC_WRITE:
                body = p.params[4:]
                for i in range(0, len(body), 1 + size):
                    raw = int.from_bytes(body[i + 1 : i + 1 + size], "little", signed=size == 4)
                    self.mem[body[i]][address] = raw
            elif p.instruction == pk.INST_SYNC_READ:
                for motor in p.params[4:]:
                    if motor in self.silent:
                        continue
                    value = self.mem[motor][104] if self.mem[motor][64] else 0
                    data = (value & 0xFFFFFFFF).to_bytes(4, "little")
                    self.rx += pk.encode_status(motor, 0, data)
        return len(data)


class Pin:
    OUT, IN, PULL_UP, PULL_DOWN = 1, 0, 2, 3

    def __init__(self, name, mode=None, pull=None) -> None:
        self.name = name
        self.level = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v


class Clock:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self):
        self.ms += 1
        return self.ms


def make_bus():
    direction = Pin("D7")
    uart = FakeXl430Bus(direction)
    bus = MotorBus(uart, direction, Clock(), lambda us: None, boards.NUCLEO_F411RE["motors"])
    return bus, uart


def test_setup_puts_both_motors_in_velocity_mode_with_torque_off():
    bus, uart = make_bus()
    bus.setup()
    assert uart.mem[1][11] == uart.mem[2][11] == 1
    assert uart.mem[1][64] == uart.mem[2][64] == 0
    assert uart.direction.level == 0


def test_goals_and_present_velocity_with_the_right_wheel_mirrored():
    bus, uart = make_bus()
    bus.setup()
    bus.motors_torque(True)
    bus.motors_goal(100, 100)
    assert uart.mem[1][104] == 100 and uart.mem[2][104] == -100
    assert bus.motors_present() == (100, 100)


def test_a_silent_motor_reads_as_none():
    bus, uart = make_bus()
    uart.silent.add(2)
    assert bus.motors_present() is None


def test_app_runs_the_board_on_fake_pins():
    host_in = [pk.encode(200, pk.INST_WRITE, bytes([64, 0, 1]))]
    host_out: list[bytes] = []
    made: dict[int, object] = {}

    class Uart:
        def __init__(self, number, baudrate, **kw) -> None:
            self.number = number
            made[number] = self
            if number == boards.NUCLEO_F411RE["bus_uart"]:
                self.bus = FakeXl430Bus(None)

        def read(self, n=None):
            if self.number == 2:
                return host_in.pop(0) if host_in else None
            return self.bus.read()

        def write(self, data):
            if self.number == 2:
                host_out.append(data)
                return len(data)
            return self.bus.write(data)

        def any(self):
            return self.bus.any()

    class TrackingPin(Pin):
        def __init__(self, name, mode=None, pull=None) -> None:
            super().__init__(name, mode, pull)
            if name == boards.NUCLEO_F411RE["bus_dir"]:
                made[boards.NUCLEO_F411RE["bus_uart"]].bus.direction = self

    class Adc:
        def __init__(self, pin) -> None:
            pass

        def read_u16(self):
            return int(11.1 / 4.3 / 3.3 * 65535)

    machine = types.SimpleNamespace(
        UART=Uart,
        Pin=TrackingPin,
        ADC=Adc,
        WDT=lambda timeout: types.SimpleNamespace(feed=lambda: None),
    )
    ticks = {"t": 0}

    def ticks_ms():
        ticks["t"] += 1
        return ticks["t"]

    time_module = types.SimpleNamespace(
        ticks_ms=ticks_ms, ticks_diff=lambda a, b: a - b, sleep_us=lambda us: None
    )
    board = app.run(boards.NUCLEO_F411RE, machine, time_module, max_loops=50)
    (status,) = pk.Parser(status=True).feed(b"".join(host_out), 0)
    assert status.error & 0x7F == 0
    assert board.get("torque_enable") == 1
    assert made[1].bus.mem[1][64] == 1  # torque reached the motors
    assert 10900 < board.get("battery_voltage") < 11200


def test_board_detection():
    assert boards.detect("NUCLEO-L432KC with STM32L432KC") is boards.NUCLEO_L432KC
