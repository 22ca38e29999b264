"""The SLA clock (dispatch/sla.py, `manage.py run_sla_clock`): every passed deadline raises exactly
one alarm, told to the right people on duty; the command room acknowledges or snoozes it; and a
clock killed mid-run, or two clocks at once, neither lose nor duplicate an escalation (real
worker processes against the test database)."""

import itertools
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from config.errors import Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, DutyShift, Force, Member, Role, Unit
from dispatch.services import alarm_acknowledge, alarm_snooze
from dispatch.sla import sla_tick
from incidents.models import Handover, Incident, IncidentEvent, Status
from tests.factories import S, W, add_member, api_client, make_user, make_world, own_connection
from tests.workers import Worker

REPO = Path(__file__).resolve().parents[2]
SCENE = Point(W + 0.004, S + 0.004, srid=4326)


# --- a small world --------------------------------------------------------------------------------

def on_duty(member: Member, now=None) -> None:
    now = now or timezone.now()
    DutyShift.objects.create(member=member, starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=6))


def add_leaders(world: dict) -> dict:
    """To the world's grid squad and its late member: a unit leader on duty and one off duty, a shift
    leader; the leading group with a principal leader on duty and a responsible leader off duty."""
    sub = world["subdistrict"]
    lead = Unit.objects.create(subdistrict=sub, code="T1-LD", name="领导小组", kind=Unit.Kind.LEADERSHIP)
    world.update(
        leader_on=add_member(world, "T1-UL1", "班长甲", roles=[Role.UNIT_LEADER]),
        leader_off=add_member(world, "T1-UL2", "班长乙", roles=[Role.UNIT_LEADER]),
        shift_leader=add_member(world, "T1-SL", "值班长", roles=[Role.SHIFT_LEADER]),
        principal=add_member(world, "T1-P", "书记", roles=[Role.PRINCIPAL_LEADER], unit=lead, force=Force.OFFICE_STAFF),
        responsible=add_member(world, "T1-R", "副主任", roles=[Role.RESPONSIBLE_LEADER], unit=lead,
                               force=Force.OFFICE_STAFF),
    )
    for key in ("leader_on", "shift_leader", "principal"):
        on_duty(world[key])
    return world


def build_world() -> dict:
    """tests.factories.make_world with add_leaders, for modules that build it themselves (the shared
    `world` fixture is this module's `world` with them)."""
    return add_leaders(make_world())


_numbers = itertools.count(1)


def make_incident(world, *, major=False, status=Status.DISPATCHED, **kw) -> Incident:
    now = timezone.now()
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=f"T-{next(_numbers):05d}", channel=world["channel"],
        category=world["category"], status=status, major=major, description="测试警情", location=SCENE,
        grid=world["grids"][0], reported_at=now - timedelta(minutes=40), **kw)


def make_order(world, incident, member, *, arrive_by, state=DispatchOrder.State.DISPATCHED, **kw) -> DispatchOrder:
    # Dispatched 35 minutes ago: its confirmation ladder (sent again, outbound, unit leaders) is
    # taken as done, so that these tests see the arrival deadline alone; the ladder has its own
    # tests (tests/dispatch/test_order_confirmation.py), which pass confirm_step=0.
    kw.setdefault("confirm_step", 3)
    return DispatchOrder.objects.create(
        incident=incident, member=member, method=DispatchOrder.Method.RADIO, state=state,
        dispatched_at=timezone.now() - timedelta(minutes=35), arrive_by=arrive_by, **kw)


def alarm_events(incident) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.ALARM).order_by("id"))


@pytest.fixture
def world(world):
    """The shared world with add_leaders."""
    return add_leaders(world)


# --- raising, in process --------------------------------------------------------------------------

