"""The timeline's `data`, one schema per kind (incidents/event_schemas.py): every kind has one, and
what the services and the demo's history write conforms (keys present, none unknown, values of
their type). The pages read those keys: a service that renames one fails here."""

import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Force, Member, TravelMode, Unit
from dispatch.rules_seed import rules_seed
from dispatch.services import (
    alarm_acknowledge,
    alarm_snooze,
    incident_merge,
    incident_raise_level,
    incident_transition,
    order_accept,
    order_decline,
    order_remind,
    order_stand_down,
)
from dispatch.sla import sla_tick
from incidents.event_schemas import EVENT_DATA_SCHEMAS, event_data_problems
from incidents.models import Category, FeedbackDelivery, IncidentEvent
from incidents.services import (
    callback_complete,
    incident_contacts_reveal,
    incident_intake,
    incident_locate,
    incident_set_category,
    party_register,
    party_reveal,
)
from tests.dispatch.test_alarm_ladder import ladder_settings, late_world
from tests.dispatch.test_sla_clock import make_incident, make_order
from tests.factories import S, W, make_channels, make_user

Kind = IncidentEvent.Kind
VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example
# No code writes ESCALATED any more (LEVEL_RAISED took its place); its schema is for old rows.
NOT_WRITTEN = {Kind.ESCALATED}


def _problems(events) -> list[str]:
    return [f"event {e.pk} ({e.kind}): {p}" for e in events for p in event_data_problems(e.kind, e.data)]


def test_every_kind_has_a_schema():
    assert set(EVENT_DATA_SCHEMAS) == set(Kind.values)


def test_the_checker_catches_a_renamed_a_missing_and_a_mistyped_key():
    good = {"order": 1, "member": 2, "member_name": "张伟", "force": "police", "on_behalf": False}
    assert event_data_problems(Kind.ORDER_ACCEPTED, good) == []
    renamed = {**{k: v for k, v in good.items() if k != "member_name"}, "member_label": "张伟"}
    assert event_data_problems(Kind.ORDER_ACCEPTED, renamed) == [
        "data: 'member_name' missing", "data: 'member_label' is not in OrderAcceptedData"]
    assert event_data_problems(Kind.ORDER_ACCEPTED, {**good, "order": "1"}) == ["data.order: '1' is not an integer"]
    assert event_data_problems(Kind.ORDER_ACCEPTED, {**good, "on_behalf": 0}) == ["data.on_behalf: 0 is not a boolean"]
    # A union (a note's shapes): the problems of the closest shape.
    assert event_data_problems(Kind.NOTE, {"action": "progress"}) == []
    assert event_data_problems(Kind.NOTE, {"action": 3}) == ["data.action: 3 is not a string"]
    assert event_data_problems("no_such_kind", {}) == ["no schema for the kind 'no_such_kind'"]


@pytest.mark.django_db
def test_the_demo_history_conforms(demo):
    events = IncidentEvent.objects.filter(subdistrict__code=demo.subdistrict.code).only("id", "kind", "data")
    assert events.exists()
    assert _problems(events.iterator(chunk_size=2000)) == []


# --- the services ----------------------------------------------------------------------------------

