"""Until acknowledged, for alarms (issue 10): an overdue-arrival alarm told to the late member's unit
leader and not acknowledged is sent to them again (+2 min), then sent outbound (+3 min), then raised
to the command room (+4 min) — each step once, by the SLA clock, also across a restart of the clock
process, each step's wait counted from the step before (a clock that was down, or a snooze that
ends, takes one step at a time, never all of them at once); the leader's acknowledgement (or the
command room's) stops it. And the level ladder reads "raised since" in its claim: two late members
of one case raise its level once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, DutyShift, MemberMessage
from dispatch.notify import message_read
from dispatch.rules_seed import rules_seed
from dispatch.services import alarm_acknowledge, alarm_acknowledge_by_leader, alarm_snooze
from dispatch.sla import sla_tick
from incidents.models import Incident, IncidentEvent
from tests.dispatch.test_sla_clock import (
    add_leaders,
    add_member,
    build_world,
    make_incident,
    make_order,
    on_duty,
)
from tests.factories import make_user
from tests.workers import run_once

Kind = MemberMessage.Kind


def ladder_settings(settings) -> None:
    settings.ALARM_ACK_RESEND_MINUTES = 2
    settings.ALARM_ACK_OUTBOUND_MINUTES = 3
    settings.ALARM_ACK_RAISE_MINUTES = 4
    settings.SLA_ESCALATE_AFTER_MINUTES = 30  # the level's own ladder stays out of the way
    settings.NOTIFY_GRACE_SECONDS = 900  # the grace outlasts the ladder: step 2 makes a message due


def late_world(world: dict | None = None) -> dict:
    """tests/dispatch/test_sla_clock.py's world (its leaders added to `world`, or built); the unit
    leader on duty uses the app; a command room login."""
    world = build_world() if world is None else add_leaders(world)
    world.update(leader_user=make_user("ul", UserRole.RESPONDER, member=world["leader_on"]),
                 command=make_user("cmd", UserRole.COMMAND_ROOM))
    return world


@pytest.fixture
def world(world, settings):
    ladder_settings(settings)
    return late_world(world)


def raise_alarm(world, at=None) -> Alarm:
    """An order overdue for a minute, raised by the clock at `at` (default now)."""
    at = at or timezone.now()
    order = make_order(world, make_incident(world), world["member"], arrive_by=at - timedelta(minutes=1))
    sla_tick(now=at)
    return Alarm.objects.get(order=order)


def step_events(alarm) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=alarm.incident, data__alarm=alarm.pk,
                                             data__has_key="alarm_step").order_by("id"))


def messages(alarm, **kw) -> list[MemberMessage]:
    return list(MemberMessage.objects.filter(alarm=alarm, **kw).order_by("id"))


def tick_twice(at) -> None:
    sla_tick(now=at)
    sla_tick(now=at)


def test_an_unacknowledged_alarm_is_sent_again_then_outbound_then_raised_each_step_once(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    assert alarm.notified == [world["leader_on"].pk]
    (first,) = messages(alarm)
    assert (first.member, first.kind, first.step) == (world["leader_on"], Kind.ALARM, 0)
    sla_tick(now=t0 + timedelta(seconds=119))
    assert len(messages(alarm)) == 1 and step_events(alarm) == []

    # Step 1 (+2 min): sent again to the unit leader on duty, in the app, once.
    tick_twice(t0 + timedelta(minutes=2))
    alarm.refresh_from_db()
    assert (alarm.ack_step, alarm.ack_step_at) == (1, t0 + timedelta(minutes=2))
    again = messages(alarm, step=1)
    assert [(m.member, m.kind, m.read_at) for m in again] == [(world["leader_on"], Kind.ALARM, None)]
    assert again[0].deliver_after == again[0].created_at + timedelta(seconds=900)  # the app first
    assert alarm.incident.number in again[0].title and world["member"].name in again[0].body

    # Step 2 (+3 min): the latest unread message goes outbound now; nothing new is written.
    tick_twice(t0 + timedelta(minutes=3))
    alarm.refresh_from_db()
    assert alarm.ack_step == 2 and len(messages(alarm)) == 2
    again[0].refresh_from_db()
    first.refresh_from_db()
    assert again[0].deliver_after == again[0].next_attempt_at == t0 + timedelta(minutes=3)
    assert first.deliver_after == first.created_at + timedelta(seconds=900)  # the older one is left as it was

    # Step 3 (+4 min): raised to the command room: an ALARM event naming the leader to phone.
    tick_twice(t0 + timedelta(minutes=4))
    alarm.refresh_from_db()
    assert alarm.ack_step == 3 and alarm.state == Alarm.State.OPEN
    events = step_events(alarm)
    assert [(e.kind, e.data["alarm_step"]) for e in events] == [
        (IncidentEvent.Kind.NOTE, 1), (IncidentEvent.Kind.NOTE, 2), (IncidentEvent.Kind.ALARM, 3)]
    assert events[0].data["notified"] == [world["leader_on"].pk] and events[0].data["by_clock"] is True
    assert events[2].data["escalation"] == "command_room" and events[2].data["leaders"] == [world["leader_on"].pk]
    assert world["leader_on"].name in events[2].note and world["member"].name in events[2].note

    # Nothing more, however long the clock runs; nobody else was messaged by the ladder.
    tick_twice(t0 + timedelta(hours=1))
    assert len(messages(alarm)) == 2 and len(step_events(alarm)) == 3
    assert not MemberMessage.objects.filter(member__in=[world["leader_off"], world["shift_leader"]]).exists()


def test_a_leader_who_read_everything_but_did_not_acknowledge_gets_an_outbound_message(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    sla_tick(now=t0 + timedelta(minutes=2))
    for message in messages(alarm):
        message_read(world["leader_on"], message.pk, at=t0 + timedelta(seconds=150))
    sla_tick(now=t0 + timedelta(minutes=3))
    (outbound,) = messages(alarm, step=2)
    assert outbound.member == world["leader_on"] and outbound.read_at is None
    assert outbound.deliver_after == t0 + timedelta(minutes=3)


def test_the_leaders_acknowledgement_stops_the_ladder(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    sla_tick(now=t0 + timedelta(minutes=2))
    alarm_acknowledge_by_leader(alarm_id=alarm.pk, actor=world["leader_user"], at=t0 + timedelta(seconds=150))
    tick_twice(t0 + timedelta(minutes=3))
    tick_twice(t0 + timedelta(minutes=10))
    alarm.refresh_from_db()
    assert alarm.ack_step == 1 and alarm.state == Alarm.State.ACKNOWLEDGED
    assert [e.data["alarm_step"] for e in step_events(alarm)] == [1] and len(messages(alarm)) == 2


def test_the_command_room_acknowledging_or_snoozing_stops_or_pauses_it(world):
    t0 = timezone.now()
    acknowledged, snoozed = raise_alarm(world, t0), raise_alarm(world, t0)
    alarm_acknowledge(alarm_id=acknowledged.pk, actor=world["command"], note="已电话联系")
    alarm_snooze(alarm_id=snoozed.pk, actor=world["command"], minutes=30)
    tick_twice(t0 + timedelta(minutes=10))
    assert Alarm.objects.filter(pk__in=[acknowledged.pk, snoozed.pk], ack_step=0).count() == 2
    assert step_events(acknowledged) == step_events(snoozed) == []


def steps_taken(alarm) -> list[int]:
    return [e.data["alarm_step"] for e in step_events(alarm)]


def test_a_clock_that_was_down_takes_one_step_per_wait_not_all_at_once(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    back = t0 + timedelta(minutes=10)  # the clock was down for ten minutes: all three steps are overdue
    tick_twice(back)
    alarm.refresh_from_db()
    assert (alarm.ack_step, alarm.ack_step_at) == (1, back) and steps_taken(alarm) == [1]
    tick_twice(back + timedelta(seconds=59))  # the next step waits its own minute from this one
    assert steps_taken(alarm) == [1]
    tick_twice(back + timedelta(minutes=1))
    assert steps_taken(alarm) == [1, 2]
    tick_twice(back + timedelta(minutes=2))
    assert steps_taken(alarm) == [1, 2, 3]
    assert len(messages(alarm, step=1)) == 1


def test_after_a_snooze_the_ladder_starts_again_from_the_reopening(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    sla_tick(now=t0 + timedelta(minutes=2))
    assert steps_taken(alarm) == [1]
    alarm_snooze(alarm_id=alarm.pk, actor=world["command"], minutes=30, at=t0 + timedelta(minutes=2, seconds=30))
    reopened = t0 + timedelta(minutes=33)
    tick_twice(reopened)  # open again; steps 2 and 3 fell in the snooze: neither is taken at once
    alarm.refresh_from_db()
    assert (alarm.state, alarm.ack_step, alarm.ack_step_at) == (Alarm.State.OPEN, 1, reopened)
    assert steps_taken(alarm) == [1]
    tick_twice(reopened + timedelta(minutes=1))  # step 2 one minute (3 − 2) after the reopening
    assert steps_taken(alarm) == [1, 2]
    tick_twice(reopened + timedelta(minutes=1, seconds=59))
    assert steps_taken(alarm) == [1, 2]
    tick_twice(reopened + timedelta(minutes=2))  # step 3 a minute (4 − 3) after step 2
    assert steps_taken(alarm) == [1, 2, 3]


def test_an_alarm_snoozed_before_its_first_step_waits_the_first_step_from_the_reopening(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    alarm_snooze(alarm_id=alarm.pk, actor=world["command"], minutes=10, at=t0)
    reopened = t0 + timedelta(minutes=10)
    tick_twice(reopened)
    tick_twice(reopened + timedelta(seconds=119))
    assert steps_taken(alarm) == []
    tick_twice(reopened + timedelta(minutes=2))
    assert steps_taken(alarm) == [1]


def test_an_alarm_told_to_no_leader_has_nobody_to_chase(world):
    DutyShift.objects.filter(member__in=[world["leader_on"], world["shift_leader"]]).delete()
    on_duty(world["member"])  # the late member is reminded: they acknowledge nothing
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    assert alarm.notified == [world["member"].pk]
    sla_tick(now=t0 + timedelta(minutes=10))
    alarm.refresh_from_db()
    assert alarm.ack_step == 3 and step_events(alarm) == [] and len(messages(alarm)) == 1


def test_a_leader_gone_off_duty_is_not_messaged_and_the_timeline_says_so(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    DutyShift.objects.filter(member=world["leader_on"]).delete()
    sla_tick(now=t0 + timedelta(minutes=2))
    (event,) = step_events(alarm)
    assert event.data["notified"] == [] and event.data["skipped"] == [world["leader_on"].pk]
    assert "请电话联系" in event.note  # written in the forces' language (LANGUAGE_CODE)
    assert len(messages(alarm)) == 1


def test_an_arrival_ends_the_ladder(world):
    t0 = timezone.now()
    alarm = raise_alarm(world, t0)
    DispatchOrder.objects.filter(pk=alarm.order_id).update(state=DispatchOrder.State.ARRIVED, arrived_at=t0)
    sla_tick(now=t0 + timedelta(minutes=10))
    alarm.refresh_from_db()
    assert alarm.ack_step == 0 and step_events(alarm) == []


@pytest.mark.django_db(transaction=True)
def test_each_step_is_taken_once_across_a_restart_of_the_clock_process(settings):
    ladder_settings(settings)
    world = late_world()
    alarm = raise_alarm(world, timezone.now() - timedelta(minutes=10))
    run_once("run_sla_clock", "alarm-ladder")
    run_once("run_sla_clock", "alarm-ladder")  # a restarted clock finds the marks and takes no step again
    alarm.refresh_from_db()
    assert alarm.ack_step == 1 and steps_taken(alarm) == [1]
    assert len(messages(alarm, step=1)) == 1 and messages(alarm, step=1)[0].member == world["leader_on"]
    # Its wait over (the step taken a minute ago), the next clock takes step 2, and only once.
    Alarm.objects.filter(pk=alarm.pk).update(ack_step_at=alarm.ack_step_at - timedelta(minutes=1))
    run_once("run_sla_clock", "alarm-ladder")
    run_once("run_sla_clock", "alarm-ladder")
    assert steps_taken(alarm) == [1, 2]


# --- the level's ladder: "raised since" read in the claim ---------------------------------------------

def test_two_late_members_of_one_case_raise_its_level_once(db, settings):
    settings.SLA_ESCALATE_AFTER_MINUTES = 5
    world = build_world()
    rules_seed()
    incident = make_incident(world)
    other = add_member(world, "T1-M8", "队员八")
    past = timezone.now() - timedelta(minutes=1)
    make_order(world, incident, world["member"], arrive_by=past)
    make_order(world, incident, other, arrive_by=past)
    now = timezone.now()
    sla_tick(now=now)
    assert Alarm.objects.filter(incident=incident).count() == 2
    sla_tick(now=now + timedelta(minutes=6))
    assert Incident.objects.get(pk=incident.pk).level == 1
    assert IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.LEVEL_RAISED).count() == 1
    assert not Alarm.objects.filter(incident=incident, escalated_at__isnull=True).exists()  # both marked
