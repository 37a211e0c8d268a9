"""The expert driver that writes the lane model's labels, and the noise that makes it recover.

The expert follows a `RoutePath` by pure pursuit: it steers along the circle through
the car and the path point a lookahead ahead, so its steering label is a normalised
curvature exactly as `city.kinematics` defines it. Its speed follows a profile that
slows for tight curves and stops at the end of the path.

`RecoveryNoise` perturbs the steering the car EXECUTES, never the label: the label is
always the expert's clean steering at the state the car is really in, so a data set
recorded this way holds corrections back to the lane, not only perfect driving.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from city.kinematics import CarGeometry, wheel_speeds
from sim.path import RoutePath
from sim.pose import Pose, wrap_angle

_DEFAULT_GEOMETRY = CarGeometry()


@dataclass(frozen=True)
class ExpertConfig:
    """How the expert drives (metres, seconds)."""

    geometry: CarGeometry = _DEFAULT_GEOMETRY
    lookahead_m: float = 0.25  # at cruise speed; shrinks with speed down to min_lookahead_m
    min_lookahead_m: float = 0.15
    cruise_speed_mps: float = 0.18
    turn_speed_mps: float = 0.12  # where the path is tighter than turn_curvature_per_m
    turn_curvature_per_m: float = 1.5
    max_lateral_accel_mps2: float = 0.5
    max_decel_mps2: float = 0.4  # how hard it slows down ahead of a curve
    stop_distance_m: float = 0.3  # braking distance from cruise speed to the end of the path
    min_speed_mps: float = 0.03  # creep speed until the end is reached
    speed_preview_m: float = 0.05  # the speed target is the lowest this far ahead (motor lag)
    arrive_tolerance_m: float = 0.01

    def __post_init__(self) -> None:
        for name in (
            "lookahead_m",
            "min_lookahead_m",
            "cruise_speed_mps",
            "turn_speed_mps",
            "turn_curvature_per_m",
            "max_lateral_accel_mps2",
            "max_decel_mps2",
            "stop_distance_m",
            "min_speed_mps",
            "speed_preview_m",
            "arrive_tolerance_m",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive")
        if self.min_lookahead_m > self.lookahead_m:
            raise ValueError("min_lookahead_m: must not exceed lookahead_m")
        if self.cruise_speed_mps > self.geometry.max_wheel_speed_mps:
            raise ValueError("cruise_speed_mps: exceeds the geometry's max_wheel_speed_mps")
        if self.turn_speed_mps > self.cruise_speed_mps:
            raise ValueError("turn_speed_mps: must not exceed cruise_speed_mps")


@dataclass(frozen=True)
class Control:
    """One decision of the expert: the labels and what the car should do."""

    steering: float  # normalised curvature in [-1, 1], +1 the tightest left turn
    speed_mps: float
    command: str  # "left" | "right" | "straight": the turn at the next intersection
    cross_track_m: float  # + = car is left of the path
    heading_error: float  # car heading minus path heading, radians
    s: float  # arc length of the car's projection on the path
    geometry: CarGeometry = _DEFAULT_GEOMETRY

    def wheel_speeds(self, geometry: CarGeometry | None = None) -> tuple[float, float]:
        """(left, right) wheel speeds in m/s for this steering and speed."""
        return wheel_speeds(self.steering, self.speed_mps, geometry or self.geometry)

    @property
    def throttle(self) -> float:
        """Speed as a fraction of the motors' top speed, in [0, 1]."""
        return min(1.0, max(0.0, self.speed_mps / self.geometry.max_wheel_speed_mps))


class ExpertDriver:
    """Pure pursuit along one path; call `act` once per control tick."""

    def __init__(self, path: RoutePath, config: ExpertConfig = ExpertConfig()) -> None:  # noqa: B008
        self._path = path
        self._config = config
        self._speeds = _speed_profile(path, config)
        self._speed_list = self._speeds.tolist()
        self._hint: float | None = None
        self._finished = False

    @property
    def path(self) -> RoutePath:
        return self._path

    @property
    def finished(self) -> bool:
        """Whether the car has reached the end of the path."""
        return self._finished

    @property
    def config(self) -> ExpertConfig:
        return self._config

    def act(self, pose: Pose) -> Control:
        """The steering label, speed and command for a car at `pose`."""
        path, cfg = self._path, self._config
        s, cross_track, path_heading = path.project(pose.x, pose.y, hint_s=self._hint)
        self._hint = s
        if s >= path.length - cfg.arrive_tolerance_m:
            self._finished = True
        speed = 0.0 if self._finished else self._target_speed(s)
        lookahead = min(
            cfg.lookahead_m,
            max(cfg.min_lookahead_m, cfg.lookahead_m * speed / cfg.cruise_speed_mps),
        )
        gx, gy = _point_ahead(path, s + lookahead)
        dx, dy = gx - pose.x, gy - pose.y
        distance = math.hypot(dx, dy)
        alpha = math.atan2(dy, dx) - pose.heading
        curvature = 2.0 * math.sin(alpha) / distance if distance > 1e-6 else 0.0
        steering = max(-1.0, min(1.0, curvature / cfg.geometry.max_curvature_per_m))
        return Control(
            steering=steering,
            speed_mps=speed,
            command=path.command_at(s),
            cross_track_m=cross_track,
            heading_error=wrap_angle(pose.heading - path_heading),
            s=s,
            geometry=cfg.geometry,
        )

    def _target_speed(self, s: float) -> float:
        arc = self._path._s_list
        lo, hi = bisect_left(arc, s), bisect_left(arc, s + self._config.speed_preview_m)
        return min(self._speed_list[max(0, lo - 1) : hi + 1])


