"""The city page opens on After dark; Everything and the tag chips are a click away, and
the address keeps the choice across a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from nocturne import crud
from nocturne.db import session_scope
from tests.e2e.conftest import SEEDED
from tests.e2e.seed import DAYTIME

pytestmark = pytest.mark.browser

LA = "ca--los-angeles"
CARD = "[data-event-id]"


def _listed(**query: object) -> int:
    with session_scope() as session:
        return len(crud.events_for_city(session=session, city_id=LA, limit=500, **query))  # type: ignore[arg-type]


def test_after_dark_first_everything_and_tags_a_click_away(browser: Browser, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{base_url}/city/{LA}")
    cards = page.locator(CARD)
    after_dark, everything = page.locator("#view-after-dark"), page.locator("#view-all")
    expect(after_dark).to_have_attribute("aria-pressed", "true")
    expect(cards).to_have_count(SEEDED[LA])
    assert page.locator(f"{CARD}[data-after-dark='false']").count() == 0
    # Cards say why they are after dark, and show their tags.
    expect(page.locator(".nc-card-why").first).to_contain_text(re.compile(r"after dark: .*PM"))
    expect(page.locator(".nc-tag").first).to_be_visible()

    everything.click()
    expect(everything).to_have_attribute("aria-pressed", "true")
    expect(cards).to_have_count(SEEDED[LA] + len(DAYTIME))
    expect(page.get_by_text("Tech Career Fair")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/city/ca--los-angeles\?show=all$"))
    # "All ages": what the listing states (the pottery class says so; the seed's nights don't).
    page.get_by_role("button", name="All ages").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Kids' Pottery Class")
    expect(cards.first.locator(".nc-age")).to_have_text("All ages")
    page.get_by_role("button", name="All ages").click()
    expect(cards).to_have_count(SEEDED[LA] + len(DAYTIME))

    business = page.locator("[data-tag='business']")
    expect(business).to_contain_text(str(_listed(tags=("business",))))
    business.click()
    expect(business).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(r"\?show=all&tag=business$"))
    expect(cards).to_have_count(_listed(tags=("business",)))
    assert 0 < cards.count() < SEEDED[LA]
    expect(page.get_by_text("Startup Pitch Breakfast")).to_be_visible()

    page.reload()
    expect(page.locator("#view-all")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-tag='business']")).to_have_attribute("aria-pressed", "true")
    expect(cards).to_have_count(_listed(tags=("business",)))

    # The same tag, after dark: the daytime business events leave; the chip again clears it.
    page.locator("#view-after-dark").click()
    expect(page).to_have_url(re.compile(r"/city/ca--los-angeles\?tag=business$"))
    expect(cards).to_have_count(_listed(tags=("business",), after_dark=True))
    page.locator("[data-tag='business']").click()
    expect(page).to_have_url(re.compile(r"/city/ca--los-angeles$"))
    expect(cards).to_have_count(SEEDED[LA])
    music = page.locator("[data-tag='music']")
    music.click()
    expect(cards).to_have_count(_listed(tags=("music",), after_dark=True))
    assert 0 < _listed(tags=("music",), after_dark=True) < SEEDED[LA]
