"""The annotated view a station watches: detections, steering, next turn, state."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vehicle.perception.detections import CAR_LABEL, Detection

_SIGN_BGR = (40, 200, 250)
_CAR_BGR = (60, 60, 240)
_TEXT_BGR = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(
    image: np.ndarray,
    detections: Sequence[Detection],
    *,
    steering: float,
    command: str,
    state: str,
    node: str | None = None,
) -> np.ndarray:
    """A copy of `image` with boxes, labels, a steering bar and a status line drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    for det in detections:
        ymin, xmin, ymax, xmax = det.box
        p1 = (int(xmin * w), int(ymin * h))
        p2 = (int(xmax * w), int(ymax * h))
        colour = _CAR_BGR if det.label == CAR_LABEL else _SIGN_BGR
        cv2.rectangle(out, p1, p2, colour, 1, cv2.LINE_AA)
        label = f"{det.label} {det.score:.2f}"
        cv2.putText(out, label, (p1[0], max(9, p1[1] - 3)), _FONT, 0.32, colour, 1, cv2.LINE_AA)
    # steering bar: centre = straight, full left/right = +1/-1
    y = h - 8
    cv2.line(out, (w // 4, y), (3 * w // 4, y), (90, 90, 90), 3)
    x = int(w / 2 - max(-1.0, min(1.0, steering)) * w / 4)
    cv2.line(out, (w // 2, y), (x, y), (80, 220, 80), 3)
    cv2.rectangle(out, (0, 0), (w, 14), (0, 0, 0), -1)
    text = f"{state}  next: {command}" + (f"  at {node}" if node else "")
    cv2.putText(out, text, (3, 10), _FONT, 0.34, _TEXT_BGR, 1, cv2.LINE_AA)
    return out
