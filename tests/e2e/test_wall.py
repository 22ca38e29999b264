"""The wall map (/wall/) in headless Chromium against the seeded demo sub-district: live incidents
from the API within 2 seconds, a dispatch drawing its route, the page catching up by itself after
a server restart, and screenshots at 3840×2160 and 1920×1080 (test-artifacts/wall-*.png).

Test hooks of wall.js: body[data-wall-ready="1"], body[data-socket="live"|"reconnecting"],
body[data-last-event], `.wall-incident[data-incident=<id>]`, `path.wall-route[data-order=<id>]`."""

import json
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import _admin_cursor, _server

pytestmark = pytest.mark.browser

SCREENS = [(3840, 2160), (1920, 1080)]


def csrf_headers(page) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Referer": page.url}


_addresses: list[dict] = []
_used = [0]


def an_address(page, base_url: str) -> dict:
    """A real address of the demo on an arterial road (from the gazetteer), a different one each
    time while there are some."""
    if not _addresses:
        roads = page.request.get(base_url + "/api/v1/geo/roads/").json()["features"]
        names = [f["properties"]["name"] for f in roads
                 if f["properties"]["road_class"] == "arterial" and f["properties"]["name"]]
        for name in dict.fromkeys(names):
            found = page.request.get(base_url + "/api/v1/gazetteer/", params={"q": name}).json()
            _addresses.extend(found[:2])
            if len(_addresses) >= 12:
                break
    assert _addresses, "the demo gazetteer has no address on an arterial road"
    _used[0] += 1
    return _addresses[_used[0] % len(_addresses)]


def create_incident(page, base_url: str, description: str, *, category: str = "public_order",
                    channel: str = "hotline_police") -> dict:
    address = an_address(page, base_url)
    created = page.request.post(base_url + "/api/v1/incidents/", headers=csrf_headers(page), data={
        "channel": channel, "category": category, "description": description,
        "location": {"type": "Point", "coordinates": [address["lon"], address["lat"]]},
    })
    assert created.status == 201, created.text()
    return created.json()


def dispatch(page, base_url: str, incident_id: int) -> list[dict]:
    """Dispatches the recommended responders through the API; returns the incident's orders."""
    rec = page.request.get(base_url + f"/api/v1/incidents/{incident_id}/recommendations/")
    assert rec.ok, rec.text()
    candidates = rec.json()["candidates"]
    picked = [c["member"]["id"] for c in candidates if c["proposed"]][:2] or \
             [c["member"]["id"] for c in candidates if c["available"] and c["on_duty"]][:1]
    assert picked, "the recommendation proposes nobody"
    answer = page.request.post(base_url + f"/api/v1/incidents/{incident_id}/transitions/", headers=csrf_headers(page),
                               data={"action": "dispatch", "members": picked, "method": "radio"})
    assert answer.ok, answer.text()
    return page.request.get(base_url + f"/api/v1/incidents/{incident_id}/").json()["orders"]


def open_wall(page, base_url: str) -> None:
    page.goto(base_url + "/wall/")
    page.wait_for_selector('body[data-wall-ready="1"]')
    page.wait_for_selector('body[data-socket="live"]')
    page.wait_for_selector("body[data-map-ready]")


def subdistrict_code(page, e2e) -> str:
    return page.request.get(e2e.url("/api/v1/geo/subdistricts/")).json()["features"][0]["properties"]["code"]


def settled_screenshot(page, path) -> None:
    """A screenshot of a fully painted frame. Chromium without a GPU rasters a 4K frame slowly;
    the wall's endless animations (pulses, the flashing banner) and its once-a-second update keep
    it repainting, and a capture in the middle shows the tiles not yet done as black. So the
    animations are frozen where they are and the capture waits for a moment just after a tick."""
    page.add_style_tag(content="*, *::before, *::after { animation-play-state: paused !important; }")
    page.wait_for_timeout(1500)
    before = page.text_content("#wall-clock")
    page.wait_for_function("t => document.getElementById('wall-clock').textContent !== t", arg=before)
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))


def marker(incident_id: int) -> str:
    return f'.wall-incident[data-incident="{incident_id}"]'


