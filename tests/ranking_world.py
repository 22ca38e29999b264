"""The hand-made world of the ranking's and the assessment's tests (tests/reports/test_reports_ranking.py,
tests/reports/test_reports_assessment.py) and the builders of its orders: every number those tests expect
is counted by hand from what they plant with `order`."""

from datetime import datetime, timedelta
from itertools import count

from django.contrib.gis.geos import Point

from dispatch.models import DispatchOrder, Force, Member, Role, TravelMode, Unit
from geo.models import Community
from incidents.models import Incident, Status
from tests.factories import SHANGHAI, E, N, S, W, box, make_world

MID = (W + E) / 2
WEST = Point(W + 0.004, (S + N) / 2, srid=4326)
EAST = Point(E - 0.004, (S + N) / 2, srid=4326)
_numbers = count(1)
_codes = count(1)


def at(month, day, hour=10, minute=0, year=2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def member(world, name, unit, *, force=Force.GRID_LEADER, roles=(), active=True) -> Member:
    return Member.objects.create(
        subdistrict=world["subdistrict"], unit=unit, code=f"RK{next(_codes):03d}", name=name, force=force,
        roles=list(roles), phone="13800000000", travel_mode=TravelMode.EBIKE, home=WEST, active=active)


def order(world, who, when, *, deadline=30, arrive=None, resolved=True, state=None, stood_down=None,
          grid="west", distance=None, flagged=False, incident=None, **incident_fields) -> DispatchOrder:
    """One order dispatched at `when` with a deadline of `deadline` minutes (None: no deadline),
    arrived `arrive` minutes later (None: not arrived), on a case resolved or not."""
    if incident is None:
        status = incident_fields.pop("status", Status.RESOLVED if resolved else Status.REPORTED)
        incident = Incident.objects.create(
            subdistrict=world["subdistrict"], number=f"RK{next(_numbers):05d}", channel=world["channel"],
            category=world["category"], status=status, description="测试", grid=world["grids"][grid == "east"],
            location=EAST if grid == "east" else WEST, community=incident_fields.pop("community", world["community"]),
            reported_at=when,
            resolved_at=when + timedelta(hours=1) if resolved else None, **incident_fields)
    fields = {"arrive_by": when + timedelta(minutes=deadline) if deadline is not None else None}
    if arrive is not None:
        fields |= {"state": DispatchOrder.State.ARRIVED, "arrived_at": when + timedelta(minutes=arrive),
                   "arrival_distance_m": distance, "arrival_flagged": flagged}
    elif state == DispatchOrder.State.DECLINED:
        fields |= {"state": state, "declined_at": when + timedelta(minutes=2), "decline_reason": "在外地"}
    elif state == DispatchOrder.State.STOOD_DOWN:
        fields |= {"state": state, "stood_down_at": when + timedelta(minutes=stood_down),
                   "stand_down_reason": "案件已处置"}
    elif state is not None:
        fields |= {"state": state}
    return DispatchOrder.objects.create(incident=incident, member=who, method=DispatchOrder.Method.PHONE,
                                        dispatched_at=when, **fields)


def make_ranking_world() -> dict:
    """The factories' world (RK) with two villages/communities and their units (测试社区 with 甲, 乙,
    庚 and the inactive 辛; 第二村 with 丙, 丁, 戊 and 己, a security director of another force), a
    police station with one officer (警) and a sub-district office without members."""
    world = make_world("RK")
    sub = world["subdistrict"]
    c1 = world["community"]
    c2 = Community.objects.create(subdistrict=sub, code="RK-C2", name="第二村", kind=Community.Kind.VILLAGE,
                                  boundary=box(W, S, MID, N))
    u1 = Unit.objects.create(subdistrict=sub, code="RK-CU1", name="测试社区网格", kind=Unit.Kind.COMMUNITY, community=c1)
    u2 = Unit.objects.create(subdistrict=sub, code="RK-CU2", name="第二村网格", kind=Unit.Kind.COMMUNITY, community=c2)
    police = Unit.objects.create(subdistrict=sub, code="RK-PS", name="测试派出所", kind=Unit.Kind.POLICE_STATION)
    office = Unit.objects.create(subdistrict=sub, code="RK-OF", name="平安办", kind=Unit.Kind.SUBDISTRICT_OFFICE)
    world.update(c2=c2, u1=u1, u2=u2, police=police, office=office)
    world["m"] = {
        "A": member(world, "甲", u1, roles=[Role.GRID_LEADER, Role.SECURITY_DIRECTOR]),
        "B": member(world, "乙", u1, roles=[Role.GRID_LEADER]),
        "C": member(world, "丙", u2),
        "D": member(world, "丁", u2),
        "E": member(world, "戊", u2),
        # Of another force, but a security director: a grid leader by role.
        "F": member(world, "己", u2, force=Force.OFFICE_STAFF, roles=[Role.SECURITY_DIRECTOR]),
        "G": member(world, "庚", u1),  # no order in October: listed, not ranked
        "H": member(world, "辛", u1, active=False),  # inactive, no order: not listed
        "P": member(world, "警", police, force=Force.POLICE),
    }
    return world
