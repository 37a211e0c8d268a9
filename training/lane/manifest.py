"""The lane manifest as arrays, and the validation split by episode (never by frame).

Frames 50 ms apart in one drive are near-duplicates: splitting by frame would put the
neighbours of every validation frame into training and flatter the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.lane.config import TrainingError

COMMANDS = ("straight", "left", "right")  # the order of the model's command one-hot
MANIFEST = "manifest.jsonl"
# Episodes of the k-th dataset of a multi-dataset run are numbered k * EPISODE_STRIDE + n,
# so drives of different datasets (cities) never share an id in the split by episode.
EPISODE_STRIDE = 1_000_000


@dataclass(frozen=True)
class LaneRecords:
    """One row per frame: absolute JPEG path, episode, command index, steering label."""

    paths: np.ndarray  # str
    episodes: np.ndarray  # int64
    commands: np.ndarray  # int64 index into COMMANDS
    steering: np.ndarray  # float32 in [-1, 1]

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, index: np.ndarray) -> LaneRecords:
        return LaneRecords(
            self.paths[index], self.episodes[index], self.commands[index], self.steering[index]
        )

    def command_onehot(self) -> np.ndarray:
        return np.eye(len(COMMANDS), dtype=np.float32)[self.commands]


def load_manifest(folder: Path, *, max_frames: int | None = None) -> LaneRecords:
    """Read `folder/manifest.jsonl`; raises TrainingError naming what is wrong."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise TrainingError(f"{folder}: not a lane dataset (no {MANIFEST}; see docs/datasets.md)")
    paths, episodes, commands, steering = [], [], [], []
    with open(manifest, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if max_frames is not None and len(paths) >= max_frames:
                break
            try:
                record = json.loads(line)
                command = COMMANDS.index(record["command"])
                paths.append(str(folder / record["file"]))
                episodes.append(int(record["episode"]))
                steering.append(float(record["steering"]))
                commands.append(command)
            except (ValueError, KeyError, TypeError) as exc:
                raise TrainingError(f"{manifest}:{number}: bad record ({exc})") from exc
    if not paths:
        raise TrainingError(f"{manifest}: no frames")
    return LaneRecords(
        np.array(paths),
        np.array(episodes, np.int64),
        np.array(commands, np.int64),
        np.clip(np.array(steering, np.float32), -1.0, 1.0),
    )


def load_manifests(folders: Sequence[Path], *, max_frames: int | None = None) -> LaneRecords:
    """Several lane datasets (say, one per city) as one set of records.

    Episode ids are made unique per dataset (see EPISODE_STRIDE). `max_frames` caps
    each dataset, so every city keeps its share.
    """
    if not folders:
        raise TrainingError("no lane dataset given")
    if len({Path(f).resolve() for f in folders}) != len(folders):
        raise TrainingError("the same lane dataset is given twice")
    parts = [load_manifest(folder, max_frames=max_frames) for folder in folders]
    for k, part in enumerate(parts):
        if part.episodes.max() >= EPISODE_STRIDE:
            raise TrainingError(f"{folders[k]}: episode ids reach {EPISODE_STRIDE}")
    return LaneRecords(
        np.concatenate([p.paths for p in parts]),
        np.concatenate([p.episodes + k * EPISODE_STRIDE for k, p in enumerate(parts)]),
        np.concatenate([p.commands for p in parts]),
        np.concatenate([p.steering for p in parts]),
    )


def split_by_episode(
    records: LaneRecords, *, val_share: float, seed: int
) -> tuple[LaneRecords, LaneRecords]:
    """(train, validation): a seeded random share of whole episodes goes to validation."""
    unique = np.unique(records.episodes)
    if len(unique) < 2:
        raise TrainingError(
            f"the dataset has {len(unique)} episode(s); a split by episode needs at least 2"
        )
    rng = np.random.default_rng(seed)
    n_val = min(len(unique) - 1, max(1, int(round(val_share * len(unique)))))
    val_episodes = rng.choice(unique, size=n_val, replace=False)
    is_val = np.isin(records.episodes, val_episodes)
    return records.take(np.flatnonzero(~is_val)), records.take(np.flatnonzero(is_val))


def balance_weights(
    steering: np.ndarray,
    *,
    bins: int,
    strength: float,
    cap: float,
    commands: np.ndarray | None = None,
    command_strength: float = 0.0,
) -> np.ndarray:
    """How often to draw each frame per epoch (mean 1) so steering bins even out.

    Weight is (1 / bin frequency) ** strength, capped at `cap` times the mean, so rare
    sharp turns are drawn several times and the many straight frames fewer. With
    `commands`, the weight is also multiplied by (1 / command frequency) **
    command_strength: at 1, frames of each route command are drawn about equally often
    (a rare `left` is not outvoted by `right`).
    """
    edges = np.linspace(-1.0, 1.0, bins + 1)
    index = np.clip(np.digitize(steering, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    weights = (1.0 / counts[index]) ** strength
    if commands is not None and command_strength > 0:
        weights /= weights.mean()
        share = np.zeros(len(COMMANDS))
        for c in range(len(COMMANDS)):  # each command's share of the steering-balanced draws
            share[c] = weights[commands == c].sum()
        present = share > 0
        factor = np.ones(len(COMMANDS))
        factor[present] = (share[present].sum() / share[present]) ** command_strength
        weights = weights * factor[commands]
    weights /= weights.mean()
    for _ in range(5):  # clipping lowers the mean: renormalise a few times
        weights = np.minimum(weights, cap)
        weights /= weights.mean()
    return weights.astype(np.float32)
