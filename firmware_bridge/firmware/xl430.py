"""Master side of the half-duplex DYNAMIXEL bus: two XL430 wheel motors in velocity mode.

`MotorBus` supplies the motor part of the hardware interface `device.Board` uses
(motors_torque, motors_goal, motors_present). It needs a UART (write, read, any), a
direction output (`value(1)` = the board transmits, through a 74LS241 tri-state
buffer) and the MicroPython-style clock functions; tests give it fakes.
"""

from . import packet as pk

ADDR_OPERATING_MODE = 11
ADDR_TORQUE_ENABLE = 64
ADDR_GOAL_VELOCITY = 104
ADDR_PRESENT_VELOCITY = 128
MODE_VELOCITY = 1


def _s32(data, offset):
    value = data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16)
    value |= data[offset + 3] << 24
    if value >= 0x80000000:
        value -= 0x100000000
    return value


def _u32_bytes(value):
    value &= 0xFFFFFFFF
    return bytes((value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF, (value >> 24) & 0xFF))


class MotorBus:
    """Left and right XL430 on one bus; + = forward for both (the right one is mirrored)."""

    def __init__(self, uart, direction, ticks_ms, sleep_us, config):
        self.uart = uart
        self.direction = direction
        self.ticks_ms = ticks_ms
        self.sleep_us = sleep_us
        self.left_id = config.get("left_id", 1)
        self.right_id = config.get("right_id", 2)
        self.signs = (
            -1 if config.get("reverse_left", False) else 1,
            -1 if config.get("reverse_right", True) else 1,
        )
        self.char_us = 10000000 // config.get("baudrate", 1000000) + 1
        self.timeout_ms = config.get("timeout_ms", 5)
        self.direction.value(0)

    # -------------------------------------------------------------- bus primitives
    def _send(self, data):
        while self.uart.any():
            self.uart.read()
        self.direction.value(1)
        self.uart.write(data)
        # the last character is still shifting out when write() returns
        self.sleep_us(2 * self.char_us + 10)
        self.direction.value(0)

    def _receive(self, count):
        parser = pk.Parser(status=True)
        replies: dict[int, pk.Packet] = {}  # for mypy; MicroPython ignores it
        start = self.ticks_ms()
        while len(replies) < count:
            now = self.ticks_ms()
            if now - start > self.timeout_ms:
                break
            data = self.uart.read()
            if data:
                for p in parser.feed(data, now):
                    if p.ok:
                        replies[p.id] = p
        return replies

    def _sync_write(self, address, size, left_value, right_value):
        params = bytearray((address & 0xFF, address >> 8, size & 0xFF, size >> 8))
        for motor_id, value in ((self.left_id, left_value), (self.right_id, right_value)):
            params.append(motor_id)
            if size == 4:
                params.extend(_u32_bytes(value))
            else:
                params.append(value & 0xFF)
        self._send(pk.encode(pk.BROADCAST_ID, pk.INST_SYNC_WRITE, params))

    def setup(self):
        """Torque off, velocity mode: the state the board boots into."""
        self._sync_write(ADDR_TORQUE_ENABLE, 1, 0, 0)
        self._sync_write(ADDR_OPERATING_MODE, 1, MODE_VELOCITY, MODE_VELOCITY)

    # -------------------------------------------------------------- hardware interface
    def motors_torque(self, on):
        value = 1 if on else 0
        self._sync_write(ADDR_TORQUE_ENABLE, 1, value, value)

    def motors_goal(self, left, right):
        self._sync_write(ADDR_GOAL_VELOCITY, 4, left * self.signs[0], right * self.signs[1])

    def motors_present(self):
        """(left, right) present velocity in 0.229 rpm steps, or None if a motor failed."""
        params = bytes((ADDR_PRESENT_VELOCITY, 0, 4, 0, self.left_id, self.right_id))
        self._send(pk.encode(pk.BROADCAST_ID, pk.INST_SYNC_READ, params))
        replies = self._receive(2)
        left = replies.get(self.left_id)
        right = replies.get(self.right_id)
        if left is None or right is None:
            return None
        for p in (left, right):
            if p.error & 0x7F or p.error & pk.ERR_ALERT or len(p.params) != 4:
                return None
        return (_s32(left.params, 0) * self.signs[0], _s32(right.params, 0) * self.signs[1])
