"""Dispatching has one home (issue 9): stand-down, replacements, the whole ladder and the deadlines
of orders sent by hand, through the services, the API and the SLA clock on real PostGIS.

- a case that leaves on-site handling (resolved, transferred, closed as invalid, merged) stands
  down every order still on the way, and the clock, run after their deadlines, raises nothing;
- a dispatcher stands one member down with a reason; the order's open alarm is settled;
- a decline and an overdue arrival each propose a replacement of the same rule who is not the
  decliner, sent with one click (`orders/{id}/replace/`);
- the ladder: levels up to the highest ring the rules define; an overdue arrival nobody
  acknowledges raises the level once, by the clock, also across a restart of the clock process;
- orders sent by hand carry the plan's deadline for the member's force and the hour.
"""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Force, Member, ResponsibilityRule
from dispatch.recommend import recommend
from dispatch.rules_seed import rules_seed
from dispatch.selectors import replacements
from dispatch.services import (
    escalation_max_level,
    incident_merge,
    incident_raise_level,
    incident_transition,
    order_decline,
    order_replace,
    order_stand_down,
)
from dispatch.sla import sla_tick
from incidents.models import Incident, IncidentEvent, Status
from tests.dispatch import test_recommend
from tests.dispatch.test_recommend import AT, case, place_point, put_on_duty_at
from tests.dispatch.test_sla_clock import (
    add_leaders,
    build_world,
    make_incident,
    make_order,
    on_duty,
)
from tests.factories import api_client, make_user
from tests.workers import run_once


@pytest.fixture
def world(world, users):
    """The shared world with test_sla_clock's leaders, the rules, the late member on duty, and the
    dispatcher, the command room and the member's login."""
    add_leaders(world)
    rules_seed()
    world.update(dispatcher=users.dispatcher, command=users.command_room, responder=users.responder)
    on_duty(world["member"])
    return world


def stood_down_events(incident) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.ORDER_STOOD_DOWN)
                .order_by("id"))


# --- stand-down ------------------------------------------------------------------------------------

def test_resolving_with_a_responder_on_the_way_stands_them_down_and_the_clock_raises_nothing(world):
    incident = make_incident(world, status=Status.REPORTED)
    arrived = make_order(world, incident, world["leader_on"], arrive_by=timezone.now() + timedelta(minutes=5),
                         state=DispatchOrder.State.ARRIVED, arrived_at=timezone.now())
    on_way = make_order(world, incident, world["member"], arrive_by=timezone.now() + timedelta(minutes=20))
    incident_transition(incident_id=incident.pk, action="resolve", actor=world["dispatcher"], text="已调解")
    on_way.refresh_from_db()
    arrived.refresh_from_db()
    assert on_way.state == DispatchOrder.State.STOOD_DOWN and on_way.stood_down_at and on_way.stand_down_reason
    assert arrived.state == DispatchOrder.State.ARRIVED  # the one on the scene keeps their arrival
    (event,) = stood_down_events(incident)
    assert event.data["order"] == on_way.pk and event.data["member_name"] == world["member"].name
    # Long after the deadline the clock finds nothing to raise for the stood-down member.
    assert sla_tick(now=timezone.now() + timedelta(hours=2)) == 0
    assert not Alarm.objects.filter(order=on_way).exists()


@pytest.mark.parametrize("action, status, text", [
    ("transfer", Status.ARRIVED, "转交属地部门"),
    ("cancel", Status.DISPATCHED, "误报"),
])
def test_transferring_or_cancelling_stands_down_who_is_on_the_way(world, action, status, text):
    incident = make_incident(world, status=status)
    order = make_order(world, incident, world["member"], arrive_by=timezone.now() + timedelta(minutes=20))
    incident_transition(incident_id=incident.pk, action=action, actor=world["dispatcher"], text=text,
                        unit=world["unit"] if action == "transfer" else None)
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.STOOD_DOWN
    assert len(stood_down_events(incident)) == 1
    sla_tick(now=timezone.now() + timedelta(hours=1))
    assert not Alarm.objects.filter(order=order).exists()  # (a transfer's own hand-over deadline may alarm)


def test_merging_stands_down_the_duplicates_orders(world):
    kept = make_incident(world, status=Status.NEW)
    dup = make_incident(world, status=Status.DISPATCHED)
    order = make_order(world, dup, world["member"], arrive_by=timezone.now() + timedelta(minutes=20))
    incident_merge(incident_id=dup.pk, into_id=kept.pk, actor=world["dispatcher"])
    order.refresh_from_db()
    assert order.state == DispatchOrder.State.STOOD_DOWN and kept.number in order.stand_down_reason
    assert Incident.objects.get(pk=dup.pk).status == Status.MERGED


