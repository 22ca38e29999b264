"""The hot-spot layer and the year-over-year page in Chromium: what only a browser proves — the
Leaflet.heat plugin from npm extends the pages' global Leaflet and the layer's ES module, imported
by the overview map's classic script, draws its canvas; the year-over-year page's module imports
ECharts and Leaflet as ES modules and draws the charts and the grids."""

import pytest

pytestmark = pytest.mark.browser

DEMO_GRIDS = 52


def test_heat_layer_on_the_map_and_the_year_over_year_page(page, login, e2e, artifacts_dir):
    login(page, "command")
    page.goto(e2e.url("/"))
    page.wait_for_selector('body[data-map-ready="1"]', state="attached")
    toggle = page.locator('[data-testid="heat-toggle"]')
    toggle.wait_for()
    assert page.locator(".leaflet-heatmap-layer").count() == 0
    toggle.check()
    page.wait_for_selector('#map[data-heat-state="on"]', state="attached")
    assert int(page.locator("#map").get_attribute("data-heat-points")) > 0
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    page.select_option('[data-testid="heat-days"]', "7")
    page.wait_for_selector('#map[data-heat-state="on"]', state="attached")
    page.screenshot(path=str(artifacts_dir / "map-heat.png"))
    toggle.uncheck()
    assert page.locator(".leaflet-heatmap-layer").count() == 0
    assert page.locator("#map").get_attribute("data-heat-state") == "off"

    page.goto(e2e.url("/reports/trends/"))
    page.wait_for_selector('body[data-trends-charts="8"]', state="attached")  # 6 groups, all, satisfaction
    page.wait_for_selector(f'body[data-trends-grids="{DEMO_GRIDS}"]', state="attached")
    assert page.locator("#trends-charts svg").count() == 7
    assert page.locator("#trends-map path.tr-grid").count() == DEMO_GRIDS
    page.screenshot(path=str(artifacts_dir / "trends.png"), full_page=True)
