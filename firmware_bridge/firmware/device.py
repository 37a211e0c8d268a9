"""The board as a Protocol 2.0 device: control table, instructions and safety.

`Board` is pure logic. It talks to the hardware through an object `hw` with:

    hw.motors_torque(on)               power both wheel motors on or off
    hw.motors_goal(left, right)        wheel goals in XL430 steps (0.229 rpm), + = forward
    hw.motors_present()                (left, right) in XL430 steps, or None if they did not answer
    hw.battery_mv()                    battery voltage in mV
    hw.button()                        True while the motor-enable button is held
    hw.leds(user_mask, status_on)      user LEDs (bits 0-2) and the status LED

The firmware's `app` gives it NUCLEO pins and the XL430 bus; the emulator gives it a
simulated car. Call `feed(bytes, now_ms)` with what the host sent (it returns the
bytes to send back) and `update(now_ms)` every few milliseconds.
"""

from . import control_table as ct
from . import packet as pk

STEP_RPM = 0.229  # XL430 velocity unit
PI = 3.141592653589793
BATTERY_TAU_MS = 200  # low-pass filter time constant of the battery reading
BATTERY_HYSTERESIS_MV = 200
STATUS_BLINK_MS = 250
ALERT_FAULTS = ct.FAULT_BATTERY_LOW | ct.FAULT_MOTOR_ERROR

_EEPROM_END = 64  # registers below this survive a reboot


def _decode(data, offset, size, signed):
    value = 0
    for k in range(size):
        value |= data[offset + k] << (8 * k)
    if signed and value >= 1 << (8 * size - 1):
        value -= 1 << (8 * size)
    return value


def _encode_into(table, address, size, value):
    value &= (1 << (8 * size)) - 1
    for k in range(size):
        table[address + k] = (value >> (8 * k)) & 0xFF


class Register:
    def __init__(self, spec):
        (self.name, self.address, self.size, self.writable, self.signed) = spec[:5]
        (self.min, self.max, self.default) = spec[5:]