def test_an_overdue_order_raises_exactly_one_alarm_to_the_unit_leader_on_duty(world):
    incident = make_incident(world)
    order = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    assert sla_tick() == 1
    assert sla_tick() == 0  # the next look finds nothing left to raise
    (alarm,) = Alarm.objects.all()
    assert (alarm.kind, alarm.state, alarm.order, alarm.incident) == (Alarm.Kind.ARRIVAL_OVERDUE, "open", order,
                                                                      incident)
    assert alarm.due_at == order.arrive_by
    # The unit leader on duty is told; the one off duty is not (and is named as skipped); the late
    # member, off duty and not explicitly chosen, is not reminded either.
    assert alarm.notified == [world["leader_on"].pk]
    order.refresh_from_db()
    assert order.overdue_escalated_at == alarm.raised_at
    (event,) = alarm_events(incident)
    assert event.data["alarm"] == alarm.pk and event.data["notified"] == [world["leader_on"].pk]
    assert set(event.data["skipped"]) == {world["leader_off"].pk, world["member"].pk}
    assert world["member"].name in event.note


def test_the_late_member_is_reminded_when_on_duty_or_chosen_off_duty(world):
    on_duty(world["member"])
    off = add_member(world, "T1-M9", "休班队员")
    first, second = make_incident(world), make_incident(world)
    past = timezone.now() - timedelta(minutes=1)
    make_order(world, first, world["member"], arrive_by=past)
    make_order(world, second, off, arrive_by=past, off_duty_override=True)
    sla_tick()
    told = {a.order.member_id: a.notified for a in Alarm.objects.select_related("order")}
    assert told[world["member"].pk] == [world["leader_on"].pk, world["member"].pk]
    assert told[off.pk] == [world["leader_on"].pk, off.pk]


def test_without_a_unit_leader_on_duty_the_shift_leader_is_told(world):
    DutyShift.objects.filter(member=world["leader_on"]).delete()
    make_order(world, make_incident(world), world["member"], arrive_by=timezone.now() - timedelta(seconds=1))
    sla_tick()
    assert Alarm.objects.get().notified == [world["shift_leader"].pk]


def test_nothing_is_raised_before_the_deadline_or_for_finished_orders(world):
    now = timezone.now()
    incident = make_incident(world)
    make_order(world, incident, world["member"], arrive_by=now + timedelta(minutes=5))
    late = add_member(world, "T1-M5", "队员五")
    make_order(world, incident, late, arrive_by=now - timedelta(minutes=5), state=DispatchOrder.State.ARRIVED,
               arrived_at=now)
    declined = add_member(world, "T1-M6", "队员六")
    make_order(world, incident, declined, arrive_by=now - timedelta(minutes=5), state=DispatchOrder.State.DECLINED,
               declined_at=now, decline_reason="请假")
    no_deadline = add_member(world, "T1-M7", "队员七")
    make_order(world, incident, no_deadline, arrive_by=None)
    closed = make_incident(world, status=Status.CLOSED, closed_at=now)
    make_order(world, closed, world["member"], arrive_by=now - timedelta(minutes=5))
    assert sla_tick() == 0 and not Alarm.objects.exists()
    # The first order's deadline passes: now it is raised.
    assert sla_tick(now=now + timedelta(minutes=6)) == 1
    assert Alarm.objects.get().order.member == world["member"]


def test_an_existing_alarm_is_never_raised_twice(world):
    """The unique constraint is the last word: even if the order's mark were lost, the clock
    marks it again without a second alarm or event."""
    incident = make_incident(world)
    order = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    sla_tick()
    DispatchOrder.objects.filter(pk=order.pk).update(overdue_escalated_at=None)
    assert sla_tick() == 1  # claimed again ...
    assert Alarm.objects.count() == 1 and len(alarm_events(incident)) == 1  # ... but not raised again
    assert DispatchOrder.objects.get(pk=order.pk).overdue_escalated_at is not None


