"""The firmware's protocol logic runs under real MicroPython (the WebAssembly port).

One script drives `crc`, `packet`, `device.Board` (with a tiny in-memory hardware
shim) and `app.run()` (with fake `machine`/`time` modules and an XL430 bus) and prints
what it saw. It runs under MicroPython through `firmware_bridge/wasm/run_micropython.mjs`
(Node.js + `@micropython/micropython-webassembly-pyscript`, installed with
`npm ci --prefix firmware_bridge/wasm`) and under CPython; both must print the same
lines, and those lines must match the ROBOTIS e-manual's examples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import firmware_bridge

PACKAGE = Path(firmware_bridge.__file__).parent
FIRMWARE = PACKAGE / "firmware"
WASM = PACKAGE / "wasm"
RUNNER = WASM / "run_micropython.mjs"
WASM_PACKAGE = WASM / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"

# MicroPython and CPython alike: no f-strings, no typing, nothing beyond the firmware.
SCRIPT = r'''
import sys

from firmware import app, boards, device
from firmware import packet as pk
from firmware.crc import crc16


def hx(data):
    return " ".join(["%02X" % b for b in data])


def show(key, *values):
    print(key + " " + " ".join([str(v) for v in values]))


class Hardware:
    """device.Board's hardware interface, in memory."""

    def __init__(self):
        self.torque = False
        self.goal = (0, 0)
        self.led_state = (0, False)

    def motors_torque(self, on):
        self.torque = on

    def motors_goal(self, left, right):
        self.goal = (left, right)

    def motors_present(self):
        return self.goal

    def battery_mv(self):
        return 12000

    def button(self):
        return False

    def leds(self, user_mask, status_on):
        self.led_state = (user_mask, status_on)


show("implementation", sys.implementation.name)

# --- CRC and parser against the ROBOTIS e-manual (Protocol 2.0) examples
ping = bytes((0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x03, 0x00, 0x01, 0x19, 0x4E))
show("manual_ping_crc", "%04X" % crc16(ping, 0, 8))
xm430_status = bytes(
    (0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x07, 0x00, 0x55, 0x00, 0x06, 0x04, 0x26, 0x65, 0x5D)
)
for p in pk.Parser(status=True).feed(xm430_status, 0):
    show("manual_status", p.ok, p.id, p.error, hx(p.params))

# --- the board answers the manual's ping (once its id is 1) and a broadcast ping
hw = Hardware()
board = device.Board(hw, 0)
show("ping_default_id", hx(board.feed(ping, 0)))
board.set("id", 1)
show("ping_reply", hx(board.feed(ping, 1)))
board.set("id", 200)
broadcast = bytes((0xFF, 0xFF, 0xFD, 0x00, 0xFE, 0x03, 0x00, 0x01, 0x31, 0x42))
show("broadcast_ping_reply", hx(board.feed(broadcast, 2)))

# --- a WRITE with a bad CRC changes nothing; the same packet intact does
write_led = pk.encode(200, pk.INST_WRITE, bytes((65, 0, 5)))
bad = write_led[:-1] + bytes(((write_led[-1] ^ 0x5A) & 0xFF,))
show("bad_write_reply", hx(board.feed(bad, 3)))
show("after_bad_write", board.get("led"), board.get("rx_crc_errors"))
show("good_write_reply", hx(board.feed(write_led, 4)))
show("after_good_write", board.get("led"), board.get("rx_crc_errors"))

# --- wheel goals: torque on, a corrupt goal write is ignored, a split one with noise lands
board.feed(pk.encode(200, pk.INST_WRITE, bytes((64, 0, 1))), 5)
board.update(5)
goals = bytes((68, 0, 100, 0, 0, 0, 100, 0, 0, 0))
bad_goal = bytearray(pk.encode(200, pk.INST_WRITE, goals))
bad_goal[9] ^= 0x01
board.feed(bytes(bad_goal), 6)
show("after_bad_goal", board.get("goal_velocity_left"), board.get("goal_velocity_right"))
good_goal = b"\x00\xff\x13" + pk.encode(200, pk.INST_WRITE, goals)
for k in range(0, len(good_goal), 5):
    board.feed(good_goal[k : k + 5], 7)
