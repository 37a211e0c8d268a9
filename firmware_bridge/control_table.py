"""The board's control table (registers and fault bits), read from `control_table.json`."""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


class Fault(enum.IntFlag):
    """Bits of the `fault` register: why the board stopped the wheels."""

    WATCHDOG = 0x01
    BATTERY_LOW = 0x02
    BUTTON = 0x04
    MOTOR_ERROR = 0x08


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    size: int
    access: str
    unit: str
    signed: bool
    min: int
    max: int
    default: int
    description: str

    @property
    def writable(self) -> bool:
        return "W" in self.access

    def encode(self, value: int) -> list[int]:
        """Little-endian bytes of `value` (two's complement when signed)."""
        if not self.min <= value <= self.max:
            raise ValueError(f"{self.name}: {value} is outside {self.min}..{self.max}")
        return list((value & ((1 << (8 * self.size)) - 1)).to_bytes(self.size, "little"))

    def decode(self, data: bytes | list[int]) -> int:
        return int.from_bytes(bytes(data[: self.size]), "little", signed=self.signed)


@dataclass(frozen=True)
class ControlTable:
    model_number: int
    firmware_version: int
    default_id: int
    registers: dict[str, Register]
    fault_bits: dict[str, str]

    def __getitem__(self, name: str) -> Register:
        try:
            return self.registers[name]
        except KeyError:
            raise KeyError(f"no register named {name!r}") from None

    def span(self, first: str, last: str) -> tuple[int, int]:
        """(address, length) of one read covering registers first..last."""
        start, end = self[first], self[last]
        return start.address, end.address + end.size - start.address

    def decode_span(self, address: int, data: bytes | list[int]) -> dict[str, int]:
        """Every register wholly inside data read from `address`."""
        out = {}
        for reg in self.registers.values():
            offset = reg.address - address
            if offset >= 0 and offset + reg.size <= len(data):
                out[reg.name] = reg.decode(data[offset : offset + reg.size])
        return out


def _parse(doc: dict[str, Any]) -> ControlTable:
    regs = {r["name"]: Register(**r) for r in doc["registers"]}
    faults = {f["name"]: f["description"] for f in doc["fault_bits"]}
    return ControlTable(
        model_number=doc["model_number"],
        firmware_version=doc["firmware_version"],
        default_id=doc["default_id"],
        registers=regs,
        fault_bits=faults,
    )


def load_document() -> dict[str, Any]:
    """The raw JSON document (as published)."""
    text = resources.files("firmware_bridge").joinpath("control_table.json").read_text()
    return json.loads(text)


@functools.cache
def control_table() -> ControlTable:
    """The board's control table (parsed once)."""
    return _parse(load_document())
