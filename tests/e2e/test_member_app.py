"""The responders' app (/m/) in headless Chromium at a phone's size (390×844), against the seeded demo:
the dispatcher sends the demo `responder` (a full-time grid worker) to a new case through the API;
on the phone — its position granted and set by the test — the order appears with its countdown,
distance and route; a refused action shows the server's words (the dispatcher recorded the
acceptance first); with no signal the responder arrives (the phone's position is read at the tap)
and adds two notes: the three actions wait on the phone (the bar says 3) and, online again, reach
the server in order, each once (the distance to the scene recorded); then the responder registers
a person involved (a wrong ID check digit caught on the phone, nothing sent; the person listed with
the number masked), reports from the scene with a photo taken there (a JPEG with EXIF GPS, sent as
it is: the server reads where it was taken) and resolves; the case's timeline has each step. One
test, to keep the browser suite short.

Test hooks of the app: body[data-m-ready="1"], body[data-refreshed], article[data-testid="order"]
[data-order][data-state][data-live], buttons [data-action], forms form[data-form], notices
[data-testid="notice"], #m-share[data-state], the outbox bar [data-testid="queue"][data-count],
a field's problem [data-problem], the photo previews [data-testid="photo-previews"], the case's
people [data-testid="parties"] and photos [data-testid="photos"], "My grids" [data-testid="my-grids"]."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from PIL import Image

from incidents.models import mask_name
from tests.e2e.conftest import _admin_cursor, _server

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
RESPONDER_CODE = "WG0002"  # fixtures/seed.py: the demo `responder` acts as this grid worker
REPORT = "E2E 双方情绪已平复，正在调解"
RESULT = "E2E 调解成功，双方达成一致"
NOTES = ["E2E 离线备注一：已到楼下", "E2E 离线备注二：正在敲门"]
PARTY = "E2E 王某"
PARTY_ID = "11010519491231002X"  # GB 11643's example; its masked form below
PARTY_ID_MASKED = "110***********002X"


def scene_photo(path, lon: float, lat: float) -> None:
    """A small JPEG as a phone's camera writes it: EXIF GPS (degrees, minutes, seconds) of the scene."""
    def dms(value: float):
        seconds = Fraction(round(value * 3600 * 100), 100)
        return (Fraction(int(seconds // 3600)), Fraction(int(seconds % 3600 // 60)), seconds % 60)

    exif = Image.Exif()
    exif[0x8825] = {0: b"\x02\x02\x00\x00", 1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    Image.new("RGB", (96, 64), (40, 120, 200)).save(path, "JPEG", exif=exif.tobytes())


def csrf_headers(page) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Referer": page.url}


def put_on_duty(e2e, member_id: int) -> None:
    """Grid workers work office hours: a shift around now for the responder (the dispatch refuses a
    member off duty, and the phone shares its position only on duty)."""
    now = datetime.now(UTC)
    starts, ends = now - timedelta(hours=1), now + timedelta(hours=4)
    with _admin_cursor(_server(), e2e.database) as cursor:
        cursor.execute("DELETE FROM dispatch_dutyshift WHERE member_id = %s AND starts_at < %s AND ends_at > %s",
                       [member_id, ends, starts])
        cursor.execute("INSERT INTO dispatch_dutyshift (member_id, starts_at, ends_at) VALUES (%s, %s, %s)",
                       [member_id, starts, ends])


def test_a_responder_handles_an_order_on_the_phone(page, browser, login, e2e, artifacts_dir, tmp_path):
    # --- the dispatcher: a new case near the responder, and the responder sent to it ---------------
    login(page, "dispatcher")
    page.goto(e2e.url("/console/"))
    members = page.request.get(e2e.url("/api/v1/dispatch/members/")).json()["features"]
    me = next(f for f in members if f["properties"]["code"] == RESPONDER_CODE)
    member_id = me["id"]
    put_on_duty(e2e, member_id)
    lon, lat = me["geometry"]["coordinates"]
    scene = [lon + 0.0015, lat + 0.001]
    created = page.request.post(e2e.url("/api/v1/incidents/"), headers=csrf_headers(page), data={
        "channel": "hotline_director", "category": "neighbour_dispute",
        "description": "E2E 处置端：楼道里两户人家争吵 <b>不是标记</b>",
        "address": "E2E 幸福里 8 幢", "location": {"type": "Point", "coordinates": scene},
    })
    assert created.status == 201, created.text()
    incident = created.json()

    # --- the responder's phone, 40 m from the scene --------------------------------------------------
    phone_at = {"longitude": scene[0], "latitude": scene[1] + 0.00036, "accuracy": 8}
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="zh-CN", timezone_id="Asia/Shanghai",
                                  geolocation=phone_at, permissions=["geolocation"])
    phone = context.new_page()
    phone.set_default_timeout(30_000)
    dialogs, errors = [], []
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    phone.on("pageerror", lambda error: errors.append(str(error)))
    try:
        login(phone, "responder")
        phone.goto(e2e.url("/m/"))
        phone.wait_for_selector('body[data-m-ready="1"]')
        phone.wait_for_selector('[data-testid="live-state"][data-state="live"]')  # the member's socket
        # "My grids" under the header: the grids the responder (a grid worker) serves, as text.
        grids = phone.request.get(e2e.url("/api/v1/m/work/")).json()["member"]["grids"]
        shown = phone.locator('[data-testid="my-grids"] li strong').all_text_contents()
        assert grids and shown == [f"{g['code']} {g['name']}" for g in grids]

        # The dispatcher sends the responder; the order reaches the open app through the member's
        # socket, well before the list's own reload (every 15 s). How fast: `make bench`.
        sent = page.request.post(e2e.url(f"/api/v1/incidents/{incident['id']}/transitions/"),
                                 headers=csrf_headers(page),
                                 data={"action": "dispatch", "members": [member_id], "method": "app"})
        assert sent.ok, sent.text()
        order = next(o for o in sent.json()["orders"] if o["member"]["id"] == member_id)
        card = f'article[data-testid="order"][data-order="{order["id"]}"]'
        phone.wait_for_selector(f'#m-live {card}[data-state="dispatched"]', timeout=5_000)
        assert phone.locator('[data-testid="inbox"] .m-inbox-item[data-kind="order"]').count() == 1
        item = phone.locator(card)
        assert item.locator(".m-cat").text_content() == "邻里纠纷"
        assert item.locator(".m-address").text_content() == "E2E 幸福里 8 幢"
        # The public's text is text: the "<b>" is shown, not made bold.
        assert item.locator('[data-testid="description"]').text_content().endswith("<b>不是标记</b>")
        assert item.locator('[data-testid="description"] b').count() == 0
        assert item.locator('[data-testid="countdown"]').get_attribute("data-state") in ("ok", "amber")
        assert "剩余" in item.locator('[data-testid="countdown"]').text_content()
        phone.wait_for_function(
            f"""() => (document.querySelector('{card} [data-testid="distance"]')?.textContent || '').includes('距离')""")
        assert phone.locator(f'{card} [data-testid="order-map"] .leaflet-interactive').count() >= 2  # scene, route
        nav = item.locator('[data-testid="navigate"]').get_attribute("href")
        assert nav.startswith("https://uri.amap.com/navigation?") and "coordinate=gaode" in nav
        assert item.locator('[data-testid="geo-link"]').get_attribute("href").startswith("geo:")
        # Position sharing is on (on duty): the first fix is sent at once.
        phone.wait_for_selector('#m-share[data-state="on"]')
        # Gloves: every button at least 48 px high and wide.
        for box in (item.locator(".m-btn").nth(i).bounding_box() for i in range(item.locator(".m-btn").count())):
            assert box["height"] >= 48 and box["width"] >= 48, box
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=str(artifacts_dir / "member-app-390x844.png"))

        # A refusal shows the server's own words on the card: the dispatcher records the acceptance
        # (by radio) while the phone, not refreshed meanwhile, still offers "accept".
        phone.route("**/api/v1/m/work/", lambda route: route.abort())
        on_behalf = page.request.post(e2e.url(f"/api/v1/dispatch/orders/{order['id']}/accept/"),
                                      headers=csrf_headers(page))
        assert on_behalf.ok, on_behalf.text()
        item.locator('[data-action="accept"]').click()
        refused = phone.locator(f'{card} [data-testid="notice"][data-kind="error"]')
        refused.wait_for()
        assert refused.text_content() == "该指令已接受。"  # the 409's detail
        assert phone.locator('[data-testid="status"][data-kind="error"]').count() == 1  # the list is stale
        phone.unroute("**/api/v1/m/work/")
        phone.evaluate("window.dispatchEvent(new Event('online'))")  # the app loads its work again
        phone.wait_for_selector(f'{card}[data-state="accepted"]')

        # No signal at the scene: arrive (the phone's position is read now, at the tap) and two notes.
        # They wait on the phone, the bar at the top lists them; nothing reaches the server.
        context.set_offline(True)
        phone.locator(f'{card} [data-action="arrive"]').click()
        queued = phone.locator(f'{card} [data-testid="notice"][data-kind="queued"]')
        queued.wait_for()
        assert queued.text_content() == "已保存，联网后发送"
        assert phone.locator(f'{card} [data-action="arrive"]').is_disabled()  # not offered twice
        for n, note in enumerate(NOTES, start=2):
            phone.locator(f'{card} [data-action="note"]').click()
            phone.fill(f'{card} form[data-form="note"] textarea[name="text"]', note)
            phone.click(f'{card} form[data-form="note"] button[type="submit"]')
            phone.wait_for_selector(f'{card}[data-queued="{n}"]')
        bar = phone.locator('[data-testid="queue"]')
        assert bar.is_visible() and bar.get_attribute("data-count") == "3"
        assert phone.locator('[data-testid="queue-count"]').text_content() == "3 项待发送"
        labels = phone.locator('[data-testid="queue-list"] li').all_text_contents()
        assert len(labels) == 3 and labels[0].startswith("已到场") and NOTES[1][:10] in labels[2], labels
        phone.screenshot(path=str(artifacts_dir / "member-app-390x844-offline.png"))
        waiting = page.request.get(e2e.url(f"/api/v1/incidents/{incident['id']}/")).json()
        assert "arrived" not in [e["kind"] for e in waiting["events"]]
        # Online again: the three go, in order; the distance to the scene comes back.
        context.set_offline(False)
        phone.wait_for_selector('[data-testid="queue"][data-count="0"]', state="hidden")
        phone.wait_for_selector(f'{card}[data-state="arrived"]')
        arrival = phone.locator(f'{card} [data-testid="arrival"]').text_content()
        assert "到场时距现场" in arrival and "米" in arrival, arrival

        # A person involved: a wrong check digit is caught on the phone and nothing is sent; corrected,
        # the person is listed with the ID number masked (the server's answer), never in full.
        phone.locator(f'{card} [data-action="register_party"]').click()
        person = f'{card} form[data-form="register_party"]'
        phone.fill(f'{person} input[name="name"]', PARTY)
        phone.fill(f'{person} input[name="phone"]', "13812345678")
        phone.fill(f'{person} input[name="id_number"]', PARTY_ID[:-1] + "5")
        phone.click(f'{person} button[type="submit"]')
        phone.wait_for_selector(f'{person} [data-problem="id_number"]:not([hidden])')
        assert page.request.get(e2e.url(f"/api/v1/incidents/{incident['id']}/")).json()["parties"] == []
        phone.fill(f'{person} input[name="id_number"]', PARTY_ID)
        phone.click(f'{person} button[type="submit"]')
        registered = phone.locator(f'{card} [data-testid="parties"] li')
        registered.wait_for()
        assert mask_name(PARTY) in registered.text_content() and PARTY_ID_MASKED in registered.text_content()
        assert PARTY not in registered.text_content()  # names of the public are masked on the phone too
        assert PARTY_ID not in phone.locator(card).text_content()

        # Report from the scene with a photo taken there, then resolve: each asks for its text first.
        photo = tmp_path / "scene.jpg"
        scene_photo(photo, *scene)
        phone.locator(f'{card} [data-action="report_on_site"]').click()
        phone.fill(f'{card} form[data-form="report_on_site"] textarea[name="text"]', REPORT)
        phone.set_input_files(f'{card} form[data-form="report_on_site"] input[type="file"]', str(photo))
        phone.wait_for_selector(f'{card} [data-testid="photo-previews"] li img')
        phone.click(f'{card} form[data-form="report_on_site"] button[type="submit"]')
        phone.wait_for_selector(f'{card} [data-action="resolve"]')
        assert "现场反馈已发送" in phone.locator(f'{card} [data-testid="notice"]').text_content()
        # The photo sent is shown on the card, its thumbnail served by the server.
        phone.wait_for_function(f"""() => document.querySelector('{card} [data-testid="photos"] img')?.naturalWidth > 0""")
        phone.locator(f'{card} [data-action="resolve"]').click()
        phone.fill(f'{card} form[data-form="resolve"] textarea[name="text"]', RESULT)
        phone.click(f'{card} form[data-form="resolve"] button[type="submit"]')
        # Resolved: the order is finished.
        phone.wait_for_selector(f'#m-finished {card}[data-live="0"]')
        assert phone.locator(f"#m-live {card}").count() == 0
        phone.screenshot(path=str(artifacts_dir / "member-app-390x844-done.png"), full_page=True)
        assert dialogs == []  # messages on the cards, never alert()
        assert errors == []  # no uncaught script error
    finally:
        context.close()

    # --- the case's timeline has every step ------------------------------------------------------------
    detail = page.request.get(e2e.url(f"/api/v1/incidents/{incident['id']}/")).json()
    assert detail["status"] == "resolved"
    events = detail["events"]
    kinds = [e["kind"] for e in events]
    for kind in ("dispatched", "order_accepted", "arrived"):
        assert kind in kinds, kinds
    # The offline actions were applied once each, in the order taken.
    offline = [e["kind"] if e["kind"] == "arrived" else e["note"] for e in events
               if e["kind"] == "arrived" or (e["kind"] == "note" and e["note"] in NOTES)]
    assert offline == ["arrived", *NOTES], offline
    arrived = next(e for e in events if e["kind"] == "arrived")
    assert arrived["data"]["arrival"]["position"] == "request"  # the phone's own position, not the last shared
    assert 25 < arrived["data"]["arrival"]["distance_m"] < 60
    assert arrived["data"]["arrival"]["flagged"] is False
    notes = {e["to"]: e["note"] for e in events if e["kind"] == "status_changed"}
    assert notes.get("reported") == REPORT and notes.get("resolved") == RESULT
    # The photo as the camera wrote it: the server read where it was taken (the dispatcher sees it).
    [sent_photo] = detail["photos"]
    assert sent_photo["exif_location"] == pytest.approx(scene, abs=1e-5)
    assert page.request.get(e2e.url(sent_photo["thumb_url"])).headers["content-type"] == "image/jpeg"
    [party] = detail["parties"]
    assert (party["name"], party["id_number_masked"]) == (mask_name(PARTY), PARTY_ID_MASKED)
    summary = page.request.get(e2e.url(f"/api/v1/dispatch/incidents/{incident['id']}/")).json()
    mine = next(o for o in summary["orders"] if o["id"] == order["id"])
    assert mine["state"] == "arrived" and 25 < mine["arrival_distance_m"] < 60
    # The shared positions reached the server.
    members = page.request.get(e2e.url("/api/v1/dispatch/members/")).json()["features"]
    assert next(f for f in members if f["id"] == member_id)["properties"]["position_recorded_at"]
