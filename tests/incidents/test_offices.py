"""Several offices on one off-site case (issue 9, items 6 and 7), through the API on real PostGIS:
each office accepts or returns, notes progress and completes its own part; the case is completed
when every accepted part is; the command room completes a part on an office's behalf only with a
recorded reason; every hand-over carries a deadline to accept and one to report, per unit kind,
and the SLA clock raises each once."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import Alarm, Force, Role, Unit
from dispatch.sla import sla_tick
from incidents.models import Handover, Incident, IncidentEvent, Status
from tests.factories import S, W, add_staff, api_client, make_user, put_on_duty

pytestmark = [pytest.mark.django_db, pytest.mark.world(on_duty=True)]

INCIDENTS = reverse("incidents:incidents")
SCENE = {"type": "Point", "coordinates": [W + 0.004, S + 0.004]}
ON_BEHALF = "Completing an office's part on its behalf needs the reason."


@pytest.fixture
def ctx(settings, world, users):
    """The shared world on duty with two offices (labour with its leaders, one on duty; urban), a
    police station, and their users."""
    settings.HANDOVER_ACCEPT_MINUTES = {"labour_security": 20, "police_station": 10}
    settings.HANDOVER_ACCEPT_MINUTES_DEFAULT = 45
    settings.HANDOVER_REPORT_HOURS = {"labour_security": 12, "police_station": 5}
    settings.HANDOVER_REPORT_HOURS_DEFAULT = 30
    sub = world["subdistrict"]
    labour = Unit.objects.create(subdistrict=sub, code="T1-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    urban = Unit.objects.create(subdistrict=sub, code="T1-URB", name="城管中队", kind=Unit.Kind.URBAN_MANAGEMENT)
    station = Unit.objects.create(subdistrict=sub, code="T1-PS", name="派出所", kind=Unit.Kind.POLICE_STATION)
    labour_staff = add_staff(world, labour, "T1-L1", "王芳", force=Force.LABOUR_INSPECTION)
    urban_staff = add_staff(world, urban, "T1-U1", "刘强", force=Force.URBAN_MANAGEMENT)
    labour_leader = add_staff(world, labour, "T1-L0", "劳保队长", roles=[Role.UNIT_LEADER],
                              force=Force.LABOUR_INSPECTION)
    labour_leader_off = add_staff(world, labour, "T1-L9", "劳保副队长", roles=[Role.UNIT_LEADER],
                                  force=Force.LABOUR_INSPECTION)
    put_on_duty(labour_staff, urban_staff, labour_leader)
    world.update(
        labour=labour, urban=urban, station=station, labour_leader=labour_leader,
        labour_leader_off=labour_leader_off,
        command=users.command_room, dispatcher=users.dispatcher, responder=users.responder,
        labour_user=make_user("lab", UserRole.DEPARTMENT, member=labour_staff),
        urban_user=make_user("urb", UserRole.DEPARTMENT, member=urban_staff),
    )
    return world


def act(ctx, who: str, incident_id: int, action: str, **body):
    response = api_client(ctx[who]).post(reverse("incidents:incident-transition", args=[incident_id]),
                                         {"action": action, **body}, format="json")
    return response


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def assign(ctx, *offices: Unit, **kw) -> Incident:
    """A joint-consultation assignment form naming the offices, taken through the API."""
    body = {"channel": ctx["joint"].code, "category": ctx["category"].code, "subdistrict": "T1",
            "description": "联席会商交办:某小区违建及拖欠工资", "offices": [o.pk for o in offices], **kw}
    response = api_client(ctx["dispatcher"]).post(INCIDENTS, body, format="json")
    assert response.status_code == 201, response.content
    return Incident.objects.get(pk=response.json()["id"])


def part(case: Incident, unit: Unit) -> Handover:
    return case.handovers.get(unit=unit)


def events(case: Incident, kind: str) -> list[IncidentEvent]:
    return list(case.events.filter(kind=kind).order_by("id"))


# --- the parts ---------------------------------------------------------------------------------------

def test_two_offices_each_complete_their_part_and_then_the_case_is_completed(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    # The second office decides while the first one already works.
    data = ok(act(ctx, "urban_user", case.pk, "accept_handover"))
    assert data["status"] == Status.IN_PROGRESS
    assert {h["state"] for h in data["handovers"]} == {"accepted"}

    ok(act(ctx, "urban_user", case.pk, "progress", text="已约谈业主"))
    (progress,) = events(case, IncidentEvent.Kind.PROGRESS)
    assert progress.note == "已约谈业主" and progress.data["unit"] == ctx["urban"].pk

    data = ok(act(ctx, "labour_user", case.pk, "complete", text="企业已结清工资"))
    assert data["status"] == Status.IN_PROGRESS  # the other office still works on its part
    done = part(case, ctx["labour"])
    assert (done.state, done.result, done.completed_by, done.on_behalf_reason) == (
        Handover.State.COMPLETED, "企业已结清工资", ctx["labour_user"], "")
    assert done.completed_at is not None
    (first,) = events(case, IncidentEvent.Kind.PART_COMPLETED)
    assert first.data["unit_name"] == "劳动保障中队" and first.data["waiting_names"] == ["城管中队"]
    assert "城管中队" in first.note and "企业已结清工资" in first.note
    case.refresh_from_db()
    assert case.resolved_at is None

    data = ok(act(ctx, "urban_user", case.pk, "complete", text="违建已拆除"))
    assert data["status"] == Status.COMPLETED
    case.refresh_from_db()
    assert case.resolved_at is not None
    assert set(case.handovers.values_list("state", flat=True)) == {Handover.State.COMPLETED}
    second = events(case, IncidentEvent.Kind.PART_COMPLETED)[-1]
    assert second.data["unit_name"] == "城管中队" and second.data["waiting"] == []
    # Then the command room confirms the offices' result as before.
    assert ok(act(ctx, "command", case.pk, "confirm"))["status"] == Status.REPORTED_TO_COMMAND


def test_an_office_completes_only_its_own_accepted_part(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    before = case.events.count()
    # Naming the other office's part: refused, whatever its state.
    refused = act(ctx, "labour_user", case.pk, "complete", text="代为办结", unit=ctx["urban"].pk)
    assert refused.status_code == 403, refused.content
    # The other office has not accepted its part yet: nothing of its own to complete.
    refused = act(ctx, "urban_user", case.pk, "complete", text="已办结")
    assert refused.status_code == 409, refused.content
    assert case.events.count() == before
    assert part(case, ctx["urban"]).state == Handover.State.PENDING
    assert part(case, ctx["labour"]).state == Handover.State.ACCEPTED
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS


def test_the_command_room_completes_a_part_on_an_offices_behalf_only_with_a_reason(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    ok(act(ctx, "urban_user", case.pk, "accept_handover"))
    ok(act(ctx, "labour_user", case.pk, "complete", text="企业已结清工资"))
    before = case.events.count()

    refused = act(ctx, "command", case.pk, "complete", text="违建已拆除", unit=ctx["urban"].pk)
    assert refused.status_code == 400 and ON_BEHALF in refused.content.decode()
    refused = act(ctx, "command", case.pk, "complete", text="违建已拆除", unit=ctx["urban"].pk, reason="   ")
    assert refused.status_code == 400 and ON_BEHALF in refused.content.decode()
    refused = act(ctx, "command", case.pk, "complete", text="违建已拆除", reason="城管中队电话报告")
    assert refused.status_code == 400  # which office's part: the command room must say
    assert case.events.count() == before
    urban = part(case, ctx["urban"])
    assert (urban.state, urban.result, urban.on_behalf_reason) == (Handover.State.ACCEPTED, "", "")

    data = ok(act(ctx, "command", case.pk, "complete", text="违建已拆除", unit=ctx["urban"].pk,
                  reason="城管中队系统故障,电话报告办结"))
    assert data["status"] == Status.COMPLETED
    urban.refresh_from_db()
    assert (urban.state, urban.result, urban.completed_by) == (Handover.State.COMPLETED, "违建已拆除", ctx["command"])
    assert urban.on_behalf_reason == "城管中队系统故障,电话报告办结"
    event = events(case, IncidentEvent.Kind.PART_COMPLETED)[-1]
    assert event.actor == ctx["command"] and event.data["on_behalf"] is True
    assert "On behalf of 城管中队: 城管中队系统故障,电话报告办结" in event.note
    [row] = [h for h in data["handovers"] if h["unit"]["id"] == ctx["urban"].pk]
    assert row["on_behalf_reason"] == "城管中队系统故障,电话报告办结" and row["result"] == "违建已拆除"

    # The incident page shows each part's deadlines, result and the on-behalf reason.
    page = APIClient()
    page.force_login(ctx["command"])
    html = page.get(reverse("console:incident", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en").text
    assert "城管中队系统故障,电话报告办结" in html and "企业已结清工资" in html
    assert html.count('data-due="accept"') == 2 and html.count('data-due="report"') == 2

    # Sent back: that part only is accepted again, its result cleared; the timeline keeps it.
    data = ok(act(ctx, "command", case.pk, "send_back", text="现场复核仍有违建", unit=ctx["urban"].pk))
    assert data["status"] == Status.IN_PROGRESS
    urban.refresh_from_db()
    assert (urban.state, urban.result, urban.on_behalf_reason, urban.completed_at) == (
        Handover.State.ACCEPTED, "", "", None)
    assert part(case, ctx["labour"]).state == Handover.State.COMPLETED
    back = case.events.filter(kind=IncidentEvent.Kind.STATUS_CHANGED).order_by("-id").first()
    assert back.data["sent_back"][0]["result"] == "违建已拆除"
    case.refresh_from_db()
    assert case.resolved_at is None


def test_a_return_while_another_office_works_is_only_a_note(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    data = ok(act(ctx, "urban_user", case.pk, "return_handover", text="不属于城管职责"))
    assert data["status"] == Status.IN_PROGRESS
    assert part(case, ctx["urban"]).state == Handover.State.RETURNED
    # The returned part does not hold the case up.
    assert ok(act(ctx, "labour_user", case.pk, "complete", text="企业已结清工资"))["status"] == Status.COMPLETED


def test_the_last_office_returning_completes_a_case_whose_other_parts_are_done(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    assert ok(act(ctx, "labour_user", case.pk, "complete", text="企业已结清工资"))["status"] == Status.IN_PROGRESS
    assert ok(act(ctx, "urban_user", case.pk, "return_handover", text="不属于城管职责"))["status"] == Status.COMPLETED


# --- the two deadlines ----------------------------------------------------------------------------

def test_every_hand_over_gets_its_deadlines_by_unit_kind(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    labour, urban = part(case, ctx["labour"]), part(case, ctx["urban"])
    assert labour.accept_by - labour.created_at == timedelta(minutes=20)
    assert labour.deadline - labour.created_at == timedelta(hours=12)
    assert urban.accept_by - urban.created_at == timedelta(minutes=45)  # no setting for its kind: the default
    assert urban.deadline - urban.created_at == timedelta(hours=30)
    # The form's own deadline wins for the result, not for the acceptance.
    due = timezone.now().replace(microsecond=0) + timedelta(days=3)
    formed = part(assign(ctx, ctx["labour"], deadline=due.isoformat()), ctx["labour"])
    assert formed.deadline == due and formed.accept_by - formed.created_at == timedelta(minutes=20)


def test_a_transfer_from_the_scene_gets_its_units_deadlines(ctx):
    response = api_client(ctx["dispatcher"]).post(INCIDENTS, {
        "channel": ctx["hotline"].code, "category": ctx["category"].code, "subdistrict": "T1",
        "description": "小区门口两人因停车发生争执", "location": SCENE}, format="json")
    assert response.status_code in (200, 201), response.content
    case_id = response.json()["id"]
    ok(act(ctx, "dispatcher", case_id, "dispatch", members=[ctx["member"].pk], method="radio"))
    ok(act(ctx, "responder", case_id, "arrive"))
    data = ok(act(ctx, "dispatcher", case_id, "transfer", unit=ctx["station"].pk, text="治安问题,移交派出所"))
    assert data["status"] == Status.TRANSFERRED
    handover = Handover.objects.get(incident_id=case_id)
    assert handover.kind == Handover.Kind.TRANSFER
    assert handover.accept_by - handover.created_at == timedelta(minutes=10)
    assert handover.deadline - handover.created_at == timedelta(hours=5)
    [row] = data["handovers"]
    assert row["accept_by"] and row["deadline"]


# --- the clock --------------------------------------------------------------------------------------

def test_the_clock_raises_each_hand_over_deadline_once_to_the_units_leader_on_duty(ctx):
    case = assign(ctx, ctx["labour"], ctx["urban"])
    labour = part(case, ctx["labour"])
    assert sla_tick(now=labour.accept_by - timedelta(minutes=1)) == 0

    # Past the labour office's accept_by (20 min), before the urban office's (45 min).
    late = labour.accept_by + timedelta(minutes=1)
    assert sla_tick(now=late) == 1
    assert sla_tick(now=late + timedelta(minutes=5)) == 0  # twice run: still one
    (alarm,) = Alarm.objects.all()
    assert (alarm.kind, alarm.handover, alarm.incident, alarm.order) == (
        Alarm.Kind.HANDOVER_ACCEPT_OVERDUE, labour, case, None)
    assert alarm.due_at == labour.accept_by
    assert alarm.notified == [ctx["labour_leader"].pk]  # the unit's leader on duty; not the one off duty
    (event,) = events(case, IncidentEvent.Kind.ALARM)
    assert "劳动保障中队" in event.note
    assert timezone.localtime(labour.accept_by).strftime("%Y-%m-%d %H:%M") in event.note
    assert event.data["skipped"] == [ctx["labour_leader_off"].pk] and event.data["handover"] == labour.pk
    labour.refresh_from_db()
    assert labour.accept_escalated_at == alarm.raised_at

    # Accepted late; then its result is overdue: one report alarm, again only once.
    ok(act(ctx, "labour_user", case.pk, "accept_handover"))
    ok(act(ctx, "urban_user", case.pk, "accept_handover"))
    overdue = labour.deadline + timedelta(minutes=1)  # 12 h: the urban office has 30 h
    assert sla_tick(now=overdue) == 1
    assert sla_tick(now=overdue + timedelta(hours=1)) == 0
    report = Alarm.objects.get(kind=Alarm.Kind.HANDOVER_REPORT_OVERDUE)
    assert report.handover == labour and report.due_at == labour.deadline
    assert report.notified == [ctx["labour_leader"].pk]
    assert "劳动保障中队" in events(case, IncidentEvent.Kind.ALARM)[-1].note
    assert not Alarm.objects.filter(handover__unit=ctx["urban"]).exists()  # accepted in time, not due yet
    # A completed part raises nothing more; a case completed has nothing left to watch.
    ok(act(ctx, "labour_user", case.pk, "complete", text="企业已结清工资"))
    ok(act(ctx, "urban_user", case.pk, "complete", text="违建已拆除"))
    assert sla_tick(now=overdue + timedelta(days=5)) == 0