class _Centre(BaseHTTPRequestHandler):
    """The district centre's result callback: 200 to anything (the signature has its own tests)."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def centre():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Centre)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/results"
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(db, settings):
    ladder_settings(settings)
    settings.FEEDBACK_TIMEOUT_SECONDS = 2.0
    world = late_world()
    rules_seed()  # the escalation levels
    world.update(make_channels())
    sub = world["subdistrict"]
    office = Unit.objects.create(subdistrict=sub, code="T1-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    officer = Member.objects.create(
        subdistrict=sub, unit=office, code="T1-M2", name="王芳", force=Force.LABOUR_INSPECTION,
        phone="13800000002", travel_mode=TravelMode.CAR, home=Point(W + 0.002, S + 0.002, srid=4326))
    second = Member.objects.create(
        subdistrict=sub, unit=world["unit"], code="T1-M3", name="李强", force=Force.GRID_WORKER,
        phone="13800000003", travel_mode=TravelMode.EBIKE, home=Point(W + 0.003, S + 0.003, srid=4326))
    from tests.dispatch.test_sla_clock import on_duty

    for m in (world["member"], officer, second):
        on_duty(m)
    world.update(
        office=office, second=second,
        dispatcher=make_user("disp", UserRole.DISPATCHER), calltaker=make_user("taker", UserRole.CALL_TAKER),
        responder=make_user("resp", UserRole.RESPONDER, member=world["member"]),
        department=make_user("dept", UserRole.DEPARTMENT, member=officer), leader=make_user("lead", UserRole.LEADER),
        other_category=Category.objects.create(code="test_noise", name="测试噪声", name_en="test noise",
                                               scope=Category.Scope.NON_POLICE, statistic_group="petition"),
    )
    return world


def _call(world, **kw):
    fields = {"channel": world["hotline"], "category": world["category"], "description": "小区门口两人因停车发生争执",
              "actor": world["calltaker"], "location": Point(W + 0.004, S + 0.004, srid=4326),
              "caller_name": "李先生", "caller_phone": "13912345678"}
    return incident_intake(**(fields | kw)).incident


def test_what_the_services_write_conforms(world, centre):
    """Every kind the code writes, through the services and the SLA clock, each shape of a kind
    once or more; every event checked against its schema."""
    first = IncidentEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    w = world

    def act(case, action, who="dispatcher", **kw):
        return incident_transition(incident_id=case.pk, action=action, actor=w[who], **kw)

    # On the scene: placed, re-categorised, dispatched (two), reminded, accepted, declined, arrived,
    # a report, a person registered and revealed, a transfer asked, resolved, fed back, closed, called back.
    case = _call(w, location=None, address_text="无法定位的某处")
    incident_locate(incident_id=case.pk, point=Point(W + 0.004, S + 0.004, srid=4326), actor=w["calltaker"])
    incident_set_category(incident_id=case.pk, category=w["other_category"], actor=w["calltaker"])
    act(case, "dispatch", members=[w["member"], w["second"]], method="radio")
    first_order, second_order = DispatchOrder.objects.filter(incident=case).order_by("id")
    order_remind(order_id=first_order.pk, actor=w["dispatcher"])
    order_accept(order_id=first_order.pk, actor=w["responder"])
    order_decline(order_id=second_order.pk, actor=w["dispatcher"], reason="车辆故障")
    incident_raise_level(incident_id=case.pk, actor=w["dispatcher"], note="群众聚集")
    act(case, "arrive", who="responder")
    act(case, "report_on_site", who="responder", text="双方情绪激动,已隔开")
    party = party_register(incident_id=case.pk, actor=w["responder"], name="赵六", phone="13700000000",
                           id_number=VALID_ID)
    party_reveal(party_id=party.pk, actor=w["leader"])
    incident_contacts_reveal(incident_id=case.pk, actor=w["leader"], caller=True, party_ids=[party.pk])
    act(case, "request_transfer", who="responder", unit=w["office"], text="涉及拖欠工资")
    act(case, "resolve", who="responder", text="调解成功")
    act(case, "feed_back", text="已调解")
    act(case, "close")
    task = case.callbacks.order_by("id").first()
    callback_complete(callback_id=task.pk, actor=w["dispatcher"], state="done", satisfaction="dissatisfied",
                      note="问题未解决", reopen=True)

    # A further report of it, and a duplicate merged into it.
    _call(w, link_to=case.pk, description="又有人报同一处争执")
    duplicate = _call(w, description="停车纠纷(重复)")
    incident_merge(incident_id=duplicate.pk, into_id=case.pk, actor=w["dispatcher"])

    # A member stood down.
    stood = _call(w, description="噪声扰民")
    act(stood, "dispatch", members=[w["member"]], method="phone")
    order_stand_down(order_id=stood.orders.get().pk, actor=w["dispatcher"], reason="已由派出所处置")

    # Off the scene: transferred, returned, transferred again, accepted, progress, completed, sent back.
    off = _call(w, description="拖欠工资")
    act(off, "dispatch", members=[w["second"]], method="phone")
    act(off, "arrive", members=[w["second"]])
    act(off, "report_on_site", text="现场无法调处")
    act(off, "transfer", unit=w["office"], text="移交劳动保障中队")
    act(off, "return_handover", who="department", text="不属于本单位")
    act(off, "transfer", unit=w["office"], text="再次移交")
    act(off, "accept_handover", who="department")
    act(off, "progress", who="department", text="已约谈企业负责人")
    act(off, "complete", who="department", text="企业已结清工资")
    act(off, "send_back", text="结果不完整")

    # A district order fed back: its result delivered to the centre; another one's delivery fails.
    district = w["district"]
    district.callback_url = centre
    district.save()
    for url, number in ((centre, "QX-1"), ("http://127.0.0.1:9/unreachable", "QX-2")):
        district.callback_url = url
        district.save()
        order = incident_intake(channel=district, category=w["category"], description="井盖缺失",
                                actor=make_user(f"centre-{number}", UserRole.INTEGRATION), external_id=number,
                                location=Point(W + 0.004, S + 0.004, srid=4326)).incident
        act(order, "dispatch", members=[w["member"]], method="radio")
        act(order, "arrive", who="responder")
        act(order, "report_on_site", who="responder", text="已补装")
        act(order, "resolve", who="responder", text="已补装井盖")
        act(order, "feed_back", text="已补装井盖")
    from incidents.feedback import feedback_deliver_due

    assert feedback_deliver_due() == 2
    assert sorted(FeedbackDelivery.objects.values_list("state", flat=True)) == ["delivered", "pending"]

    # The SLA clock: an overdue arrival raised, snoozed, open again, acknowledged; another one's ladder
    # up to the command room; a major case; an order never accepted, reminded step by step.
    t0 = timezone.now()
    late = make_incident(w)
    make_order(w, late, w["member"], arrive_by=t0 - timedelta(minutes=1))
    major = make_incident(w, major=True)
    ladder = make_incident(w)
    make_order(w, ladder, w["second"], arrive_by=t0 - timedelta(minutes=1))
    unconfirmed = make_incident(w)
    make_order(w, unconfirmed, w["leader_off"], arrive_by=t0 + timedelta(hours=2), confirm_step=0)
    sla_tick(now=t0)
    alarm = Alarm.objects.get(incident=late)
    alarm_snooze(alarm_id=alarm.pk, actor=w["command"], minutes=5, note="电话已通")
    for minutes in (2, 3, 4, 5, 6, 10, 31, 62):  # the ladders' steps, the snooze's end, the level
        sla_tick(now=t0 + timedelta(minutes=minutes, seconds=5))
    alarm_acknowledge(alarm_id=alarm.pk, actor=w["command"], note="已到场")
    alarm_acknowledge(alarm_id=Alarm.objects.get(incident=major).pk, actor=w["command"], note="领导已知悉")

    events = list(IncidentEvent.objects.filter(id__gt=first).order_by("id"))
    assert _problems(events) == []
    written = Counter(e.kind for e in events)
    assert set(Kind.values) - NOT_WRITTEN - set(written) == set()
    # Each shape of the kinds written in several.
    alarms = [e.data for e in events if e.kind == Kind.ALARM]
    assert {d.get("escalation") for d in alarms} >= {None, "command_room"} and any(d.get("reopened") for d in alarms)
    notes = [e.data for e in events if e.kind == Kind.NOTE]
    assert {"remind", "confirm_step", "alarm_step"} <= {k for d in notes for k in d}
    assert {"merged", "report"} <= {k for e in events if e.kind == Kind.REPORT_LINKED for k in e.data}
    assert {"merged_into", "sent_back", "deliveries", "handover"} <= {
        k for e in events if e.kind == Kind.STATUS_CHANGED for k in e.data}
