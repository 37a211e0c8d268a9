"""The station in a real headless Chromium: languages, booking, the live view, arrival, and
the messages when no car is free or the trip fails."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers.browser import CHROMIUM, chromium
from tests.helpers.fake_car import FakeCarScript

pytestmark = [
    pytest.mark.browser,
    # CI always has it (`make test` installs it); elsewhere the tests say what is missing.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium (make test installs it)",
    ),
]

SAMPLE_PIXEL = """(img) => {
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return Array.from(ctx.getImageData(4, 4, 1, 1).data).join(",");
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def open_page(browser: Browser, url: str, *, locale: str = "en-US", **kw) -> Page:
    context = browser.new_context(locale=locale, **kw)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    return page


def choose(page: Page, node: str) -> None:
    page.click('[data-action="start"] >> visible=true')
    page.click(f'[data-node="{node}"]')
    page.click('[data-action="book"]')


def test_choose_a_language_and_see_the_page_translated(browser, station_url):
    page = open_page(browser, station_url)
    expect(page.locator("#screen-standby h1")).to_have_text("Welcome to Pixelopolis")
    page.click('[data-action="lang"][data-lang="ja"]')
    expect(page.locator("#screen-standby h1")).to_have_text("Pixelopolisへようこそ")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.click('[data-action="start"] >> visible=true')
    expect(page.locator('[data-node="A"]')).to_contain_text("市場")
    expect(page.locator('[data-action="book"]')).to_have_text("この旅を予約する")
    page.click('[data-action="lang"][data-lang="es"]')
    expect(page.locator("#screen-choose h1")).to_have_text("¿Adónde vamos?")
    expect(page.locator('[data-node="M"]')).to_contain_text("Cochera")
    page.reload()  # the choice is kept for this screen
    expect(page.locator("#screen-standby h1")).to_have_text("Bienvenido a Pixelopolis")
    page.context.close()
    thai = open_page(browser, station_url, locale="th-TH")  # default from the browser
    expect(thai.locator("#screen-standby h1")).to_have_text("ยินดีต้อนรับสู่ Pixelopolis")
    expect(thai.locator('[data-action="lang"][data-lang="th"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    thai.context.close()


def test_book_watch_the_stream_and_arrive(browser, station_url, cars):
    cars("A", "Alpha", FakeCarScript(start_delay_s=1.0, leg_s=1.2))
    page = open_page(browser, station_url)
    expect(page.locator(".car-count")).to_have_text("1")
    choose(page, "E")
    status = page.locator('[data-role="trip-status"]')
    expect(status).to_have_attribute("data-status", "assigned")
    expect(page.locator("#screen-hailing")).to_be_visible()
    expect(page.locator(".hailing-text")).to_contain_text("Alpha")
    expect(status).to_have_attribute("data-status", "driving")
    expect(page.locator("#screen-riding")).to_be_visible()
    stream = page.locator('[data-role="stream"]')
    page.wait_for_function(
        "() => document.querySelector('[data-role=stream]').naturalWidth > 0", timeout=10_000
    )
    samples = set()
    for _ in range(10):
        samples.add(stream.evaluate(SAMPLE_PIXEL))
        time.sleep(0.15)
    assert len(samples) >= 2, f"the stream image did not change: {samples}"
    expect(page.locator(".next-turn")).not_to_have_text("")
    expect(status).to_have_attribute("data-status", "arrived", timeout=30_000)
    expect(page.locator("#screen-arrived")).to_be_visible()
    expect(page.locator(".arrived-text")).to_contain_text("Station")
    page.click('#screen-arrived [data-action="home"]')
    expect(page.locator("#screen-standby")).to_be_visible()
    page.context.close()


def test_book_when_no_car_is_free_shows_the_message(browser, station_url):
    page = open_page(browser, station_url, locale="es-ES")
    choose(page, "M")
    expect(page.locator("#screen-message")).to_be_visible()
    expect(page.locator('[data-role="message"]')).to_have_text("Ahora no hay ningún coche libre")
    page.click('#screen-message [data-action="home"]')
    expect(page.locator("#screen-standby")).to_be_visible()
    page.context.close()


def test_a_failed_trip_says_so_with_a_way_back(browser, station_url, cars):
    cars("A", "Alpha", FakeCarScript(start_delay_s=0.2, leg_s=0.5, go_silent_after_nodes=1))
    page = open_page(browser, station_url)
    choose(page, "M")
    status = page.locator('[data-role="trip-status"]')
    expect(status).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(page.locator('[data-role="message"]')).to_have_text("The trip could not be finished")
    page.click('#screen-message [data-action="start"]')
    expect(page.locator("#screen-choose")).to_be_visible()
    page.context.close()


def test_phone_screen_has_no_sideways_scrolling(browser, station_url, cars):
    cars("A")
    page = open_page(browser, station_url, viewport={"width": 390, "height": 844})
    page.click('[data-action="start"] >> visible=true')
    expect(page.locator('[data-node="A"]')).to_be_visible()
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 390
    page.context.close()


def test_operator_pauses_a_car_and_it_is_not_booked(browser, station_url, cars, client):
    # The trip must outlast a few of the operator page's 2 s polls for the booked car's
    # Watch button to be seen (the default script arrives in about a second).
    car = cars("A", "Alpha", FakeCarScript(leg_s=8.0, start_delay_s=2.0))
    page = open_page(browser, f"{station_url}/operator")
    page.fill("#key", "not-the-key")
    page.click('[data-action="login"]')
    expect(page.locator('[data-role="login-error"]')).to_be_visible()
    from tests.helpers.fleet_api import FLEET_KEY

    page.fill("#key", FLEET_KEY)
    page.click('[data-action="login"]')
    row = page.locator(f'tr[data-car="{car.car_id}"]')
    expect(row.locator('[data-role="car-state"]')).to_have_text("ready")
    row.locator('[data-action="pause"]').click()
    expect(row.locator('[data-role="car-service"]')).to_have_text("paused")
    visitor = open_page(browser, station_url)
    choose(visitor, "E")
    expect(visitor.locator('[data-role="message"]')).to_have_text("No car is free right now")
    row.locator('[data-action="return"]').click()
    expect(row.locator('[data-role="car-service"]')).to_have_text("in service")
    visitor.click('#screen-message [data-action="start"]')
    visitor.click('[data-node="E"]')
    visitor.click('[data-action="book"]')
    expect(visitor.locator('[data-role="trip-status"]')).not_to_have_attribute("data-status", "")
    expect(page.locator(f'tr[data-car="{car.car_id}"] [data-action="watch"]')).to_be_visible()
    page.context.close()
    visitor.context.close()
