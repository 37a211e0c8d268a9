"""`pixelopolis sim detect`: detection scenes in Pascal VOC layout.

Two kinds of scene, as Pixelopolis used: views from a car's camera in the city
(signs where the city puts them, other cars on the roads) and composites of sign
faces pasted in random perspective on random backgrounds. Every image is computed
from `(seed, index)` alone, so the dataset is the same whatever the number of workers.

    JPEGImages/000000.jpg   Annotations/000000.xml
    ImageSets/Main/train.txt, val.txt, <class>_train.txt, <class>_val.txt
    labels.txt, label_map.pbtxt, dataset.json
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from city import City, default_city, load_city, sign_names
from sim.appearance import Appearance
from sim.camera import CameraConfig
from sim.datasets.output import DatasetError, prepare_output
from sim.datasets.parallel import default_workers, ordered_map, prepare_process
from sim.datasets.voc import VocObject, annotation_xml, label_map_pbtxt
from sim.pose import Pose
from sim.render import CAR_COLOURS, CarBody, Renderer

log = logging.getLogger(__name__)

MARKER = "labels.txt"
FORMAT_VERSION = 1
CHUNK = 64  # images per task, sharing one randomised look (textures are costly to redo)


def classes() -> list[str]:
    """Detection classes: one per sign type, then `car`."""
    return [*sign_names(), "car"]


@dataclass(frozen=True)
class DetectDatasetConfig:
    images: int
    seed: int = 0
    workers: int | None = None
    city_path: Path | None = None
    composite_share: float = 0.3
    randomise: float = 1.0
    val_every: int = 10  # every n-th image goes to the validation split
    camera: CameraConfig = field(default_factory=CameraConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.images, int) or self.images <= 0:
            raise DatasetError(f"images: must be a positive number, got {self.images}")
        if self.workers is not None and self.workers <= 0:
            raise DatasetError(f"workers: must be positive, got {self.workers}")
        if not 0.0 <= self.composite_share <= 1.0:
            raise DatasetError("composite_share: must be between 0 and 1")
        if not 0.0 <= self.randomise <= 1.0:
            raise DatasetError("randomise: must be between 0 and 1")
        if self.val_every < 2:
            raise DatasetError("val_every: must be at least 2")


@dataclass
class Sample:
    image_id: str
    kind: str  # "city" or "composite"
    jpeg: bytes
    xml: str
    objects: list[VocObject]


class _SceneMaker:
    def __init__(self, city: City, config: DetectDatasetConfig) -> None:
        self.city = city
        self.config = config
        self._renderer: Renderer | None = None
        self._faces: dict[tuple[str, float], np.ndarray] = {}

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            self._renderer = Renderer(self.city, camera=self.config.camera)
        return self._renderer

    def __call__(self, chunk: int) -> list[Sample]:
        first = chunk * CHUNK
        last = min(first + CHUNK, self.config.images)
        look = np.random.default_rng([self.config.seed, 1 << 40, chunk])
        self.renderer.set_appearance(Appearance.randomised(look, self.config.randomise))
        return [self.sample(i) for i in range(first, last)]

    def sample(self, index: int) -> Sample:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        kind = "composite" if rng.random() < cfg.composite_share else "city"
        if kind == "composite":
            image, objects = self._composite(rng)
        else:
            image, objects = self._city_view(rng)
        image_id = f"{index:06d}"
        low, high = self.renderer.appearance.jpeg_quality_range
        quality = int(rng.integers(low, high + 1))
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        h, w = image.shape[:2]
        xml = annotation_xml(filename=f"{image_id}.jpg", width=w, height=h, objects=objects)
        return Sample(image_id=image_id, kind=kind, jpeg=jpeg.tobytes(), xml=xml, objects=objects)

    # -- scenes in the city --------------------------------------------------------------

    def _city_view(self, rng: np.random.Generator) -> tuple[np.ndarray, list[VocObject]]:
        """A car's view approaching a node, with other cars around."""
        edges = list(self.city.edges.values())
        edge = edges[int(rng.integers(len(edges)))]
        before = float(rng.uniform(0.2, min(2.5, edge.length_m * 0.95)))
        x, y, heading, _ = edge.sample(max(0.0, edge.lane_length_m - before))
        pose = Pose(x, y, heading).moved(
            left_m=float(rng.normal(0, 0.04)), turn_rad=float(rng.normal(0, 0.2))
        )
        cars = self._cars_near(pose, rng)
        frame = self.renderer.render(pose, cars=cars, rng=rng, annotate=True)
        objects = [
            VocObject(
                name=o.label,
                box=o.box,
                truncated=o.truncated,
                occluded=o.occluded,
                difficult=o.difficult,
            )
            for o in frame.objects
        ]
        return frame.image, objects

    def _cars_near(self, pose: Pose, rng: np.random.Generator) -> list[CarBody]:
        cars: list[CarBody] = []
        edges = list(self.city.edges.values())
        for n in range(int(rng.integers(0, 4))):
            for _ in range(10):
                edge = edges[int(rng.integers(len(edges)))]
                x, y, heading, _ = edge.sample(float(rng.uniform(0, edge.lane_length_m)))
                dist = math.hypot(x - pose.x, y - pose.y)
                ahead = (x - pose.x) * math.cos(pose.heading) + (y - pose.y) * math.sin(
                    pose.heading
                )
                if 0.3 < dist < 2.5 and ahead > 0.2:
                    colour = CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]
                    cars.append(
                        CarBody(car_id=f"car-{n}", pose=Pose(x, y, heading), color_bgr=colour)
                    )
                    break
        return cars

    # -- composites --------------------------------------------------------------------

    def _face(self, name: str) -> np.ndarray:
        # Keyed by the look's fade too: a face cached from another chunk's look would make
        # the images depend on which chunks a worker happened to make first.
        key = (name, self.renderer.appearance.sign_fade)
        if key not in self._faces:
            self._faces[key] = self.renderer.sign_face(name, 96)
        return self._faces[key]

    def _composite(self, rng: np.random.Generator) -> tuple[np.ndarray, list[VocObject]]:
        """Sign faces pasted in random perspective on a random background."""
        cam = self.config.camera
        w, h = cam.width, cam.height
        image = _random_background(rng, w, h)
        objects: list[VocObject] = []
        taken: list[tuple[int, int, int, int]] = []
        names = sign_names()
        for _ in range(int(rng.integers(1, 5))):
            name = names[int(rng.integers(len(names)))]
            size = float(np.exp(rng.uniform(np.log(14), np.log(110))))
            cx, cy = rng.uniform(-0.1 * w, 1.1 * w), rng.uniform(-0.1 * h, 1.1 * h)
            placed = _paste(image, self._face(name), rng, cx=cx, cy=cy, size=size)
            if placed is None:
                continue
            box, truncated = placed
            if any(_overlap(box, other) > 0.0 for other in taken):
                continue
            taken.append(box)
            height = box[3] - box[1] + 1
            objects.append(
                VocObject(name=name, box=box, truncated=truncated, difficult=height < 10)
            )
        gain = rng.uniform(0.6, 1.4, size=3) * (0.85 + 0.15 * self.config.randomise)
        image = cv2.transform(image, np.diag(gain).astype(np.float32))  # 3x3: the fast path
        if rng.random() < 0.3:
            image = cv2.GaussianBlur(image, (3, 3), 0)
        return image, objects


