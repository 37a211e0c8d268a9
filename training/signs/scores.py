"""Accuracy of a sign classifier on labelled crops: overall, per class, and how it errs.

Sign names are `<colour>-<shape>`, so every wrong sign label is a wrong colour, a wrong
shape, or both; the split says what the classifier still confuses (the detector's
errors were mostly colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.signs.samples import BACKGROUND, SOURCES

TOP_CONFUSIONS = 8


def error_kind(truth: str, predicted: str) -> str:
    """'colour', 'shape', 'both', 'missed' (a sign called background), 'false sign'
    (background called a sign) or 'right'."""
    if truth == predicted:
        return "right"
    if predicted == BACKGROUND:
        return "missed"
    if truth == BACKGROUND:
        return "false sign"
    t_colour, t_shape = truth.split("-", 1)
    p_colour, p_shape = predicted.split("-", 1)
    if t_shape == p_shape:
        return "colour"
    if t_colour == p_colour:
        return "shape"
    return "both"


def accuracy_report(
    probs: np.ndarray, labels: np.ndarray, source: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy figures of predictions `probs` (N, K) for crops with class ids `labels`."""
    predicted = np.argmax(probs, axis=1)
    right = predicted == labels
    background = len(classes) - 1
    is_sign = labels != background
    per_class = {
        name: {
            "crops": int((labels == k).sum()),
            "accuracy": _mean(right[labels == k]),
        }
        for k, name in enumerate(classes)
    }
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    pairs = [
        (int(confusion[t, p]), classes[t], classes[p])
        for t in range(len(classes))
        for p in range(len(classes))
        if t != p and confusion[t, p]
    ]
    pairs.sort(key=lambda c: -c[0])
    kinds: dict[str, int] = {}
    for t, p in zip(labels[~right], predicted[~right], strict=True):
        kind = error_kind(classes[t], classes[p])
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "crops": int(len(labels)),
        "accuracy": _mean(right),
        "sign_accuracy": _mean(right[is_sign]),
        "sign_crops": int(is_sign.sum()),
        "background_accuracy": _mean(right[~is_sign]),
        "background_by_source": {
            name: _mean(right[(source == s) & ~is_sign])
            for s, name in enumerate(SOURCES)
            if ((source == s) & ~is_sign).any()
        },
        "per_class": per_class,
        "errors": kinds,
        "top_confusions": [
            {"truth": t, "predicted": p, "crops": n} for n, t, p in pairs[:TOP_CONFUSIONS]
        ],
        "confusion": confusion.tolist(),
    }


def _mean(values: np.ndarray) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None
