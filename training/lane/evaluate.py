"""Validation metrics per command, and the predicted-vs-expert steering scatter (PNG)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.lane.manifest import COMMANDS

# Steering spans [-1, 1]: the quality target is stated as a share of that range of 2.
STEERING_RANGE = 2.0
COLOURS_BGR = {"straight": (90, 90, 90), "left": (200, 110, 30), "right": (40, 60, 220)}


def mae_per_command(
    predicted: np.ndarray, expert: np.ndarray, commands: np.ndarray
) -> dict[str, dict[str, float]]:
    """{command: {frames, mae, mae_of_range}} plus "all"; commands are indices into COMMANDS."""
    predicted, expert = np.asarray(predicted).reshape(-1), np.asarray(expert).reshape(-1)
    result: dict[str, dict[str, float]] = {}
    groups = [(name, commands == i) for i, name in enumerate(COMMANDS)]
    for name, mask in [*groups, ("all", np.ones_like(commands, bool))]:
        if not mask.any():
            continue
        mae = float(np.mean(np.abs(predicted[mask] - expert[mask])))
        result[name] = {
            "frames": int(mask.sum()),
            "mae": round(mae, 5),
            "mae_of_range": round(mae / STEERING_RANGE, 5),
        }
    return result


def write_scatter(
    path: Path,
    predicted: np.ndarray,
    expert: np.ndarray,
    commands: np.ndarray,
    *,
    size: int = 480,
    title: str = "validation: predicted vs expert steering",
) -> Path:
    """Predicted (y) against expert (x) steering, one colour per command, with the diagonal."""
    margin = 40
    canvas = np.full((size + 2 * margin, size + 2 * margin, 3), 255, np.uint8)

    def to_px(v: np.ndarray) -> np.ndarray:
        return (margin + (np.clip(v, -1, 1) + 1) / 2 * size).round().astype(int)

    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        p = int(to_px(np.array(tick)))
        q = 2 * margin + size - p
        cv2.line(canvas, (p, margin), (p, margin + size), (235, 235, 235), 1)
        cv2.line(canvas, (margin, q), (margin + size, q), (235, 235, 235), 1)
        cv2.putText(canvas, f"{tick:g}", (p - 10, margin + size + 18), 0, 0.4, (0, 0, 0), 1)
        cv2.putText(canvas, f"{tick:g}", (4, q + 4), 0, 0.4, (0, 0, 0), 1)
    cv2.line(canvas, (margin, margin + size), (margin + size, margin), (160, 160, 160), 1)
    xs = to_px(np.asarray(expert).reshape(-1))
    ys = 2 * margin + size - to_px(np.asarray(predicted).reshape(-1))
    for i, name in enumerate(COMMANDS):
        mask = commands == i
        for x, y in zip(xs[mask], ys[mask], strict=True):
            cv2.circle(canvas, (int(x), int(y)), 2, COLOURS_BGR[name], -1, cv2.LINE_AA)
        cv2.putText(canvas, name, (margin + 8, margin + 16 + 16 * i), 0, 0.45, COLOURS_BGR[name], 1)
    cv2.rectangle(canvas, (margin, margin), (margin + size, margin + size), (0, 0, 0), 1)
    cv2.putText(canvas, title, (margin, margin - 14), 0, 0.45, (0, 0, 0), 1)
    cv2.putText(canvas, "expert", (margin + size // 2 - 20, margin + size + 34), 0, 0.4, 0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"{path}: could not write the scatter plot")
    return path
