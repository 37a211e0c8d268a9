"""After training: TFLite exports, parity, Edge TPU check, latency, mAP, metrics, model card."""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from training.detect.config import DetectTrainConfig
from training.detect.data import load_detector_input
from training.detect.dataset import VocImage, load_split, read_labels

log = logging.getLogger(__name__)


def detector_latency_ms(
    model_path: Path, labels_path: Path, image: np.ndarray, *, runs: int = 200
) -> dict[str, float]:
    """Median and 99th-percentile ms of one `Detector` call (LiteRT, one thread)."""
    from vehicle.perception import Detector, DetectorConfig

    detector = Detector(
        DetectorConfig(model=model_path, labels=labels_path, num_threads=1, use_edgetpu=False)
    )
    for _ in range(10):
        detector.detect_input(image)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.detect_input(image)
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "median_ms": round(float(np.median(times)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
        "runs": runs,
    }


def _dataset_info(data: Path) -> dict[str, Any]:
    path = data / "dataset.json"
    info = json.loads(path.read_text()) if path.is_file() else {}
    return {
        "path": str(data),
        "images": info.get("images"),
        "seed": (info.get("config") or {}).get("seed"),
        "city": info.get("city"),
        "city_path": (info.get("config") or {}).get("city_path"),
    }


def evaluate_and_export(
    model: Any,
    labels: list[str],
    train: list[VocImage],
    val: list[VocImage],
    out: Path,
    config: DetectTrainConfig,
    *,
    data: Path,
    train_seconds: float,
    unseen: Path | None = None,
) -> dict[str, Any]:
    from training.detect.anchors import generate_anchors
    from training.detect.card import write_detect_card
    from training.detect.evaluate import evaluate_model
    from training.detect.export import PostProcess, edgetpu_compatibility, export_detector
    from training.detect.model import static_copy
    from training.detect.parity import check_detect_parity, keras_heads

    pre = config.preprocess
    anchors = generate_anchors(pre.size)
    static = static_copy(model, len(labels), preprocess=pre, alpha=config.alpha)
    rng = np.random.default_rng(config.seed)
    calib = [train[i] for i in rng.permutation(len(train))[: config.calibration_images]]

    def representative() -> Any:
        for im in calib:
            yield {"image": load_detector_input(im, pre)[None].astype(np.float32)}

    exports = export_detector(
        static, anchors, out, post=PostProcess(len(labels)), representative=representative
    )
    labels_path = out / "detect_labels.txt"
    labels_path.write_text("".join(f"{n}\n" for n in labels))
    parity_images = np.stack([load_detector_input(im, pre) for im in val[: config.parity_images]])
    reference = keras_heads(model, parity_images)
    scored = val[: config.eval_images] if config.eval_images else val
    unseen_images = load_split(unseen, "val") + load_split(unseen, "train") if unseen else []
    if unseen and read_labels(unseen) != labels:
        raise ValueError(f"{unseen}: its classes differ from the training data's")
    results: dict[str, Any] = {}
    for kind, export in exports.items():
        parity = check_detect_parity(kind, export.path, reference, parity_images)
        entry: dict[str, Any] = {
            "file": export.path.name,
            "bytes": export.bytes,
            "ops": list(export.ops),
            "parity": parity.as_dict(),
            "edgetpu": asdict(edgetpu_compatibility(export.path)),
        }
        if config.latency_runs:
            entry["latency"] = detector_latency_ms(
                export.path, labels_path, parity_images[0], runs=config.latency_runs
            )
        entry["validation"] = evaluate_model(export.path, labels_path, scored, labels)
        entry["map50"] = entry["validation"]["map"]
        if unseen_images:
            entry["unseen"] = evaluate_model(export.path, labels_path, unseen_images, labels)
        results[kind] = entry
        log.info("%s: mAP@0.5 %s, parity %s", kind, entry["map50"], parity.as_dict())
    metrics = {
        "model": "ssdlite_mobilenetv2",
        "classes": labels,
        "dataset": _dataset_info(data),
        "unseen_dataset": {**_dataset_info(unseen), "images_scored": len(unseen_images)}
        if unseen
        else None,
        "images": {"train": len(train), "validation": len(val), "scored": len(scored)},
        "train_seconds": round(train_seconds, 1),
        "anchors": len(anchors),
        "config": {k: v for k, v in asdict(config).items() if k != "preprocess"}
        | {"input_size": pre.size},
        "best_epoch": _best_epoch(out),
        "training": _trained(out),
        "exports": results,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_detect_card(out, metrics, config)
    return metrics


def _trained(out: Path) -> dict[str, Any] | None:
    path = out / "checkpoints" / "trained.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _best_epoch(out: Path) -> dict[str, Any] | None:
    path = out / "checkpoints" / "best.json"
    return json.loads(path.read_text()) if path.is_file() else None
