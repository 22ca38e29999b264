"""The console and the incident page in headless Chromium against the seeded demo sub-district:
a hotline call taken with a real gazetteer address, the new case at the top of the live queue,
its incident page, public text that stays text, and a refused action that changes nothing."""

import json
import re
import time

import pytest

pytestmark = pytest.mark.browser

NUMBER = re.compile(r"\d{8}-\d{4}")


def console_config(page) -> dict:
    return json.loads(page.locator("#console-config").text_content())


def open_console(page, e2e) -> dict:
    page.goto(e2e.url("/console/"))
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    page.wait_for_selector('body[data-map-ready="1"]')
    page.wait_for_selector("body[data-queue-loaded]")
    assert page.evaluate("document.body.dataset.gridsError") is None, "the basemap loaded"
    return console_config(page)


def csrf_headers(page) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Referer": page.url}


def demo_address(page, e2e) -> dict:
    """The first gazetteer entry of the demo for the name of an arterial road."""
    roads = page.request.get(e2e.url("/api/v1/geo/roads/")).json()["features"]
    name = next(f["properties"]["name"] for f in roads if f["properties"]["road_class"] == "arterial"
                and f["properties"]["name"])
    matches = page.request.get(e2e.url("/api/v1/gazetteer/"), params={"q": name}).json()
    assert matches, f"the gazetteer knows addresses on {name}"
    return matches[0]


def choose_category(page) -> None:
    select = page.locator("#call-category")
    if not select.input_value():
        select.select_option(index=1)


def test_calltaker_takes_a_call(page, login, e2e, artifacts_dir):
    login(page, "calltaker")
    config = open_console(page, e2e)
    assert len(config["hotlines"]) == 4
    assert page.locator('[data-tab="callbacks"]').count() == 0  # the command room records call-backs
    address = demo_address(page, e2e)
    marker = f"E2E-{int(time.time())}"

    page.locator(".hotline").first.click()
    page.fill('[data-testid="caller-phone"]', "13812345678")
    page.fill('[data-testid="caller-name"]', "赵先生")
    description = f"小区门口有人打架，一人受伤 {marker}"
    page.fill('[data-testid="description"]', description)
    # The keywords suggest a category, which is pre-selected for the call-taker to confirm (when the
    # database holds keyword rules).
    suggested = page.request.get(e2e.url(config["api"]["suggest"]), params={"text": description}).json()
    if suggested:
        page.wait_for_selector('[data-testid="suggestions"] .chip')
        assert page.locator("#call-category").input_value() == suggested[0]["code"]

    # Part of a real address, then the match from the dropdown: the pin drops and the grid shows.
    page.locator('[data-testid="address"]').press_sequentially(address["text"][:-1], delay=30)
    option = page.locator('[data-testid="address-matches"] .combo-item', has_text=address["text"]).first
    option.wait_for()
    page.screenshot(path=str(artifacts_dir / "console-address-search.png"))
    option.click()
    assert page.locator('[data-testid="address"]').input_value() == address["text"]
    page.wait_for_selector('body[data-where="grid"]')
    grid_label = page.locator('[data-testid="where"] .where-grid strong').text_content().strip()
    assert grid_label and grid_label != "—"
    assert page.locator(".gl-pin.is-call").count() == 1
    choose_category(page)

    page.click('[data-testid="call-submit"]')
    message = page.locator("#call-form .form-message.is-ok")
    message.wait_for()
    number = NUMBER.search(message.text_content()).group(0)

    first = page.locator('#live-queue [data-testid="queue-item"]').first
    first.locator(f'.qnum:text-is("{number}")').wait_for()
    assert "is-highlight" in first.get_attribute("class")
    assert marker in first.locator(".qdesc").text_content()
    # The form is ready for the next call: emptied, the hotline kept.
    assert page.locator('[data-testid="description"]').input_value() == ""
    assert page.locator('.hotline input:checked').count() == 1
    page.screenshot(path=str(artifacts_dir / "console-calltaker.png"))

    # A click on the case focuses it on the map; its number opens the incident page.
    first.locator(".qdesc").click()
    page.locator(".leaflet-popup-content .gl-popup").wait_for()
    with page.expect_navigation():
        first.locator(".qnum").click()
    assert re.search(r"/incidents/\d+/$", page.url)
    assert page.locator('[data-testid="incident-number"]').text_content().strip() == number
    created = page.locator('[data-testid="timeline"] li[data-kind="created"]')
    assert created.count() == 1
    assert marker in created.text_content()
    assert address["text"] in page.locator(".facts").text_content()
    page.wait_for_selector("body[data-actions-loaded]")
    page.wait_for_selector('body[data-map-ready="1"]')
    page.screenshot(path=str(artifacts_dir / "incident-page.png"), full_page=True)


