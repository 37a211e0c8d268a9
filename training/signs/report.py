"""After training: TFLite exports, parity, latency, accuracy, the two-stage measurement,
metrics.json and the model card.

Every figure of an export is taken through `SignClassifier`, the car's own runner, one
crop at a time.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.dataset import VocImage, load_split
from training.detect.report import _dataset_info
from training.signs.config import SignsTrainConfig
from training.signs.samples import SIGN, CropSet
from training.signs.scores import accuracy_report
from vehicle.perception.detections import CAR_LABEL

log = logging.getLogger(__name__)

FLOAT_MAX_ABS = 1e-4  # float32 export vs Keras, any class probability of any crop
INT8_MIN_AGREEMENT = 0.98  # int8 export: share of crops with the Keras model's top class
LABELS_FILE = "signs_labels.txt"
KINDS = ("float32", "int8")


def keras_probs(model: Any, crops: CropSet) -> np.ndarray:
    """The Keras model's probabilities for every crop, in one batched call."""
    return np.asarray(
        model.predict({"image": crops.images.astype(np.float32)}, batch_size=512, verbose=0)
    )


def tflite_probs(path: Path, labels: Path, crops: CropSet) -> np.ndarray:
    """An export's probabilities through the car's runner, crop by crop."""
    from vehicle.perception.sign_classifier import SignClassifier, SignClassifierConfig

    runner = SignClassifier(SignClassifierConfig(model=path, labels=labels))
    return np.stack([runner.probabilities(crop) for crop in crops.images])


def parity(kind: str, probs: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """|TFLite - Keras| probabilities and top-1 agreement; `ok` by the export's bound."""
    diff = np.abs(probs - reference)
    agreement = float(np.mean(probs.argmax(1) == reference.argmax(1)))
    max_abs = float(diff.max())
    ok = max_abs <= FLOAT_MAX_ABS if kind == "float32" else agreement >= INT8_MIN_AGREEMENT
    return {
        "crops": len(probs),
        "max_abs": max_abs,
        "mean_abs": float(diff.mean()),
        "top1_agreement": round(agreement, 4),
        "bound": f"max_abs <= {FLOAT_MAX_ABS:g}"
        if kind == "float32"
        else f"top1_agreement >= {INT8_MIN_AGREEMENT:g}",
        "ok": bool(ok),
    }


def edgetpu_ready(ops: Sequence[str]) -> bool:
    """Every op of an int8 export is an Edge TPU op (QUANTIZE only at the uint8 input)."""
    from training.detect.export import EDGETPU_OPS

    return set(ops) <= EDGETPU_OPS | {"QUANTIZE"} and "DEQUANTIZE" not in ops


def evaluate_and_export(
    model: Any,
    classes: list[str],
    train: CropSet,
    val: CropSet,
    val_images: list[VocImage],
    out: Path,
    config: SignsTrainConfig,
    *,
    datasets: Sequence[Path],
    train_seconds: float,
    history: list[dict[str, Any]],
    unseen: Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Export, check and measure the trained model; write metrics.json and model_card.md."""
    from training.export import export_tflite
    from training.latency import call_latency_ms
    from training.signs.card import write_signs_card
    from training.signs.model import static_copy
    from training.signs.pipeline import measure_pipeline
    from vehicle.perception.sign_classifier import SignClassifier, SignClassifierConfig

    labels_path = out / LABELS_FILE
    labels_path.write_text("".join(f"{n}\n" for n in classes))
    rng = np.random.default_rng(config.seed)
    calib = train.images[rng.permutation(len(train))[: config.calibration_crops]]
    # A black and a white crop pin the uint8 input's range to 0..255 (scale 1, zero 0).
    extremes = np.stack([np.zeros(config.crop.shape, np.uint8), np.full(config.crop.shape, 255)])
    calib = np.concatenate([calib, extremes.astype(np.uint8)])

    def representative() -> Any:
        for crop in calib:
            yield {"image": crop[None].astype(np.float32)}

    static = static_copy(model, len(classes), crop=config.crop)
    exports = export_tflite(
        static, out, name="signs", output_name="probs", representative=representative, kinds=KINDS
    )
    reference = keras_probs(model, val)
    results: dict[str, Any] = {}
    for kind, export in exports.items():
        probs = tflite_probs(export.path, labels_path, val)
        entry: dict[str, Any] = {
            "file": export.path.name,
            "bytes": export.bytes,
            "ops": list(export.ops),
            "edgetpu_ops": edgetpu_ready(export.ops) if kind == "int8" else False,
            "parity": parity(kind, probs, reference),
            "validation": accuracy_report(probs, val.labels, val.source, classes),
        }
        if config.latency_runs:
            runner = SignClassifier(SignClassifierConfig(model=export.path, labels=labels_path))
            crop = val.images[int(np.argmax(val.source == SIGN))]
            entry["latency"] = call_latency_ms(
                lambda runner=runner, crop=crop: runner.probabilities(crop),
                runs=config.latency_runs,
            )
        results[kind] = entry
        log.info(
            "%s: sign accuracy %s, parity %s",
            kind,
            entry["validation"]["sign_accuracy"],
            entry["parity"],
        )
    pipeline: dict[str, Any] = {}
    detector_ready = config.detector.is_file() and config.detector_labels.is_file()
    if config.pipeline_images and not detector_ready:
        log.warning("%s: no detector; the two-stage measurement is skipped", config.detector)
    if config.pipeline_images and detector_ready:
        dataset_labels = [*classes[:-1], CAR_LABEL]
        sets = {"validation": val_images[: config.pipeline_images]}
        if unseen is not None:
            sets["unseen"] = load_split(unseen, "val") + load_split(unseen, "train")
        for name, images in sets.items():
            pipeline[name] = measure_pipeline(
                images,
                dataset_labels,
                {kind: e.path for kind, e in exports.items()},
                labels_path,
                detector=config.detector,
                detector_labels=config.detector_labels,
                min_score=config.detector_min_score,
                near_height=config.near_height,
                progress=progress,
                desc=f"two-stage {name}",
            )
            near = pipeline[name]["near_signs"]
            log.info(
                "%s: near signs named right: detector %s, int8 classifier %s",
                name,
                near["detector_accuracy"],
                near.get("int8_accuracy"),
            )
    metrics = {
        "model": "sign_classifier_cnn",
        "classes": classes,
        "datasets": [_dataset_info(d) for d in datasets],
        "unseen_dataset": _dataset_info(unseen) if unseen else None,
        "crops": {
            "train": _crop_counts(train, len(classes) - 1),
            "validation": _crop_counts(val, len(classes) - 1),
        },
        "validation_images": len(val_images),
        "train_seconds": round(train_seconds, 1),
        "params": int(model.count_params()),
        "config": _config_dict(config),
        "keras_validation": accuracy_report(reference, val.labels, val.source, classes),
        "history": history,
        "exports": results,
        "pipeline": pipeline,
        "detector": {
            "model": str(config.detector),
            "labels": str(config.detector_labels),
        },
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_signs_card(out, metrics, config)
    return metrics


def _crop_counts(crops: CropSet, background: int) -> dict[str, int]:
    is_background = crops.labels == background
    return {
        "total": len(crops),
        "sign": int((~is_background).sum()),
        "background": int(is_background.sum()),
    }


def _config_dict(config: SignsTrainConfig) -> dict[str, Any]:
    raw = asdict(config)
    raw["crop"] = {"size": config.crop.size, "margin": config.crop.margin}
    raw["detector"], raw["detector_labels"] = str(config.detector), str(config.detector_labels)
    return raw