def test_a_major_incident_tells_both_leaders_at_once_whatever_their_shift(world):
    # The plan: the principal and responsible leaders go to a major incident at once. The
    # responsible leader is off duty in this world, and is told all the same.
    incident = make_incident(world, major=True, status=Status.NEW)
    make_incident(world, major=False, status=Status.NEW)
    assert sla_tick() == 1
    sla_tick()
    (alarm,) = Alarm.objects.all()
    assert (alarm.kind, alarm.incident, alarm.order) == (Alarm.Kind.MAJOR_INCIDENT, incident, None)
    assert sorted(alarm.notified) == sorted([world["principal"].pk, world["responsible"].pk])
    incident.refresh_from_db()
    assert incident.major_notified_at == alarm.raised_at
    (event,) = alarm_events(incident)
    assert event.data["skipped"] == []
    assert world["principal"].name in event.note and world["responsible"].name in event.note


def test_a_major_incident_with_both_leaders_off_duty_tells_both(world):
    DutyShift.objects.filter(member__in=[world["principal"], world["responsible"]]).delete()
    incident = make_incident(world, major=True)
    sla_tick()
    assert sorted(Alarm.objects.get().notified) == sorted([world["principal"].pk, world["responsible"].pk])
    (event,) = alarm_events(incident)
    assert sorted(event.data["notified_names"]) == sorted([world["principal"].name, world["responsible"].name])


def test_nobody_on_duty_still_raises_the_alarm_and_says_so(world):
    late = add_member(world, "T1-LATE", "迟到者")  # off duty, as are the unit leaders here
    DutyShift.objects.filter(member__in=[world["leader_on"], world["shift_leader"]]).delete()
    incident = make_incident(world)
    make_order(world, incident, late, arrive_by=timezone.now() - timedelta(minutes=1))
    sla_tick()
    assert Alarm.objects.get().notified == []
    (event,) = alarm_events(incident)
    assert event.data["notified"] == [] and world["leader_off"].pk in event.data["skipped"]
    assert "phone them" in event.note or "电话" in event.note


def test_overdue_handovers_raise_one_alarm_each_per_deadline(world):
    """A hand-over still pending past `accept_by` and an accepted part past its `deadline` each
    raise their own alarm once, told to the receiving unit's leader on duty; a part completed in
    time, or not yet due, raises nothing."""
    now = timezone.now()
    incident = make_incident(world, status=Status.IN_PROGRESS)
    hours = timedelta(hours=1)
    pending = Handover.objects.create(
        incident=incident, unit=world["unit"], kind=Handover.Kind.TRANSFER, reason="移交",
        accept_by=now - hours, deadline=now + 24 * hours, created_at=now - 3 * hours)
    accepted = Handover.objects.create(
        incident=incident, unit=world["unit"], kind=Handover.Kind.ASSIGNMENT, reason="交办",
        state=Handover.State.ACCEPTED, accept_by=now - 2 * hours, deadline=now - hours, created_at=now - 3 * hours)
    Handover.objects.create(  # completed in time: its passed deadline raises nothing
        incident=incident, unit=world["unit"], kind=Handover.Kind.ASSIGNMENT, reason="交办",
        state=Handover.State.COMPLETED, completed_at=now - 2 * hours, result="已办结",
        accept_by=now - 2 * hours, deadline=now - hours, created_at=now - 3 * hours)
    assert sla_tick() == 2 and sla_tick() == 0
    alarms = {a.kind: a for a in Alarm.objects.all()}
    assert set(alarms) == {Alarm.Kind.HANDOVER_ACCEPT_OVERDUE, Alarm.Kind.HANDOVER_REPORT_OVERDUE}
    assert alarms[Alarm.Kind.HANDOVER_ACCEPT_OVERDUE].handover == pending
    assert alarms[Alarm.Kind.HANDOVER_REPORT_OVERDUE].handover == accepted
    assert all(a.notified == [world["leader_on"].pk] and a.order is None for a in alarms.values())
    pending.refresh_from_db()
    accepted.refresh_from_db()
    assert pending.accept_escalated_at is not None and pending.report_escalated_at is None
    assert accepted.report_escalated_at is not None and accepted.accept_escalated_at is None


# --- acknowledge and snooze -----------------------------------------------------------------------

