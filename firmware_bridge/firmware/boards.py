"""Pin maps of the supported NUCLEO boards (Arduino header names as MicroPython knows them).

The host link is the ST-LINK virtual COM port, wired to USART2 on both boards. The
DYNAMIXEL bus is USART1 through a 74LS241 tri-state buffer whose direction pin is
`bus_dir` (high = board transmits). See docs/board.md for the wiring.
"""

NUCLEO_F411RE = {
    "name": "NUCLEO-F411RE",
    "host_uart": 2,  # PA2/PA3 = ST-LINK VCP
    "host_baudrate": 1000000,
    "bus_uart": 1,  # PA9 (D8) TX, PA10 (D2) RX
    "bus_baudrate": 1000000,
    "bus_dir": "D7",  # PA8
    "battery_adc": "A0",  # PA0, through a 33k/10k divider
    "battery_divider": 4.3,
    "button": "C13",  # B1, the blue user button (active low)
    "button_active_low": True,
    "leds": ("D4", "D5", "D6"),  # PB5 green, PB4 yellow, PB10 red
    "status_led": "A5",  # LD2 (PA5)
    "motors": {"left_id": 1, "right_id": 2, "reverse_right": True, "baudrate": 1000000},
}

NUCLEO_L432KC = {
    "name": "NUCLEO-L432KC",
    "host_uart": 2,  # PA2/PA15 = ST-LINK VCP
    "host_baudrate": 1000000,
    "bus_uart": 1,  # PA9 (D1) TX, PA10 (D0) RX
    "bus_baudrate": 1000000,
    "bus_dir": "D9",  # PA8
    "battery_adc": "A0",  # PA0, through a 33k/10k divider
    "battery_divider": 4.3,
    "button": "D3",  # PB0, external push button to GND (internal pull-up)
    "button_active_low": True,
    "leds": ("D4", "D5", "D6"),  # PB7 green, PB6 yellow, PB1 red
    "status_led": "B3",  # LD3 (PB3)
    "motors": {"left_id": 1, "right_id": 2, "reverse_right": True, "baudrate": 1000000},
}

BOARDS = {"NUCLEO-F411RE": NUCLEO_F411RE, "NUCLEO-L432KC": NUCLEO_L432KC}


def detect(machine_name):
    """The pin map for a `os.uname().machine` string, e.g. 'NUCLEO-F411RE with STM32F411xE'."""
    for key in BOARDS:
        if key in machine_name:
            return BOARDS[key]
    raise ValueError("unsupported board: " + machine_name)
