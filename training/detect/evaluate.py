"""Detection metrics: Pascal VOC AP@0.5 per class (our code) and COCO mAP (pycocotools).

VOC rules (VOC2010 onwards): detections sorted by score, each matched greedily to the
unmatched ground-truth box of its class with the highest IoU >= 0.5 in its image;
"difficult" boxes neither count as misses nor make a detection a false positive; AP is
the area under the precision envelope at every recall point.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from training.detect.anchors import iou_matrix
from training.detect.dataset import VocImage

if TYPE_CHECKING:
    from vehicle.perception.sign_classifier import SignClassifier


@dataclass(frozen=True)
class Prediction:
    """One detection of one image: class id, score, normalised (ymin, xmin, ymax, xmax)."""

    label: int
    score: float
    box: tuple[float, float, float, float]


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope (all points), as VOC2010+ and its devkit."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    changes = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[changes + 1] - r[changes]) * p[changes + 1]))


def class_ap(
    images: Sequence[VocImage],
    predictions: Sequence[Sequence[Prediction]],
    label: int,
    *,
    iou_threshold: float = 0.5,
) -> tuple[float, int]:
    """(AP, number of non-difficult boxes) of one class; AP is NaN when it has no boxes."""
    gts = []
    positives = 0
    for im in images:
        mask = im.labels == label
        gts.append((im.boxes[mask], im.difficult[mask], np.zeros(int(mask.sum()), bool)))
        positives += int((~im.difficult[mask]).sum())
    dets = [
        (p.score, i, p.box)
        for i, preds in enumerate(predictions)
        for p in preds
        if p.label == label
    ]
    dets.sort(key=lambda d: -d[0])
    tp = np.zeros(len(dets))
    fp = np.zeros(len(dets))
    for k, (_, i, box) in enumerate(dets):
        boxes, difficult, used = gts[i]
        if len(boxes) == 0:
            fp[k] = 1
            continue
        iou = iou_matrix(np.array([box], np.float32), boxes)[0]
        j = int(iou.argmax())
        if iou[j] >= iou_threshold:
            if difficult[j]:
                continue  # neither right nor wrong
            if not used[j]:
                used[j] = True
                tp[k] = 1
            else:
                fp[k] = 1
        else:
            fp[k] = 1
    if positives == 0:
        return float("nan"), 0
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(recall, precision), positives


def voc_map(
    images: Sequence[VocImage],
    predictions: Sequence[Sequence[Prediction]],
    labels: Sequence[str],
    *,
    iou_threshold: float = 0.5,
) -> dict[str, Any]:
    """{"per_class": {name: {"ap", "objects"}}, "map": mean over classes with objects}."""
    per_class = {}
    for k, name in enumerate(labels):
        ap, count = class_ap(images, predictions, k, iou_threshold=iou_threshold)
        per_class[name] = {"ap": None if np.isnan(ap) else round(ap, 4), "objects": count}
    aps = [v["ap"] for v in per_class.values() if v["ap"] is not None]
    return {"per_class": per_class, "map": round(float(np.mean(aps)), 4) if aps else None}


def coco_map(
    images: Sequence[VocImage],
    predictions: Sequence[Sequence[Prediction]],
    labels: Sequence[str],
    *,
    size: tuple[int, int] = (320, 240),
) -> dict[str, float]:
    """COCO mAP@[.5:.95] and mAP@.5 by pycocotools (difficult boxes as COCO "iscrowd")."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    w, h = size

    def xywh(box: Sequence[float]) -> list[float]:
        ymin, xmin, ymax, xmax = (float(v) for v in box)
        return [xmin * w, ymin * h, (xmax - xmin) * w, (ymax - ymin) * h]

    annotations, results = [], []
    for i, (im, preds) in enumerate(zip(images, predictions, strict=True)):
        for box, label, difficult in zip(im.boxes, im.labels, im.difficult, strict=True):
            rect = xywh(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(label),
                    "bbox": rect,
                    "area": rect[2] * rect[3],
                    "iscrowd": int(difficult),
                }
            )
        results += [
            {"image_id": i, "category_id": p.label, "bbox": xywh(p.box), "score": p.score}
            for p in preds
        ]
    if not results:
        return {"map": 0.0, "map50": 0.0}
    truth = COCO()
    truth.dataset = {
        "images": [{"id": i, "width": w, "height": h} for i in range(len(images))],
        "annotations": annotations,
        "categories": [{"id": k, "name": n} for k, n in enumerate(labels)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        found = truth.loadRes(results)
        evaluator = COCOeval(truth, found, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {
        "map": round(float(evaluator.stats[0]), 4),
        "map50": round(float(evaluator.stats[1]), 4),
    }


def predict_images(
    model_path: Path,
    labels_path: Path,
    images: Sequence[VocImage],
    *,
    min_score: float = 0.01,
    progress: bool = False,
    classifier: SignClassifier | None = None,
) -> list[list[Prediction]]:
    """Run a TFLite detector (as the car runs it) over dataset images.

    `classifier` (a `vehicle.perception.sign_classifier.SignClassifier`): the second
    stage; every frame's detections are relabelled by it (`relabel`: sign boxes named by
    the classifier with its probability as score, background boxes dropped, cars kept).
    """
    import cv2

    from vehicle.perception import Detector, DetectorConfig, detector_input

    detector = Detector(
        DetectorConfig(model=model_path, labels=labels_path, min_score=0.0, use_edgetpu=False)
    )
    index = {name: k for k, name in enumerate(detector.labels)}
    if classifier is not None:
        unknown = [n for n in classifier.labels[:-1] if n not in index]
        if unknown:
            raise ValueError(f"classifier class {unknown[0]!r} is not a detector class")
    out = []
    for im in tqdm(images, disable=not progress, unit="image", desc=model_path.name):
        frame = cv2.imread(str(im.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"{im.path}: missing or not an image")
        found = detector.detect_input(
            detector_input(frame, detector.preprocess), min_score=min_score
        )
        if classifier is not None:
            found = classifier.relabel(frame, found)
        out.append([Prediction(index[d.label], d.score, d.box) for d in found])
    return out


def evaluate_model(
    model_path: Path,
    labels_path: Path,
    images: Sequence[VocImage],
    labels: Sequence[str],
    *,
    progress: bool = False,
    min_score: float = 0.01,
    classifier: SignClassifier | None = None,
) -> dict[str, Any]:
    """VOC mAP@0.5 per class and COCO mAP of a TFLite detector on `images` (its boxes
    relabelled by `classifier` when given: see `predict_images`)."""
    predictions = predict_images(
        model_path,
        labels_path,
        images,
        progress=progress,
        min_score=min_score,
        classifier=classifier,
    )
    result = voc_map(images, predictions, labels)
    result["coco"] = coco_map(images, predictions, labels)
    result["images"] = len(images)
    return result