def test_public_text_stays_text(page, login, e2e, artifacts_dir):
    login(page, "calltaker")
    open_console(page, e2e)
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    page.locator(".hotline").nth(1).click()
    page.fill('[data-testid="description"]', "求助 " + payload)
    box = page.locator("#console-map").bounding_box()
    # Near the middle of the sub-district (the map is fitted to it), beside any case marker.
    page.locator("#console-map").click(position={"x": box["width"] / 2 + 31, "y": box["height"] / 2 + 17})
    page.wait_for_selector('body[data-where="grid"]')
    choose_category(page)
    page.click('[data-testid="call-submit"]')
    message = page.locator("#call-form .form-message.is-ok")
    message.wait_for()
    number = NUMBER.search(message.text_content()).group(0)

    item = page.locator('#live-queue [data-testid="queue-item"]', has=page.locator(f'.qnum:text-is("{number}")'))
    item.wait_for()
    assert payload in item.locator(".qdesc").text_content()
    assert page.locator("#live-queue img, #live-queue script").count() == 0
    # Its popup on the map, too.
    item.locator(".qdesc").click()
    popup = page.locator(".leaflet-popup-content .gl-popup")
    popup.wait_for()
    assert payload in popup.text_content()
    assert popup.locator("img, script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(artifacts_dir / "console-xss-as-text.png"))

    with page.expect_navigation():
        item.locator(".qnum").click()
    assert payload in page.locator('[data-testid="incident-description"]').text_content()
    assert page.locator(".incident-page img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_refused_action_changes_nothing(page, login, e2e, artifacts_dir):
    login(page, "dispatcher")
    config = open_console(page, e2e)
    # A case taken through the API, then opened on its page.
    address = demo_address(page, e2e)
    created = page.request.post(e2e.url(config["api"]["incidents"]), headers=csrf_headers(page), data={
        "channel": config["hotlines"][0]["code"], "category": config["categories"][0]["code"],
        "description": "E2E 拒绝的操作", "location": {"type": "Point", "coordinates": [address["lon"], address["lat"]]},
    })
    assert created.status == 201, created.text()
    incident = created.json()
    page.goto(e2e.url(f"/incidents/{incident['id']}/"))
    page.wait_for_selector("body[data-actions-loaded]")
    entries = page.locator('[data-testid="timeline"] li').count()

    # Meanwhile another dispatcher closes it as invalid; this page still offers the old actions.
    closed = page.request.post(e2e.url(f"/api/v1/incidents/{incident['id']}/transitions/"),
                               headers=csrf_headers(page), data={"action": "cancel", "text": "重复报警"})
    assert closed.status == 200, closed.text()
    page.click('[data-action="cancel"]')
    page.fill('.action-form textarea[name="text"]', "误报")
    page.click(".action-form button[type=submit]")
    page.wait_for_selector('body[data-action-refused="409"]')
    refusal = page.locator(".action-form .form-message")
    assert refusal.is_visible() and refusal.text_content().strip()
    assert page.locator('[data-testid="timeline"] li').count() == entries
    statuses = json.loads(page.locator("#gridlink-shared").text_content())["statuses"]
    assert page.locator('[data-testid="incident-status"]').text_content().strip() == statuses["new"]
    page.screenshot(path=str(artifacts_dir / "incident-refused-action.png"), full_page=True)


def api_intake(page, e2e, config, description: str, **extra) -> dict:
    body = {"channel": config["hotlines"][0]["code"], "category": config["categories"][0]["code"],
            "description": description, "caller_phone": "13900001111", "caller_name": "钱女士", **extra}
    response = page.request.post(e2e.url(config["api"]["incidents"]), headers=csrf_headers(page), data=body)
    assert response.status in (200, 201), response.text()
    return response.json()


def test_second_call_links_to_the_open_case(page, login, e2e):
    login(page, "calltaker")
    config = open_console(page, e2e)
    address = demo_address(page, e2e)
    first = api_intake(page, e2e, config, "E2E 第一次报警",
                       location={"type": "Point", "coordinates": [address["lon"], address["lat"]]})

    page.locator(".hotline").nth(2).click()
    page.fill('[data-testid="description"]', "E2E 同一事件的第二个电话")
    page.locator('[data-testid="address"]').press_sequentially(address["text"], delay=20)
    page.locator('[data-testid="address-matches"] .combo-item', has_text=address["text"]).first.click()
    duplicate = page.locator('[data-testid="duplicates"] .dup', has=page.locator(f'.qnum:text-is("{first["number"]}")'))
    duplicate.wait_for()
    choose_category(page)
    duplicate.locator('[data-testid="link-to"]').click()
    message = page.locator("#call-form .form-message.is-ok")
    message.wait_for()
    assert first["number"] in message.text_content()
    # No new case: the queue highlights the case the call was added to, still the newest one.
    page.locator(f'#live-queue .qitem.is-highlight .qnum:text-is("{first["number"]}")').wait_for()
    assert page.locator("#live-queue .qnum").first.text_content() == first["number"]

    page.goto(e2e.url(f"/incidents/{first['id']}/"))
    assert page.locator('[data-testid="reports"] > li').count() == 2
    assert page.locator('[data-testid="timeline"] li[data-kind="report_linked"]').count() == 1


def test_case_without_location_is_placed_on_the_map(page, login, e2e, artifacts_dir):
    login(page, "calltaker")
    config = open_console(page, e2e)
    case = api_intake(page, e2e, config, "E2E 地址说不清楚", address="说不清楚的某个地方")
    assert case["status"] == "needs_location"
    page.reload()
    page.wait_for_selector("body[data-locate-loaded]")
    page.click('[data-testid="tab-locate"]')
    item = page.locator('#locate-queue [data-testid="queue-item"]', has=page.locator(f'.qnum:text-is("{case["number"]}")'))
    item.locator("button").click()
    assert page.locator('[data-testid="map-banner"]').is_visible()
    box = page.locator("#console-map").bounding_box()
    page.locator("#console-map").click(position={"x": box["width"] / 2 - 23, "y": box["height"] / 2 + 41})
    item.locator(".where.is-inside").wait_for()
    page.screenshot(path=str(artifacts_dir / "console-needs-location.png"))
    item.locator(".btn-primary").click()
    page.click('[data-testid="tab-queue"]')
    page.locator(f'#live-queue .qnum:text-is("{case["number"]}")').wait_for()
    assert page.locator(f'#locate-queue .qnum:text-is("{case["number"]}")').count() == 0
    assert page.locator('[data-testid="map-banner"]').is_hidden()


def test_command_room_records_a_call_back(page, login, e2e, artifacts_dir):
    login(page, "command")
    config = open_console(page, e2e)
    address = demo_address(page, e2e)
    case = api_intake(page, e2e, config, "E2E 回访",
                      location={"type": "Point", "coordinates": [address["lon"], address["lat"]]})
    members = page.request.get(e2e.url(config["map"]["api"]["members"])).json()["features"]
    # Someone on duty: a dispatch refuses members off duty unless chosen explicitly.
    member = next(f["id"] for f in members if f["properties"]["on_duty"])
    url = e2e.url(f"/api/v1/incidents/{case['id']}/transitions/")
    for body in [{"action": "dispatch", "members": [member], "method": "phone"},
                 {"action": "arrive", "members": [member]},
                 {"action": "report_on_site", "text": "到场了解情况"},
                 {"action": "resolve", "text": "双方和解"},
                 {"action": "feed_back", "text": "已反馈报警人"}]:
        response = page.request.post(url, headers=csrf_headers(page), data=body)
        assert response.status == 200, (body, response.text())

    page.reload()
    page.wait_for_selector("body[data-callbacks-loaded]")
    page.click('[data-testid="tab-callbacks"]')
    item = page.locator("#callback-queue .callback", has=page.locator(f'.qnum:text-is("{case["number"]}")'))
    # Masked in the list; the desk reveals the number it calls (logged in the case's timeline).
    assert "13900001111" not in item.text_content() and "139****1111" in item.text_content()
    item.locator(".cb-reveal").click()
    item.locator('.cb-phone a[href="tel:13900001111"]').wait_for()
    item.locator(".qactions button").click()
    form = item.locator(".callback-form")
    form.locator('select[name="satisfaction"]').select_option("dissatisfied")
    form.locator('input[name="reopen"]').check()
    form.locator('textarea[name="note"]').fill("对处理结果不满意")
    page.screenshot(path=str(artifacts_dir / "console-callback.png"))
    form.locator("button[type=submit]").click()
    item.wait_for(state="detached")

    detail = page.request.get(e2e.url(f"/api/v1/incidents/{case['id']}/")).json()
    assert detail["status"] == "reported"  # reopened: back to the command room
    assert detail["callbacks"][0]["satisfaction"] == "dissatisfied"

    # The incident page shows the caller masked; the command room reveals them (logged in the timeline).
    page.goto(e2e.url(f"/incidents/{case['id']}/"))
    caller = page.locator('[data-contact="caller"]')
    assert "13900001111" not in caller.text_content() and "139****1111" in caller.text_content()
    page.click('[data-reveal-contacts="caller"]')
    page.locator('[data-contact="caller"].is-revealed').wait_for()
    assert caller.text_content() == "钱女士 13900001111"
    detail = page.request.get(e2e.url(f"/api/v1/incidents/{case['id']}/")).json()
    assert "personal_data_revealed" in {e["kind"] for e in detail["events"]}