def _random_background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Gradients, clutter shapes and noise: nothing the detector may learn as a sign."""
    top, bottom = rng.integers(0, 256, size=3), rng.integers(0, 256, size=3)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    column = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = cv2.resize(column, (w, h), interpolation=cv2.INTER_NEAREST)
    for _ in range(int(rng.integers(3, 12))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.line(image, (x0, y0), (x1, y1), colour, int(rng.integers(1, 6)))
    # Grey sensor noise: a random crop of a unit tile from a small bank, scaled, added in
    # one rounding, saturating add.
    sigma = float(rng.uniform(2, 10))
    which, dx, dy = (int(v) for v in rng.integers(0, (_NOISE_BANK, _NOISE_MARGIN, _NOISE_MARGIN)))
    noise = cv2.multiply(_grey_noise(which, w, h)[dy : dy + h, dx : dx + w], sigma)
    cv2.add(image, cv2.cvtColor(noise, cv2.COLOR_GRAY2BGR), dst=image, dtype=cv2.CV_8U)
    return image


_NOISE_BANK = 8  # unit noise tiles kept per image size
_NOISE_MARGIN = 64  # a tile is this much larger than the image, for random crops


@functools.lru_cache(maxsize=2 * _NOISE_BANK)
def _grey_noise(which: int, w: int, h: int) -> np.ndarray:
    """A unit-sigma single-channel noise tile, the image plus a margin."""
    rng = np.random.default_rng([which, 11])
    tile = rng.standard_normal((h + _NOISE_MARGIN, w + _NOISE_MARGIN), dtype=np.float32)
    tile.flags.writeable = False
    return tile


def _paste(
    image: np.ndarray,
    face: np.ndarray,
    rng: np.random.Generator,
    *,
    cx: float,
    cy: float,
    size: float,
) -> tuple[tuple[int, int, int, int], bool] | None:
    """Warp a BGRA face onto `image` around (cx, cy); its visible box and whether it is cut."""
    h, w = image.shape[:2]
    fs = face.shape[0]
    src = np.float32([[0, 0], [fs, 0], [fs, fs], [0, fs]])
    half = size / 2
    angle = rng.normal(0, 0.15)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]]) @ rot.T
    corners *= rng.uniform(0.75, 1.0, size=(4, 1)) if rng.random() < 0.5 else 1.0
    corners[:, 0] *= rng.uniform(0.5, 1.0)  # seen at an angle: narrower
    dst = np.float32(corners + [cx, cy])
    # Only the quad's bounding region (plus the bilinear fringe) is warped and blended:
    # outside it the warp is fully transparent and the blend leaves the image as it is.
    x0 = max(0, math.floor(float(dst[:, 0].min())) - 2)
    y0 = max(0, math.floor(float(dst[:, 1].min())) - 2)
    x1 = min(w, math.ceil(float(dst[:, 0].max())) + 3)
    y1 = min(h, math.ceil(float(dst[:, 1].max())) + 3)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    matrix = cv2.getPerspectiveTransform(src, dst - np.float32([x0, y0]))
    warped = cv2.warpPerspective(
        face,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    alpha = warped[:, :, 3]
    ys, xs = np.nonzero(alpha > 127)
    if xs.size < 16:
        return None
    box = (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()), y0 + int(ys.max()))
    if box[2] - box[0] < 3 or box[3] - box[1] < 3:
        return None
    a = alpha[:, :, None].astype(np.float32) / 255.0
    shade = rng.uniform(0.6, 1.2)
    roi = image[y0:y1, x0:x1]
    blended = roi * (1 - a) + np.clip(warped[:, :, :3] * shade, 0, 255) * a
    roi[:] = blended.astype(np.uint8)
    full = dst.min(axis=0), dst.max(axis=0)
    truncated = bool(full[0][0] < 0 or full[0][1] < 0 or full[1][0] > w - 1 or full[1][1] > h - 1)
    return box, truncated


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    return float(ix * iy)


def generate_detect_dataset(
    out: Path, config: DetectDatasetConfig, *, force: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Render `config.images` annotated images into `out` (Pascal VOC layout)."""
    city = load_city(config.city_path) if config.city_path else default_city()
    out = prepare_output(Path(out), marker=MARKER, force=force)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (out / sub).mkdir(parents=True)
    names = classes()
    maker = _SceneMaker(city, config)
    workers = config.workers or default_workers()
    prepare_process()  # before the workers fork: they inherit it
    splits: dict[str, list[str]] = {"train": [], "val": []}
    presence: dict[str, dict[str, int]] = {c: {} for c in names}
    counts: Counter[str] = Counter()
    written = 0
    interrupted = False
    chunks = math.ceil(config.images / CHUNK)
    results = ordered_map(maker, chunks, workers=workers)
    bar = tqdm(total=config.images, unit="image", disable=not progress, desc="detection images")
    try:
        for samples in results:
            for sample in samples:
                (out / "JPEGImages" / f"{sample.image_id}.jpg").write_bytes(sample.jpeg)
                (out / "Annotations" / f"{sample.image_id}.xml").write_text(sample.xml)
                split = "val" if int(sample.image_id) % config.val_every == 0 else "train"
                splits[split].append(sample.image_id)
                for obj in sample.objects:
                    counts[obj.name] += 1
                    flag = 0 if obj.difficult else 1
                    presence[obj.name][sample.image_id] = max(
                        presence[obj.name].get(sample.image_id, -1), flag
                    )
                written += 1
            bar.update(len(samples))
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: %d complete images written", written)
    finally:
        results.close()
        bar.close()
    main = out / "ImageSets" / "Main"
    for split, ids in splits.items():
        (main / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        for name in names:
            lines = [f"{i} {presence[name].get(i, -1):>2}\n" for i in ids]
            (main / f"{name}_{split}.txt").write_text("".join(lines))
    (out / "label_map.pbtxt").write_text(label_map_pbtxt(names))
    stats = {
        "format": "pixelopolis-detect",
        "version": FORMAT_VERSION,
        "images": written,
        "complete": not interrupted,
        "classes": names,
        "objects": {name: counts.get(name, 0) for name in names},
        "train": len(splits["train"]),
        "val": len(splits["val"]),
        "city": city.name,
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(config).items()
            if k != "workers"
        },
    }
    (out / "dataset.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out / MARKER).write_text("".join(f"{n}\n" for n in names))
    if interrupted:
        raise KeyboardInterrupt
    return stats
