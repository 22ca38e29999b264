"""The map page in headless Chromium against the seeded demo sub-district (52 grids)."""

import json

import pytest

pytestmark = pytest.mark.browser

DEMO_GRIDS = 52


def page_config(page) -> dict:
    return json.loads(page.locator("#map-config").text_content())


def test_command_room_map(page, login, e2e, artifacts_dir):
    login(page, "command")
    page.goto(e2e.url("/"))
    assert page.evaluate("document.documentElement.lang") == "zh-hans"

    page.wait_for_selector(f'body[data-grids-loaded="{DEMO_GRIDS}"]')
    assert page.locator(".gl-label-grid").count() == DEMO_GRIDS
    page.wait_for_selector('body[data-map-ready="1"]')
    assert page.evaluate("document.body.dataset.boundaryLoaded") == "1"
    assert int(page.evaluate("document.body.dataset.roadsLoaded")) > 0
    assert int(page.evaluate("document.body.dataset.membersLoaded")) > 0
    assert page.locator(".gl-member").count() > 0
    assert page.locator(".gl-notice:visible").count() == 0, "no layer failed to load"

    # The layer switcher lists every layer under the names the page was given.
    config = page_config(page)
    switcher = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    listed = {text.strip() for text in switcher}
    for layer in ["boundary", "communities", "grids", "roads", "waters", "places", "members"]:
        assert config["layers"][layer] in listed
    assert page.locator(".leaflet-tile").count() == 0, "no internet tiles without TILE_URL"

    path = artifacts_dir / "map-command.png"
    page.screenshot(path=str(path))
    assert path.exists() and path.stat().st_size > 10_000

    # Switch the point layers off in the switcher, then a click in the middle of the sub-district
    # opens the popup of the grid there.
    for layer in ["members", "places"]:
        page.locator(".leaflet-control-layers-overlays label", has_text=config["layers"][layer]).locator(
            "input"
        ).uncheck()
    assert page.locator(".gl-member").count() == 0
    page.locator("#map").click()
    popup = page.locator(".leaflet-popup-content .gl-popup")
    popup.wait_for()
    assert popup.locator(".gl-popup-title").text_content().strip()
    assert config["text"]["community"] in popup.locator("dt").all_inner_texts()


def test_planner_map_has_no_members(page, login, e2e):
    login(page, "planner")
    page.goto(e2e.url("/"))
    page.wait_for_selector(f'body[data-grids-loaded="{DEMO_GRIDS}"]')
    page.wait_for_selector('body[data-map-ready="1"]')
    assert page_config(page)["api"]["members"] is None
    assert page.locator(".gl-member").count() == 0


def test_anonymous_visit_ends_on_login(page, e2e, artifacts_dir):
    page.goto(e2e.url("/"))
    assert "/accounts/login/" in page.url
    assert page.locator("input[name=username]").is_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    page.screenshot(path=str(artifacts_dir / "login.png"))