def test_a_dispatcher_stands_one_member_down_and_their_alarm_is_settled(world):
    incident = make_incident(world)
    late = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    other = make_order(world, incident, world["leader_on"], arrive_by=timezone.now() + timedelta(minutes=20))
    sla_tick()
    alarm = Alarm.objects.get(order=late)
    assert alarm.state == Alarm.State.OPEN
    url = reverse("dispatch:order-stand-down", args=[late.pk])
    assert api_client(world["responder"]).post(url, {"reason": "x"}, format="json").status_code == 403
    assert api_client(world["dispatcher"]).post(url, {"reason": ""}, format="json").status_code == 400
    answer = api_client(world["dispatcher"]).post(url, {"reason": "已另派他人"}, format="json")
    assert answer.status_code == 200 and answer.json()["state"] == "stood_down"
    assert answer.json()["stand_down_reason"] == "已另派他人"
    assert api_client(world["dispatcher"]).post(url, {"reason": "again"}, format="json").status_code == 409
    alarm.refresh_from_db()
    assert alarm.state == Alarm.State.ACKNOWLEDGED  # nobody waits for them any more
    other.refresh_from_db()
    assert other.state == DispatchOrder.State.DISPATCHED
    with pytest.raises(Forbidden):
        order_stand_down(order_id=other.pk, actor=world["responder"], reason="x")


def test_a_decline_settles_the_orders_alarm_in_the_timeline(world):
    incident = make_incident(world)
    late = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    sla_tick()
    order_decline(order_id=late.pk, actor=world["responder"], reason="车辆故障")
    alarm = Alarm.objects.get(order=late)
    assert alarm.state == Alarm.State.ACKNOWLEDGED and "车辆故障" in alarm.note
    (handled,) = IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.ALARM_HANDLED)
    assert handled.data["alarm"] == alarm.pk and handled.data["action"] == "settled"


def test_a_case_no_longer_on_site_raises_nothing_for_an_order_left_on_the_way(world):
    # Orders written before stand-down existed (the migration stands them down; here one is left):
    # the clock watches only cases still handled on site.
    for status in (Status.RESOLVED, Status.TRANSFERRED, Status.IN_PROGRESS, Status.FED_BACK):
        incident = make_incident(world, status=status)
        make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=5))
    assert sla_tick() == 0
    assert not Alarm.objects.exists()


# --- the ladder ------------------------------------------------------------------------------------

def test_the_ladder_goes_up_to_the_highest_ring_the_rules_define(world):
    top = escalation_max_level()
    assert top == max(ResponsibilityRule.objects.values_list("level", flat=True)) == 3
    incident = make_incident(world)
    for level in range(1, top + 1):
        assert incident_raise_level(incident_id=incident.pk, actor=world["dispatcher"]).level == level
    with pytest.raises(DomainError) as refused:
        incident_raise_level(incident_id=incident.pk, actor=world["dispatcher"])
    assert refused.value.http_status == 400
    # Switching off the top ring lowers the top: no level that adds nobody.
    ResponsibilityRule.objects.filter(level=3).update(active=False)
    assert escalation_max_level() == 2


def test_an_overdue_arrival_nobody_acknowledges_raises_the_level_once(world, settings):
    settings.SLA_ESCALATE_AFTER_MINUTES = 5
    incident = make_incident(world)
    make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    sla_tick(now=now)
    alarm = Alarm.objects.get(kind=Alarm.Kind.ARRIVAL_OVERDUE)
    assert alarm.escalate_after == now + timedelta(minutes=5)
    sla_tick(now=now + timedelta(minutes=4))
    assert Incident.objects.get(pk=incident.pk).level == 0
    sla_tick(now=now + timedelta(minutes=6))
    sla_tick(now=now + timedelta(minutes=30))
    incident.refresh_from_db()
    assert incident.level == 1
    (raised,) = IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.LEVEL_RAISED)
    assert raised.data["by_clock"] is True and raised.data["alarm"] == alarm.pk and raised.actor is None


