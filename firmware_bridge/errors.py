"""What can go wrong talking to the board."""

from __future__ import annotations

STATUS_ERRORS = {
    0x01: "result fail",
    0x02: "instruction error",
    0x03: "CRC error",
    0x04: "data range error",
    0x05: "data length error",
    0x06: "data limit error",
    0x07: "access error",
}


class BoardError(Exception):
    """Any failure of a board transaction."""


class BoardDisconnectedError(BoardError):
    """The serial device cannot be opened or has vanished (unplugged, emulator stopped)."""


class BoardTimeoutError(BoardError):
    """The board sent no reply in time: the command may not have been applied."""


class BoardCorruptReplyError(BoardError):
    """A reply arrived but failed its CRC or had the wrong shape."""


class BoardStatusError(BoardError):
    """The board refused the instruction with a Protocol 2.0 status error."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        name = STATUS_ERRORS.get(code, "unknown error")
        super().__init__(f"{what}: board replied 0x{code:02X} ({name})")
