"""`manage.py simulate` (fixtures/simulate.py) on the demo sub-district in real PostGIS: a short
compressed span played on a virtual clock (its sleep only moves its time forward), through the
real services — intake from several channels, dispatch through the recommendation with deadlines,
responders moving along their route towards the scene, arrivals (some late: the SLA clock, ticked
by the run, raises alarms), resolutions, and a timeline holding every status change; the same seed
plays the same sequence of cases.

The demo's rosters run from the day before its anchor (2026-11-01) for two weeks: the span is
played on Tuesday 2026-11-03 from 08:00, Shanghai time."""

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dispatch.models import Alarm, DispatchOrder, PositionFix
from dispatch.rules_seed import rules_seed
from fixtures.simulate import Options, Simulation, VirtualClock, arrival_plan, history_profile
from geo.models import Subdistrict
from incidents.models import Incident, IncidentEvent, Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 3, 8, 0, tzinfo=SHANGHAI)
M_PER_DEG_LAT = 110574.0


def _metres(a, b) -> float:
    kx = M_PER_DEG_LAT * math.cos(math.radians(b.y))
    return math.hypot((a.x - b.x) * kx, (a.y - b.y) * M_PER_DEG_LAT)


def _play(**kw) -> tuple[Simulation, list[str]]:
    lines: list[str] = []
    options = Options(**({"speed": 20.0, "duration_hours": 3.0, "drain_hours": 6.0, "seed": 7, "rate_scale": 4.0,
                          "history_days": 28, "sla_clock": True} | kw))
    sim = Simulation(options, clock=VirtualClock(START), say=lambda line: (lines.append(line), print(line)))
    sim.run()
    return sim, lines


@pytest.mark.django_db
def test_the_history_gives_the_rates_and_the_mix(demo):
    sub = Subdistrict.objects.get(code="330110011")
    profile = history_profile(sub, before=START.date(), days=28)
    assert profile.days == 28 and str(profile.last_day) == "2026-10-31"
    assert 25 < profile.per_day < 60  # the demo's ~40 a day
    # The rush hours and the night differ, as in the history.
    assert profile.per_hour[9] > profile.per_hour[4]
    channels = {s.channel for bucket in profile.by_hour for s in bucket}
    assert {"district_order", "hotline_social_110", "hotline_police"} <= channels


@pytest.mark.django_db
def test_a_played_span(demo):
    """One compressed span (the costly part, ~40 s) serves the three checks below."""
    rules_seed()
    played = _play()
    _check_it_plays_through_the_services(*played)
    _check_responders_move_along_the_route_towards_the_scene(*played)
    _check_some_arrive_late_and_the_clock_raises_alarms(*played)


def _check_it_plays_through_the_services(sim, lines):
    cases = list(Incident.objects.filter(created_by__username__in=["sim-calltaker", "sim-district-centre"])
                 .select_related("channel", "category").order_by("id"))
    assert len(cases) >= 8, lines
    # Several channels, each case taken through intake (its `created` event, by the right user).
    assert len({c.channel.code for c in cases}) >= 3
    for case in cases:
        created = case.events.get(kind=IncidentEvent.Kind.CREATED)
        who = "sim-district-centre" if case.channel.code == "district_order" else "sim-calltaker"
        assert created.actor.username == who
    # On-site cases got orders with deadlines from the recommendation.
    on_site = [c for c in cases if c.channel.code != "joint_assignment"]
    orders = list(DispatchOrder.objects.filter(incident__in=on_site).select_related("member", "incident"))
    assert orders and all(o.arrive_by is not None for o in orders)
    assert all(o.dispatched_by.username == "sim-dispatcher" for o in orders)
    # Arrivals and resolutions were recorded.
    arrived = [o for o in orders if o.state == DispatchOrder.State.ARRIVED]
    assert len(arrived) >= 5
    resolved = [c for c in cases if c.status in (Status.RESOLVED, Status.FED_BACK, Status.CLOSED)]
    assert len(resolved) >= 3
    assert Incident.objects.filter(pk__in=[c.pk for c in cases], status=Status.CLOSED).exists()
    # Every status change is in the timeline, in order: each starts where the last one ended.
    for case in cases:
        events = list(case.events.exclude(to_status="").order_by("at", "id"))
        assert events[0].kind == IncidentEvent.Kind.CREATED
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_status == before.to_status, (case.number, before, after)
        assert events[-1].to_status == case.status


def _check_responders_move_along_the_route_towards_the_scene(sim, _lines):
    moved = along = 0
    for order in DispatchOrder.objects.filter(state=DispatchOrder.State.ARRIVED,
                                              dispatched_by__username="sim-dispatcher").select_related("incident"):
        track = list(PositionFix.objects.filter(member_id=order.member_id, recorded_at__gt=order.accepted_at,
                                                recorded_at__lte=order.arrived_at).order_by("recorded_at"))
        if len(track) < 3:
            continue
        scene = order.incident.location
        first, last = _metres(track[0].point, scene), _metres(track[-1].point, scene)
        assert last < 60, (order.pk, last)  # the last fix is at the scene
        if first > 200:
            assert last < first
            moved += 1
        # Along the route: every fix lies near the route the order carries (stored at dispatch).
        if order.route is not None:
            route = order.route
            assert all(route.distance(f.point) * M_PER_DEG_LAT < 80 for f in track[:-1])
            along += 1
    assert moved >= 3
    assert along >= 3  # the check above ran, on orders with routes


def _check_some_arrive_late_and_the_clock_raises_alarms(sim, _lines):
    late = DispatchOrder.objects.filter(dispatched_by__username="sim-dispatcher",
                                        overdue_escalated_at__isnull=False)
    assert late.exists()
    alarms = Alarm.objects.filter(order__in=late, kind=Alarm.Kind.ARRIVAL_OVERDUE)
    assert alarms.exists()
    # The command room acknowledged them (after a human delay).
    assert alarms.filter(state=Alarm.State.ACKNOWLEDGED).exists()


@pytest.mark.django_db
def test_the_same_seed_plays_the_same_cases(demo):
    sub = Subdistrict.objects.get(code="330110011")
    profile = history_profile(sub, before=START.date(), days=28)

    def plan(seed):
        return [(round(a.offset, 3), a.channel, a.category, a.major)
                for a in arrival_plan(profile, start=START, hours=24, seed=seed)]

    one, again, other = plan(11), plan(11), plan(12)
    assert one == again
    assert one != other
    assert 20 < len(one) < 70
    # And a run plays its plan: its cases come in the plan's order.
    rules_seed()
    sim, _lines = _play(seed=11, duration_hours=2, drain_hours=0, rate_scale=1.0, sla_clock=False)
    played = [(c.channel.code, c.category.code) for c in Incident.objects.filter(
        created_by__username__in=["sim-calltaker", "sim-district-centre"]).order_by("id")]
    expected = [(a[1], a[2]) for a in one if a[0] < 2 * 3600]
    assert played == expected


@pytest.mark.django_db
def test_the_command_refuses_bad_options(demo):
    with pytest.raises(CommandError):
        call_command("simulate", "--speed", "0")
    with pytest.raises(CommandError):
        call_command("simulate", "--subdistrict", "000000000", "--duration", "0.01")
