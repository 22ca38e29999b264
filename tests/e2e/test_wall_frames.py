"""The wall applies what an event frame carries — the incident's board row — without a request: a
new incident and its status change reach the page with no HTTP request to the API (counted in the
browser), the default view (no card open)."""

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