def test_a_new_incident_appears_on_the_wall_by_its_pushed_event(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    # The page shows the live state: the connection, the queue, the charts.
    assert page.locator('[data-testid="wall-conn"]').get_attribute("data-state") == "live"
    before = int(page.evaluate("document.body.dataset.lastEvent || 0"))

    # The marker is drawn from the socket's event (its id moves the page's last event on), not
    # from a snapshot reload; how fast is measured by `make bench`, not asserted here.
    incident = create_incident(page, e2e.base_url, "E2E 墙图：有人在商场门口打架")
    page.wait_for_selector(marker(incident["id"]), state="attached", timeout=10000)
    queue_item = page.locator(f'[data-testid="wall-queue"] .wall-queue-item[data-incident="{incident["id"]}"]')
    queue_item.wait_for(timeout=2000)
    assert incident["number"] in queue_item.text_content()
    assert int(page.evaluate("document.body.dataset.lastEvent")) > before
    # Today's counts follow from the row the event carried (counted again by the page, no request).
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=chart-category]').dataset.bars || 0) >= 1", timeout=15000)

    # A click in the queue opens the card from the wall API, the description set as text.
    queue_item.click()
    card = page.locator('[data-testid="wall-card"]')
    card.wait_for()
    page.wait_for_function(
        "id => document.querySelector('[data-testid=wall-card]').dataset.incident === String(id)", arg=incident["id"])
    assert "E2E 墙图" in card.text_content()
    assert card.locator("script, img").count() == 0


