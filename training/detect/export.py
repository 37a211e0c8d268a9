"""Detector exports: float32 and full-integer int8 TFLite with `TFLite_Detection_PostProcess`.

The post-process op (box decoding against the anchors, per-class NMS) is emitted the way
the TF Object Detection API does: a placeholder `tf.function` carrying
`experimental_implements="name: \\"TFLite_Detection_PostProcess\\" attr {...}"`, inside a
`keras.export.ExportArchive` endpoint, converted with `from_saved_model` (going through
concrete functions folds the placeholder away). Outputs, by signature name: `boxes`
(1, K, 4) normalised (ymin, xmin, ymax, xmax), `classes` (1, K) 0-based class ids as
floats, `scores` (1, K), `count` (1,) valid rows; rows past `count` are garbage.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.anchors import BOX_SCALES
from training.export import Export, tflite_ops

log = logging.getLogger(__name__)

KINDS = ("float32", "int8")
POSTPROCESS = "TFLite_Detection_PostProcess"
OUTPUTS = ("boxes", "classes", "scores", "count")


@dataclass(frozen=True)
class PostProcess:
    """Attributes of the post-process op (TF OD API names); `num_classes` excludes none:
    the model has no background column."""

    num_classes: int
    max_detections: int = 20
    max_classes_per_detection: int = 1
    nms_score_threshold: float = 0.01
    nms_iou_threshold: float = 0.5
    use_regular_nms: bool = False

    def implements(self) -> str:
        ys, xs, hs, ws = BOX_SCALES
        attrs = [
            ("max_detections", "i", self.max_detections),
            ("max_classes_per_detection", "i", self.max_classes_per_detection),
            ("detections_per_class", "i", self.max_detections),
            ("use_regular_nms", "b", str(self.use_regular_nms).lower()),
            ("nms_score_threshold", "f", self.nms_score_threshold),
            ("nms_iou_threshold", "f", self.nms_iou_threshold),
            ("y_scale", "f", ys),
            ("x_scale", "f", xs),
            ("h_scale", "f", hs),
            ("w_scale", "f", ws),
            ("num_classes", "i", self.num_classes),
        ]
        body = " ".join(f'attr {{ key: "{k}" value {{ {t}: {v} }} }}' for k, t, v in attrs)
        return f'name: "{POSTPROCESS}" {body}'


def detector_endpoint(model: Any, anchors: np.ndarray, post: PostProcess) -> Callable:
    """The serving function: model -> sigmoid scores -> post-process placeholder."""
    import tensorflow as tf

    @tf.function(experimental_implements=post.implements())
    def postprocess(box_encodings: Any, class_scores: Any, anchor_boxes: Any) -> tuple:
        # Never run as written: the converter replaces this call with the TFLite op.
        del box_encodings, class_scores, anchor_boxes
        k = post.max_detections
        return (
            tf.zeros((1, k, 4), name="boxes"),
            tf.zeros((1, k), name="classes"),
            tf.zeros((1, k), name="scores"),
            tf.zeros((1,), name="count"),
        )

    anchor_tensor = tf.constant(anchors, tf.float32)

    def serve(image: Any) -> dict[str, Any]:
        raw = model(image, training=False)
        boxes, classes, scores, count = postprocess(
            raw["boxes"], tf.sigmoid(raw["classes"]), anchor_tensor
        )
        return {"boxes": boxes, "classes": classes, "scores": scores, "count": count}

    return serve


def export_detector(
    model: Any,
    anchors: np.ndarray,
    out_dir: Path,
    *,
    post: PostProcess,
    representative: Callable[[], Iterable[dict[str, np.ndarray]]],
    name: str = "detect",
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Export]:
    """Write `out_dir/{name}_{kind}.tflite`; `model` must have batch size 1.

    The int8 file takes uint8 pixels (scale 1, zero point 0 after the Rescaling layer's
    calibration) and is integer-only up to the post-process op, which reads int8 inputs.
    """
    import keras
    import tensorflow as tf

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"kinds: unknown {sorted(unknown)}; choose from {KINDS}")
    shape = tuple(model.inputs[0].shape)
    if shape[0] != 1:
        raise ValueError("model: export needs batch size 1 (build it with batch_size=1)")
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Export] = {}
    with tempfile.TemporaryDirectory(prefix="pixelopolis-detect-export-") as tmp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            "serving_default",
            detector_endpoint(model, anchors, post),
            input_signature=[tf.TensorSpec(shape, tf.float32, name="image")],
        )
        archive.write_out(tmp, verbose=False)
        for kind in kinds:
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            converter.allow_custom_ops = True
            if kind == "int8":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = representative
                converter.target_spec.supported_ops = [
                    tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                    tf.lite.OpsSet.TFLITE_BUILTINS,
                ]
                converter.inference_input_type = tf.uint8
            flatbuffer = converter.convert()
            path = out_dir / f"{name}_{kind}.tflite"
            path.write_bytes(flatbuffer)
            results[kind] = Export(kind, path, len(flatbuffer), tflite_ops(path))
            log.info("wrote %s (%d bytes)", path, len(flatbuffer))
    return results


# The Edge TPU's operations (coral.ai/docs/edgetpu/models-intro, "Supported operations"),
# in TFLite builtin names. QUANTIZE and DEQUANTIZE are allowed only at the edges.
EDGETPU_OPS = frozenset(
    {
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
        "EXPAND_DIMS", "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM",
        "MAX_POOL_2D", "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "REDUCE_MAX",
        "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
        "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SQUARED_DIFFERENCE", "TANH", "TRANSPOSE",
        "TRANSPOSE_CONV",
    }
)  # fmt: skip
INTEGER_TYPES = ("int8", "uint8", "int32")
MAX_PROBLEMS = 5  # listed in a report; the rest are counted


@dataclass(frozen=True)
class EdgeTpuReport:
    """Whether everything before the post-process op could run on the Edge TPU."""

    compatible: bool
    problems: tuple[str, ...]
    ops: int  # operators checked (those before the post-process)


def edgetpu_compatibility(path: Path) -> EdgeTpuReport:
    """Check a .tflite statically, as `edgetpu_compiler` would map it (which we cannot run).

    Rules: the op list holds every operator except a QUANTIZE of the graph input and
    DEQUANTIZEs that feed only the post-process op; every tensor those operators read or
    write is integer; the only custom op is `TFLite_Detection_PostProcess`, last.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    ops = interpreter._get_ops_details()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    inputs = {d["index"] for d in interpreter.get_input_details()}
    post = [op for op in ops if op["op_name"] == POSTPROCESS]
    post_inputs = set(post[0]["inputs"]) if post else set()
    consumers: dict[int, list[str]] = {}
    for op in ops:
        for i in op["inputs"]:
            consumers.setdefault(i, []).append(op["op_name"])
    problems: list[str] = []
    if len(post) != 1:
        problems.append(f"expected one {POSTPROCESS} op, found {len(post)}")
    checked = 0
    for op in ops:
        name = op["op_name"]
        if name == POSTPROCESS:
            if op is not ops[-1]:
                problems.append(f"{POSTPROCESS} is not the last op")
            continue
        checked += 1
        if name == "QUANTIZE" and set(op["inputs"]) <= inputs:
            continue
        if name == "DEQUANTIZE" and all(
            o in post_inputs and consumers.get(o) == [POSTPROCESS] for o in op["outputs"]
        ):
            continue
        if name not in EDGETPU_OPS:
            problems.append(f"op {op['index']} {name}: not an Edge TPU op")
            continue
        for i in (*op["inputs"], *op["outputs"]):
            if i < 0:
                continue
            dtype = np.dtype(tensors[i]["dtype"]).name
            if dtype not in INTEGER_TYPES:
                problems.append(f"op {op['index']} {name}: tensor {tensors[i]['name']} is {dtype}")
                break
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more"]
    return EdgeTpuReport(compatible=not problems, problems=tuple(problems), ops=checked)
