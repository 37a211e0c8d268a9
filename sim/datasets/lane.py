"""`pixelopolis sim lane`: lane-keeping runs rendered from the expert's drives.

Layout of a dataset folder:

    manifest.jsonl     one JSON record per frame, in order (docs/lane-dataset.md)
    frames/*.jpg       the camera frames, 320x240 by default
    dataset.json       what made it (seed, city, camera, knobs) and its statistics

Each episode is one drive along a random route, computed from `(seed, episode)`
alone, so the manifest is byte-identical whatever the number of workers.
"""

from __future__ import annotations

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

from city import U_TURN, City, default_city, load_city, wheel_speeds
from sim.appearance import Appearance
from sim.camera import CameraConfig
from sim.datasets.output import DatasetError, prepare_output
from sim.datasets.parallel import default_workers, ordered_map, prepare_process
from sim.datasets.traffic import Traffic
from sim.expert import ExpertConfig, ExpertDriver, RecoveryNoise
from sim.path import RoutePath
from sim.render import Renderer
from sim.routes import (
    dead_end_approaches,
    departure_route,
    manoeuvre_route,
    manoeuvre_weights,
    random_route,
    start_pose,
)
from sim.world import World

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
FRAME_DT_S = 0.05  # a frame every 50 ms of simulated time
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LaneDatasetConfig:
    """What `pixelopolis sim lane` generates; every field has a working default but `frames`."""

    frames: int
    seed: int = 0
    workers: int | None = None
    city_path: Path | None = None
    frames_per_episode: int = 240
    randomise: float = 1.0
    recoveries: bool = True
    prefer_turns: float = 0.7
    traffic: int = 2
    # Share of episodes that start just before a node as a car that arrived there and
    # leave it by a turn the road allows (`sim.routes.departure_route`); a third of them
    # turn round in a dead end, when the city has one.
    departures: float = 0.3
    # Share of episodes that drive through one manoeuvre (`City.turns_at`) from shortly
    # before its junction, then on to a random node; manoeuvres that shortest routes seldom
    # take are drawn more often (`sim.routes.manoeuvre_weights`). Drawn before departures.
    manoeuvres: float = 0.5
    # Sharp manoeuvres are drawn more often too: each weighs (1 + this times its bend in
    # radians, `sim.routes.manoeuvre_bend`); 0 (the default, the shipped lane model's
    # data) weighs by rarity alone. 1.5 did not fix the roundabout entry at L from B.
    manoeuvre_bend_weight: float = 0.0
    # Share of episodes that start in the oncoming lane (0.6-1.1 lane widths to the left,
    # up to 0.3 rad off): where a missed turn or a cut corner leaves the car.
    oncoming_starts: float = 0.08
    # Share of episodes that start far off the lane centre (up to `wide_start_m` and
    # 0.35 rad): the lane model learns to come back from where a wide turn leaves it.
    wide_starts: float = 0.25
    wide_start_m: float = 0.22
    # Share of manoeuvre drives that start inside the junction, up to
    # `junction_start_heading_rad` off the path's heading (and 5 cm off its centre): the
    # states a car that turns too little or too much is in mid-turn. Without them the data
    # holds the sharpest turns only as the expert drives them, and a car 20 degrees behind
    # the roundabout entry at L from B saw only the island and turned the wrong way.
    # 0 (the default) is the shipped lane model's data.
    junction_starts: float = 0.0
    junction_start_heading_rad: float = 0.45
    camera: CameraConfig = field(default_factory=CameraConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.frames, int) or self.frames <= 0:
            raise DatasetError(f"frames: must be a positive number, got {self.frames}")
        if self.workers is not None and self.workers <= 0:
            raise DatasetError(f"workers: must be positive, got {self.workers}")
        if self.frames_per_episode < 20:
            raise DatasetError("frames_per_episode: must be at least 20")
        if not 0.0 <= self.randomise <= 1.0:
            raise DatasetError(f"randomise: must be between 0 and 1, got {self.randomise}")
        if not 0.0 <= self.prefer_turns <= 1.0:
            raise DatasetError(f"prefer_turns: must be between 0 and 1, got {self.prefer_turns}")
        if not 0.0 <= self.wide_starts <= 1.0:
            raise DatasetError(f"wide_starts: must be between 0 and 1, got {self.wide_starts}")
        if not 0.0 <= self.wide_start_m <= 0.3:
            raise DatasetError(f"wide_start_m: must be within 0..0.3, got {self.wide_start_m}")
        if not 0.0 <= self.departures <= 1.0:
            raise DatasetError(f"departures: must be between 0 and 1, got {self.departures}")
        if not 0.0 <= self.manoeuvres <= 1.0:
            raise DatasetError(f"manoeuvres: must be between 0 and 1, got {self.manoeuvres}")
        if self.manoeuvre_bend_weight < 0:
            raise DatasetError(
                f"manoeuvre_bend_weight: must not be negative, got {self.manoeuvre_bend_weight}"
            )
        if not 0.0 <= self.oncoming_starts <= 1.0:
            raise DatasetError(
                f"oncoming_starts: must be between 0 and 1, got {self.oncoming_starts}"
            )
        if not 0.0 <= self.junction_starts <= 1.0:
            raise DatasetError(
                f"junction_starts: must be between 0 and 1, got {self.junction_starts}"
            )
        if not 0.0 <= self.junction_start_heading_rad <= 1.0:
            raise DatasetError(
                "junction_start_heading_rad: must be within 0..1 rad, got "
                f"{self.junction_start_heading_rad}"
            )
        if not 0 <= self.traffic <= 10:
            raise DatasetError(f"traffic: must be 0-10 cars, got {self.traffic}")


