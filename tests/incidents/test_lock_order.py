"""The one lock order (incidents/locks.py) under real concurrency: the conflicting pairs of services
run at once, each in its own thread, connection and transaction, and none ends in "deadlock
detected"; each either succeeds or is refused with a domain error, and no change is lost.

The interleaving is forced, not hoped for: a connection of the test's own holds the contested
incident row; the first operation starts and waits for it, the second starts and runs until it
waits too (or ends); then the row is let go, and the first one takes it. Each pair runs with the
duplicate newer and older than its target, and with either operation first.
"""

import itertools
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from config.errors import DomainError
from dispatch.models import Alarm, DispatchOrder
from dispatch.rules_seed import rules_seed
from dispatch.services import alarm_acknowledge, incident_merge, incident_transition, order_accept
from dispatch.sla import sla_tick
from incidents.models import Incident, IncidentEvent, Status
from tests.factories import S, W, own_connection

pytestmark = pytest.mark.django_db(transaction=True)

SCENE = Point(W + 0.004, S + 0.004, srid=4326)
# Rounds per pair: a forced interleaving is the same every time, so each variant once; the SLA
# clock cannot be held (it skips what is locked), so its pairs run more rounds of a plain race.
ROUNDS_FORCED, ROUNDS_RACED = 4, 8
WAIT_S = 10  # how long a step may wait for the other side (never reached unless something hangs)
_numbers = itertools.count(1)


# --- forcing the interleaving ---------------------------------------------------------------------

class Side(threading.Thread):
    """One operation in a thread of its own: its own connection (closed at the end) and transaction."""

    def __init__(self, name: str, op: Callable[[], object]):
        super().__init__(name=name, daemon=True)
        self.op, self.pid, self.result, self.error = op, None, None, None
        self.connected, self.go = threading.Event(), threading.Event()

    def run(self):
        try:
            connection.ensure_connection()
            self.pid = connection.connection.info.backend_pid
            self.connected.set()
            self.go.wait(WAIT_S)
            self.result = self.op()
        except BaseException as exc:  # noqa: BLE001 - asserted by the test
            self.error = exc
        finally:
            self.connected.set()
            connection.close()


def _start_and_wait_until_blocked(side: Side, watch) -> None:
    """Start `side` and return once its session waits for a lock (or it has ended)."""
    side.start()
    assert side.connected.wait(WAIT_S)
    side.go.set()
    deadline = time.monotonic() + WAIT_S
    with watch.cursor() as cur:
        while side.is_alive() and time.monotonic() < deadline:
            cur.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event IN ('tuple', 'transactionid')", [side.pid])
            if cur.fetchone():
                return
            time.sleep(0.002)


def race(first: Callable[[], object], second: Callable[[], object], *, contested: int | None) -> tuple[Side, Side]:
    """Run both operations at once. With `contested`, the interleaving is forced: the test holds
    that incident row while `first`, then `second`, start and run until they wait; then lets it go.
    Without, both start together (the SLA clock never waits for a lock, so it cannot be held)."""
    a, b = Side("first", first), Side("second", second)
    watch = own_connection()
    try:
        if contested is None:
            for side in (a, b):
                side.start()
                assert side.connected.wait(WAIT_S)
            a.go.set()
            b.go.set()
        else:
            gate = own_connection()
            gate.autocommit = False
            try:
                with gate.cursor() as cur:
                    cur.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [contested])
                _start_and_wait_until_blocked(a, watch)
                _start_and_wait_until_blocked(b, watch)
            finally:
                gate.rollback()
                gate.close()
        for side in (a, b):
            side.join(WAIT_S * 2)
            assert not side.is_alive(), f"{side.name} operation still running"
    finally:
        watch.close()
    for side in (a, b):
        # A deadlock, or anything else but a domain error (a clean refusal), fails the test.
        assert side.error is None or isinstance(side.error, DomainError), f"{side.name}: {side.error!r}"
    return a, b


# --- the world ------------------------------------------------------------------------------------

@pytest.fixture
def world(world, users):
    world["command"] = users.command_room
    return world


def case(world, *, status=Status.DISPATCHED) -> Incident:
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=f"L-{next(_numbers):06d}", channel=world["channel"],
        category=world["category"], status=status, description="测试警情", location=SCENE,
        grid=world["grids"][0], reported_at=timezone.now() - timedelta(minutes=40))