def test_a_new_major_incident_flies_the_map_to_it(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    incident = create_incident(page, e2e.base_url, "E2E 墙图：重大敏感警情，有人聚集", category="major_sensitive",
                               channel="hotline_social_110")
    page.wait_for_selector(marker(incident["id"]) + ".is-major .wall-inc-pulse", state="attached", timeout=3000)
    # Its card opens by itself and the map flies there.
    page.wait_for_function(
        "id => document.querySelector('[data-testid=wall-card]').dataset.incident === String(id)",
        arg=incident["id"], timeout=5000)
    page.wait_for_timeout(2000)
    # ... into the middle of the part of the map that the card leaves free.
    box = page.locator(marker(incident["id"])).bounding_box()
    view = page.locator('[data-testid="wall-map"]').bounding_box()
    card = page.locator('[data-testid="wall-card"]').bounding_box()
    assert box and view and card
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    free_width = card["x"] - view["x"]
    assert abs(centre_x - (view["x"] + free_width / 2)) < free_width * 0.15
    assert abs(centre_y - (view["y"] + view["height"] / 2)) < view["height"] * 0.1


def test_a_dispatch_draws_the_route_on_the_wall(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    incident = create_incident(page, e2e.base_url, "E2E 墙图：路口两车相撞，有人受伤")
    page.wait_for_selector(marker(incident["id"]), state="attached", timeout=5000)

    orders = dispatch(page, e2e.base_url, incident["id"])
    assert orders
    for order in orders:
        route = page.wait_for_selector(f'path.wall-route[data-order="{order["id"]}"]', state="attached", timeout=5000)
        assert route.get_attribute("data-incident") == str(incident["id"])
        assert len(route.get_attribute("d") or "") > 10
    # The incident now counts down to its arrival deadline.
    page.wait_for_function(
        "sel => (document.querySelector(sel)?.textContent || '').includes(':')",
        arg=marker(incident["id"]) + " .wall-inc-countdown")
    # Amber under 10 minutes left (the "at once" rules give 10), otherwise plain; never red yet.
    earliest = min(datetime.fromisoformat(o["arrive_by"]) for o in orders)
    left = (earliest - datetime.now(UTC)).total_seconds()
    expected = "amber" if left < 10 * 60 - 5 else "ok"
    if abs(left - 10 * 60) > 5:  # not on the boundary itself
        page.wait_for_function("([sel, want]) => document.querySelector(sel)?.dataset.state === want",
                               arg=[marker(incident["id"]) + " .wall-inc-countdown", expected], timeout=5000)
    # The dispatched responders are drawn as busy.
    page.wait_for_function("() => Number(document.body.dataset.membersBusy || 0) >= 1", timeout=5000)


def test_the_wall_catches_up_by_itself_after_a_server_restart(page, login, e2e, spare_server):
    spare_server.start()
    # Cookies belong to the host, not the port: the session of the session server holds here too.
    login(page, "command_room")
    open_wall(page, spare_server.base_url)

    spare_server.stop()
    page.wait_for_selector('body[data-socket="reconnecting"]', timeout=15000)
    assert page.locator('[data-testid="wall-conn"]').get_attribute("data-state") == "reconnecting"

    # While the wall's server is down, a call-taker on the other server takes an incident
    # (same database; the event reaches the wall only through the event table).
    incident = create_incident(page, e2e.base_url, "E2E 墙图：服务器重启期间的警情")
    assert page.locator(marker(incident["id"])).count() == 0

    spare_server.start()
    page.wait_for_selector('body[data-socket="live"]', timeout=30000)
    page.wait_for_selector(marker(incident["id"]), state="attached", timeout=10000)
    assert incident["number"] in page.locator('[data-testid="wall-queue"]').text_content()


def test_an_overdue_arrival_raises_the_alarm_banner(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    incident = create_incident(page, e2e.base_url, "E2E 墙图：超时未到场的警情")
    orders = dispatch(page, e2e.base_url, incident["id"])
    page.wait_for_selector(f'path.wall-route[data-order="{orders[0]["id"]}"]', state="attached", timeout=5000)
    assert page.locator('[data-testid="wall-alarm"]').is_hidden()
    # The arrival deadline passes: moved back in the database (the SLA clock would wait 30 min).
    with _admin_cursor(_server(), e2e.database) as cursor:
        cursor.execute("UPDATE dispatch_dispatchorder SET arrive_by = now() - interval '2 minutes' "
                       "WHERE incident_id = %s", [incident["id"]])
    # The case's next event brings its row, with the deadline now past (no snapshot reload).
    noted = page.request.post(e2e.url(f"/api/v1/incidents/{incident['id']}/transitions/"),
                              headers=csrf_headers(page), data={"action": "note", "text": "仍在途中"})
    assert noted.ok, noted.text()
    banner = page.locator('[data-testid="wall-alarm"]')
    banner.wait_for(state="visible", timeout=20000)
    assert incident["number"] in banner.text_content()
    assert page.locator(f'[data-testid="wall-alarms"] .is-overdue[data-incident="{incident["id"]}"]').count() == 1
    assert "is-red" in page.get_attribute(marker(incident["id"]), "class")
    assert page.get_attribute(marker(incident["id"]) + " .wall-inc-countdown", "data-state") == "red"
    assert page.locator(f'path.wall-route.is-late[data-incident="{incident["id"]}"]').count() >= 1
    # Sound is off by default and is a toggle.
    sound = page.locator('[data-testid="wall-sound"]')
    assert sound.get_attribute("aria-pressed") == "false"
    sound.click()
    assert sound.get_attribute("aria-pressed") == "true"


def test_a_position_posted_moves_the_responder(page, login, e2e):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    state = page.request.get(e2e.url("/api/v1/wall/") + subdistrict_code(page, e2e) + "/state/").json()
    member = next(m for m in state["members"] if m["point"] and m["status"] == "on_duty")
    lon, lat = member["point"]
    answer = page.request.post(e2e.url("/api/v1/positions/"), headers=csrf_headers(page), data={"positions": [
        {"member": member["id"], "at": state["now"], "lon": lon + 0.001, "lat": lat + 0.001, "accuracy_m": 8,
         "datum": "WGS84"}]})
    assert answer.status == 201, answer.text()
    page.wait_for_selector(f'body[data-last-moved="{member["id"]}"]', state="attached", timeout=5000)


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_wall_screenshot(page, login, e2e, artifacts_dir, width, height):
    login(page, "command_room")
    page.set_viewport_size({"width": width, "height": height})
    if not page.request.get(e2e.url("/api/v1/wall/") + subdistrict_code(page, e2e) + "/state/").json()["incidents"]:
        # Something to look at: a major incident (pulsing) and a dispatched one (route, countdown).
        create_incident(page, e2e.base_url, "E2E 墙图：重大敏感警情，人员聚集", category="major_sensitive",
                        channel="hotline_social_110")
        busy = create_incident(page, e2e.base_url, "E2E 墙图：有人酒后滋事，摔砸物品")
        dispatch(page, e2e.base_url, busy["id"])
    open_wall(page, e2e.base_url)
    page.wait_for_selector(".wall-incident")
    page.wait_for_timeout(3000)  # fonts, charts, the fit of the map and a 4K frame painted whole
    # Large type for a display seen from several metres: the root size follows the width.
    root_px = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert root_px >= (30 if width >= 3840 else 15)
    # Nothing spills out of the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.documentElement.scrollHeight") <= height
    for testid in ("wall-map", "wall-queue", "chart-category", "chart-channel", "wall-ticker", "wall-conn", "wall-legend"):
        assert page.locator(f'[data-testid="{testid}"]').is_visible(), testid
    settled_screenshot(page, artifacts_dir / f"wall-{width}x{height}.png")
    # The card opened from the queue.
    page.locator('[data-testid="wall-queue"] .wall-queue-item').first.click()
    page.locator('[data-testid="wall-card"]').wait_for()
    page.wait_for_timeout(4000)  # the flight to the incident, and the 4K frame painted again
    settled_screenshot(page, artifacts_dir / f"wall-{width}x{height}-card.png")


def test_replay_plays_a_past_day_and_returns_to_live(page, login, e2e, artifacts_dir):
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    yesterday = page.get_attribute("#replay-date", "max")
    assert yesterday
    page.fill("#replay-date", yesterday)
    page.wait_for_selector(f'body[data-replay="{yesterday}"]', timeout=15000)
    page.click('[data-testid="replay-play"]')  # pause: the slider drives it from here
    seen = 0
    for hour in range(6, 24, 2):
        page.evaluate("""s => { const el = document.getElementById('replay-slider');
                                 el.value = String(s); el.dispatchEvent(new Event('input')); }""", hour * 3600)
        seen = max(seen, int(page.evaluate("document.body.dataset.replayIncidents || '0'")))
    assert seen >= 1, "the demo history of yesterday shows no incident at any hour"
    page.evaluate("""() => { const el = document.getElementById('replay-slider');
                             el.value = String(10 * 3600); el.dispatchEvent(new Event('input')); }""")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    bar = page.locator(".wall-bar").bounding_box()
    assert bar and bar["height"] < 80, "the bar with the replay controls stays on one line"
    page.screenshot(path=str(artifacts_dir / "wall-replay.png"))
    page.click('[data-testid="replay-exit"]')
    page.wait_for_function("() => !document.body.dataset.replay")
    assert page.locator('[data-testid="wall-conn"]').get_attribute("data-state") == "live"


def test_an_event_committed_late_with_a_lower_id_still_reaches_the_wall(page, login, e2e):
    """Event ids are handed out at insert, not at commit: a slow transaction publishes its lower id
    after a quicker one's higher id. The wall must not take it for old news."""
    login(page, "command_room")
    open_wall(page, e2e.base_url)
    first = create_incident(page, e2e.base_url, "E2E 墙图：事务较慢的警情")
    page.wait_for_selector(marker(first["id"]), state="attached")
    code = subdistrict_code(page, e2e)
    with _admin_cursor(_server(), e2e.database) as cursor:
        cursor.execute("BEGIN")
        cursor.execute(
            "INSERT INTO incidents_incidentevent (incident_id, subdistrict_id, kind, from_status, to_status, note, "
            "data, at) SELECT id, subdistrict_id, 'note', '', '', %s, '{}', now() FROM incidents_incident "
            "WHERE id = %s RETURNING id", ["E2E 墙图：迟到的记录", first["id"]])
        slow_id = cursor.fetchone()[0]
        second = create_incident(page, e2e.base_url, "E2E 墙图：事务较快的警情")  # commits a higher id first
        page.wait_for_selector(marker(second["id"]), state="attached")
        assert int(page.evaluate("document.body.dataset.lastEvent")) > slow_id
        # As a worker process publishes (config/live.py, wall/relay.py): NOTIFY, delivered at commit.
        envelope = json.dumps({"pid": 0, "group": f"wall.{code}", "kind": "event", "ids": [slow_id]})
        cursor.execute("SELECT pg_notify('gridlink_wall', %s)", [envelope])
        cursor.execute("COMMIT")
    page.wait_for_selector(f'#wall-ticker [data-event="{slow_id}"]', state="attached", timeout=5000)
