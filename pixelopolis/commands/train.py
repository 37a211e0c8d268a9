"""`pixelopolis train`: datasets to Keras models to TFLite exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelopolis.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train", help="train the lane model, the detector or the sign classifier"
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    lane = verbs.add_parser(
        "lane",
        help="train the lane-keeping CNN (Keras, TFLite float32/float16/int8, model card)",
        description="Train the command-conditioned lane CNN on a `pixelopolis sim lane` "
        "dataset, export it for LiteRT and write a model card. Rerun with the same --out "
        "to resume an interrupted run. See docs/training.md.",
    )
    lane.add_argument(
        "--data",
        required=True,
        action="append",
        help="lane dataset folder (manifest.jsonl); repeat to train on several (e.g. one per city)",
    )
    lane.add_argument("--out", required=True, help="output folder")
    lane.add_argument("--epochs", type=int, default=40, help="maximum epochs (default 40)")
    lane.add_argument("--batch-size", type=int, default=128, help="global batch (default 128)")
    lane.add_argument("--learning-rate", type=float, default=1e-3, help="Adam (default 1e-3)")
    lane.add_argument(
        "--activation",
        choices=["relu", "elu"],
        default="relu",
        help="relu (int8/Edge-TPU ready, default) or elu (Pixelopolis's float baseline)",
    )
    lane.add_argument(
        "--width",
        type=float,
        default=1.0,
        help="convolution width multiplier (1: Pixelopolis's 24/36/48/64/64 filters)",
    )
    lane.add_argument("--val-share", type=float, default=0.15, help="episodes held out")
    lane.add_argument("--balance", type=float, default=0.6, help="steering balancing 0..1")
    lane.add_argument(
        "--command-balance",
        type=float,
        default=1.0,
        help="route-command balancing 0..1 (1: each command drawn equally often; default)",
    )
    lane.add_argument("--no-augment", action="store_true", help="train without augmentation")
    lane.add_argument("--patience", type=int, default=8, help="early-stopping patience")
    lane.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: a pass)")
    lane.add_argument("--max-frames", type=int, help="use only the first N frames of each dataset")
    lane.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    lane.add_argument(
        "--strategy",
        choices=["auto", "mirrored", "multi-worker", "default"],
        default="auto",
        help="tf.distribute strategy (auto: multi-worker when TF_CONFIG is set)",
    )
    lane.add_argument("--force", action="store_true", help="replace a finished model in --out")
    lane.set_defaults(handler=run_lane)

    detect = verbs.add_parser(
        "detect",
        help="train the SSDLite-MobileNetV2 detector (TFLite float32/int8 with post-process)",
        description="Train the sign-and-car detector on a `pixelopolis sim detect` dataset, "
        "export it for LiteRT (float32 and full-integer int8 with TFLite_Detection_PostProcess) "
        "and write a model card. Rerun with the same --out to resume. See docs/training.md.",
    )
    detect.add_argument("--data", required=True, help="detection dataset folder (VOC layout)")
    detect.add_argument("--out", required=True, help="output folder")
    detect.add_argument("--epochs", type=int, default=12, help="maximum epochs (default 12)")
    detect.add_argument("--batch-size", type=int, default=16, help="global batch (default 16)")
    detect.add_argument("--learning-rate", type=float, default=2e-3, help="peak (default 2e-3)")
    detect.add_argument("--input-size", type=int, default=224, help="input pixels (default 224)")
    detect.add_argument(
        "--alpha", type=float, default=0.5, help="MobileNetV2 width multiplier (default 0.5)"
    )
    detect.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: a pass)")
    detect.add_argument(
        "--pretrain-steps",
        type=int,
        default=6000,
        help="backbone pretraining steps on object crops before the detector (0: none; "
        "default 6000)",
    )
    detect.add_argument("--max-images", type=int, help="use only the first N images per split")
    detect.add_argument("--eval-images", type=int, help="validation images scored for mAP")
    detect.add_argument("--patience", type=int, default=4, help="early-stopping patience")
    detect.add_argument("--no-augment", action="store_true", help="train without augmentation")
    detect.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    detect.add_argument(
        "--strategy",
        choices=["auto", "mirrored", "multi-worker", "default"],
        default="auto",
        help="tf.distribute strategy (auto: multi-worker when TF_CONFIG is set)",
    )
    detect.add_argument(
        "--unseen", help="a second detection dataset (other seed and city) scored in the card"
    )
    detect.add_argument(
        "--reexport", action="store_true", help="redo the exports and card of a finished run"
    )
    detect.add_argument("--force", action="store_true", help="replace a finished model in --out")
    detect.set_defaults(handler=run_detect)

    signs = verbs.add_parser(
        "signs",
        help="train the sign classifier that names the detector's boxes (TFLite float32/int8)",
        description="Train the small CNN that names the sign in each box the detector finds "
        "(the second stage) on crops of a `pixelopolis sim detect` dataset, export it for "
        "LiteRT, measure detector alone vs detector + classifier, and write a model card. "
        "See docs/training.md.",
    )
    signs.add_argument(
        "--data",
        required=True,
        action="append",
        help="detection dataset folder (VOC layout); repeat to train on several",
    )
    signs.add_argument("--out", required=True, help="output folder (new or empty)")
    signs.add_argument("--steps", type=int, default=3000, help="training steps (default 3000)")
    signs.add_argument("--batch-size", type=int, default=128, help="crops a step (default 128)")
    signs.add_argument("--learning-rate", type=float, default=3e-3, help="peak (default 3e-3)")
    signs.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    signs.add_argument(
        "--unseen", help="a second detection dataset (other seed and city) for the two-stage check"
    )
    signs.add_argument(
        "--force", action="store_true", help="replace the model in a non-empty --out"
    )
    signs.set_defaults(handler=run_signs)


def run_lane(args: argparse.Namespace) -> int:
    from training.lane import LaneTrainConfig, TrainingError

    try:
        config = LaneTrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            activation=args.activation,
            width=args.width,
            val_share=args.val_share,
            balance=args.balance,
            command_balance=args.command_balance,
            augment=not args.no_augment,
            patience=args.patience,
            steps_per_epoch=args.steps_per_epoch,
            max_frames=args.max_frames,
            seed=args.seed,
            strategy=args.strategy,
        )
        for folder in args.data:
            if not (Path(folder) / "manifest.jsonl").is_file():
                raise TrainingError(f"--data {folder}: not a lane dataset (no manifest.jsonl)")
        from training.lane.train import train_lane

        data = [Path(folder) for folder in args.data]
        metrics = train_lane(data, Path(args.out), config, force=args.force)
    except TrainingError as exc:
        raise UsageError(str(exc)) from exc
    if not metrics:  # a non-chief worker of a multi-worker run
        return 0
    mae = metrics["validation_mae"]
    print(f"lane model -> {args.out} (model_card.md, lane.keras, lane_*.tflite)")
    print("validation MAE: " + ", ".join(f"{k} {v['mae']:.4f}" for k, v in mae.items()))
    for kind, e in metrics["exports"].items():
        latency = e.get("latency", {}).get("median_ms")
        print(
            f"{kind}: {e['bytes'] // 1024} KiB, parity max {e['parity']['max_abs']:.1e} "
            f"({'ok' if e['parity']['ok'] else 'FAIL'}), {latency} ms"
        )
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from training.detect import DetectTrainConfig, TrainingError
    from vehicle.perception import DetectorPreprocess

    try:
        if args.input_size < 32:
            raise TrainingError(f"--input-size: must be at least 32, got {args.input_size}")
        config = DetectTrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            alpha=args.alpha,
            steps_per_epoch=args.steps_per_epoch,
            pretrain_steps=args.pretrain_steps,
            max_images=args.max_images,
            eval_images=args.eval_images,
            patience=args.patience,
            augment=not args.no_augment,
            seed=args.seed,
            strategy=args.strategy,
            preprocess=DetectorPreprocess(size=args.input_size),
        )
        if not (Path(args.data) / "labels.txt").is_file():
            raise TrainingError(f"--data {args.data}: not a detection dataset (no labels.txt)")
        from training.detect.train import train_detect

        unseen = Path(args.unseen) if args.unseen else None
        if unseen is not None and not (unseen / "labels.txt").is_file():
            raise TrainingError(f"--unseen {args.unseen}: not a detection dataset (no labels.txt)")
        metrics = train_detect(
            Path(args.data),
            Path(args.out),
            config,
            force=args.force,
            unseen=unseen,
            reexport=args.reexport,
        )
    except TrainingError as exc:
        raise UsageError(str(exc)) from exc
    if not metrics:  # a non-chief worker of a multi-worker run
        return 0
    print(f"detector -> {args.out} (model_card.md, detect.keras, detect_*.tflite)")
    for kind, e in metrics["exports"].items():
        latency = (e.get("latency") or {}).get("median_ms")
        print(f"{kind}: {e['bytes'] // 1024} KiB, mAP@0.5 {e['map50']}, {latency} ms")
    return 0


def run_signs(args: argparse.Namespace) -> int:
    from training.signs import SignsTrainConfig, TrainingError

    try:
        config = SignsTrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
        )
        for folder in args.data:
            if not (Path(folder) / "labels.txt").is_file():
                raise TrainingError(f"--data {folder}: not a detection dataset (no labels.txt)")
        unseen = Path(args.unseen) if args.unseen else None
        if unseen is not None and not (unseen / "labels.txt").is_file():
            raise TrainingError(f"--unseen {args.unseen}: not a detection dataset (no labels.txt)")
        from training.signs.train import prepare_out, train_signs

        out = Path(args.out)
        if out.is_dir() and any(out.iterdir()) and not args.force:
            prepare_out(out, force=False)  # raises: before the crops are made
        data = [Path(folder) for folder in args.data]
        metrics = train_signs(data, out, config, force=args.force, unseen=unseen)
    except TrainingError as exc:
        raise UsageError(str(exc)) from exc
    keras = metrics["keras_validation"]
    print(f"sign classifier -> {args.out} (model_card.md, signs.keras, signs_*.tflite)")
    print(f"validation: signs {keras['sign_accuracy']}, background {keras['background_accuracy']}")
    for kind, e in metrics["exports"].items():
        latency = (e.get("latency") or {}).get("median_ms")
        print(
            f"{kind}: {e['bytes'] // 1024} KiB, sign accuracy {e['validation']['sign_accuracy']}, "
            f"parity {'ok' if e['parity']['ok'] else 'FAIL'}, {latency} ms"
        )
    for name, p in metrics["pipeline"].items():
        near = p["near_signs"]
        print(
            f"{name}: near signs named right: detector {near['detector_accuracy']}, "
            f"+ classifier {near.get('int8_accuracy')}; mAP@0.5 {p['detector']['map']} -> "
            f"{p.get('two_stage_int8', {}).get('map')}"
        )
    return 0