def order(world, incident: Incident, *, arrive_by=None) -> DispatchOrder:
    now = timezone.now()
    return DispatchOrder.objects.create(
        incident=incident, member=world["member"], method=DispatchOrder.Method.RADIO, confirm_step=3,
        dispatched_at=now - timedelta(minutes=35), arrive_by=arrive_by or now + timedelta(minutes=30))


def pair(world, dup_newer: bool) -> tuple[Incident, Incident]:
    """(duplicate, target): the duplicate is the newer case (the usual merge) or the older one."""
    older, newer = case(world), case(world)
    return (newer, older) if dup_newer else (older, newer)


def variants(rounds: int = ROUNDS_FORCED):
    """(the duplicate is newer, the merge goes first) for each round."""
    return [(bool(i & 1), bool(i & 2)) for i in range(rounds)]


def ordered(merge_first: bool, merge, other):
    return (merge, other) if merge_first else (other, merge)


def events(incident: Incident, kind: str) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, kind=kind))


# --- the pairs (a transactional test costs seconds of flushing: they share two tests) ------------

def merge_while_the_duplicate_is_changed(world):
    """The issue's example: a note on the duplicate while it is merged. Both happen, in either order;
    a note after the merge is refused (the case is merged)."""
    for dup_newer, merge_first in variants():
        dup, into = pair(world, dup_newer)
        merge = partial(incident_merge, incident_id=dup.pk, into_id=into.pk, actor=world["command"])
        note = partial(incident_transition, incident_id=dup.pk, action="note", actor=world["command"],
                       text="现场补充")
        first, second = race(*ordered(merge_first, merge, note), contested=dup.pk)
        merged, noted = (first, second) if merge_first else (second, first)
        assert merged.error is None
        dup.refresh_from_db()
        assert dup.status == Status.MERGED and dup.merged_into_id == into.pk
        assert len(events(dup, IncidentEvent.Kind.NOTE)) == (1 if noted.error is None else 0)
        if noted.error is not None:  # refused only because the merge came first
            assert merge_first and noted.error.http_status == 409


def merge_while_the_target_is_changed(world):
    for dup_newer, merge_first in variants():
        dup, into = pair(world, dup_newer)
        merge = partial(incident_merge, incident_id=dup.pk, into_id=into.pk, actor=world["command"])
        note = partial(incident_transition, incident_id=into.pk, action="note", actor=world["command"],
                       text="目标案件补充")
        first, second = race(*ordered(merge_first, merge, note), contested=into.pk)
        assert first.error is None and second.error is None
        dup.refresh_from_db()
        assert dup.status == Status.MERGED
        assert len(events(into, IncidentEvent.Kind.NOTE)) == 1
        assert len(events(into, IncidentEvent.Kind.REPORT_LINKED)) == 1


def merge_while_an_order_of_the_duplicate_is_accepted(world):
    """The member accepts just as the case is merged: accepted and then stood down, or refused
    because it was stood down already; never lost, never a deadlock."""
    for dup_newer, merge_first in variants():
        dup, into = pair(world, dup_newer)
        sent = order(world, dup)
        merge = partial(incident_merge, incident_id=dup.pk, into_id=into.pk, actor=world["command"])
        accept = partial(order_accept, order_id=sent.pk, actor=world["command"])
        first, second = race(*ordered(merge_first, merge, accept), contested=dup.pk)
        merged, accepted = (first, second) if merge_first else (second, first)
        assert merged.error is None
        sent.refresh_from_db()
        assert sent.state == DispatchOrder.State.STOOD_DOWN
        assert (sent.accepted_at is not None) == (accepted.error is None)
        assert len(events(dup, IncidentEvent.Kind.ORDER_ACCEPTED)) == (1 if accepted.error is None else 0)
        if accepted.error is not None:
            assert merge_first and accepted.error.http_status == 409