def test_an_acknowledged_or_snoozed_alarm_raises_no_level(world, settings):
    settings.SLA_ESCALATE_AFTER_MINUTES = 5
    acknowledged, snoozed = make_incident(world), make_incident(world)
    for incident in (acknowledged, snoozed):
        make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    sla_tick(now=now)
    client = api_client(world["command"])
    a = Alarm.objects.get(incident=acknowledged)
    assert client.post(reverse("dispatch:alarm-acknowledge", args=[a.pk]), {"note": "已电话联系"},
                       format="json").status_code == 200
    s = Alarm.objects.get(incident=snoozed)
    assert client.post(reverse("dispatch:alarm-snooze", args=[s.pk]), {"minutes": 30},
                       format="json").status_code == 200
    sla_tick(now=now + timedelta(minutes=10))
    assert set(Incident.objects.filter(pk__in=[acknowledged.pk, snoozed.pk]).values_list("level", flat=True)) == {0}


def test_a_late_arrival_settles_the_alarm_and_raises_no_level(world, settings):
    settings.SLA_ESCALATE_AFTER_MINUTES = 5
    incident = make_incident(world)
    late = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    sla_tick(now=now)
    incident_transition(incident_id=incident.pk, action="arrive", actor=world["responder"])
    assert Alarm.objects.get(order=late).state == Alarm.State.ACKNOWLEDGED
    sla_tick(now=now + timedelta(minutes=10))
    assert Incident.objects.get(pk=incident.pk).level == 0
    late.refresh_from_db()
    assert late.state == DispatchOrder.State.ARRIVED and late.arrived_at > late.arrive_by  # the lateness stays


def test_the_clock_at_the_top_level_raises_nothing_more_and_says_so(world, settings):
    settings.SLA_ESCALATE_AFTER_MINUTES = 1
    incident = make_incident(world, level=3)
    make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    sla_tick(now=now)
    sla_tick(now=now + timedelta(minutes=2))
    assert Incident.objects.get(pk=incident.pk).level == 3
    assert IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.ALARM,
                                        data__escalation="at_top").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_clock_raises_the_level_exactly_once_across_a_restart():
    world = build_world()
    rules_seed()
    on_duty(world["member"])
    incident = make_incident(world)
    make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    sla_tick()
    # The alarm waited long enough unacknowledged: the next clock process raises the level.
    Alarm.objects.update(escalate_after=timezone.now() - timedelta(seconds=1))

    run_once("run_sla_clock", "ladder")
    run_once("run_sla_clock", "ladder")  # a restarted clock finds the mark and raises nothing more
    incident.refresh_from_db()
    assert incident.level == 1
    assert IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.LEVEL_RAISED).count() == 1
    assert Alarm.objects.get().escalated_at is not None


# --- replacements (on the demo: the recommendation needs its roads and rosters) ----------------------

ctx = test_recommend.ctx  # the demo's context (rules seeded, a call-taker and a dispatcher)


def _police_case_dispatched(ctx, at) -> tuple[Incident, list[DispatchOrder]]:
    """A public-order case with the proposed responders dispatched; its officers' orders."""
    incident = case(ctx, "public_order", place_point("residential_complex"))
    for member in Member.objects.filter(force=Force.POLICE).order_by("code")[:12]:
        put_on_duty_at(member, at)
    chosen = [Member.objects.get(pk=c.member_id) for c in recommend(incident, at=at).proposed]
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=chosen,
                        method=DispatchOrder.Method.RADIO, at=at)
    return incident, list(DispatchOrder.objects.filter(incident=incident, rule__code="police.officers").order_by("id"))


def test_a_decline_proposes_the_next_of_the_same_rule_and_one_click_sends_them(ctx):
    incident, orders = _police_case_dispatched(ctx, timezone.now())
    order = orders[0]
    order_decline(order_id=order.pk, actor=ctx["dispatcher"], reason="正在处置其他警情")
    (proposal,) = replacements(incident_id=incident.pk)
    candidate = proposal["candidate"]
    assert proposal["order"].pk == order.pk and proposal["same_rule"]
    assert candidate is not None and candidate.member_id != order.member_id
    assert order.rule in candidate.rules and candidate.available
    # The incident page's summary offers it; one click sends them.
    summary = api_client(ctx["dispatcher"]).get(reverse("dispatch:incident-dispatch", args=[incident.pk])).json()
    (offered,) = summary["replacements"]
    assert offered["candidate"]["id"] == candidate.member_id and offered["can_send"] is True
    sent = api_client(ctx["dispatcher"]).post(reverse("dispatch:order-replace", args=[order.pk]),
                                              {"member": candidate.member_id, "method": "phone"}, format="json")
    assert sent.status_code == 200, sent.content
    new = DispatchOrder.objects.get(pk=sent.json()["id"])
    assert new.replaces_id == order.pk and new.member_id == candidate.member_id and new.arrive_by is not None
    assert replacements(incident_id=incident.pk) == []  # proposed once
    again = api_client(ctx["dispatcher"]).post(reverse("dispatch:order-replace", args=[order.pk]),
                                               {"member": candidate.member_id}, format="json")
    assert again.status_code == 409
    # An order on time needs no replacement.
    assert api_client(ctx["dispatcher"]).post(
        reverse("dispatch:order-replace", args=[new.pk]), {"member": order.member_id}, format="json"
    ).status_code == 409
    # A responder sees no proposals (other members' names and travel times are not theirs to see).
    officer = Member.objects.get(pk=new.member_id)
    officer_user = make_user("officer", UserRole.RESPONDER, member=officer)
    seen = api_client(officer_user).get(reverse("dispatch:incident-dispatch", args=[incident.pk]))
    assert seen.status_code == 200 and seen.json()["replacements"] == []


