"""Multibox loss: sigmoid focal loss on classes, smooth L1 on the positives' box encodings,
and (`class_loss`) a softmax cross-entropy over the classes of the positive anchors.

All are normalised by the image's positive anchors. The cross-entropy is there because
the focal loss alone barely teaches *which* sign a box is: measured on the simulator's
data, after 4,000 steps the right sign class was the top one for 9 % of near signs
(chance: 6 %) with every sign class near 0.2 — a wrong class at 0.2 is an easy negative
the focal term down-weights by (0.2)^2. The softmax term makes the classes compete on
every positive anchor; inference still reads the sigmoid scores. Targets come from
`training.detect.anchors.match`: classes (N,) with -1 ignored, 0 background, k+1 class
k; boxes (N, 5) = the encoded box and that same class (so the box loss knows the
positives).
"""

from __future__ import annotations

from typing import Any

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0


def focal_loss(y_true: Any, y_pred: Any) -> Any:
    """Per-image focal loss; y_true (B, N) int classes, y_pred (B, N, C) logits."""
    from keras import ops

    labels = ops.cast(y_true, "int32")
    num_classes = ops.shape(y_pred)[-1]
    onehot = ops.one_hot(ops.maximum(labels - 1, 0), num_classes) * ops.cast(
        ops.expand_dims(labels > 0, -1), y_pred.dtype
    )
    prob = ops.sigmoid(y_pred)
    ce = ops.binary_crossentropy(onehot, y_pred, from_logits=True)
    p_t = onehot * prob + (1 - onehot) * (1 - prob)
    alpha_t = onehot * FOCAL_ALPHA + (1 - onehot) * (1 - FOCAL_ALPHA)
    loss = alpha_t * ops.power(1 - p_t, FOCAL_GAMMA) * ce
    weight = ops.cast(labels >= 0, y_pred.dtype)
    per_image = ops.sum(ops.sum(loss, axis=-1) * weight, axis=-1)
    positives = ops.sum(ops.cast(labels > 0, y_pred.dtype), axis=-1)
    return per_image / ops.maximum(positives, 1.0)


def class_loss(ce_weight: float) -> Any:
    """The classes' loss: focal loss plus `ce_weight` x softmax cross-entropy on positives."""
    from keras import losses, ops

    def loss(y_true: Any, y_pred: Any) -> Any:
        focal = focal_loss(y_true, y_pred)
        if not ce_weight:
            return focal
        labels = ops.cast(y_true, "int32")
        positive = ops.cast(labels > 0, y_pred.dtype)
        ce = losses.sparse_categorical_crossentropy(
            ops.maximum(labels - 1, 0), y_pred, from_logits=True
        )
        per_image = ops.sum(ce * positive, axis=-1) / ops.maximum(ops.sum(positive, axis=-1), 1.0)
        return focal + ce_weight * per_image

    return loss


def box_loss(y_true: Any, y_pred: Any) -> Any:
    """Per-image smooth L1 (Huber, delta 1) over positive anchors; y_true (B, N, 5)."""
    from keras import ops

    positive = ops.cast(y_true[..., 4] > 0, y_pred.dtype)
    diff = ops.abs(y_true[..., :4] - y_pred)
    huber = ops.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5)
    per_image = ops.sum(ops.sum(huber, axis=-1) * positive, axis=-1)
    return per_image / ops.maximum(ops.sum(positive, axis=-1), 1.0)
