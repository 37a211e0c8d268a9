"""Firmware of the Pixelopolis control board (MicroPython, also imported by CPython).

Pure logic lives in `crc`, `packet`, `device` and `xl430`: no `machine` or `pyb`
import at module level, so the emulator and the tests run exactly this code under
CPython with a simulated hardware shim. `app` adapts it to a real NUCLEO board.
"""