@dataclass
class Episode:
    index: int
    records: list[dict[str, Any]]
    jpegs: list[bytes]


class _EpisodeMaker:
    """Everything a worker needs to simulate an episode from its number alone."""

    def __init__(self, city: City, config: LaneDatasetConfig) -> None:
        self.city = city
        self.config = config
        self._renderer: Renderer | None = None
        self._dead_ends = dead_end_approaches(city)
        weights = (
            manoeuvre_weights(city, bend_weight=config.manoeuvre_bend_weight)
            if config.manoeuvres > 0
            else {}
        )
        self._manoeuvres = list(weights)
        self._manoeuvre_p = np.asarray(list(weights.values()), dtype=float)

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:  # built in the worker process, once
            self._renderer = Renderer(self.city, camera=self.config.camera)
        return self._renderer

    def __call__(self, index: int) -> Episode:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        # The departure draw has a stream of its own: the other episodes stay as they were.
        d_rng = np.random.default_rng([cfg.seed, index, 1])
        start_s = 0.0
        # Manoeuvre drives: a stream of their own, drawn first.
        m_rng = np.random.default_rng([cfg.seed, index, 3])
        draw = d_rng.random()
        junction_pose = None
        if self._manoeuvres and m_rng.random() < cfg.manoeuvres:
            pick = int(m_rng.choice(len(self._manoeuvres), p=self._manoeuvre_p))
            route = manoeuvre_route(self.city, *self._manoeuvres[pick], rng=m_rng)
            path = RoutePath.from_route(self.city, route)
            node = path.nodes[1]
            start_s = max(0.0, node.entry_s - float(m_rng.uniform(0.3, 1.2)))
            # A stream of its own: without junction starts the data stays as it was.
            j_rng = np.random.default_rng([cfg.seed, index, 5])
            if j_rng.random() < cfg.junction_starts:
                start_s = float(j_rng.uniform(max(0.0, node.entry_s - 0.1), node.exit_s))
                limit = cfg.junction_start_heading_rad
                junction_pose = path.pose_at(
                    start_s,
                    lateral_m=float(j_rng.uniform(-0.05, 0.05)),
                    heading_offset=float(j_rng.uniform(-limit, limit)),
                )
        elif draw < cfg.departures:
            dead_end = bool(self._dead_ends) and draw < cfg.departures / 3
            roads = self._dead_ends if dead_end else None
            route = departure_route(self.city, d_rng, roads)
            path = RoutePath.from_route(self.city, route)
            # Start shortly before the node (where a car stops on recognising its sign).
            start_s = max(0.0, path.nodes[1].entry_s - float(d_rng.uniform(0.2, 1.0)))
        else:
            route = random_route(self.city, rng, prefer_turns=cfg.prefer_turns)
            path = RoutePath.from_route(self.city, route)
        self.renderer.set_appearance(Appearance.randomised(rng, cfg.randomise))
        # A stream of its own again: without wide starts the data stays as it was.
        w_rng = np.random.default_rng([cfg.seed, index, 2])
        o_rng = np.random.default_rng([cfg.seed, index, 4])
        if junction_pose is not None:
            pose = junction_pose
            rng.uniform(size=2)  # the draws the narrow start would have taken
        elif o_rng.random() < cfg.oncoming_starts:
            lateral = float(o_rng.uniform(0.6, 1.1)) * self.city.lane_width_m
            heading = float(o_rng.uniform(-0.3, 0.3))
            pose = path.pose_at(start_s, lateral_m=lateral, heading_offset=heading)
            rng.uniform(size=2)  # the draws the narrow start would have taken
        elif w_rng.random() < cfg.wide_starts:
            pose = start_pose(
                self.city,
                path,
                w_rng,
                max_lateral_m=min(cfg.wide_start_m, self.city.lane_width_m),
                max_heading_rad=0.35,
                s=start_s,
            )
            rng.uniform(size=2)  # the draws the narrow start would have taken
        else:
            pose = start_pose(
                self.city, path, rng, max_lateral_m=0.04, max_heading_rad=0.12, s=start_s
            )
        world = World(self.city)
        world.add_car("ego", pose)
        traffic = Traffic(self.city, world, rng, count=cfg.traffic, avoid=path)
        cruise = float(rng.uniform(0.12, 0.2))
        expert = ExpertDriver(
            path, ExpertConfig(cruise_speed_mps=cruise, turn_speed_mps=0.65 * cruise)
        )
        recovery = RecoveryNoise(rng) if cfg.recoveries else None
        geometry = world.dynamics.geometry
        records: list[dict[str, Any]] = []
        jpegs: list[bytes] = []
        low, high = self.renderer.appearance.jpeg_quality_range
        # A u-turn is long and slow: its drive gets the time to finish it and leave.
        u_turn = route.steps[1].turn == U_TURN if len(route.steps) > 1 else False
        length = cfg.frames_per_episode * (2 if u_turn else 1)
        for k in range(length):
            state = world.state("ego")
            control = expert.act(state.pose)
            if expert.finished:
                break
            frame = self.renderer.render(state.pose, cars=traffic.bodies(), rng=rng)
            quality = int(rng.integers(low, high + 1))
            ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            jpegs.append(jpeg.tobytes())
            records.append(
                {
                    "file": f"frames/{index:06d}_{k:04d}.jpg",
                    "episode": index,
                    "frame": k,
                    "t": round(k * FRAME_DT_S, 3),
                    "steering": round(control.steering, 4),
                    "throttle": round(control.throttle, 4),
                    "command": control.command,
                    "speed": round(state.speed, 4),
                    "cte": round(control.cross_track_m, 4),
                    "heading_error": round(control.heading_error, 4),
                    "pose": state.pose.to_dict(),
                }
            )
            steering = control.steering
            if recovery is not None:
                steering = recovery.perturb(
                    steering, FRAME_DT_S, cross_track_m=control.cross_track_m
                )
            world.set_command("ego", *wheel_speeds(steering, control.speed_mps, geometry))
            traffic.drive(FRAME_DT_S)
            world.step(FRAME_DT_S)
        return Episode(index=index, records=records, jpegs=jpegs)


