"""Which `tf.distribute` strategy a training run uses.

`auto`: MultiWorkerMirroredStrategy when `TF_CONFIG` describes a cluster,
MirroredStrategy when the machine has several GPUs, else the default strategy. On a
single device MirroredStrategy only costs: measured 2026-12-05 on this 2-core CPU, the
detector trained at 1.6 s per batch of 16 under it and 0.67 s under the default one.
"""

from __future__ import annotations

import json
import os
from typing import Any


def make_strategy(name: str = "auto") -> Any:
    """Create the strategy; call before any other TensorFlow work (multi-worker needs it)."""
    import tensorflow as tf

    if name == "auto":
        name = auto_strategy_name(len(tf.config.list_physical_devices("GPU")))
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"strategy: unknown {name!r}")


def auto_strategy_name(gpus: int) -> str:
    """The strategy `auto` stands for on a machine with `gpus` GPUs."""
    if os.environ.get("TF_CONFIG"):
        return "multi-worker"
    return "mirrored" if gpus > 1 else "default"


def is_chief() -> bool:
    """True unless TF_CONFIG names this process as a non-chief worker.

    Only the chief writes the model, exports and the model card.
    """
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = "chief" in (config.get("cluster") or {})
    return kind == "chief" or (not has_chief and kind == "worker" and index == 0)
