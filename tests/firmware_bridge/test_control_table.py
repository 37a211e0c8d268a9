"""The control table: one definition, generated firmware module in sync, documented."""

from __future__ import annotations

from pathlib import Path

from firmware_bridge import codegen
from firmware_bridge.control_table import Fault, control_table, load_document
from firmware_bridge.firmware import control_table as firmware_table

REQUIRED = {
    "model_number", "firmware_version", "id", "torque_enable", "led", "goal_velocity_left",
    "goal_velocity_right", "present_velocity_left", "present_velocity_right",
    "battery_voltage", "button", "watchdog_ms", "fault",
}  # fmt: skip
DOC = Path(__file__).resolve().parents[2] / "docs" / "board.md"


def test_required_registers_exist_and_do_not_overlap():
    table = control_table()
    assert set(table.registers) >= REQUIRED
    taken: set[int] = set()
    for reg in table.registers.values():
        cells = set(range(reg.address, reg.address + reg.size))
        assert not cells & taken, reg.name
        taken |= cells
        assert reg.min <= reg.default <= reg.max, reg.name
        assert reg.access in ("R", "RW")


def test_goals_are_consecutive_for_one_write():
    table = control_table()
    left, right = table["goal_velocity_left"], table["goal_velocity_right"]
    assert right.address == left.address + left.size == 72


def test_generated_firmware_module_is_current():
    assert codegen.render_module(load_document()) == codegen.MODULE_PATH.read_text()
    end = max(r.address + r.size for r in control_table().registers.values())
    assert end == firmware_table.TABLE_SIZE


def test_fault_bits_agree_everywhere():
    doc = load_document()
    assert {f["name"]: 1 << f["bit"] for f in doc["fault_bits"]} == {f.name: f.value for f in Fault}
    for f in Fault:
        assert getattr(firmware_table, f"FAULT_{f.name}") == f.value


def test_docs_list_every_register_and_fault():
    text = DOC.read_text()
    for reg in control_table().registers.values():
        row = f"| {reg.address} | `{reg.name}` | {reg.size} | {reg.access} | {reg.unit} |"
        assert row in text, reg.name
    for f in Fault:
        assert f"`{f.name}`" in text
