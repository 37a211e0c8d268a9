"""Keras callbacks a lane run adds to the stock ones (built lazily: Keras is heavy)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def best_checkpoint(folder: Path) -> Any:
    """Saves weights whenever val_loss improves; remembers the best across resumed runs."""
    import keras

    class BestCheckpoint(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.weights = folder / "best.weights.h5"
            self.state = folder / "best.json"
            self.best = math.inf
            if self.state.is_file() and self.weights.is_file():
                self.best = float(json.loads(self.state.read_text())["val_loss"])

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("val_loss")
            if loss is None or not loss < self.best:
                return
            self.best = float(loss)
            folder.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(self.weights)
            record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            self.state.write_text(json.dumps(record, indent=2) + "\n")

    return BestCheckpoint()
