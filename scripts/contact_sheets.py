"""Contact sheets of simulator data for docs/simulator.md: lane and detection, clean and randomised.

.venv/bin/python scripts/contact_sheets.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from city import default_city  # noqa: E402
from sim.datasets.detect import DetectDatasetConfig, _SceneMaker  # noqa: E402
from sim.datasets.lane import LaneDatasetConfig, _EpisodeMaker  # noqa: E402

TILE = (200, 150)  # frames shrunk so that a sheet stays near 200 KB
COLUMNS = 4


def sheet(images: list[np.ndarray], captions: list[str]) -> np.ndarray:
    tiles = []
    for image, caption in zip(images, captions, strict=True):
        tile = cv2.resize(image, TILE, interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, TILE[1] - 18), (TILE[0], TILE[1]), (0, 0, 0), -1)
        cv2.putText(
            tile,
            caption,
            (4, TILE[1] - 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    while len(tiles) % COLUMNS:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + COLUMNS]) for i in range(0, len(tiles), COLUMNS)]
    return np.vstack(rows)


def lane_sheet(randomise: float) -> np.ndarray:
    maker = _EpisodeMaker(default_city(), LaneDatasetConfig(frames=1, seed=7, randomise=randomise))
    images, captions = [], []
    for episode in range(2):
        ep = maker(episode)
        for k in np.linspace(10, len(ep.records) - 1, 2).astype(int):
            r = ep.records[k]
            images.append(cv2.imdecode(np.frombuffer(ep.jpegs[k], np.uint8), cv2.IMREAD_COLOR))
            captions.append(f"steer {r['steering']:+.2f} {r['command']}")
    return sheet(images, captions)


def detect_sheet(randomise: float) -> np.ndarray:
    config = DetectDatasetConfig(images=64, seed=3, randomise=randomise)
    maker = _SceneMaker(default_city(), config)
    images, captions = [], []
    samples = maker(0)
    city = [s for s in samples if s.kind == "city"][:3]
    composite = [s for s in samples if s.kind == "composite"][:1]
    for sample in city + composite:
        image = cv2.imdecode(np.frombuffer(sample.jpeg, np.uint8), cv2.IMREAD_COLOR)
        for obj in sample.objects:
            x0, y0, x1, y1 = obj.box
            colour = (0, 255, 255) if obj.name != "car" else (255, 128, 0)
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, 1)
            cv2.putText(
                image,
                obj.name + ("*" if obj.difficult else ""),
                (x0, max(9, y0 - 2)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.32,
                colour,
                1,
                cv2.LINE_AA,
            )
        images.append(image)
        captions.append(f"{sample.kind}: {len(sample.objects)} objects")
    return sheet(images, captions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for name, image in (
        ("lane-data", np.vstack([lane_sheet(0.0), lane_sheet(1.0)])),
        ("detect-data", np.vstack([detect_sheet(0.0), detect_sheet(1.0)])),
    ):
        path = out / f"{name}.png"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