show("after_good_goal", board.get("goal_velocity_left"), board.get("goal_velocity_right"))
for t in range(10, 200, 10):
    board.update(t)
show("driving", hw.torque, hw.goal[0] > 0, hw.goal[1] > 0, board.get("fault"))
for t in range(200, 1000, 10):
    board.update(t)
show("stopped", hw.torque, hw.goal[0], hw.goal[1], board.get("fault"))

# --- byte stuffing both ways
stuffed = pk.encode(200, pk.INST_WRITE, bytes((68, 0, 0xFF, 0xFF, 0xFD, 0x00)))
show("stuffed", hx(stuffed))
for p in pk.Parser().feed(stuffed, 0):
    show("unstuffed", p.ok, hx(p.params))

# --- app.run(): the NUCLEO main loop with fake machine/time and two XL430s on the bus


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 2
    PULL_DOWN = 3

    def __init__(self, name, mode=None, pull=None):
        self.level = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v


class Adc:
    def __init__(self, pin):
        pass

    def read_u16(self):
        return 55000


class Wdt:
    def __init__(self, timeout):
        self.fed = 0

    def feed(self):
        self.fed += 1


class HostUart:
    def __init__(self, incoming):
        self.incoming = list(incoming)
        self.sent = bytearray()

    def read(self):
        return self.incoming.pop(0) if self.incoming else None

    def write(self, data):
        self.sent.extend(data)


class BusUart:
    """Two XL430s (ids 1 and 2) on the half-duplex bus; they mirror their goals."""

    def __init__(self):
        self.parser = pk.Parser()
        self.rx = b""
        self.goal = {1: 0, 2: 0}
        self.torque = {1: 0, 2: 0}

    def any(self):
        return len(self.rx)

    def read(self):
        data = self.rx
        self.rx = b""
        return data or None

    def write(self, data):
        for p in self.parser.feed(data, 0):
            address = p.params[0] | (p.params[1] << 8)
            size = p.params[2] | (p.params[3] << 8)
            if p.instruction == pk.INST_SYNC_WRITE:
                body = p.params[4:]
                for i in range(0, len(body), 1 + size):
                    value = 0
                    for k in range(size):
                        value |= body[i + 1 + k] << (8 * k)
                    if address == 104:
                        self.goal[body[i]] = value
                    elif address == 64:
                        self.torque[body[i]] = value
            elif p.instruction == pk.INST_SYNC_READ:
                for motor in p.params[4:]:
                    v = self.goal[motor] if self.torque[motor] else 0
                    data = bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))
                    self.rx += pk.encode_status(motor, 0, data)
        return len(data)


class Machine:
    def __init__(self, host, bus):
        self.Pin = Pin
        self.ADC = Adc
        self.uarts = {2: host, 1: bus}
        self.wdt = None

    def UART(self, uart_id, baudrate, timeout=0, rxbuf=0):
        return self.uarts[uart_id]

    def WDT(self, timeout):
        self.wdt = Wdt(timeout)
        return self.wdt


class Time:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        self.ms += 1
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def sleep_us(self, us):
        pass


