"""Screenshots of every station screen in every language, for docs/station.md.

    .venv/bin/python scripts/station_screenshots.py [--out docs/images/station]

Runs the real fleet server (embedded database) and the real station app, with scripted
cars from the test helpers (tests/helpers/fake_car.py) whose camera shows simulator
frames along their route, and drives Debian's Chromium with the tests' Playwright set-up.
Writes `<screen>-<lang>.jpg` (kiosk layout, 480 px wide), two phone-layout shots and the
operator page.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from city import default_city  # noqa: E402
from server.embedded import EmbeddedDatabase  # noqa: E402
from sim.path import RoutePath  # noqa: E402
from sim.render import Renderer  # noqa: E402
from station import StationConfig, create_app  # noqa: E402
from tests.helpers.browser import chromium  # noqa: E402
from tests.helpers.fake_car import FakeCar, FakeCarScript  # noqa: E402
from tests.helpers.fleet_api import FLEET_KEY  # noqa: E402
from tests.helpers.live_servers import fleet_server, serving  # noqa: E402

LANGUAGES = {"en": "en-GB", "th": "th-TH", "ja": "ja-JP", "es": "es-ES"}
KIOSK = {"width": 1200, "height": 750}
PHONE = {"width": 390, "height": 780}

log = logging.getLogger("station_screenshots")


class SimCamera:
    """The simulator's camera view along the fake car's current route leg."""

    def __init__(self, leg_s: float) -> None:
        self.city = default_city()
        self.renderer = Renderer(self.city)
        self.leg_s = leg_s
        self._paths: dict[tuple[str, ...], RoutePath] = {}

    def __call__(self, car: FakeCar, index: int) -> np.ndarray:
        route = tuple(car.route) if len(car.route) >= 2 else ("A", "B")
        path = self._paths.get(route)
        if path is None:
            path = self._paths[route] = RoutePath.from_route(
                self.city, self.city.route(route[0], route[-1])
            )
        legs = max(len(route) - 1, 1)
        along = car.leg + min((time.monotonic() - car.leg_started) / self.leg_s, 1.0)
        if car.state != "driving":
            along = 0.0 if car.leg == 0 else legs
        s = min(max(along / legs, 0.0), 0.999) * path.length
        return self.renderer.render(path.pose_at(s), camera_jitter=False).image


def shoot(page, out: Path, name: str) -> None:
    path = out / f"{name}.jpg"
    page.screenshot(path=str(path), type="jpeg", quality=60)
    log.info("wrote %s (%d KB)", path, path.stat().st_size // 1024)


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    leg_s = 2.5
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        db = stack.enter_context(EmbeddedDatabase(data))
        api = stack.enter_context(fleet_server(db.uri, "screenshots"))
        camera = SimCamera(leg_s)
        alpha = stack.enter_context(
            FakeCar(
                api,
                FLEET_KEY,
                name="Alpha",
                node="A",
                script=FakeCarScript(start_delay_s=3.0, leg_s=leg_s, fps=8),
                camera=camera,
            )
        )
        for name, node in (("Beta", "H"), ("Gamma", "K")):
            stack.enter_context(FakeCar(api, FLEET_KEY, name=name, node=node))
        app = create_app(StationConfig(server_url=api, fleet_key=FLEET_KEY, name="Town Square"))
        url = stack.enter_context(serving(app))
        browser = stack.enter_context(chromium())
        destinations = ["E", "A", "E", "A"]
        for (lang, locale), destination in zip(LANGUAGES.items(), destinations, strict=True):
            context = browser.new_context(locale=locale, viewport=KIOSK, device_scale_factor=0.4)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            page.wait_for_selector("#map .car")
            time.sleep(1.2)
            shoot(page, out, f"standby-{lang}")
            page.click('[data-action="start"] >> visible=true')
            page.click(f'[data-node="{destination}"]')
            shoot(page, out, f"choose-{lang}")
            # The trip goes to Alpha (the car with the simulator camera): hold the others.
            others = [c["id"] for c in _cars(api) if c["online"] and c["id"] != alpha.car_id]
            for car_id in others:
                _service(api, car_id, "paused")
            page.click('[data-action="book"]')
            page.wait_for_selector('[data-role="trip-status"][data-status="assigned"]')
            time.sleep(0.5)
            shoot(page, out, f"hailing-{lang}")
            page.wait_for_selector('[data-role="trip-status"][data-status="driving"]')
            page.wait_for_function(
                "() => document.querySelector('[data-role=stream]').naturalWidth > 0"
            )
            time.sleep(leg_s * 0.6)
            shoot(page, out, f"riding-{lang}")
            page.wait_for_selector('[data-role="trip-status"][data-status="arrived"]')
            time.sleep(1.0)
            shoot(page, out, f"arrived-{lang}")
            # No car free: every car paused by the operator.
            _service(api, alpha.car_id, "paused")
            page.click('#screen-arrived [data-action="start"]')
            page.click('[data-node="M"]')
            page.click('[data-action="book"]')
            page.wait_for_selector("#screen-message:not([hidden])")
            shoot(page, out, f"no-car-{lang}")
            # A failed trip: the only free car stops reporting after it sets off.
            silent = FakeCarScript(start_delay_s=0.5, leg_s=1.0, go_silent_after_nodes=0)
            stack.enter_context(FakeCar(api, FLEET_KEY, name="Delta", node="M", script=silent))
            page.click('#screen-message [data-action="start"]')
            page.click('[data-node="A"]')
            page.click('[data-action="book"]')
            page.wait_for_selector('[data-role="trip-status"][data-status="failed"]')
            shoot(page, out, f"failed-{lang}")
            for car_id in [alpha.car_id, *others]:
                _service(api, car_id, "in_service")
            if lang == "en":
                _phone_shots(browser, url, out)
            context.close()


def _cars(api: str) -> list[dict]:
    station = requests.post(
        f"{api}/devices",
        json={"kind": "station", "name": "screenshots"},
        headers={"X-Fleet-Key": FLEET_KEY},
        timeout=5,
    ).json()
    listed = requests.get(
        f"{api}/cars", headers={"Authorization": f"Bearer {station['token']}"}, timeout=5
    )
    return listed.json()["cars"]


def _service(api: str, car_id: str, service: str) -> None:
    requests.put(
        f"{api}/cars/{car_id}/service",
        json={"service": service},
        headers={"X-Fleet-Key": FLEET_KEY},
        timeout=5,
    ).raise_for_status()


def _phone_shots(browser, url: str, out: Path) -> None:
    context = browser.new_context(locale="en-GB", viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#map .car")
    time.sleep(1.0)
    shoot(page, out, "phone-standby-en")
    page.click('[data-action="start"] >> visible=true')
    page.click('[data-node="M"]')
    shoot(page, out, "phone-choose-en")
    context.close()
    operator = browser.new_context(
        locale="en-GB", viewport={"width": 1000, "height": 420}, device_scale_factor=0.48
    )
    page = operator.new_page()
    page.goto(f"{url}/operator")
    page.fill("#key", FLEET_KEY)
    page.click('[data-action="login"]')
    page.wait_for_selector('[data-role="cars"] tbody tr')
    shoot(page, out, "operator-en")
    operator.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "station")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
