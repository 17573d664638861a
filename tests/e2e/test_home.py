"""The home page in Chromium: every city pickable on the map (New York and Brooklyn too, on
a desktop and a 375 px phone), labels on hover and focus, and a search that understands."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SEEDED

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1366, "height": 900}
NAMES = {"ny--new-york": "New York", "ny--brooklyn": "Brooklyn"}


def _home(browser: Browser, device: str) -> Page:
    if device == "phone":
        page = browser.new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    else:
        page = browser.new_page(viewport=DESKTOP)
    return page


@pytest.mark.parametrize("city_id", ["ny--new-york", "ny--brooklyn"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_new_york_and_brooklyn_each_pickable_on_the_map(
    browser: Browser, base_url: str, device: str, city_id: str
) -> None:
    page = _home(browser, device)
    page.goto(base_url + "/")
    expect(page.locator("[data-city-id]")).to_have_count(49)
    hit = page.locator(f"[data-hit-city-id='{city_id}']")
    hit.scroll_into_view_if_needed()
    box = hit.bounding_box()
    assert box is not None
    assert box["width"] >= 24 and box["height"] >= 24, box  # a touch target on a phone too
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # What is under the middle of the target belongs to this city, not a neighbour's.
    under = page.evaluate(
        "([x, y]) => { const e = document.elementFromPoint(x, y);"
        " return e && (e.dataset.cityId || e.dataset.hitCityId); }",
        [x, y],
    )
    assert under == city_id
    # So do the target's edges (just inside its circle): nothing else overlaps it.
    r = box["width"] / 2 - 2
    for ex, ey in ((x - r, y), (x + r, y), (x, y - r), (x, y + r)):
        edge = page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y);"
            " return e && (e.dataset.cityId || e.dataset.hitCityId || null); }",
            [ex, ey],
        )
        assert edge == city_id, (ex, ey, edge)
    if device == "phone":
        page.touchscreen.tap(x + r / 2, y)
    else:
        page.mouse.click(x + r / 2, y)  # off the dot itself, on its target
    expect(page).to_have_url(re.compile(rf"/city/{city_id}$"))
    expect(page.locator("h1")).to_contain_text(NAMES[city_id])


def test_dots_show_a_label_on_hover_and_on_focus(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    ny = page.locator(".nc-pin", has=page.locator("[data-city-id='ny--new-york']"))
    label = ny.locator(".nc-dot-label")
    expect(label).to_be_hidden()
    page.locator("[data-city-id='ny--new-york']").hover()
    expect(label).to_be_visible()
    expect(label).to_have_text(f"New York, NY · {SEEDED['ny--new-york']} after dark")
    page.mouse.move(5, 5)
    expect(label).to_be_hidden()
    bk = page.locator(".nc-pin", has=page.locator("[data-city-id='ny--brooklyn']"))
    page.locator("[data-city-id='ny--brooklyn']").focus()
    expect(bk.locator(".nc-dot-label")).to_be_visible()
    expect(bk.locator(".nc-dot-label")).to_have_text("Brooklyn, NY · 0 after dark")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/city/ny--brooklyn$"))


def test_counts_say_what_they_count(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    row = page.locator("[data-city-link='ny--new-york']")
    expect(row).to_contain_text(f"{SEEDED['ny--new-york']} after dark")
    expect(row.locator(".nc-city-count")).to_have_text(str(SEEDED["ny--new-york"]))


@pytest.mark.parametrize(
    ("typed", "city_id"),
    [("nyc", "ny--new-york"), ("philli", "pa--philadelphia"), ("sf", "ca--san-francisco")],
)
def test_search_understands_aliases_and_typos(
    browser: Browser, base_url: str, typed: str, city_id: str
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    expect(page.locator("[data-city-link]")).to_have_count(49)
    page.fill("#city-search", typed)
    expect(page.locator("[data-city-link]").first).to_have_attribute("data-city-link", city_id)
    page.press("#city-search", "Enter")
    expect(page).to_have_url(re.compile(rf"/city/{city_id}$"))


def test_search_says_when_nothing_matches(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base_url + "/")
    expect(page.locator("[data-city-link]")).to_have_count(49)
    page.fill("#city-search", "zzzz")
    status = page.locator("#city-search-status")
    expect(status).to_have_text("No city matches “zzzz”.")
    expect(page.locator("[data-city-link]")).to_have_count(0)
    page.press("#city-search", "Enter")
    expect(status).to_have_text("No city matches “zzzz”.")
    assert page.url.rstrip("/") == base_url  # nowhere to go
    page.fill("#city-search", "")
    expect(page.locator("[data-city-link]")).to_have_count(49)
    expect(status).to_have_text("")


def test_every_city_has_its_own_24px_target_on_a_phone(browser: Browser, base_url: str) -> None:
    page = _home(browser, "phone")
    page.goto(base_url + "/")
    expect(page.locator("[data-hit-city-id]")).to_have_count(49)
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('[data-hit-city-id]')].map(e => {"
        " const b = e.getBoundingClientRect();"
        " return [e.dataset.hitCityId, b.x + b.width / 2, b.y + b.height / 2,"
        " b.width, b.height]; })"
    )
    assert len(boxes) == 49
    assert min(min(w, h) for *_, w, h in boxes) >= 24
    for i, (a, ax, ay, aw, _) in enumerate(boxes):
        for b, bx, by, bw, _ in boxes[i + 1 :]:
            assert ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 >= (aw + bw) / 2 - 0.5, (a, b)
    # The page itself does not scroll sideways: only the map does.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.locator(".nc-map-hint")).to_be_visible()
