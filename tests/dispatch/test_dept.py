"""The department queue (/dept/, issue 10) on real PostGIS: two offices on one case, each sees
only its own part; another unit's part is a 404; a user without a unit gets 403; accepting,
noting progress and completing through the transitions endpoint move the part from waiting to
working to done; the queue reads in a constant number of queries; the page hands its
configuration and words to the modules through json_script. No browser test (CI stays fast);
the modules' pure functions are tested in frontend/tests/dept.test.mjs."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import Unit
from incidents.models import Handover, Incident
from tests.factories import add_staff, api_client, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="DQ")]

QUEUE = reverse("dept_api:queue")
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def ctx(world, users):
    """The shared world (DQ) with two offices, a user of each, the dispatcher, and a department user
    of no unit."""
    sub = world["subdistrict"]
    labour = Unit.objects.create(subdistrict=sub, code="DQ-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    urban = Unit.objects.create(subdistrict=sub, code="DQ-URB", name="城管中队", kind=Unit.Kind.URBAN_MANAGEMENT)
    world.update(
        labour=labour, urban=urban, dispatcher=users.dispatcher,
        labour_user=make_user("dq-lab", UserRole.DEPARTMENT, member=add_staff(world, labour, "DQ-L1", "王芳")),
        urban_user=make_user("dq-urb", UserRole.DEPARTMENT, member=add_staff(world, urban, "DQ-U1", "刘强")),
        nobody=make_user("dq-none", UserRole.DEPARTMENT),
    )
    return world


def client_for(user, language: str = "zh-hans") -> APIClient:
    return api_client(user, language)


def assign(ctx, *offices: Unit, description: str = "联席会商交办:某小区违建及拖欠工资") -> Incident:
    body = {"channel": ctx["joint"].code, "category": ctx["category"].code, "subdistrict": "DQ",
            "description": description, "address": "幸福路 8 号", "offices": [o.pk for o in offices]}
    response = client_for(ctx["dispatcher"]).post(reverse("incidents:incidents"), body, format="json")
    assert response.status_code == 201, response.content
    return Incident.objects.get(pk=response.json()["id"])


def act(ctx, who: str, case: Incident, action: str, **body):
    """As the page does: the transitions endpoint, the unit, a fresh Idempotency-Key."""
    user = ctx[who]
    return client_for(user, "en").post(
        reverse("incidents:incident-transition", args=[case.pk]),
        {"action": action, "unit": user.member.unit_id, **body}, format="json",
        HTTP_IDEMPOTENCY_KEY=f"dept-{uuid.uuid4().hex}")


def queue(user) -> dict:
    response = client_for(user).get(QUEUE)
    assert response.status_code == 200, response.content
    return response.json()


def ids(data: dict, name: str) -> list[int]:
    return [p["id"] for p in data[name]]


def detail(user, handover_id: int):
    return client_for(user).get(reverse("dept_api:part", args=[handover_id]))


# --- the queue --------------------------------------------------------------------------------------

def test_each_unit_sees_only_its_own_part_of_a_case(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    labour_part, urban_part = case.handovers.get(unit=ctx["labour"]), case.handovers.get(unit=ctx["urban"])
    labour = queue(ctx["labour_user"])
    assert labour["unit"] == {"id": ctx["labour"].pk, "name": "劳动保障中队"}
    assert (ids(labour, "waiting"), ids(labour, "working"), ids(labour, "done")) == ([labour_part.pk], [], [])
    (item,) = labour["waiting"]
    assert item["number"] == case.number and item["incident"] == case.pk
    assert item["category"] == ctx["category"].name and item["address_text"] == "幸福路 8 号"
    assert item["reason"] and item["handed_over_by"] == "disp"
    assert item["accept_by"] and item["deadline"] and item["accept_overdue"] is False
    assert item["state"] == "pending" and item["state_display"]
    assert ids(queue(ctx["urban_user"]), "waiting") == [urban_part.pk]


def test_another_units_part_is_a_404_and_the_own_part_shows_the_case(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"], description=XSS)
    labour_part, urban_part = case.handovers.get(unit=ctx["labour"]), case.handovers.get(unit=ctx["urban"])
    assert detail(ctx["labour_user"], urban_part.pk).status_code == 404
    assert detail(ctx["labour_user"], 10**9).status_code == 404
    response = detail(ctx["labour_user"], labour_part.pk)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["part"]["id"] == labour_part.pk
    assert data["case"]["description"] == XSS  # as typed: the page sets it with textContent
    assert data["others"] == [{"unit": "城管中队", "state": "pending", "state_display": data["others"][0]["state_display"]}]
    assert [a["action"] for a in data["actions"]] == ["accept_handover", "return_handover"]


def test_a_user_without_a_unit_gets_403_in_chinese(ctx):
    response = client_for(ctx["nobody"]).get(QUEUE)
    assert response.status_code == 403
    assert "部门工作台" in response.json()["detail"]
    assert client_for(ctx["dispatcher"]).get(QUEUE).status_code == 403  # a role without a unit's work
    assert client_for(ctx["nobody"]).get(reverse("dept_api:part", args=[1])).status_code == 403
    assert APIClient().get(QUEUE).status_code in (401, 403)


def test_accept_progress_and_complete_move_the_part_through_the_lists(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    part = case.handovers.get(unit=ctx["labour"])

    assert act(ctx, "labour_user", case, "accept_handover").status_code == 200
    data = queue(ctx["labour_user"])
    assert (ids(data, "waiting"), ids(data, "working")) == ([], [part.pk])
    assert ids(queue(ctx["urban_user"]), "waiting") == [case.handovers.get(unit=ctx["urban"]).pk]
    assert [a["action"] for a in detail(ctx["labour_user"], part.pk).json()["actions"]] == ["progress", "complete"]

    assert act(ctx, "labour_user", case, "progress", text="已约谈企业负责人").status_code == 200
    assert act(ctx, "urban_user", case, "accept_handover").status_code == 200
    assert act(ctx, "urban_user", case, "progress", text="城管的进展").status_code == 200
    (working,) = queue(ctx["labour_user"])["working"]
    assert [p["note"] for p in working["progress"]] == ["已约谈企业负责人"]  # not the other office's notes
    assert working["progress"][0]["by"] == "王芳"
    assert working["deadline_overdue"] is False
    assert [p["note"] for p in detail(ctx["labour_user"], part.pk).json()["part"]["progress"]] == ["已约谈企业负责人"]

    assert act(ctx, "labour_user", case, "complete", text="企业已结清工资").status_code == 200
    data = queue(ctx["labour_user"])
    assert (ids(data, "waiting"), ids(data, "working"), ids(data, "done")) == ([], [], [part.pk])
    (done,) = data["done"]
    assert done["state"] == "completed" and done["result"] == "企业已结清工资" and done["finished_at"]
    assert detail(ctx["labour_user"], part.pk).json()["actions"] == []


def test_a_returned_part_is_done_with_its_reason_and_old_ones_drop_out(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    assert act(ctx, "urban_user", case, "return_handover", text="不属本单位职责").status_code == 200
    (done,) = queue(ctx["urban_user"])["done"]
    assert done["state"] == "returned" and done["return_reason"] == "不属本单位职责"
    Handover.objects.filter(unit=ctx["urban"]).update(decided_at=timezone.now() - timedelta(days=8))
    assert queue(ctx["urban_user"])["done"] == []


def test_the_refusal_of_the_server_comes_back_as_its_message(ctx):
    case = assign(ctx, ctx["labour"])
    response = act(ctx, "labour_user", case, "complete", text="too early")
    assert response.status_code == 409 and response.json()["detail"]


def test_overdue_flags(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    past = timezone.now() - timedelta(minutes=5)
    Handover.objects.filter(incident=case, unit=ctx["labour"]).update(accept_by=past)
    (item,) = queue(ctx["labour_user"])["waiting"]
    assert item["accept_overdue"] is True
    assert act(ctx, "urban_user", case, "accept_handover").status_code == 200
    Handover.objects.filter(incident=case, unit=ctx["urban"]).update(deadline=past)
    (item,) = queue(ctx["urban_user"])["working"]
    assert item["deadline_overdue"] is True


def test_the_queue_and_a_part_read_in_a_constant_number_of_queries(ctx):
    def count(url) -> int:
        api = client_for(ctx["labour_user"])
        api.get(url)  # warm: content types, translations
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url).status_code == 200
        return len(queries)

    first = assign(ctx, ctx["labour"], ctx["urban"])
    assert act(ctx, "labour_user", first, "accept_handover").status_code == 200
    assert act(ctx, "labour_user", first, "progress", text="进展一").status_code == 200
    one_queue, one_part = count(QUEUE), count(reverse("dept_api:part", args=[first.handovers.get(unit=ctx["labour"]).pk]))
    for n in range(4):
        case = assign(ctx, ctx["labour"], ctx["urban"], description=f"交办事项 {n}")
        if n % 2:
            assert act(ctx, "labour_user", case, "accept_handover").status_code == 200
            assert act(ctx, "labour_user", case, "progress", text=f"进展 {n}").status_code == 200
            assert act(ctx, "labour_user", case, "progress", text=f"再进展 {n}").status_code == 200
        else:
            assert act(ctx, "labour_user", case, "return_handover", text="不属本单位").status_code == 200
    data = queue(ctx["labour_user"])
    assert (len(data["working"]), len(data["done"])) == (3, 2)
    assert count(QUEUE) == one_queue
    assert count(reverse("dept_api:part", args=[case.handovers.get(unit=ctx["labour"]).pk])) == one_part
    assert one_queue <= 5, one_queue  # member and unit, roles, parts with cases, progress notes


# --- the page ---------------------------------------------------------------------------------------

def json_script(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"the page hands its data to the modules through json_script #{element_id}"
    return json.loads(match.group(1))


def test_the_page_hands_its_configuration_and_words_through_json_script(client, ctx):
    client.force_login(ctx["labour_user"])
    response = client.get(reverse("dept:queue"))
    assert response.status_code == 200
    config = json_script(response, "dept-config")
    assert config["unit"] == {"id": ctx["labour"].pk, "name": "劳动保障中队"}
    assert config["timeZone"] == "Asia/Shanghai" and config["refreshSeconds"] == 30
    assert config["api"] == {"queue": "/api/v1/dept/queue/", "part": "/api/v1/dept/parts/{id}/",
                             "transitions": "/api/v1/incidents/{id}/transitions/"}
    assert config["csrf"] == {"cookie": "csrftoken", "header": "X-CSRFTOKEN"}
    assert set(config["partStates"]) == set(Handover.State.values)
    buttons = config["text"]["buttons"]
    assert (buttons["accept_handover"], buttons["return_handover"], buttons["progress"], buttons["complete"]) == (
        "接收", "退回", "进展", "办结")
    html = response.text
    assert "csrftoken" in response.cookies
    assert '<script type="module" src="/static/gridlink/dept/app.js"></script>' in html
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    # The page's own json_script and the one every page shares (base.html: {% gridlink_shared %}).
    assert sorted(inline) == [' id="dept-config" type="application/json"', ' id="gridlink-shared" type="application/json"']
    assert "data-text" not in html and "window.GridLink" not in html


def test_the_page_refuses_a_user_without_a_unit_in_chinese(client, ctx):
    client.force_login(ctx["nobody"])
    response = client.get(reverse("dept:queue"))
    assert response.status_code == 403
    assert "部门工作台仅供单位工作人员使用" in response.content.decode()
    assert 'id="dept-config"' not in response.content.decode()


def test_anonymous_goes_to_login(client, ctx):
    response = client.get(reverse("dept:queue"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