host = HostUart(
    [
        b"",
        pk.encode(200, pk.INST_WRITE, bytes((64, 0, 1))),
        pk.encode(200, pk.INST_WRITE, bytes((68, 0, 44, 1, 0, 0, 44, 1, 0, 0))),
        broadcast,
    ]
)
bus = BusUart()
machine = Machine(host, bus)
ran = app.run(boards.NUCLEO_F411RE, machine, Time(), max_loops=60)
show("app_host_sent", hx(host.sent))
show("app_board", ran.get("torque_enable"), ran.get("fault"), ran.get("battery_voltage") > 9600)
show("app_motors", bus.torque[1], bus.torque[2], bus.goal[1] > 0, bus.goal[2] > 0x7FFFFFFF)
show("app_present", ran.get("present_velocity_left") > 0, ran.get("present_velocity_right") > 0)
show("app_watchdog_fed", machine.wdt.fed > 0)
show("done")
'''


def _crc16_bitwise(data: bytes) -> int:
    """CRC-16/BUYPASS bit by bit: an independent check of the firmware's table version."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _status(packet_id: int, error: int, params: bytes) -> str:
    body = bytes((0xFF, 0xFF, 0xFD, 0x00, packet_id, len(params) + 4, 0, 0x55, error)) + params
    crc = _crc16_bitwise(body)
    return (body + bytes((crc & 0xFF, crc >> 8))).hex(" ").upper()


def _parse(output: str) -> dict[str, str]:
    lines = dict(line.partition(" ")[::2] for line in output.splitlines() if line.strip())
    assert "done" in lines, output
    return lines


def _board_copy(tmp_path: Path) -> Path:
    root = tmp_path / "board"
    (root / "firmware").mkdir(parents=True)
    for path in FIRMWARE.glob("*.py"):
        shutil.copyfile(path, root / "firmware" / path.name)
    (root / "script.py").write_text(SCRIPT)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: cannot run MicroPython's WebAssembly port")
    if not (WASM_PACKAGE / "micropython.mjs").is_file():
        pytest.skip(
            "@micropython/micropython-webassembly-pyscript is not installed: "
            "run `npm ci --prefix firmware_bridge/wasm`"
        )
    root = _board_copy(tmp_path_factory.mktemp("wasm"))
    micro = subprocess.run(
        [node, str(RUNNER), str(root / "firmware"), str(root / "script.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert micro.returncode == 0, micro.stdout + micro.stderr
    cpython = subprocess.run(
        [sys.executable, "-E", "-s", "script.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cpython.returncode == 0, cpython.stdout + cpython.stderr
    return {"micropython": _parse(micro.stdout), "cpython": _parse(cpython.stdout)}


def test_it_really_is_micropython(runs):
    assert runs["micropython"]["implementation"] == "micropython"
    assert runs["cpython"]["implementation"] == "cpython"


def test_micropython_and_cpython_agree_on_every_byte(runs):
    micro = {k: v for k, v in runs["micropython"].items() if k != "implementation"}
    cpython = {k: v for k, v in runs["cpython"].items() if k != "implementation"}
    assert micro == cpython


def test_ping_from_the_robotis_e_manual(runs):
    out = runs["micropython"]
    assert out["manual_ping_crc"] == "4E19"
    # the manual's XM430 answer: model 1030 (06 04), firmware 0x26
    assert out["manual_status"] == "True 1 0 06 04 26"
    assert out["ping_default_id"] == ""  # addressed to ID 1, the board is 200
    model = bytes((0x50, 0x50, 0x01))  # model 0x5050 ('PP'), firmware 1
    assert out["ping_reply"] == _status(1, 0, model)
    assert out["broadcast_ping_reply"] == _status(200, 0, model)


def test_a_write_with_a_bad_crc_writes_nothing(runs):
    out = runs["micropython"]
    assert out["bad_write_reply"] == _status(200, 0x03, b"")  # CRC error status
    assert out["after_bad_write"] == "0 1"  # led unchanged, rx_crc_errors counted
    assert out["good_write_reply"] == _status(200, 0x00, b"")
    assert out["after_good_write"] == "5 1"
    assert out["after_bad_goal"] == "0 0"
    assert out["after_good_goal"] == "100 100"
    assert out["driving"] == "True True True 0"
    # no further goal: the watchdog (250 ms) stops both wheels, torque stays on
    assert out["stopped"] == "True 0 0 1"


def test_byte_stuffing_round_trips(runs):
    out = runs["micropython"]
    assert "FF FF FD FD 00" in out["stuffed"]
    assert out["unstuffed"] == "True 44 00 FF FF FD 00"


def test_app_main_loop_drives_the_motor_bus(runs):
    out = runs["micropython"]
    assert out["app_host_sent"].endswith(_status(200, 0, bytes((0x50, 0x50, 0x01))))
    assert out["app_board"] == "1 0 True"
    assert out["app_motors"] == "1 1 True True"  # right motor mirrored (negative goal)
    assert out["app_present"] == "True True"
    assert out["app_watchdog_fed"] == "True"
