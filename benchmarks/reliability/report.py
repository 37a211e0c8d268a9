"""A drill's result as text: the verdict, the data-safety figures, then the drill's table."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def render(result: dict[str, Any], module: ModuleType) -> str:
    lines = [f"## drill: {result['drill']} — {'PASSED' if result['passed'] else 'FAILED'}", ""]
    for failure in result.get("failures", []):
        lines.append(f"- FAILED: {failure}")
    if "consistency" in result:
        c = result["consistency"]
        driven = result["trips_driven"]
        if driven is None:
            driven = "n/a (the cars ran as processes)"
        lines += [
            f"- bookings acknowledged: {result['bookings_acknowledged']}, "
            f"stored but never acknowledged (request cut off): "
            f"{result['bookings_unacknowledged']}, trips driven: {driven}",
            f"- final states: {result['final_states']}",
            f"- lost bookings: {result['lost_bookings']}, double bookings: "
            f"{result['double_bookings']}, conflicting answers: {result['conflicting_answers']}",
            f"- consistency check: {'clean' if c['ok'] else 'FAILED'} over {c['bookings']} "
            f"bookings and {c['cars']} cars (settled in {c['settle_s']} s)",
        ]
        lines += [f"  - {p}" for p in c["problems"]]
        lines += [f"  - {p}" for p in result.get("ledger_problems", [])]
    if "traffic" in result:
        t = result["traffic"]
        lines.append(
            f"- answers: {t['by_outcome']} (5xx: {t['server_errors']}, 500: {t['http_500']}, "
            f"5xx without a JSON error body: {t['bad_5xx_bodies']}, "
            f"given up after retries: {t['gave_up']})"
        )
    table = getattr(module, "table", None)
    if table is not None:
        lines += ["", table(result)]
    return "\n".join(lines)
