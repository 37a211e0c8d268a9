"""Multibox class loss: the focal term, and the softmax term that makes classes compete."""

from __future__ import annotations

import numpy as np
import pytest

from training.detect.loss import class_loss, focal_loss

C = 4


def _logits(*rows: list[float]) -> np.ndarray:
    return np.array([rows], np.float32)  # (1 image, N anchors, C)


def _value(fn, labels: list[int], logits: np.ndarray) -> float:
    return float(np.asarray(fn(np.array([labels], np.int32), logits))[0])


def test_ignored_anchors_add_nothing() -> None:
    logits = _logits([3.0, -3, -3, -3], [5.0, 5, 5, 5])
    assert _value(focal_loss, [1, -1], logits) == pytest.approx(
        _value(focal_loss, [1], logits[:, :1])
    )


def test_softmax_term_prefers_the_right_class_where_focal_barely_does() -> None:
    # The true class (index 1, label 2) vs a tie with a wrong class at the same score.
    tie = _logits([-1.4, -1.4, -4, -4])
    right = _logits([-4, -1.4, -4, -4])
    gap_focal = _value(focal_loss, [2], tie) - _value(focal_loss, [2], right)
    loss = class_loss(1.0)
    gap_total = _value(loss, [2], tie) - _value(loss, [2], right)
    assert gap_focal < 0.05  # a wrong class at p=0.2 is an easy negative for focal loss
    assert gap_total > 10 * gap_focal and gap_total > 0.5


def test_softmax_term_only_on_positives_and_off_at_weight_zero() -> None:
    background = _logits([0.0, 2.0, -1.0, 0.5], [1.0, 1.0, 1.0, 1.0])
    assert _value(class_loss(1.0), [0, 0], background) == pytest.approx(
        _value(focal_loss, [0, 0], background)
    )
    positive = _logits([0.0, 2.0, -1.0, 0.5])
    assert _value(class_loss(0.0), [3], positive) == pytest.approx(
        _value(focal_loss, [3], positive)
    )
    assert _value(class_loss(1.0), [3], positive) > _value(focal_loss, [3], positive) + 1.0
