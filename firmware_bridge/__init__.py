"""The car's control board: DYNAMIXEL protocol, host driver, emulator and firmware.

- `control_table.json` / `control_table`: the board's registers and fault bits
- `serial_board.SerialMotorBoard`: the driver the car runtime uses (background I/O)
- `link.BoardLink`: synchronous register reads/writes on dynamixel-sdk
- `emulator.BoardEmulator`: a virtual board on a pty, running the firmware's logic
- `firmware/`: the MicroPython firmware (pure logic shared with the emulator)

Importing this package imports nothing else; see docs/board.md.
"""