def steering_histogram(steerings: list[float], bins: int = 20) -> dict[str, Any]:
    counts, edges = np.histogram(np.asarray(steerings, dtype=float), bins=bins, range=(-1, 1))
    return {"edges": [round(float(e), 3) for e in edges], "counts": [int(c) for c in counts]}


def generate_lane_dataset(
    out: Path, config: LaneDatasetConfig, *, force: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Render `config.frames` frames into `out`; returns the statistics written to dataset.json."""
    city = load_city(config.city_path) if config.city_path else default_city()
    out = prepare_output(Path(out), marker=MANIFEST, force=force)
    (out / "frames").mkdir()
    workers = config.workers or default_workers()
    maker = _EpisodeMaker(city, config)
    prepare_process()  # before the workers fork: they inherit it
    # An upper bound on the episodes needed; the run stops as soon as it has its frames.
    max_episodes = config.frames + 1
    written = 0
    steerings: list[float] = []
    commands: Counter[str] = Counter()
    episodes = 0
    interrupted = False
    bar = tqdm(total=config.frames, unit="frame", disable=not progress, desc="lane frames")
    results = ordered_map(maker, max_episodes, workers=workers)
    try:
        with open(out / MANIFEST, "w", encoding="utf-8") as manifest:
            for episode in results:
                take = min(len(episode.records), config.frames - written)
                for record, jpeg in zip(episode.records[:take], episode.jpegs[:take], strict=True):
                    (out / record["file"]).write_bytes(jpeg)
                    manifest.write(json.dumps(record, separators=(",", ":")) + "\n")
                    steerings.append(record["steering"])
                    commands[record["command"]] += 1
                manifest.flush()
                written += take
                episodes += 1
                bar.update(take)
                if written >= config.frames:
                    break
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: the dataset holds the %d complete frames written so far", written)
    finally:
        results.close()
        bar.close()
    stats = {
        "format": "pixelopolis-lane",
        "version": FORMAT_VERSION,
        "frames": written,
        "episodes": episodes,
        "complete": not interrupted,
        "frame_interval_s": FRAME_DT_S,
        "city": city.name,
        "config": _jsonable(asdict(config)),
        "commands": dict(sorted(commands.items())),
        "steering_histogram": steering_histogram(steerings),
        "steering_abs_mean": round(float(np.mean(np.abs(steerings))), 4) if steerings else 0.0,
        "turning_share": round(sum(abs(s) > 0.15 for s in steerings) / max(1, written), 4),
    }
    (out / "dataset.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    if interrupted:
        raise KeyboardInterrupt
    return stats


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "workers"}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
