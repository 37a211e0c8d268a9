"""The firmware's entry point on a NUCLEO board: real pins for `device.Board`.

On the board, /main.py is `from firmware import app; app.run()`. Nothing here runs
at import time, and `machine` is imported inside functions, so CPython can import
this module (the tests run `run()` against a fake `machine` module).
"""

from . import boards
from .device import Board
from .xl430 import MotorBus

UPDATE_MS = 10  # how often the safety rules run and the motors are refreshed
HARDWARE_WATCHDOG_MS = 1000


class Clock:
    """Milliseconds since start that never wrap (MicroPython's ticks_ms wraps)."""

    def __init__(self, time_module):
        self.time = time_module
        self.last = time_module.ticks_ms()
        self.ms = 0

    def __call__(self):
        now = self.time.ticks_ms()
        self.ms += self.time.ticks_diff(now, self.last)
        self.last = now
        return self.ms


class BoardHardware:
    """ADC, button and LEDs of a NUCLEO board plus the motor bus."""

    def __init__(self, machine, pins, bus):
        self.bus = bus
        self.adc = machine.ADC(machine.Pin(pins["battery_adc"]))
        self.divider = pins["battery_divider"]
        pull = machine.Pin.PULL_UP if pins["button_active_low"] else machine.Pin.PULL_DOWN
        self.button_pin = machine.Pin(pins["button"], machine.Pin.IN, pull)
        self.active_low = pins["button_active_low"]
        self.led_pins = [machine.Pin(name, machine.Pin.OUT) for name in pins["leds"]]
        self.status_pin = machine.Pin(pins["status_led"], machine.Pin.OUT)

    def motors_torque(self, on):
        self.bus.motors_torque(on)

    def motors_goal(self, left, right):
        self.bus.motors_goal(left, right)

    def motors_present(self):
        return self.bus.motors_present()

    def battery_mv(self):
        return int(self.adc.read_u16() * 3300 * self.divider / 65535)

    def button(self):
        return (self.button_pin.value() == 0) == self.active_low

    def leds(self, user_mask, status_on):
        for bit in range(len(self.led_pins)):
            self.led_pins[bit].value((user_mask >> bit) & 1)
        self.status_pin.value(1 if status_on else 0)


def _detach_repl(host_uart_id):
    """The host link is the REPL's UART: take it over (Ctrl-C bytes are data now)."""
    try:
        import pyb

        pyb.repl_uart(None)
    except (ImportError, AttributeError):
        pass
    try:
        import micropython

        micropython.kbd_intr(-1)
    except (ImportError, AttributeError):
        pass


def run(pins=None, machine=None, time_module=None, max_loops=None):
    """Serve the control table forever (or `max_loops` iterations, for tests)."""
    if machine is None:
        import machine
    if time_module is None:
        import time as time_module
    if pins is None:
        import os

        pins = boards.detect(os.uname().machine)
    clock = Clock(time_module)
    _detach_repl(pins["host_uart"])
    host = machine.UART(pins["host_uart"], pins["host_baudrate"], timeout=0, rxbuf=1024)
    bus_uart = machine.UART(pins["bus_uart"], pins["bus_baudrate"], timeout=0, rxbuf=256)
    direction = machine.Pin(pins["bus_dir"], machine.Pin.OUT)
    bus = MotorBus(bus_uart, direction, clock, time_module.sleep_us, pins["motors"])
    bus.setup()
    hw = BoardHardware(machine, pins, bus)
    board = Board(hw, clock())
    wdt = machine.WDT(timeout=HARDWARE_WATCHDOG_MS)
    last_update = -UPDATE_MS
    loops = 0
    while max_loops is None or loops < max_loops:
        loops += 1
        data = host.read()
        now = clock()
        reply = board.feed(data or b"", now)
        if reply:
            host.write(reply)
        if now - last_update >= UPDATE_MS:
            board.update(now)
            last_update = now
            wdt.feed()
    return board
