"""Until acknowledged (issue 10): an order not accepted in time is sent again (+120 s), then sent
outbound (+300 s), then raised to the member's unit leaders on duty (+600 s) — each step once, by
the SLA clock, also across a restart of the clock process; the dispatcher sees who has not
confirmed ("N人未确认") and reminds them again in one tap, at most every REMIND_MIN_INTERVAL_SECONDS."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import TransitionRefused
from dispatch.models import DispatchOrder, MemberMessage
from dispatch.notify import message_read, messages_for_order_dispatched
from dispatch.services import order_accept, order_remind
from dispatch.sla import sla_tick
from incidents.models import IncidentEvent
from tests.dispatch.test_sla_clock import add_leaders, build_world, make_incident
from tests.factories import api_client
from tests.workers import run_once

Kind = MemberMessage.Kind


@pytest.fixture
def world(world, users, settings):
    """The shared world with test_sla_clock's leaders, the dispatcher and the member's login."""
    settings.NOTIFY_GRACE_SECONDS = 900  # the grace outlasts the ladder: step 2 makes a message due
    add_leaders(world)
    world.update(dispatcher=users.dispatcher, responder=users.responder)
    return world


def dispatch(world, member=None, *, at=None, state=DispatchOrder.State.DISPATCHED, **kw) -> DispatchOrder:
    """An order dispatched at `at` (now) with its message to the member, the arrival deadline far away."""
    at = at or timezone.now()
    with transaction.atomic():
        order = DispatchOrder.objects.create(
            incident=kw.pop("incident", None) or make_incident(world), member=member or world["member"],
            method=DispatchOrder.Method.APP, state=state, dispatched_at=at, arrive_by=at + timedelta(hours=2), **kw)
        messages_for_order_dispatched(order)
    return order


def step_events(order) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=order.incident, kind=IncidentEvent.Kind.NOTE,
                                             data__order=order.pk, data__has_key="confirm_step").order_by("id"))


def messages(order, **kw) -> list[MemberMessage]:
    return list(MemberMessage.objects.filter(order=order, **kw).order_by("id"))


def tick_twice(at) -> None:
    sla_tick(now=at)
    sla_tick(now=at)


# --- the clock's ladder ---------------------------------------------------------------------------

def test_an_unaccepted_order_is_sent_again_then_outbound_then_raised_each_step_once(world):
    t0 = timezone.now()
    order = dispatch(world, at=t0)
    (first,) = messages(order)
    sla_tick(now=t0 + timedelta(seconds=119))
    assert len(messages(order)) == 1 and step_events(order) == []

    # Step 1 (+120 s): the order is sent again to the member, once.
    tick_twice(t0 + timedelta(seconds=120))
    order.refresh_from_db()
    assert (order.confirm_step, order.confirm_step_at) == (1, t0 + timedelta(seconds=120))
    (resend,) = messages(order, kind=Kind.RESEND)
    assert resend.member_id == world["member"].pk and resend.step == 1 and resend.read_at is None
    assert resend.deliver_after == resend.created_at + timedelta(seconds=900)  # the app first
    sla_tick(now=t0 + timedelta(seconds=299))
    assert len(messages(order)) == 2 and [e.data["confirm_step"] for e in step_events(order)] == [1]

    # Step 2 (+300 s): the latest unread message goes outbound now; nothing new is written.
    tick_twice(t0 + timedelta(seconds=300))
    order.refresh_from_db()
    assert order.confirm_step == 2 and len(messages(order)) == 2
    resend.refresh_from_db()
    first.refresh_from_db()
    assert resend.deliver_after == resend.next_attempt_at == t0 + timedelta(seconds=300)
    assert first.deliver_after == first.created_at + timedelta(seconds=900)  # the older one is left as it was

    # Step 3 (+600 s): the unit leader on duty is told; the one off duty and the member are not.
    tick_twice(t0 + timedelta(seconds=600))
    order.refresh_from_db()
    assert order.confirm_step == 3
    (alarm,) = messages(order, kind=Kind.ALARM)
    assert alarm.member_id == world["leader_on"].pk and alarm.alarm_id is None and alarm.step == 3
    assert world["member"].name in alarm.body and order.incident.number in alarm.body
    events = step_events(order)
    assert [e.data["confirm_step"] for e in events] == [1, 2, 3]
    assert events[2].data["notified"] == [world["leader_on"].pk]
    assert events[2].data["skipped"] == [world["leader_off"].pk]
    assert world["leader_on"].name in events[2].note

    # Nothing more, however long the clock runs.
    tick_twice(t0 + timedelta(hours=1))
    assert len(messages(order)) == 3 and len(step_events(order)) == 3
    assert not MemberMessage.objects.filter(member__in=[world["leader_off"], world["shift_leader"]]).exists()


def test_a_member_who_read_everything_but_did_not_accept_gets_an_outbound_message(world):
    t0 = timezone.now()
    order = dispatch(world, at=t0)
    sla_tick(now=t0 + timedelta(seconds=120))
    for message in messages(order):
        message_read(world["member"], message.pk, at=t0 + timedelta(seconds=150))
    sla_tick(now=t0 + timedelta(seconds=300))
    (outbound,) = messages(order, kind=Kind.RESEND, step=2)
    assert outbound.read_at is None and outbound.deliver_after == t0 + timedelta(seconds=300)


def test_an_order_accepted_before_step_two_gets_nothing_more(world):
    t0 = timezone.now()
    order = dispatch(world, at=t0)
    sla_tick(now=t0 + timedelta(seconds=120))
    order_accept(order_id=order.pk, actor=world["responder"], at=t0 + timedelta(seconds=200))
    tick_twice(t0 + timedelta(seconds=300))
    tick_twice(t0 + timedelta(seconds=600))
    order.refresh_from_db()
    assert order.confirm_step == 1 and len(messages(order)) == 2 and len(step_events(order)) == 1


def test_finished_orders_are_never_reminded(world):
    t0 = timezone.now()
    now = t0 + timedelta(seconds=700)
    orders = [
        dispatch(world, at=t0, state=DispatchOrder.State.ACCEPTED, accepted_at=t0),
        dispatch(world, at=t0, state=DispatchOrder.State.DECLINED, declined_at=t0),
        dispatch(world, at=t0, state=DispatchOrder.State.ARRIVED, arrived_at=t0),
        dispatch(world, at=t0, state=DispatchOrder.State.STOOD_DOWN, stood_down_at=t0, stand_down_reason="不需要"),
    ]
    assert sla_tick(now=now) == 0
    assert all(len(messages(order)) == 1 and not step_events(order) for order in orders)


def test_a_clock_catching_up_takes_each_step_once_in_order(world):
    t0 = timezone.now()
    order = dispatch(world, at=t0)
    sla_tick(now=t0 + timedelta(seconds=700))
    order.refresh_from_db()
    assert order.confirm_step == 3
    assert [e.data["confirm_step"] for e in step_events(order)] == [1, 2, 3]
    assert len(messages(order, kind=Kind.RESEND)) == 1 and len(messages(order, kind=Kind.ALARM)) == 1


@pytest.mark.django_db(transaction=True)
def test_each_step_is_taken_once_across_a_restart_of_the_clock_process():
    world = build_world()
    order = dispatch(world, at=timezone.now() - timedelta(seconds=700))

    run_once("run_sla_clock", "confirm")
    run_once("run_sla_clock", "confirm")  # a restarted clock finds the marks and takes no step again
    order.refresh_from_db()
    assert order.confirm_step == 3
    assert [e.data["confirm_step"] for e in step_events(order)] == [1, 2, 3]
    assert len(messages(order, kind=Kind.RESEND)) == 1
    (alarm,) = messages(order, kind=Kind.ALARM)
    assert alarm.member_id == world["leader_on"].pk


# --- the dispatcher's "remind again" and the incident page's card ---------------------------------

def test_remind_again_dispatcher_only_at_most_every_few_minutes_and_only_while_unconfirmed(world):
    order = dispatch(world)
    url = reverse("dispatch:order-remind", args=[order.pk])
    assert api_client(world["responder"]).post(url, {}, format="json").status_code == 403
    answer = api_client(world["dispatcher"]).post(url, {}, format="json")
    assert answer.status_code == 200, answer.content
    (resend,) = messages(order, kind=Kind.RESEND)
    assert resend.member_id == world["member"].pk and resend.step == 1
    assert IncidentEvent.objects.filter(incident=order.incident, kind=IncidentEvent.Kind.NOTE,
                                        data__remind=True, data__order=order.pk).count() == 1
    again = api_client(world["dispatcher"]).post(url, {}, format="json")
    assert again.status_code == 429, again.content
    assert len(messages(order, kind=Kind.RESEND)) == 1
    # After the interval the member may be reminded again (the next step of the kind).
    order_remind(order_id=order.pk, actor=world["dispatcher"], at=timezone.now() + timedelta(seconds=181))
    assert [m.step for m in messages(order, kind=Kind.RESEND)] == [1, 2]
    order_accept(order_id=order.pk, actor=world["responder"])
    late = api_client(world["dispatcher"]).post(url, {}, format="json")
    assert late.status_code == 409, late.content
    with pytest.raises(TransitionRefused):
        order_remind(order_id=order.pk, actor=world["dispatcher"], at=timezone.now() + timedelta(hours=1))


def test_the_sla_card_counts_who_has_not_confirmed_and_offers_the_reminder(world):
    incident = make_incident(world)
    waiting = dispatch(world, incident=incident)
    dispatch(world, world["leader_on"], incident=incident, state=DispatchOrder.State.ACCEPTED,
             accepted_at=timezone.now())
    url = reverse("dispatch:incident-dispatch", args=[incident.pk])
    summary = api_client(world["dispatcher"]).get(url).json()
    assert summary["unconfirmed"] == 1
    remind = {o["id"]: o["can_remind"] for o in summary["orders"]}
    assert remind[waiting.pk] is True and list(remind.values()).count(True) == 1
    assert api_client(world["responder"]).get(url).json()["orders"][0]["can_remind"] is False
    api_client(world["dispatcher"]).post(reverse("dispatch:order-remind", args=[waiting.pk]), {}, format="json")
    summary = api_client(world["dispatcher"]).get(url).json()
    (order,) = [o for o in summary["orders"] if o["id"] == waiting.pk]
    assert order["can_remind"] is False and order["reminded_at"] is not None  # too soon for another
