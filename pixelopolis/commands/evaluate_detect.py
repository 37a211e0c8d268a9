"""`pixelopolis eval detect`: a TFLite detector's VOC mAP@0.5 per class on a VOC dataset,
alone or with the sign classifier naming its boxes (`--classifier`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pixelopolis.errors import UsageError

if TYPE_CHECKING:
    from vehicle.perception.sign_classifier import SignClassifier


def register_detect(verbs: argparse._SubParsersAction) -> None:
    detect = verbs.add_parser(
        "detect",
        help="score a TFLite detector on a VOC detection dataset (mAP@0.5 per class)",
        description="Run a detector export (as the car runs it) over a `pixelopolis sim "
        "detect` dataset and print Pascal VOC AP@0.5 per class, mAP, and COCO mAP@[.5:.95]. "
        "With --classifier, every frame's boxes are first relabelled by the sign classifier "
        "(the car's two-stage pipeline; a box's score becomes its class probability).",
    )
    detect.add_argument("--model", required=True, help="detector .tflite file")
    detect.add_argument("--data", required=True, help="detection dataset folder (VOC layout)")
    detect.add_argument("--labels", help="labels file (default: detect_labels.txt next to --model)")
    detect.add_argument(
        "--split", choices=["val", "train", "all"], default="val", help="images to score"
    )
    detect.add_argument("--max-images", type=int, help="score only the first N images")
    detect.add_argument(
        "--min-score",
        type=float,
        default=0.01,
        help="keep the detector's boxes from this score (default 0.01)",
    )
    detect.add_argument(
        "--classifier", help="sign classifier .tflite (`pixelopolis train signs`) naming the boxes"
    )
    detect.add_argument(
        "--classifier-labels",
        help="its labels file (default: signs_labels.txt next to --classifier)",
    )
    detect.add_argument("--json", action="store_true", help="print the result as JSON")
    detect.set_defaults(handler=run_detect)


def run_detect(args: argparse.Namespace) -> int:
    model = Path(args.model)
    if not model.is_file() or model.suffix != ".tflite":
        raise UsageError(f"--model {args.model}: not a .tflite file")
    labels_path = Path(args.labels) if args.labels else model.with_name("detect_labels.txt")
    if not labels_path.is_file():
        raise UsageError(f"--labels {labels_path}: no such labels file")
    if args.max_images is not None and args.max_images <= 0:
        raise UsageError(f"--max-images: must be positive, got {args.max_images}")
    if not 0.0 <= args.min_score <= 1.0:
        raise UsageError(f"--min-score: must be in [0, 1], got {args.min_score}")
    if args.classifier_labels and not args.classifier:
        raise UsageError("--classifier-labels: needs --classifier")
    classifier = _load_classifier(args) if args.classifier else None
    from training.detect.dataset import load_split, read_labels
    from training.detect.evaluate import evaluate_model
    from training.lane.config import TrainingError

    data = Path(args.data)
    try:
        labels = read_labels(data)
        splits = ["val", "train"] if args.split == "all" else [args.split]
        images = [im for split in splits for im in load_split(data, split)]
        file_labels = [s.strip() for s in labels_path.read_text().splitlines() if s.strip()]
        if file_labels != labels:
            raise TrainingError(f"--data {args.data}: its classes differ from {labels_path}")
        foreign = [n for n in (classifier.labels[:-1] if classifier else []) if n not in labels]
        if foreign:
            raise TrainingError(
                f"--classifier {args.classifier}: its class {foreign[0]!r} is not in {args.data}"
            )
        result = evaluate_model(
            model,
            labels_path,
            images[: args.max_images],
            labels,
            progress=not args.json,
            min_score=args.min_score,
            classifier=classifier,
        )
    except TrainingError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:  # an unreadable model file
        raise UsageError(f"--model {args.model}: {exc}") from exc
    result = {
        "model": str(model),
        "classifier": args.classifier,
        "data": str(data),
        "split": args.split,
        "min_score": args.min_score,
        **result,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    named = f" + {Path(args.classifier).name}" if args.classifier else ""
    print(f"{model.name}{named} on {data} ({args.split}, {result['images']} images)")
    for name, v in result["per_class"].items():
        ap = "n/a" if v["ap"] is None else f"{v['ap']:.3f}"
        print(f"  {name:<18} AP@0.5 {ap:>6}  ({v['objects']} objects)")
    print(f"mAP@0.5 {result['map']}  COCO mAP@[.5:.95] {result['coco']['map']}")
    return 0


def _load_classifier(args: argparse.Namespace) -> SignClassifier:
    """The `--classifier` as the car loads it, keeping every box it names (min_prob 0: mAP
    ranks them all; the car's 0.5 cut would only shorten the ranking)."""
    path = Path(args.classifier)
    if not path.is_file() or path.suffix != ".tflite":
        raise UsageError(f"--classifier {args.classifier}: not a .tflite file")
    labels = Path(args.classifier_labels) if args.classifier_labels else None
    labels = labels or path.with_name("signs_labels.txt")
    if not labels.is_file():
        raise UsageError(f"--classifier-labels {labels}: no such labels file")
    from vehicle.perception.sign_classifier import SignClassifier, SignClassifierConfig

    try:
        return SignClassifier(SignClassifierConfig(model=path, labels=labels, min_prob=0.0))
    except ValueError as exc:
        raise UsageError(f"--classifier {args.classifier}: {exc}") from exc