@pytest.fixture
def alarm(world, users):
    world.update(command=users.command_room, dispatcher=users.dispatcher)
    world["incident"] = make_incident(world)
    make_order(world, world["incident"], world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    sla_tick()
    return Alarm.objects.get()


def test_acknowledge_with_a_note(world, alarm):
    with pytest.raises(Forbidden):
        alarm_acknowledge(alarm_id=alarm.pk, actor=make_user("resp", UserRole.RESPONDER), note="看到了")
    acknowledged = alarm_acknowledge(alarm_id=alarm.pk, actor=world["command"], note="已电话联系,十分钟到")
    assert acknowledged.state == Alarm.State.ACKNOWLEDGED and acknowledged.acknowledged_by == world["command"]
    assert acknowledged.note == "已电话联系,十分钟到"
    with pytest.raises(TransitionRefused):
        alarm_acknowledge(alarm_id=alarm.pk, actor=world["command"], note="again")
    with pytest.raises(TransitionRefused):
        alarm_snooze(alarm_id=alarm.pk, actor=world["command"], minutes=5)
    (event,) = IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ALARM_HANDLED)
    assert event.data["action"] == "acknowledged" and event.data["reason"] == "已电话联系,十分钟到"
    assert event.note.endswith("已电话联系,十分钟到")


def test_snooze_and_reopen_after_the_snooze(world, alarm):
    snoozed = alarm_snooze(alarm_id=alarm.pk, actor=world["dispatcher"], minutes=10)
    assert snoozed.state == Alarm.State.SNOOZED
    assert snoozed.snoozed_until - timezone.now() == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=5))
    assert sla_tick() == 0  # still snoozed
    assert sla_tick(now=timezone.now() + timedelta(minutes=11)) == 1
    alarm.refresh_from_db()
    assert alarm.state == Alarm.State.OPEN and alarm.snoozed_until is None
    reopened = alarm_events(world["incident"])[-1]
    assert reopened.data["reopened"] is True and reopened.data["alarm"] == alarm.pk
    handled = IncidentEvent.objects.get(kind=IncidentEvent.Kind.ALARM_HANDLED)
    assert handled.data["action"] == "snoozed" and handled.data["minutes"] == 10
    # Acknowledged after all: done for good.
    alarm_acknowledge(alarm_id=alarm.pk, actor=world["command"], note="已到场")
    assert sla_tick(now=timezone.now() + timedelta(hours=1)) == 0


