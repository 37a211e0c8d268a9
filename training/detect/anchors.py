"""SSD anchors, box encoding and ground-truth matching (numpy; no TensorFlow).

Boxes are normalised to [0, 1]. Corner boxes are ``(ymin, xmin, ymax, xmax)`` (the order
of `vehicle.perception.detections.Detection` and of TFLite's post-process op); anchors
are ``(ycenter, xcenter, height, width)``, the layout that op takes. The input is the
frame stretched to a square, so a square sign in a 4:3 frame is 4/3 taller than wide in
normalised units: aspect ratios here are height/width in those units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# TFLite_Detection_PostProcess's y_scale, x_scale, h_scale, w_scale (as the TF OD API).
BOX_SCALES = (10.0, 10.0, 5.0, 5.0)
POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.4  # anchors between the two thresholds are ignored by the loss


@dataclass(frozen=True)
class AnchorSpec:
    """Anchors of the feature maps at strides 8, 16, 32, 64, 128 of the input.

    Scales follow the simulator's objects: half of its signs are under 0.09 of the frame
    (sqrt of box area), a quarter under 0.05, so the finest map starts at 0.04.
    """

    scales: tuple[float, ...] = (0.04, 0.09, 0.19, 0.38, 0.7)
    aspects: tuple[float, ...] = (1.3, 0.6, 2.8)  # height / width, normalised units
    strides: tuple[int, ...] = (8, 16, 32, 64, 128)

    def __post_init__(self) -> None:
        if len(self.scales) != len(self.strides) or not self.scales:
            raise ValueError("scales, strides: one scale per feature map")
        if any(not 0 < s <= 1 for s in self.scales) or any(a <= 0 for a in self.aspects):
            raise ValueError("scales must be in (0, 1], aspects positive")

    @property
    def per_location(self) -> int:
        return len(self.aspects) + 1  # each aspect at the map's scale, plus one in between

    def grid_sizes(self, size: int) -> list[int]:
        return [math.ceil(size / s) for s in self.strides]

    def count(self, size: int) -> int:
        return sum(g * g for g in self.grid_sizes(size)) * self.per_location


def generate_anchors(size: int, spec: AnchorSpec | None = None) -> np.ndarray:
    """(N, 4) float32 anchors (ycenter, xcenter, h, w), in the order the model's heads emit:
    feature map, then row, then column, then anchor kind."""
    spec = spec or AnchorSpec()
    out = []
    scales = [*spec.scales, 1.0]
    for k, grid in enumerate(spec.grid_sizes(size)):
        s, s_next = scales[k], scales[k + 1]
        kinds = [(s * math.sqrt(a), s / math.sqrt(a)) for a in spec.aspects]
        middle = math.sqrt(s * s_next)
        a0 = spec.aspects[0]
        kinds.append((middle * math.sqrt(a0), middle / math.sqrt(a0)))
        centres = (np.arange(grid, dtype=np.float64) + 0.5) / grid
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        hw = np.array(kinds, dtype=np.float64)  # (A, 2)
        grid_anchors = np.empty((grid, grid, len(kinds), 4))
        grid_anchors[..., 0] = cy[..., None]
        grid_anchors[..., 1] = cx[..., None]
        grid_anchors[..., 2] = np.minimum(hw[:, 0], 1.0)
        grid_anchors[..., 3] = np.minimum(hw[:, 1], 1.0)
        out.append(grid_anchors.reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def to_corners(centre_boxes: np.ndarray) -> np.ndarray:
    """(ycenter, xcenter, h, w) -> (ymin, xmin, ymax, xmax)."""
    cy, cx, h, w = np.moveaxis(centre_boxes, -1, 0)
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=-1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every corner box in `a` (N, 4) with every one in `b` (M, 4): (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    ymin = np.maximum(a[:, None, 0], b[None, :, 0])
    xmin = np.maximum(a[:, None, 1], b[None, :, 1])
    ymax = np.minimum(a[:, None, 2], b[None, :, 2])
    xmax = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ymax - ymin, 0, None) * np.clip(xmax - xmin, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return (inter / np.maximum(union, 1e-12)).astype(np.float32)


def encode(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Corner boxes (N, 4) relative to their anchors (N, 4): (ty, tx, th, tw), scaled."""
    ys, xs, hs, ws = BOX_SCALES
    h = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
    w = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-6)
    cy = (boxes[:, 0] + boxes[:, 2]) / 2
    cx = (boxes[:, 1] + boxes[:, 3]) / 2
    acy, acx, ah, aw = anchors.T
    return np.stack(
        [ys * (cy - acy) / ah, xs * (cx - acx) / aw, hs * np.log(h / ah), ws * np.log(w / aw)],
        axis=-1,
    ).astype(np.float32)


def decode(encoded: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """The inverse of `encode`: corner boxes, as TFLite_Detection_PostProcess decodes them."""
    ys, xs, hs, ws = BOX_SCALES
    acy, acx, ah, aw = anchors.T
    cy = encoded[..., 0] / ys * ah + acy
    cx = encoded[..., 1] / xs * aw + acx
    h = np.exp(encoded[..., 2] / hs) * ah
    w = np.exp(encoded[..., 3] / ws) * aw
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=-1)


def match(
    anchors: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    ignore: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one image: (N, 4) encoded boxes and (N,) int32 classes.

    Class targets: label + 1 for a positive anchor (IoU >= 0.5 with a box, or a box's
    best anchor), 0 for background, -1 for ignored (IoU between 0.4 and 0.5, or near an
    `ignore` box: a difficult or cut-off object that is neither a hit nor a miss).
    """
    corners = to_corners(anchors)
    n = len(anchors)
    classes = np.zeros(n, np.int32)
    targets = np.zeros((n, 4), np.float32)
    if len(boxes):
        iou = iou_matrix(corners, boxes)
        best = iou.argmax(axis=1)
        best_iou = iou[np.arange(n), best]
        classes = np.where(
            best_iou >= POSITIVE_IOU, labels[best] + 1, np.where(best_iou >= NEGATIVE_IOU, -1, 0)
        ).astype(np.int32)
        forced = iou.argmax(axis=0)  # every box gets at least its best anchor
        for j, a in enumerate(forced):
            if iou[a, j] > 0:
                best[a] = j
                classes[a] = labels[j] + 1
        targets = encode(boxes[best], anchors)
    if ignore is not None and len(ignore):
        near = iou_matrix(corners, ignore).max(axis=1) >= NEGATIVE_IOU
        classes[(classes == 0) & near] = -1
    targets[classes <= 0] = 0.0
    return targets, classes
