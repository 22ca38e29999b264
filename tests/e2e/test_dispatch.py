"""Dispatch from the recommendation in headless Chromium against the seeded demo sub-district: the
dispatcher opens an open case, sees the recommended responders (the proposed ones ticked) with
their routes drawn on the map, dispatches them with one click, and sees their orders on the page;
when one declines, the page proposes the next of the same rule and one click sends them; a
member is stood down from the page with a reason."""

import pytest

pytestmark = pytest.mark.browser


def csrf_headers(page) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Referer": page.url}


def test_dispatcher_dispatches_the_recommended_responders(page, login, e2e, artifacts_dir):
    login(page, "dispatcher")
    page.goto(e2e.url("/console/"))
    # A public-order case (the police are on duty round the clock) at a real address of the demo.
    roads = page.request.get(e2e.url("/api/v1/geo/roads/")).json()["features"]
    name = next(f["properties"]["name"] for f in roads if f["properties"]["road_class"] == "arterial"
                and f["properties"]["name"])
    address = page.request.get(e2e.url("/api/v1/gazetteer/"), params={"q": name}).json()[0]
    created = page.request.post(e2e.url("/api/v1/incidents/"), headers=csrf_headers(page), data={
        "channel": "hotline_police", "category": "public_order", "description": "E2E 有人酒后滋事，摔砸物品",
        "location": {"type": "Point", "coordinates": [address["lon"], address["lat"]]},
    })
    assert created.status == 201, created.text()
    incident = created.json()

    page.goto(e2e.url(f"/incidents/{incident['id']}/"))
    page.wait_for_selector('body[data-actions-loaded]')
    page.click('[data-action="dispatch"]')
    page.wait_for_selector("body[data-recommendation-loaded]")
    assert page.evaluate("document.body.dataset.recommendationLoaded") not in ("0", "error")
    panel = page.locator('[data-testid="recommendation"]')
    assert panel.is_visible()
    proposed = panel.locator('[data-testid="candidate"][data-proposed="1"]')
    assert proposed.count() >= 1
    names = [proposed.nth(i).locator(".rec-pick strong").text_content().strip() for i in range(proposed.count())]
    for i in range(proposed.count()):  # pre-selected
        assert proposed.nth(i).locator('input[name="members"]').is_checked()
    # Each candidate says why, how far and how fast; the routes are on the map.
    assert proposed.first.locator(".rec-reason").text_content().strip()
    assert proposed.first.locator(".rec-eta").text_content().strip()
    assert int(page.evaluate("document.body.dataset.routesDrawn")) >= 1
    assert page.locator("#incident-map .leaflet-overlay-pane path").count() >= 1
    # An off-duty candidate cannot be ticked without the explicit "include off duty".
    off = panel.locator('[data-testid="candidate"]:has([data-testid="include-off-duty"])')
    if off.count():
        assert off.first.locator('input[name="members"]').is_disabled()
    page.screenshot(path=str(artifacts_dir / "dispatch-recommendation.png"), full_page=True)

    page.select_option('.action-form select[name="method"]', "radio")
    with page.expect_navigation():
        page.click(".action-form button[type=submit]")
    page.wait_for_selector('body[data-actions-loaded]')
    orders = page.locator('[data-testid="orders"] li')
    assert orders.count() == len(names)
    text = page.locator('[data-testid="orders"]').text_content()
    for name_ in names:
        assert name_ in text
    detail = page.request.get(e2e.url(f"/api/v1/incidents/{incident['id']}/")).json()
    assert detail["status"] == "dispatched"
    assert {o["member"]["name"] for o in detail["orders"]} == set(names)
    assert all(o["arrive_by"] for o in detail["orders"])
    page.screenshot(path=str(artifacts_dir / "dispatch-orders.png"), full_page=True)

    # One declines (recorded by the dispatcher on their behalf): the page proposes a replacement.
    first = detail["orders"][0]
    declined = page.request.post(e2e.url(f"/api/v1/dispatch/orders/{first['id']}/decline/"),
                                 headers=csrf_headers(page), data={"reason": "E2E 正在处置其他警情"})
    assert declined.status == 200, declined.text()
    page.reload()
    page.wait_for_selector("body[data-sla-loaded]")
    send = page.locator(f'[data-testid="sla-replacements"] li[data-replaces="{first["id"]}"] button[data-replacement]')
    assert send.count() == 1
    replacement_id = int(send.get_attribute("data-replacement"))
    assert replacement_id != first["member"]["id"]
    with page.expect_navigation():
        send.click()
    page.wait_for_selector("body[data-sla-loaded]")
    summary = page.request.get(e2e.url(f"/api/v1/dispatch/incidents/{incident['id']}/")).json()
    new = next(o for o in summary["orders"] if o["replaces"] == first["id"])
    assert new["member"]["id"] == replacement_id and new["state"] == "dispatched"
    assert not any(p["order"] == first["id"] for p in summary["replacements"])

    # The dispatcher stands the replacement down from the page, with a reason.
    page.click(f'[data-testid="sla-orders"] li[data-order="{new["id"]}"] button[data-order-action="stand-down"]')
    page.fill('[data-sla="form"] textarea[name="reason"]', "E2E 现场已无需增援")
    with page.expect_navigation():
        page.click('[data-sla="form"] button[type=submit]')
    page.wait_for_selector("body[data-sla-loaded]")
    summary = page.request.get(e2e.url(f"/api/v1/dispatch/incidents/{incident['id']}/")).json()
    stood = next(o for o in summary["orders"] if o["id"] == new["id"])
    assert stood["state"] == "stood_down" and stood["stand_down_reason"] == "E2E 现场已无需增援"
    assert "E2E 现场已无需增援" in page.locator('[data-testid="sla-orders"]').text_content()