def test_alarm_api(world, alarm):
    leader_user = make_user("ul", UserRole.RESPONDER, member=world["leader_on"])
    other_user = make_user("ul2", UserRole.RESPONDER, member=world["leader_off"])
    url = reverse("dispatch:alarms")
    sub = {"subdistrict": world["subdistrict"].code}
    listed = api_client(world["command"]).get(url, {**sub, "state": "open"})
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()
    assert row["id"] == alarm.pk and row["kind"] == "arrival_overdue" and row["member"]["name"] == "张伟"
    assert row["notified"] == [{"id": world["leader_on"].pk, "name": "班长甲"}]
    assert row["incident"]["number"] == world["incident"].number
    # A unit leader sees the alarms they were told of, and no others.
    assert [a["id"] for a in api_client(leader_user).get(url, sub).json()] == [alarm.pk]
    assert api_client(other_user).get(url, sub).json() == []
    assert api_client(world["command"]).get(url, {**sub, "state": "nonsense"}).status_code == 400

    snooze = reverse("dispatch:alarm-snooze", args=[alarm.pk])
    assert api_client(leader_user).post(snooze, {"minutes": 5}, format="json").status_code == 403
    assert api_client(world["command"]).post(snooze, {"minutes": 0}, format="json").status_code == 400
    snoozed = api_client(world["command"]).post(snooze, {"minutes": 15}, format="json")
    assert snoozed.status_code == 200 and snoozed.json()["state"] == "snoozed"
    assert api_client(world["command"]).get(url, {**sub, "state": "open"}).json() == []

    acknowledge = reverse("dispatch:alarm-acknowledge", args=[alarm.pk])
    assert api_client(world["command"]).post(acknowledge, {"note": ""}, format="json").status_code == 400
    done = api_client(world["command"]).post(acknowledge, {"note": "已处理"}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    assert done.json()["acknowledged_by"] == "cmd"
    assert api_client(world["command"]).post(acknowledge, {"note": "x"}, format="json").status_code == 409
    summary = api_client(world["command"]).get(reverse("dispatch:incident-dispatch", args=[world["incident"].pk]))
    assert summary.json()["can_handle_alarms"] is True and summary.json()["alarms"][0]["state"] == "acknowledged"


# --- real worker processes: kill and restart, two at once -------------------------------------------

class Clock(Worker):
    """`manage.py run_sla_clock` as a real process."""

    def handled(self) -> int:
        """Rows this clock handled, from its log lines `sla-clock: N handled`."""
        return sum(int(line.rsplit(":", 1)[1].split()[0]) for line in self.log.read_text().splitlines()
                   if "sla-clock:" in line and line.endswith("handled"))


@pytest.fixture
def clocks(workers):
    return lambda name, *args: workers(name, "run_sla_clock", "--interval", "0.2", *args, cls=Clock)


def _wait(condition, *, timeout: float, what: str, clocks=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for clock in clocks:
            if clock.process.poll() is not None:
                pytest.fail(f"{clock.name} exited ({clock.process.returncode}):\n{clock.tail()}")
        time.sleep(0.05)
    logs = "\n".join(f"--- {c.name}\n{c.tail()}" for c in clocks)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def _kill_mid_transaction(clock: Clock, watch, *, timeout: float = 20) -> bool:
    """SIGKILL the clock while its session is inside a transaction (claimed rows, nothing
    committed). Returns whether that moment was caught (else it is killed anyway)."""
    deadline = time.monotonic() + timeout
    with watch.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                        "AND xact_start IS NOT NULL AND state IN ('active', 'idle in transaction')", [clock.name])
            if cur.fetchone()[0]:
                clock.kill()
                return True
    clock.kill()
    return False


def _orders(world, incidents: list[Incident], members: list[Member], arrive_by) -> list[DispatchOrder]:
    return DispatchOrder.objects.bulk_create([
        DispatchOrder(incident=i, member=m, method=DispatchOrder.Method.APP, dispatched_at=timezone.now(),
                      arrive_by=arrive_by(k * len(members) + j))
        for k, i in enumerate(incidents) for j, m in enumerate(members)])


def _assert_exactly_once(due_orders, major_incidents) -> None:
    per_order = dict(Alarm.objects.filter(kind=Alarm.Kind.ARRIVAL_OVERDUE).values_list("order")
                     .annotate(n=Count("id")).values_list("order", "n"))
    missing = [o.pk for o in due_orders if o.pk not in per_order]
    assert not missing, f"{len(missing)} due orders lost their alarm"
    assert set(per_order.values()) == {1} and set(per_order) == {o.pk for o in due_orders}
    majors = dict(Alarm.objects.filter(kind=Alarm.Kind.MAJOR_INCIDENT).values_list("incident")
                  .annotate(n=Count("id")).values_list("incident", "n"))
    assert majors == {i.pk: 1 for i in major_incidents}
    # Every alarm has exactly one ALARM event, and every ALARM event belongs to one alarm.
    raised = list(IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ALARM).values_list("data__alarm", flat=True))
    assert sorted(raised) == sorted(Alarm.objects.values_list("pk", flat=True))
    # Marks and alarms agree: no mark without its alarm, no alarm without its mark.
    marked = set(DispatchOrder.objects.filter(overdue_escalated_at__isnull=False).values_list("pk", flat=True))
    assert marked == set(per_order)
    assert set(Incident.objects.filter(major_notified_at__isnull=False).values_list("pk", flat=True)) == set(majors)