class Board:
    def __init__(self, hw, now_ms=0):
        self.hw = hw
        self.table = bytearray(ct.TABLE_SIZE)
        self.by_name = {}
        self.by_address = {}
        for spec in ct.REGISTERS:
            reg = Register(spec)
            self.by_name[reg.name] = reg
            self.by_address[reg.address] = reg
        self.parser = pk.Parser()
        self.boot_ms = now_ms
        self.factory_reset(now_ms)

    # ----------------------------------------------------------- registers
    def get(self, name):
        reg = self.by_name[name]
        return _decode(self.table, reg.address, reg.size, reg.signed)

    def set(self, name, value):
        reg = self.by_name[name]
        _encode_into(self.table, reg.address, reg.size, value)

    def factory_reset(self, now_ms, keep_id=False):
        my_id = self.get("id") if keep_id else None
        for reg in self.by_name.values():
            _encode_into(self.table, reg.address, reg.size, reg.default)
        if my_id is not None:
            self.set("id", my_id)
        self.reboot(now_ms)

    def reboot(self, now_ms):
        for reg in self.by_name.values():
            if reg.address >= _EEPROM_END:
                _encode_into(self.table, reg.address, reg.size, reg.default)
        self.set("model_number", ct.MODEL_NUMBER)
        self.set("firmware_version", ct.FIRMWARE_VERSION)
        self.parser.reset()
        self.last_goal_ms = now_ms
        self.last_update_ms = now_ms
        self.battery_filtered = None
        self.button_was_down = False
        self.ramp_left = 0.0
        self.ramp_right = 0.0
        self.hw_torque = None
        self._apply_torque(False)

    # ----------------------------------------------------------- host link
    def feed(self, data, now_ms):
        """Handle bytes from the host; returns the reply bytes (possibly empty)."""
        out = bytearray()
        for p in self.parser.feed(data, now_ms):
            my_id = self.get("id")
            if not p.ok:
                self._count_crc_error()
                if p.id == my_id:
                    out.extend(pk.encode_status(my_id, pk.ERR_CRC | self._alert()))
                continue
            reply = self._handle(p, my_id, now_ms)
            if reply:
                out.extend(reply)
        return bytes(out)

    def _count_crc_error(self):
        self.set("rx_crc_errors", (self.get("rx_crc_errors") + 1) & 0xFFFF)

    def _alert(self):
        return pk.ERR_ALERT if self.get("fault") & ALERT_FAULTS else 0

    def _status(self, my_id, error, params=b""):
        return pk.encode_status(my_id, error | self._alert(), params)

    def _handle(self, p, my_id, now_ms):
        inst = p.instruction
        params = p.params
        broadcast = p.id == pk.BROADCAST_ID
        if p.id != my_id and not broadcast:
            return None
        if inst == pk.INST_PING:
            model = ct.MODEL_NUMBER
            return self._status(my_id, 0, bytes((model & 0xFF, model >> 8, ct.FIRMWARE_VERSION)))
        if inst in (pk.INST_SYNC_READ, pk.INST_SYNC_WRITE, pk.INST_BULK_READ, pk.INST_BULK_WRITE):
            if broadcast:
                return self._handle_group(inst, params, my_id, now_ms)
            return self._status(my_id, pk.ERR_INSTRUCTION)
        if inst == pk.INST_READ:
            if broadcast:
                return None
            if len(params) != 4:
                return self._status(my_id, pk.ERR_DATA_LENGTH)
            address = params[0] | (params[1] << 8)
            length = params[2] | (params[3] << 8)
            error = self.check_read(address, length)
            if error:
                return self._status(my_id, error)
            return self._status(my_id, 0, bytes(self.table[address : address + length]))
        if inst == pk.INST_WRITE:
            if len(params) < 3:
                error = pk.ERR_DATA_LENGTH
            else:
                address = params[0] | (params[1] << 8)
                error = self.write(address, params[2:], now_ms)
            return None if broadcast else self._status(my_id, error)
        if inst == pk.INST_REBOOT:
            self.reboot(now_ms)
            return None if broadcast else self._status(my_id, 0)
        if inst == pk.INST_FACTORY_RESET:
            if len(params) != 1 or params[0] not in (0x01, 0x02, 0xFF):
                return None if broadcast else self._status(my_id, pk.ERR_DATA_RANGE)
            self.factory_reset(now_ms, keep_id=params[0] != 0xFF)
            return None if broadcast else self._status(my_id, 0)
        return None if broadcast else self._status(my_id, pk.ERR_INSTRUCTION)

    def _handle_group(self, inst, params, my_id, now_ms):
        """Sync/bulk read and write: act on our own slice; reads answer, writes do not."""
        if inst in (pk.INST_SYNC_READ, pk.INST_SYNC_WRITE):
            if len(params) < 4:
                return None
            address = params[0] | (params[1] << 8)
            length = params[2] | (params[3] << 8)
            if inst == pk.INST_SYNC_READ:
                if my_id not in params[4:]:
                    return None
                error = self.check_read(address, length)
                if error:
                    return self._status(my_id, error)
                return self._status(my_id, 0, bytes(self.table[address : address + length]))
            i = 4
            while length > 0 and i + 1 + length <= len(params):
                if params[i] == my_id:
                    self.write(address, params[i + 1 : i + 1 + length], now_ms)
                i += 1 + length
            return None
        i = 0
        while i + 5 <= len(params):
            dev = params[i]
            address = params[i + 1] | (params[i + 2] << 8)
            length = params[i + 3] | (params[i + 4] << 8)
            i += 5
            if inst == pk.INST_BULK_READ:
                if dev == my_id:
                    error = self.check_read(address, length)
                    if error:
                        return self._status(my_id, error)
                    data = bytes(self.table[address : address + length])
                    return self._status(my_id, 0, data)
            else:
                if i + length > len(params):
                    return None
                if dev == my_id:
                    self.write(address, params[i : i + length], now_ms)
                i += length
        return None

    def check_read(self, address, length):
        if length < 1 or address + length > ct.TABLE_SIZE:
            return pk.ERR_ACCESS
        return 0

    def write(self, address, data, now_ms):
        """Write whole registers from `address`; all or nothing. Returns a status error code."""
        end = address + len(data)
        if len(data) == 0:
            return pk.ERR_DATA_LENGTH
        pos = address
        changes = []
        while pos < end:
            reg = self.by_address.get(pos)
            if reg is None or not reg.writable:
                return pk.ERR_ACCESS
            if pos + reg.size > end:
                return pk.ERR_DATA_LENGTH
            value = _decode(data, pos - address, reg.size, reg.signed)
            if value < reg.min or value > reg.max:
                return pk.ERR_DATA_RANGE
            changes.append((reg, value))
            pos += reg.size
        limit = self.get("velocity_limit")
        for reg, value in changes:
            if reg.name.startswith("goal_velocity") and abs(value) > limit:
                return pk.ERR_DATA_LIMIT
            if reg.name == "torque_enable" and value and self.get("fault") & ct.FAULT_BATTERY_LOW:
                return pk.ERR_RESULT_FAIL
        goal = False
        for reg, value in changes:
            _encode_into(self.table, reg.address, reg.size, value)
            if reg.name.startswith("goal_velocity"):
                goal = True
            elif reg.name == "torque_enable":
                if value:
                    self._clear_fault(ct.FAULT_BUTTON | ct.FAULT_MOTOR_ERROR)
                self._apply_torque(bool(value))
        if goal:
            self.last_goal_ms = now_ms
            self._clear_fault(ct.FAULT_WATCHDOG)
        return 0

    # ----------------------------------------------------------- safety and I/O
    def _set_fault(self, bits):
        self.set("fault", self.get("fault") | bits)

    def _clear_fault(self, bits):
        self.set("fault", self.get("fault") & ~bits & 0xFF)

    def _apply_torque(self, on):
        self.set("torque_enable", 1 if on else 0)
        if not on:
            self.ramp_left = 0.0
            self.ramp_right = 0.0
        if self.hw_torque != on:
            self.hw.motors_torque(on)
            self.hw_torque = on

    def _torque_off_for(self, fault_bits):
        self._set_fault(fault_bits)
        if self.get("torque_enable"):
            self._apply_torque(False)

    def steps_per_mm_s(self):
        return 60.0 / (PI * self.get("wheel_diameter_mm")) / STEP_RPM

    def update(self, now_ms):
        """Sample inputs, enforce the safety rules and drive the motors."""
        dt = now_ms - self.last_update_ms
        if dt < 0:
            dt = 0
        self.last_update_ms = now_ms
        self.set("uptime_ms", (now_ms - self.boot_ms) & 0xFFFFFFFF)

        down = bool(self.hw.button())
        self.set("button", 1 if down else 0)
        if down and not self.button_was_down:
            self._torque_off_for(ct.FAULT_BUTTON)
        self.button_was_down = down

        raw = self.hw.battery_mv()
        if self.battery_filtered is None:
            self.battery_filtered = float(raw)
        else:
            k = dt / BATTERY_TAU_MS
            self.battery_filtered += (raw - self.battery_filtered) * (k if k < 1 else 1)
        volts = int(self.battery_filtered)
        self.set("battery_voltage", volts if volts > 0 else 0)
        cutoff = self.get("battery_cutoff_mv")
        if volts < cutoff:
            self._torque_off_for(ct.FAULT_BATTERY_LOW)
        elif volts > cutoff + BATTERY_HYSTERESIS_MV:
            self._clear_fault(ct.FAULT_BATTERY_LOW)

        expired = now_ms - self.last_goal_ms > self.get("watchdog_ms")
        if expired and not self.get("fault") & ct.FAULT_WATCHDOG:
            self._set_fault(ct.FAULT_WATCHDOG)
            self.set("goal_velocity_left", 0)
            self.set("goal_velocity_right", 0)
            self.ramp_left = 0.0
            self.ramp_right = 0.0

        steps = self.steps_per_mm_s()
        present = self.hw.motors_present()
        if present is None:
            if self.get("torque_enable"):
                self._torque_off_for(ct.FAULT_MOTOR_ERROR)
            present = (0, 0)
        self.set("present_velocity_left", int(round(present[0] / steps)))
        self.set("present_velocity_right", int(round(present[1] / steps)))

        if self.get("torque_enable") and not self.get("fault") & ct.FAULT_WATCHDOG:
            step = self.get("accel_limit") * dt / 1000.0
            self.ramp_left = _approach(self.ramp_left, self.get("goal_velocity_left"), step)
            self.ramp_right = _approach(self.ramp_right, self.get("goal_velocity_right"), step)
        else:
            self.ramp_left = 0.0
            self.ramp_right = 0.0
        # sent every update, so a goal lost on the motor bus is repeated at once
        self.hw.motors_goal(int(round(self.ramp_left * steps)), int(round(self.ramp_right * steps)))

        fault = self.get("fault")
        if fault & ~ct.FAULT_WATCHDOG:
            status_on = (now_ms // STATUS_BLINK_MS) % 2 == 0
        else:
            status_on = bool(self.get("torque_enable"))
        self.hw.leds(self.get("led"), status_on)


def _approach(value, target, step):
    if target > value + step:
        return value + step
    if target < value - step:
        return value - step
    return float(target)
