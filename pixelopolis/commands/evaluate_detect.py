"""`pixelopolis eval detect`: a TFLite detector's VOC mAP@0.5 per class on a VOC dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pixelopolis.errors import UsageError


def register_detect(verbs: argparse._SubParsersAction) -> None:
    detect = verbs.add_parser(
        "detect",
        help="score a TFLite detector on a VOC detection dataset (mAP@0.5 per class)",
        description="Run a detector export (as the car runs it) over a `pixelopolis sim "
        "detect` dataset and print Pascal VOC AP@0.5 per class, mAP, and COCO mAP@[.5:.95].",
    )
    detect.add_argument("--model", required=True, help="detector .tflite file")
    detect.add_argument("--data", required=True, help="detection dataset folder (VOC layout)")
    detect.add_argument("--labels", help="labels file (default: detect_labels.txt next to --model)")
    detect.add_argument(
        "--split", choices=["val", "train", "all"], default="val", help="images to score"
    )
    detect.add_argument("--max-images", type=int, help="score only the first N images")
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
        result = evaluate_model(
            model, labels_path, images[: args.max_images], labels, progress=not args.json
        )
    except TrainingError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:  # an unreadable model file
        raise UsageError(f"--model {args.model}: {exc}") from exc
    result = {"model": str(model), "data": str(data), "split": args.split, **result}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{model.name} on {data} ({args.split}, {result['images']} images)")
    for name, v in result["per_class"].items():
        ap = "n/a" if v["ap"] is None else f"{v['ap']:.3f}"
        print(f"  {name:<18} AP@0.5 {ap:>6}  ({v['objects']} objects)")
    print(f"mAP@0.5 {result['map']}  COCO mAP@[.5:.95] {result['coco']['map']}")
    return 0
