"""The two-stage pipeline measured on dataset images: the shipped detector alone vs the
detector's boxes named by the sign classifier.

Two measures, both on the TFLite files as the car runs them:

- Near-sign naming: for every non-difficult sign at least `near_height` of the frame
  tall that a detector box (score >= `min_score`) overlaps with IoU >= 0.5, the
  best-overlapping box's detector label and the classifier's label on that box, each
  right or wrong. This isolates naming from finding.
- VOC mAP@0.5 and COCO mAP of the detector's boxes (score >= 0.01) with the detector's
  labels, and with every frame's boxes relabelled by `SignClassifier.relabel` (score =
  the class probability; `background` boxes dropped; cars untouched). Also relabelled
  after the `min_score` cut, the way the car filters before naming, and (`joint_*`)
  scored by detector score x class probability instead, to compare rankings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from training.detect.anchors import iou_matrix
from training.detect.dataset import VocImage
from training.detect.evaluate import Prediction, coco_map, voc_map
from vehicle.perception.detections import CAR_LABEL, Detection

MATCH_IOU = 0.5
MAP_MIN_SCORE = 0.01  # boxes scored for mAP (as `pixelopolis eval detect`)


def measure_pipeline(
    images: Sequence[VocImage],
    labels: Sequence[str],
    classifiers: dict[str, Path],
    classifier_labels: Path,
    *,
    detector: Path,
    detector_labels: Path,
    min_score: float = 0.3,
    near_height: float = 0.10,
    progress: bool = False,
    desc: str = "two-stage",
) -> dict[str, Any]:
    """Detector alone vs detector + each classifier (by export kind) on `images`."""
    from vehicle.perception import Detector, DetectorConfig, detector_input
    from vehicle.perception.sign_classifier import SignClassifier, SignClassifierConfig

    det = Detector(
        DetectorConfig(
            model=detector, labels=detector_labels, min_score=MAP_MIN_SCORE, use_edgetpu=False
        )
    )
    named = {
        kind: SignClassifier(SignClassifierConfig(model=path, labels=classifier_labels, min_prob=0))
        for kind, path in classifiers.items()
    }
    index = {name: k for k, name in enumerate(labels)}
    num_signs = len(labels) - 1  # the dataset's classes: signs, then car
    runs = ["detector"] + [f"{run}_{k}" for run in ("two_stage", "joint") for k in named]
    runs += [f"two_stage_{k}_cut" for k in named]
    predictions: dict[str, list[list[Prediction]]] = {run: [] for run in runs}
    near = {"signs": 0, "matched": 0, "detector_right": 0, "matched_as_car": 0}
    near |= {f"{kind}_right": 0 for kind in named}
    for im in tqdm(images, disable=not progress, unit="image", desc=desc):
        frame = cv2.imread(str(im.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"{im.path}: missing or not an image")
        found = det.detect_input(detector_input(frame, det.preprocess), min_score=MAP_MIN_SCORE)
        kept = [d for d in found if d.score >= min_score]
        predictions["detector"].append(_predictions(found, index))
        for kind, clf in named.items():
            for run, boxes in ((f"two_stage_{kind}", found), (f"two_stage_{kind}_cut", kept)):
                predictions[run].append(_predictions(clf.relabel(frame, boxes), index))
            predictions[f"joint_{kind}"].append(_predictions(_joint(clf, frame, found), index))
        heights = im.boxes[:, 2] - im.boxes[:, 0]
        targets = np.flatnonzero((im.labels < num_signs) & ~im.difficult & (heights >= near_height))
        near["signs"] += len(targets)
        if not len(targets) or not kept:
            continue
        iou = iou_matrix(im.boxes[targets], np.array([d.box for d in kept], np.float32))
        for row, t in enumerate(targets):
            j = int(np.argmax(iou[row]))
            if iou[row, j] < MATCH_IOU:
                continue
            truth, box = labels[im.labels[t]], kept[j]
            near["matched"] += 1
            near["detector_right"] += int(box.label == truth)
            near["matched_as_car"] += int(box.label == CAR_LABEL)
            for kind, clf in named.items():
                near[f"{kind}_right"] += int(clf.classify(frame, box.box)[0] == truth)
    matched = near["matched"]
    result: dict[str, Any] = {
        "images": len(images),
        "near_signs": {
            **near,
            "min_height": near_height,
            "min_score": min_score,
            "detector_accuracy": _share(near["detector_right"], matched),
            **{f"{kind}_accuracy": _share(near[f"{kind}_right"], matched) for kind in named},
        },
    }
    for run, preds in predictions.items():
        scored = voc_map(images, preds, labels)
        scored["coco"] = coco_map(images, preds, labels)
        result[run] = scored
    return result


def _joint(clf: Any, frame: np.ndarray, detections: Sequence[Detection]) -> list[Detection]:
    """`relabel`, but scored by detector score x class probability (not what the car does:
    a comparison of the ranking). The int8 softmax has 1/256 steps, so `relabel`'s
    probability ties many confident boxes at 0.996, true and duplicate alike."""
    out = []
    for d in detections:
        if d.label == CAR_LABEL:
            out.append(d)
            continue
        label, prob = clf.classify(frame, d.box)
        if label != clf.labels[-1]:
            out.append(Detection(label, d.score * prob, d.box))
    return out


def _predictions(detections: Sequence[Detection], index: dict[str, int]) -> list[Prediction]:
    return [Prediction(index[d.label], d.score, d.box) for d in detections]


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None
