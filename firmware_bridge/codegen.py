"""Generate the firmware's control-table module from `control_table.json`.

The JSON file is the one definition of the board's registers. The firmware cannot
afford to parse JSON at boot, so it imports a plain Python module generated from it:

    .venv/bin/python -m firmware_bridge.codegen          # rewrite the module
    .venv/bin/python -m firmware_bridge.codegen --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

JSON_PATH = Path(__file__).with_name("control_table.json")
MODULE_PATH = Path(__file__).parent / "firmware" / "control_table.py"


def render_module(doc: dict[str, Any]) -> str:
    """The source text of `firmware/control_table.py` for a control-table document."""
    regs = sorted(doc["registers"], key=lambda r: r["address"])
    lines = [
        "# Generated from firmware_bridge/control_table.json by",
        "# `python -m firmware_bridge.codegen`. Do not edit by hand.",
        '"""The board\'s control table, as plain tuples the firmware can import cheaply."""',
        "",
        f"MODEL_NUMBER = {doc['model_number']}",
        f"FIRMWARE_VERSION = {doc['firmware_version']}",
        f"DEFAULT_ID = {doc['default_id']}",
        "",
        "# (name, address, size, writable, signed, min, max, default), sorted by address",
        "REGISTERS = (",
    ]
    for r in regs:
        fields = [r["address"], r["size"], "W" in r["access"], r["signed"], r["min"], r["max"]]
        values = ", ".join(str(v) for v in [*fields, r["default"]])
        lines.append(f'    ("{r["name"]}", {values}),')
    lines.append(")")
    end = max(r["address"] + r["size"] for r in regs)
    lines += ["", f"TABLE_SIZE = {end}", ""]
    for r in regs:
        lines.append(f"ADDR_{r['name'].upper()} = {r['address']}")
    lines.append("")
    for f in doc["fault_bits"]:
        lines.append(f"FAULT_{f['name']} = 0x{1 << f['bit']:02X}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the module is current")
    args = parser.parse_args(argv)
    text = render_module(json.loads(JSON_PATH.read_text()))
    if args.check:
        current = MODULE_PATH.read_text() if MODULE_PATH.exists() else ""
        if current != text:
            print(f"{MODULE_PATH} is stale: run python -m firmware_bridge.codegen", file=sys.stderr)
            return 1
        return 0
    MODULE_PATH.write_text(text)
    print(f"wrote {MODULE_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
