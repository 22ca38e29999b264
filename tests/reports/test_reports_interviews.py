"""Accountability interviews (reports/interviews.py): recorded and rectified through their services
with clear refusals, listed with their states, and — when the deadline passes unrectified — one
alarm, raised once by the governance clock across ticks and clocks, one message per recipient (the
unit's office or the community's leaders on duty, and the command room on duty); a rectified one
raises none. The pages, the API, the Excel file, roles (403) and sub-districts (404)."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from openpyxl import load_workbook
from rest_framework.test import APIClient

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import DutyShift, Force, Member, MemberMessage, Role, TravelMode, Unit
from reports import interviews
from reports.models import Interview
from tests.factories import SHANGHAI, make_user, make_world, put_on_duty

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/interviews/"
PAGE = "/reports/interviews/"


def member(world, code: str, *, unit: Unit, force: str = Force.OFFICE_STAFF, roles=(), on_duty: bool = True) -> Member:
    m = Member.objects.create(subdistrict=world["subdistrict"], unit=unit, code=code, name=f"成员{code}", force=force,
                              roles=list(roles), phone="13800000000", travel_mode=TravelMode.CAR,
                              home=Point(120.5, 30.5, srid=4326))
    if on_duty:
        put_on_duty(m)
    else:  # a shift long past
        DutyShift.objects.create(member=m, starts_at=timezone.now() - timedelta(days=30),
                                 ends_at=timezone.now() - timedelta(days=29))
    return m


@pytest.fixture
def world():
    w = make_world("IV")
    sub = w["subdistrict"]
    w["office"] = Unit.objects.create(subdistrict=sub, code="IV-ZF", name="综合执法队", kind=Unit.Kind.URBAN_MANAGEMENT)
    w["room"] = Unit.objects.create(subdistrict=sub, code="IV-ZH", name="综合信息指挥室", kind=Unit.Kind.COMMAND_ROOM)
    w["community_unit"] = Unit.objects.create(subdistrict=sub, code="IV-C1", name="测试社区居委会",
                                              kind=Unit.Kind.COMMUNITY, community=w["community"])
    w["office_leader"] = member(w, "IV-L1", unit=w["office"], roles=[Role.UNIT_LEADER])
    w["office_leader_off"] = member(w, "IV-L2", unit=w["office"], roles=[Role.UNIT_LEADER], on_duty=False)
    w["office_worker"] = member(w, "IV-W1", unit=w["office"])  # not a leader: not told
    w["duty_officer"] = member(w, "IV-R1", unit=w["room"], force=Force.COMMAND_ROOM)
    w["room_off"] = member(w, "IV-R2", unit=w["room"], force=Force.COMMAND_ROOM, on_duty=False)
    w["director"] = member(w, "IV-C1", unit=w["community_unit"], force=Force.GRID_LEADER,
                           roles=[Role.GRID_LEADER, Role.SECURITY_DIRECTOR])
    w["leader"] = make_user("iv-leader", UserRole.LEADER)
    w["command"] = make_user("iv-command", UserRole.COMMAND_ROOM)
    return w


def record(world, *, deadline=None, **kw) -> Interview:
    fields = {"unit": world["office"]} | kw
    if "community" in kw:
        fields.pop("unit")
    return interviews.interview_record(
        actor=world["leader"], subdistrict=world["subdistrict"], reason="网格长到场率连续两月末位",
        findings="多起警情未在30分钟内到场", requirements="落实值班制度，重新培训",
        deadline=deadline or timezone.now() + timedelta(days=14), **fields)


# --- the services ---------------------------------------------------------------------------------------

def test_an_interview_is_recorded_open_and_rectified_once(world):
    interview = record(world)
    assert interview.state == Interview.State.OPEN and interview.created_by == world["leader"]
    assert interviews.interview_state(interview, now=timezone.now()) == "open"
    done = interviews.interview_rectify(actor=world["command"], subdistrict=world["subdistrict"],
                                        interview_id=interview.pk, note="已重新排班并培训")
    assert done.state == Interview.State.RECTIFIED and done.rectified_by == world["command"]
    with translation.override("en"), pytest.raises(TransitionRefused, match="recorded already"):
        interviews.interview_rectify(actor=world["command"], subdistrict=world["subdistrict"],
                                     interview_id=interview.pk, note="再次")
    assert Interview.objects.get().rectification_note == "已重新排班并培训"


def test_refusals_are_clear_and_write_nothing(world):
    other = make_world("IX")
    now = timezone.now()
    cases = [
        ({"deadline": now - timedelta(minutes=1)}, "The rectification deadline must lie in the future."),
        ({"deadline": now + timedelta(days=400)}, "The rectification deadline may be at most 366 days ahead."),
        ({"unit": other["unit"]}, "That unit belongs to another sub-district."),
        ({"community": other["community"]}, "That village/community belongs to another sub-district."),
        ({"held_at": now + timedelta(hours=2)}, "The interview cannot be held in the future."),
    ]
    with translation.override("en"):
        for fields, message in cases:
            with pytest.raises(DomainError) as refused:
                record(world, **fields)
            assert str(refused.value.message) == message
        with pytest.raises(DomainError, match="Name either"):
            interviews.interview_record(actor=world["leader"], subdistrict=world["subdistrict"], reason="r",
                                        findings="f", requirements="q", deadline=now + timedelta(days=1))
        with pytest.raises(DomainError, match="Reason is required"):
            interviews.interview_record(actor=world["leader"], subdistrict=world["subdistrict"], reason="  ",
                                        findings="f", requirements="q", deadline=now + timedelta(days=1),
                                        unit=world["office"])
        with pytest.raises(Forbidden):
            interviews.interview_record(actor=make_user("iv-d", UserRole.DISPATCHER), subdistrict=world["subdistrict"],
                                        reason="r", findings="f", requirements="q",
                                        deadline=now + timedelta(days=1), unit=world["office"])
    assert not Interview.objects.exists()
    interview = record(world)
    with pytest.raises(DomainError) as missing:  # another sub-district's interview is not found there
        interviews.interview_rectify(actor=world["leader"], subdistrict=other["subdistrict"], interview_id=interview.pk,
                                     note="x")
    assert missing.value.http_status == 404
    with pytest.raises(DomainError, match="required|必填"):
        interviews.interview_rectify(actor=world["leader"], subdistrict=world["subdistrict"],
                                     interview_id=interview.pk, note="")
    assert Interview.objects.get().state == Interview.State.OPEN


def test_the_list_has_the_three_states(world):
    now = timezone.now()
    open_one = record(world)
    overdue = record(world, community=world["community"])
    Interview.objects.filter(pk=overdue.pk).update(deadline=now - timedelta(hours=1), held_at=now - timedelta(days=2))
    rectified = record(world)
    interviews.interview_rectify(actor=world["leader"], subdistrict=world["subdistrict"], interview_id=rectified.pk,
                                 note="已整改")
    states = {i.pk: i.view_state for i in interviews.interview_list(subdistrict=world["subdistrict"])}
    assert states == {open_one.pk: "open", overdue.pk: "overdue", rectified.pk: "rectified"}
    assert [i.pk for i in interviews.interview_list(subdistrict=world["subdistrict"], state="overdue")] == [overdue.pk]


# --- the overdue alarm, exactly once ---------------------------------------------------------------------------

def alarms_by_member() -> dict[int, int]:
    counts: dict[int, int] = {}
    for m in MemberMessage.objects.filter(kind=MemberMessage.Kind.ALARM, incident__isnull=True):
        counts[m.member_id] = counts.get(m.member_id, 0) + 1
    return counts


def test_an_overdue_rectification_raises_one_alarm_across_two_ticks(world):
    interview = record(world)
    before = interview.deadline - timedelta(minutes=1)
    after = interview.deadline + timedelta(minutes=1)
    assert interviews.interviews_overdue_raise(now=before) == 0
    assert not MemberMessage.objects.exists()

    assert interviews.interviews_overdue_raise(now=after) == 1
    assert interviews.interviews_overdue_raise(now=after + timedelta(minutes=1)) == 0  # the second tick

    interview.refresh_from_db()
    assert interview.overdue_alarmed_at == after
    # The unit's office on duty and the command room on duty, one message each; nobody off duty.
    assert alarms_by_member() == {world["office_leader"].pk: 1, world["duty_officer"].pk: 1}
    told = {m["id"] for m in interview.overdue_notified["told"]}
    assert told == {world["office_leader"].pk, world["duty_officer"].pk}
    assert [m["id"] for m in interview.overdue_notified["skipped"]] == [world["office_leader_off"].pk]
    to_office = MemberMessage.objects.get(member=world["office_leader"])
    to_room = MemberMessage.objects.get(member=world["duty_officer"])
    assert to_office.incident_id is None and to_office.alarm_id is None and to_office.order_id is None
    with translation.override(settings.LANGUAGE_CODE):
        deadline = timezone.localtime(interview.deadline).strftime("%Y-%m-%d %H:%M")
    assert world["office"].name in to_office.title and deadline in to_office.body
    assert interview.reason in to_office.body
    assert world["office_leader_off"].name in to_room.body  # the command room phones who was off duty


def test_a_communitys_leaders_are_told(world):
    interview = record(world, community=world["community"])
    assert interviews.interviews_overdue_raise(now=interview.deadline + timedelta(seconds=1)) == 1
    assert alarms_by_member() == {world["director"].pk: 1, world["duty_officer"].pk: 1}
    assert world["community"].name in MemberMessage.objects.get(member=world["director"]).title


def test_a_rectified_interview_raises_no_alarm(world):
    interview = record(world)
    interviews.interview_rectify(actor=world["leader"], subdistrict=world["subdistrict"], interview_id=interview.pk,
                                 note="已整改")
    assert interviews.interviews_overdue_raise(now=interview.deadline + timedelta(days=1)) == 0
    assert not MemberMessage.objects.exists()
    assert Interview.objects.get().overdue_alarmed_at is None


@pytest.mark.django_db(transaction=True)
def test_two_governance_clock_processes_raise_each_alarm_once(workers):
    """`manage.py run_governance_clock` as real processes: two clocks side by side (the second skips
    the rows the first holds and finds them marked once it committed); each overdue interview told
    once to each recipient."""
    w = make_world("IT")
    office = Unit.objects.create(subdistrict=w["subdistrict"], code="IT-ZF", name="执法队", kind=Unit.Kind.URBAN_MANAGEMENT)
    leader_member = Member.objects.create(subdistrict=w["subdistrict"], unit=office, code="IT-L", name="队长",
                                          force=Force.OFFICE_STAFF, roles=[Role.UNIT_LEADER], phone="13800000009",
                                          travel_mode=TravelMode.CAR, home=Point(120.5, 30.5, srid=4326))
    put_on_duty(leader_member)
    now = timezone.now()
    for k in range(5):
        Interview.objects.create(subdistrict=w["subdistrict"], unit=office, held_at=now - timedelta(days=9),
                                 reason=f"约谈{k}", findings="f", requirements="r", deadline=now - timedelta(days=1),
                                 created_at=now - timedelta(days=9))
    clocks = [workers(f"governance-{k}", "run_governance_clock", "--once", "--batch", "2") for k in range(2)]
    for clock in clocks:
        assert clock.process.wait(timeout=120) == 0, clock.tail()
    assert MemberMessage.objects.filter(member=leader_member).count() == 5
    assert MemberMessage.objects.filter(member=leader_member).values("body").distinct().count() == 5
    assert not Interview.objects.filter(overdue_alarmed_at__isnull=True).exists()


# --- the API and the pages ---------------------------------------------------------------------------------------

def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_records_lists_and_rectifies(world):
    client = api(world["leader"])
    deadline = (timezone.now() + timedelta(days=10)).isoformat()
    created = client.post(f"{API}?subdistrict=IV", {"unit": world["office"].pk, "reason": "处置率低",
                                                    "findings": "多起未结", "requirements": "两周内整改",
                                                    "deadline": deadline}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "open" and body["target"] == world["office"].name and body["target_kind"] == "unit"
    listed = client.get(API, {"subdistrict": "IV"}).json()
    assert [row["id"] for row in listed] == [body["id"]]
    rectified = client.post(f"{API}{body['id']}/rectify/?subdistrict=IV", {"note": "已整改"}, format="json")
    assert rectified.status_code == 200 and rectified.json()["state"] == "rectified"
    again = client.post(f"{API}{body['id']}/rectify/?subdistrict=IV", {"note": "再次"}, format="json")
    assert again.status_code == 409
    assert client.get(API, {"subdistrict": "IV", "state": "bogus"}).status_code == 400
    past = client.post(f"{API}?subdistrict=IV", {"unit": world["office"].pk, "reason": "r", "findings": "f",
                                                 "requirements": "q", "deadline": "2020-01-01T00:00:00+08:00"},
                       format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert past.status_code == 400 and past.json()["detail"] == "The rectification deadline must lie in the future."
    assert Interview.objects.count() == 1


def test_roles_and_subdistricts(client, world):
    interview = record(world)
    other = make_world("IY")
    dispatcher = make_user("iv-dispatcher", UserRole.DISPATCHER)
    body = {"unit": world["office"].pk, "reason": "r", "findings": "f", "requirements": "q",
            "deadline": (timezone.now() + timedelta(days=3)).isoformat()}
    assert api(dispatcher).get(API, {"subdistrict": "IV"}).status_code == 200  # reads
    assert api(dispatcher).post(f"{API}?subdistrict=IV", body, format="json").status_code == 403  # does not act
    assert api(dispatcher).post(f"{API}{interview.pk}/rectify/?subdistrict=IV", {"note": "x"},
                                format="json").status_code == 403
    responder = make_user("iv-responder", UserRole.RESPONDER)
    assert api(responder).get(API, {"subdistrict": "IV"}).status_code == 403
    # Another sub-district's interview: 404, on the API and the pages.
    leader = world["leader"]
    assert api(leader).get(f"{API}{interview.pk}/", {"subdistrict": other["subdistrict"].code}).status_code == 404
    assert api(leader).post(f"{API}{interview.pk}/rectify/?subdistrict={other['subdistrict'].code}", {"note": "x"},
                            format="json").status_code == 404
    client.force_login(leader)
    assert client.get(f"{PAGE}{interview.pk}/", {"subdistrict": other["subdistrict"].code}).status_code == 404
    assert client.post(f"{PAGE}{interview.pk}/rectify/?subdistrict={other['subdistrict'].code}",
                       {"note": "x"}).status_code == 404
    client.force_login(dispatcher)
    assert client.get(PAGE, {"subdistrict": "IV"}).status_code == 200
    assert client.post(f"{PAGE}new/?subdistrict=IV", {"target": f"unit:{world['office'].pk}"}).status_code == 403
    client.force_login(responder)
    assert client.get(PAGE, {"subdistrict": "IV"}).status_code == 403
    assert Interview.objects.get().state == Interview.State.OPEN


def test_the_pages_record_and_rectify(client, world):
    client.force_login(world["leader"])
    page = client.get(PAGE, {"subdistrict": "IV"})
    assert page.status_code == 200 and 'data-testid="interview-form"' in page.text
    assert f'value="community:{world["community"].pk}"' in page.text and f'value="unit:{world["office"].pk}"' in page.text
    deadline = timezone.localtime(timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    form = {"target": f"community:{world['community'].pk}", "reason": "<b>到场率低</b>", "findings": "多次迟到",
            "requirements": "整改", "deadline": deadline}
    created = client.post(f"{PAGE}new/?subdistrict=IV", form)
    assert created.status_code == 302
    interview = Interview.objects.get()
    assert interview.community == world["community"] and interview.deadline.astimezone(SHANGHAI).strftime(
        "%Y-%m-%dT%H:%M") == deadline
    detail = client.get(created["Location"])
    assert "&lt;b&gt;到场率低&lt;/b&gt;" in detail.text and "<b>到场率低</b>" not in detail.text  # escaped
    assert 'data-testid="rectify-form"' in detail.text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    refused = client.post(f"{PAGE}new/?subdistrict=IV", {**form, "deadline": "2020-01-01T10:00"})
    assert refused.status_code == 400 and "The rectification deadline must lie in the future." in refused.text
    bad_target = client.post(f"{PAGE}new/?subdistrict=IV", {**form, "target": "unit:abc"})
    assert bad_target.status_code == 400
    assert Interview.objects.count() == 1
    rectified = client.post(f"{PAGE}{interview.pk}/rectify/?subdistrict=IV", {"note": "已整改"})
    assert rectified.status_code == 302
    assert Interview.objects.get().state == Interview.State.RECTIFIED
    again = client.post(f"{PAGE}{interview.pk}/rectify/?subdistrict=IV", {"note": "再次"})
    assert again.status_code == 409


def test_the_excel_file_holds_the_list(client, world):
    record(world)
    overdue = record(world, community=world["community"])
    Interview.objects.filter(pk=overdue.pk).update(deadline=timezone.now() - timedelta(hours=2),
                                                   held_at=timezone.now() - timedelta(days=3))
    client.force_login(world["leader"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"{PAGE}excel/", {"subdistrict": "IV"})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content))["Interviews"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [world["office"].name, world["community"].name]  # the latest held first
    assert {r[6] for r in rows} == {"overdue", "awaiting rectification"}
    assert [c.value for c in sheet[2]][:2] == ["Interviewed", "Reason"]


def test_overdue_interviews_show_on_the_agenda_page(client, world):
    overdue = record(world)
    Interview.objects.filter(pk=overdue.pk).update(deadline=timezone.now() - timedelta(days=2),
                                                   held_at=timezone.now() - timedelta(days=20))
    client.force_login(world["leader"])
    page = client.get("/reports/agenda/", {"subdistrict": "IV"})
    assert page.status_code == 200 and 'data-testid="rectification-row"' in page.text
    assert f"/reports/interviews/{overdue.pk}/?subdistrict=IV" in page.text