def _point_ahead(path: RoutePath, s: float) -> tuple[float, float]:
    """The path point at `s`, continued straight past the end so the car can stop on it."""
    x, y, heading = path.point_at(s)
    beyond = s - path.length
    if beyond > 0:
        x, y = x + beyond * math.cos(heading), y + beyond * math.sin(heading)
    return x, y


def _speed_profile(path: RoutePath, cfg: ExpertConfig) -> np.ndarray:
    """Target speed at each path point: curve limits, braking ahead of them, stop at the end."""
    curvature = np.abs(path.curvatures)
    speeds = np.full(len(path.s), cfg.cruise_speed_mps)
    speeds[curvature >= cfg.turn_curvature_per_m] = cfg.turn_speed_mps
    speeds = np.minimum(speeds, np.sqrt(cfg.max_lateral_accel_mps2 / np.maximum(curvature, 1e-9)))
    stop_decel = cfg.cruise_speed_mps**2 / (2.0 * cfg.stop_distance_m)
    speeds = np.minimum(speeds, np.sqrt(2.0 * stop_decel * (path.length - path.s)))
    # Braking ahead: v[i]^2 <= v[j]^2 + 2 a (s[j] - s[i]) for every j >= i, i.e. a reverse
    # running minimum of v^2 + 2 a s (the backward pass, vectorised).
    reach = speeds**2 + 2 * cfg.max_decel_mps2 * path.s
    reach = np.minimum.accumulate(reach[::-1])[::-1] - 2 * cfg.max_decel_mps2 * path.s
    speeds = np.sqrt(np.maximum(reach, 0.0))
    return np.maximum(speeds, cfg.min_speed_mps)


@dataclass(frozen=True)
class RecoveryConfig:
    """Steering noise for recovery data (steering in normalised units, times in seconds)."""

    ou_sigma: float = 0.3  # diffusion of the Ornstein-Uhlenbeck wander, per sqrt(second)
    ou_theta: float = 1.5  # its pull back to zero, 1/s (stationary std: sigma/sqrt(2 theta))
    swerve_rate_hz: float = 0.2  # mean number of swerves per second of driving
    swerve_min_steering: float = 0.3
    swerve_max_steering: float = 0.6
    swerve_min_duration_s: float = 0.4
    swerve_max_duration_s: float = 1.0
    max_offset_m: float = 0.1  # noise never pushes further out than this from the lane centre

    def __post_init__(self) -> None:
        for name in ("ou_sigma", "ou_theta", "swerve_rate_hz", "swerve_min_steering"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be zero or positive")
        for name in ("swerve_min_duration_s", "max_offset_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive")
        if self.swerve_max_steering < self.swerve_min_steering:
            raise ValueError("swerve_max_steering: must be at least swerve_min_steering")
        if self.swerve_max_duration_s < self.swerve_min_duration_s:
            raise ValueError("swerve_max_duration_s: must be at least swerve_min_duration_s")


class RecoveryNoise:
    """Temporally correlated steering noise plus occasional swerves off the lane centre.

    `perturb` turns the expert's steering into the steering to execute; record the
    expert's own steering as the label.
    """

    def __init__(self, rng: np.random.Generator, config: RecoveryConfig = RecoveryConfig()) -> None:  # noqa: B008
        self._rng = rng
        self._config = config
        self._wander = 0.0
        self._swerve_amplitude = 0.0
        self._swerve_duration = 0.0
        self._swerve_elapsed = 0.0

    def perturb(self, steering: float, dt: float, *, cross_track_m: float | None = None) -> float:
        """The steering to execute for the next `dt` seconds, in [-1, 1].

        With `cross_track_m` (+ = left of the path) the noise is dropped while it would
        push the car further out than `max_offset_m`.
        """
        cfg, rng = self._config, self._rng
        decay = math.exp(-cfg.ou_theta * dt)
        spread = cfg.ou_sigma * math.sqrt(
            (1.0 - decay**2) / (2.0 * cfg.ou_theta) if cfg.ou_theta > 0 else dt
        )
        self._wander = self._wander * decay + spread * float(rng.standard_normal())
        if self._swerve_elapsed >= self._swerve_duration:
            self._swerve_amplitude = 0.0
            if rng.random() < 1.0 - math.exp(-cfg.swerve_rate_hz * dt):
                sign = 1.0 if rng.random() < 0.5 else -1.0
                self._swerve_amplitude = sign * rng.uniform(
                    cfg.swerve_min_steering, cfg.swerve_max_steering
                )
                self._swerve_duration = rng.uniform(
                    cfg.swerve_min_duration_s, cfg.swerve_max_duration_s
                )
                self._swerve_elapsed = 0.0
        swerve = 0.0
        if self._swerve_amplitude:
            phase = min(1.0, self._swerve_elapsed / self._swerve_duration)
            swerve = self._swerve_amplitude * math.sin(math.pi * phase)
            self._swerve_elapsed += dt
        noise = self._wander + swerve
        outside = cross_track_m is not None and abs(cross_track_m) >= cfg.max_offset_m
        # Steering left pushes a car that is already left of the path further out.
        if outside and noise * cross_track_m > 0:
            noise = 0.0
            self._wander = 0.0
            self._swerve_elapsed = self._swerve_duration
        return max(-1.0, min(1.0, steering + noise))