def two_merges_of_the_same_pair_in_opposite_directions(world):
    """A into B and B into A at once: exactly one happens, the other is refused."""
    for dup_newer, a_first in variants():
        a, b = pair(world, dup_newer)
        a_into_b = partial(incident_merge, incident_id=a.pk, into_id=b.pk, actor=world["command"])
        b_into_a = partial(incident_merge, incident_id=b.pk, into_id=a.pk, actor=world["command"])
        first, second = race(*ordered(a_first, a_into_b, b_into_a), contested=min(a.pk, b.pk))
        assert first.error is None and second.error is not None and second.error.http_status == 409
        statuses = sorted(Incident.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
        assert statuses == sorted([Status.MERGED, Status.DISPATCHED])


def an_order_accepted_while_the_case_is_closed_as_invalid(world):
    """The dispatcher closes the case (every order on the way stood down) as its member accepts."""
    for _newer, cancel_first in variants():
        incident = case(world)
        sent = order(world, incident)
        cancel = partial(incident_transition, incident_id=incident.pk, action="cancel",
                         actor=world["command"], text="重复报警")
        accept = partial(order_accept, order_id=sent.pk, actor=world["command"])
        first, second = race(*ordered(cancel_first, cancel, accept), contested=incident.pk)
        cancelled, accepted = (first, second) if cancel_first else (second, first)
        assert cancelled.error is None
        sent.refresh_from_db()
        incident.refresh_from_db()
        assert incident.status == Status.CLOSED and sent.state == DispatchOrder.State.STOOD_DOWN
        assert (sent.accepted_at is not None) == (accepted.error is None)
        if accepted.error is not None:
            assert cancel_first and accepted.error.http_status == 409


def an_alarm_acknowledged_while_the_sla_clock_ticks(world):
    """The command room acknowledges an overdue alarm as the clock would escalate it and chase its
    leaders: the acknowledgement always lands; the clock took its steps before it, or none."""
    rules_seed()  # the ladder's rings: the clock may raise the level
    for _newer, held in variants(ROUNDS_RACED):
        incident = case(world)
        order(world, incident, arrive_by=timezone.now() - timedelta(minutes=1))
        sla_tick()
        alarm = Alarm.objects.get(incident=incident)
        long_ago = timezone.now() - timedelta(hours=1)
        Alarm.objects.filter(pk=alarm.pk).update(escalate_after=long_ago, ack_step_at=long_ago)
        ack = partial(alarm_acknowledge, alarm_id=alarm.pk, actor=world["command"], note="已电话联系")
        first, second = race(ack, sla_tick, contested=incident.pk if held else None)
        assert first.error is None and second.error is None
        alarm.refresh_from_db()
        incident.refresh_from_db()
        assert alarm.state == Alarm.State.ACKNOWLEDGED
        # Escalated only before it was acknowledged: the raise is in the timeline before the handling.
        handled = events(incident, IncidentEvent.Kind.ALARM_HANDLED)[0]
        raises = events(incident, IncidentEvent.Kind.LEVEL_RAISED)
        assert (alarm.escalated_at is not None) == bool(raises) == (incident.level == 1)
        assert all(r.pk < handled.pk for r in raises)


def merge_while_the_sla_clock_raises_an_alarm_on_the_duplicate(world):
    """The clock claims the duplicate's overdue order (with its case) as the case is merged: the
    clock never waits for a lock, so whichever is first, both end cleanly."""
    for dup_newer, merge_first in variants(ROUNDS_RACED):
        dup, into = pair(world, dup_newer)
        sent = order(world, dup, arrive_by=timezone.now() - timedelta(minutes=1))
        merge = partial(incident_merge, incident_id=dup.pk, into_id=into.pk, actor=world["command"])
        first, second = race(*ordered(merge_first, merge, sla_tick), contested=None)
        merged = first if merge_first else second
        assert merged.error is None
        sent.refresh_from_db()
        assert sent.state == DispatchOrder.State.STOOD_DOWN
        # The alarm, if the clock came first, is settled by the stand-down.
        assert not Alarm.objects.filter(order=sent).exclude(state=Alarm.State.ACKNOWLEDGED).exists()


FORCED = (merge_while_the_duplicate_is_changed, merge_while_the_target_is_changed,
          merge_while_an_order_of_the_duplicate_is_accepted, two_merges_of_the_same_pair_in_opposite_directions,
          an_order_accepted_while_the_case_is_closed_as_invalid)
RACED = (an_alarm_acknowledged_while_the_sla_clock_ticks, merge_while_the_sla_clock_raises_an_alarm_on_the_duplicate)


@pytest.mark.parametrize("pairs", [FORCED, RACED], ids=["services_forced", "sla_clock_raced"])
def test_conflicting_pairs_neither_deadlock_nor_lose_a_change(world, pairs):
    for run in pairs:
        run(world)