@pytest.mark.django_db(transaction=True)
def test_killing_the_clock_mid_run_and_restarting_it_loses_and_duplicates_nothing(world, clocks):
    members = [add_member(world, f"T1-K{j:02d}", f"队员{j:02d}") for j in range(10)]
    now = timezone.now()
    # 300 deadlines passed already and 100 that pass while the clock runs; two major incidents.
    passed = [make_incident(world) for _ in range(30)]
    soon = [make_incident(world) for _ in range(10)]
    orders = _orders(world, passed, members, lambda n: now - timedelta(minutes=30) + timedelta(seconds=n))
    orders += _orders(world, soon, members, lambda n: now + timedelta(seconds=2 + n * 0.03))
    majors = [make_incident(world, major=True) for _ in range(2)]

    first = clocks("gl-sla-first", "--batch", "5")  # small claims: many transactions to be killed in
    watch = own_connection()
    try:
        _wait(lambda: Alarm.objects.count() >= 40, timeout=60, what="the first alarms", clocks=[first])
        caught = _kill_mid_transaction(first, watch)
    finally:
        watch.close()
    assert caught, "the clock was never seen inside a transaction"
    assert first.process.returncode == -signal.SIGKILL
    # Killed mid-run: some work done, some not, and what was done is whole.
    raised_before_restart = Alarm.objects.count()
    assert 0 < raised_before_restart < len(orders) + len(majors)
    marked = DispatchOrder.objects.filter(overdue_escalated_at__isnull=False).count()
    assert marked == Alarm.objects.filter(kind=Alarm.Kind.ARRIVAL_OVERDUE).count()

    # While no clock runs, more deadlines: passed ones and ones that pass after the restart.
    later = [make_incident(world) for _ in range(5)]
    now = timezone.now()
    orders += _orders(world, later, members,
                      lambda n: now - timedelta(minutes=1) if n % 2 else now + timedelta(seconds=3))
    majors.append(make_incident(world, major=True))

    second = clocks("gl-sla-second")
    last_deadline = max(o.arrive_by for o in orders)
    _wait(lambda: timezone.now() > last_deadline + timedelta(seconds=1)
          and Alarm.objects.count() == len(orders) + len(majors),
          timeout=90, what="every deadline's alarm", clocks=[second])
    time.sleep(1.0)  # a few more ticks: nothing may be added
    second.stop()
    assert second.process.returncode == 0, second.tail()
    _assert_exactly_once(orders, majors)
    assert Alarm.objects.count() == len(orders) + len(majors)


@pytest.mark.django_db(transaction=True)
def test_two_clocks_at_once_raise_each_alarm_once(world, clocks):
    members = [add_member(world, f"T1-D{j:02d}", f"队员{j:02d}") for j in range(10)]
    a, b = clocks("gl-sla-a", "--batch", "3"), clocks("gl-sla-b", "--batch", "3")
    time.sleep(1.5)  # both up and looking
    now = timezone.now()
    orders = _orders(world, [make_incident(world) for _ in range(20)], members,
                     lambda n: now - timedelta(minutes=1) + timedelta(milliseconds=n * 10))
    majors = [make_incident(world, major=True) for _ in range(5)]
    _wait(lambda: Alarm.objects.count() >= len(orders) + len(majors), timeout=90,
          what="every alarm", clocks=[a, b])
    time.sleep(1.0)
    a.stop()
    b.stop()
    _assert_exactly_once(orders, majors)
    assert Alarm.objects.count() == len(orders) + len(majors)
    assert a.handled() + b.handled() == len(orders) + len(majors)


@pytest.mark.django_db(transaction=True)
def test_the_clock_skips_a_case_locked_by_a_service_and_raises_it_later(world):
    """SKIP LOCKED: a case held by another transaction (a dispatcher at work) is not waited for;
    the next tick raises its alarm."""
    incident = make_incident(world)
    make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    holder = own_connection()
    holder.autocommit = False
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [incident.pk])
            started = time.monotonic()
            assert sla_tick() == 0
            assert time.monotonic() - started < 2  # did not wait for the lock
        holder.rollback()
    finally:
        holder.close()
    assert sla_tick() == 1 and Alarm.objects.count() == 1
