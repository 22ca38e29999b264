"""The wall applies what an event frame carries — the incident's board row — without a request: a
new incident and its status change reach the page with no HTTP request to the API (counted in the
browser), the default view (no card open). Nor does the page reload its snapshot on a timer: what
no event tells (duty shifts, snoozes, the day) it works out itself (store.js tick)."""

import pytest

from tests.e2e.test_wall import create_incident, dispatch, marker, open_wall

pytestmark = pytest.mark.browser


def test_the_wall_applies_a_new_incident_and_a_status_change_with_no_request(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    # Requests of the page only: the test's own (page.request) and the socket are not counted.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/api/" in request.url else None)

    incident = create_incident(page, e2e.base_url, "E2E 墙图：帧里带着警情行，不再请求")
    page.wait_for_selector(marker(incident["id"]), state="attached", timeout=10000)
    item = page.locator(f'[data-testid="wall-queue"] .wall-queue-item[data-incident="{incident["id"]}"]')
    item.wait_for(timeout=5000)
    assert incident["number"] in item.text_content()
    status_before = item.locator(".wall-status").text_content()

    orders = dispatch(page, e2e.base_url, incident["id"])
    assert orders
    for order in orders:  # the orders and their routes came with the row
        page.wait_for_selector(f'path.wall-route[data-order="{order["id"]}"]', state="attached", timeout=5000)
    page.wait_for_function(
        "([sel, before]) => { const s = document.querySelector(sel); return s && s.textContent !== before; }",
        arg=[f'[data-testid="wall-queue"] .wall-queue-item[data-incident="{incident["id"]}"] .wall-status',
             status_before], timeout=5000)
    page.wait_for_function("() => Number(document.body.dataset.membersBusy || 0) >= 1", timeout=5000)
    page.wait_for_timeout(1000)  # anything the events might still have set off
    assert asked == []


def test_the_wall_reloads_no_snapshot_as_time_passes(page, login, e2e):
    """The page used to reload the snapshot every minute. With the browser's clock under the test's
    hand (Playwright's fake timers, time flowing as usual until told), the clock jumps three minutes
    ahead — every timer due meanwhile fires — and the page asks for no snapshot, nor anything else."""
    login(page, "command_room")
    page.clock.install()
    open_wall(page, e2e.base_url)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/api/" in request.url else None)
    before = page.text_content("#wall-clock")
    page.clock.fast_forward("03:00")
    page.wait_for_function("t => document.getElementById('wall-clock').textContent !== t", arg=before)
    page.wait_for_timeout(1000)
    assert asked == []
    assert page.evaluate("document.body.dataset.socket") == "live"