def test_the_decliner_is_never_sent_back_by_a_replacement(ctx):
    incident, orders = _police_case_dispatched(ctx, timezone.now())
    order = orders[0]
    order_decline(order_id=order.pk, actor=ctx["dispatcher"], reason="正在押解嫌疑人途中")
    with pytest.raises(DomainError) as refused:
        order_replace(order_id=order.pk, member_id=order.member_id, actor=ctx["dispatcher"])
    assert refused.value.code == "members"
    assert DispatchOrder.objects.filter(incident=incident, member_id=order.member_id).count() == 1


def test_an_overdue_arrival_proposes_a_replacement_who_is_neither_late_nor_a_decliner(ctx):
    now = timezone.now()
    incident, orders = _police_case_dispatched(ctx, now)
    assert len(orders) >= 2
    declined, late = orders[0], orders[1]
    order_decline(order_id=declined.pk, actor=ctx["dispatcher"], reason="车辆故障")
    DispatchOrder.objects.filter(pk=late.pk).update(arrive_by=now - timedelta(minutes=1))
    sla_tick(now=now)
    proposals = {p["order"].pk: p for p in replacements(incident_id=incident.pk)}
    assert set(proposals) == {declined.pk, late.pk}
    picked = [p["candidate"].member_id for p in proposals.values()]
    assert len(set(picked)) == 2  # each proposed once
    assert not set(picked) & {declined.member_id, late.member_id}
    card = api_client(ctx["dispatcher"]).get(reverse("wall:incident", args=[ctx["sub"].code, incident.pk]))
    assert {p["order"] for p in card.json()["replacements"]} == {declined.pk, late.pk}


# --- orders sent by hand: the plan's deadline for the force and the hour ---------------------------

def _sent_by_hand(ctx, member: Member, at: datetime) -> DispatchOrder:
    incident = case(ctx, "help_request", place_point("residential_complex"))
    put_on_duty_at(member, at)
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=[member],
                        method="phone", at=at)
    return DispatchOrder.objects.get(incident=incident, member=member)


def test_manual_dispatch_deadlines_follow_the_plan(ctx, settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 10
    evening = AT.replace(hour=21, minute=31)
    officer = Member.objects.filter(force=Force.POLICE).order_by("code").first()
    leader = Member.objects.filter(force=Force.GRID_LEADER).order_by("code").first()
    office = Member.objects.filter(force=Force.URBAN_MANAGEMENT).order_by("code").first()
    assert _sent_by_hand(ctx, officer, AT).arrive_by == AT + timedelta(minutes=30)
    assert _sent_by_hand(ctx, office, AT).arrive_by == AT + timedelta(minutes=10)  # "at the first moment"
    late_leader = _sent_by_hand(ctx, leader, evening)
    assert late_leader.arrive_by is None  # after 21:30 the plan binds no grid leader to 30 minutes
    # No deadline: the clock never raises it.
    sla_tick(now=evening + timedelta(hours=3))
    assert not Alarm.objects.filter(order=late_leader).exists()
    assert Alarm.objects.filter(order__member=officer).count() == 1  # while the officer's 30 minutes did


def test_a_refused_replacement_changes_nothing(ctx):
    incident = case(ctx, "public_order", place_point("residential_complex"))
    officer = Member.objects.filter(force=Force.POLICE).order_by("code").first()
    put_on_duty_at(officer, timezone.now())
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=[officer],
                        method="phone")
    order = DispatchOrder.objects.get(incident=incident)
    with pytest.raises(TransitionRefused):  # on time: nothing to replace
        order_replace(order_id=order.pk, member_id=officer.pk, actor=ctx["dispatcher"])
    assert DispatchOrder.objects.filter(incident=incident).count() == 1
