"""The car's control board: DYNAMIXEL protocol, host driver, emulator and firmware."""
