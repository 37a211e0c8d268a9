"""Keras model -> TFLite float32, float16 and full-integer int8 files.

Conversion goes through a SavedModel with one named `serving_default` signature, so the
car reads inputs and outputs by name. (Keras 3's `from_keras_model` fails on models with
several named inputs.) Models must have static shapes (batch size 1): a dynamic batch
turns Flatten into shape-computing ops the Edge TPU and XNNPACK handle badly.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

KINDS = ("float32", "float16", "int8")
Sample = dict[str, np.ndarray]


@dataclass(frozen=True)
class Export:
    kind: str
    path: Path
    bytes: int
    ops: tuple[str, ...]

    @property
    def float_islands(self) -> bool:
        """An int8 model that still (de)quantises inside: some op was left in float."""
        return self.kind == "int8" and "DEQUANTIZE" in self.ops


def export_tflite(
    model: Any,
    out_dir: Path,
    *,
    name: str,
    output_name: str,
    representative: Callable[[], Iterable[Sample]],
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Export]:
    """Write `out_dir/{name}_{kind}.tflite` for each kind; returns what was written.

    `representative` yields calibration samples (dicts of batch-1 arrays by input name)
    for the int8 model; its inputs are uint8 (images) with the float ranges the
    calibration saw, its output int8.
    """
    import keras
    import tensorflow as tf

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; choose from {KINDS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [
        tf.TensorSpec(tuple(t.shape), tf.dtypes.as_dtype(t.dtype), name=t.name)
        for t in model.inputs
    ]
    names = [t.name for t in model.inputs]
    if any(s.shape[0] is None for s in specs):
        raise ValueError("model: export needs a static batch size (build it with batch_size=1)")

    def serve(*tensors: Any) -> dict[str, Any]:
        return {output_name: model(dict(zip(names, tensors, strict=True)), training=False)}

    results: dict[str, Export] = {}
    with tempfile.TemporaryDirectory(prefix="pixelopolis-export-") as tmp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serving_default", serve, input_signature=specs)
        archive.write_out(tmp, verbose=False)
        for kind in kinds:
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            if kind == "float16":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.target_spec.supported_types = [tf.float16]
            elif kind == "int8":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = representative
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = tf.uint8
                converter.inference_output_type = tf.int8
            flatbuffer = converter.convert()
            path = out_dir / f"{name}_{kind}.tflite"
            path.write_bytes(flatbuffer)
            results[kind] = Export(kind, path, len(flatbuffer), tflite_ops(path))
            log.info("wrote %s (%d bytes)", path, len(flatbuffer))
    return results


def tflite_ops(path: Path) -> tuple[str, ...]:
    """The distinct operators in a .tflite file, sorted."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    return tuple(sorted({op["op_name"] for op in interpreter._get_ops_details()}))
