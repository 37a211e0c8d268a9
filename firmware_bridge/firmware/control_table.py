# Generated from firmware_bridge/control_table.json by
# `python -m firmware_bridge.codegen`. Do not edit by hand.
"""The board's control table, as plain tuples the firmware can import cheaply."""

MODEL_NUMBER = 20560
FIRMWARE_VERSION = 1
DEFAULT_ID = 200

# (name, address, size, writable, signed, min, max, default), sorted by address
REGISTERS = (
    ("model_number", 0, 2, False, False, 0, 65535, 20560),
    ("firmware_version", 6, 1, False, False, 0, 255, 1),
    ("id", 7, 1, True, False, 0, 252, 200),
    ("wheel_diameter_mm", 10, 2, True, False, 20, 300, 66),
    ("velocity_limit", 12, 2, True, False, 0, 2000, 600),
    ("accel_limit", 14, 2, True, False, 100, 20000, 2000),
    ("battery_cutoff_mv", 16, 2, True, False, 5000, 13000, 9600),
    ("watchdog_ms", 18, 2, True, False, 20, 5000, 250),
    ("torque_enable", 64, 1, True, False, 0, 1, 0),
    ("led", 65, 1, True, False, 0, 7, 0),
    ("button", 66, 1, False, False, 0, 1, 0),
    ("fault", 67, 1, False, False, 0, 255, 0),
    ("goal_velocity_left", 68, 4, True, True, -2000, 2000, 0),
    ("goal_velocity_right", 72, 4, True, True, -2000, 2000, 0),
    ("present_velocity_left", 76, 4, False, True, -2000, 2000, 0),
    ("present_velocity_right", 80, 4, False, True, -2000, 2000, 0),
    ("battery_voltage", 84, 2, False, False, 0, 65535, 0),
    ("rx_crc_errors", 86, 2, False, False, 0, 65535, 0),
    ("uptime_ms", 88, 4, False, False, 0, 4294967295, 0),
)

TABLE_SIZE = 92

ADDR_MODEL_NUMBER = 0
ADDR_FIRMWARE_VERSION = 6
ADDR_ID = 7
ADDR_WHEEL_DIAMETER_MM = 10
ADDR_VELOCITY_LIMIT = 12
ADDR_ACCEL_LIMIT = 14
ADDR_BATTERY_CUTOFF_MV = 16
ADDR_WATCHDOG_MS = 18
ADDR_TORQUE_ENABLE = 64
ADDR_LED = 65
ADDR_BUTTON = 66
ADDR_FAULT = 67
ADDR_GOAL_VELOCITY_LEFT = 68
ADDR_GOAL_VELOCITY_RIGHT = 72
ADDR_PRESENT_VELOCITY_LEFT = 76
ADDR_PRESENT_VELOCITY_RIGHT = 80
ADDR_BATTERY_VOLTAGE = 84
ADDR_RX_CRC_ERRORS = 86
ADDR_UPTIME_MS = 88

FAULT_WATCHDOG = 0x01
FAULT_BATTERY_LOW = 0x02
FAULT_BUTTON = 0x04
FAULT_MOTOR_ERROR = 0x08
