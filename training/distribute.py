"""Which `tf.distribute` strategy a training run uses.

`auto`: MultiWorkerMirroredStrategy when `TF_CONFIG` describes a cluster, else
MirroredStrategy over this machine's devices (one CPU device here, GPUs when present).
"""

from __future__ import annotations

import json
import os
from typing import Any


def make_strategy(name: str = "auto") -> Any:
    """Create the strategy; call before any other TensorFlow work (multi-worker needs it)."""
    import tensorflow as tf

    if name == "auto":
        name = "multi-worker" if os.environ.get("TF_CONFIG") else "mirrored"
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"strategy: unknown {name!r}")


def is_chief() -> bool:
    """True unless TF_CONFIG names this process as a non-chief worker.

    Only the chief writes the model, exports and the model card.
    """
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = "chief" in (config.get("cluster") or {})
    return kind == "chief" or (not has_chief and kind == "worker" and index == 0)
