"""The plan's arrival deadline of a member sent by hand (dispatch/deadlines.py): the table, the live
form from settings and the demo history's generator agree; the recommendation gives it to a member
chosen by hand that no rule names (on the demo sub-district in real PostGIS), and to a unit's
reserve whose unit is already on the case.

The demo's rosters run from the day before its anchor (2026-11-01, a Sunday) for two weeks, so the
tests look at Tuesday 2026-11-03 in Shanghai time."""

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from config.roles import UserRole
from dispatch import deadlines
from dispatch.deadlines import EVENING_CUTOFF, manual_deadline_minutes, plan_deadline
from dispatch.models import DispatchOrder, Force, Member, Role
from dispatch.recommend import assess_members, recommend
from dispatch.rules_seed import rules_seed
from fixtures import history
from geo.models import Place
from incidents.models import Category, Channel, Incident
from incidents.services import incident_intake
from tests.factories import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 3, tzinfo=SHANGHAI).date()  # a Tuesday
TIMES = [time(3, 0), time(8, 0), time(21, 29), time(21, 30), time(21, 31), time(23, 0)]
CONTACTS = (Force.PROPERTY_CONTACT, Force.SITE_CONTACT, Force.ENTERPRISE_CONTACT, Force.PARK_CONTACT)
# Roles that change a member's deadline, or must not: the leaders, and a grid leader who is also the
# community's security director.
ROLE_SETS = [(), (Role.PRINCIPAL_LEADER,), (Role.RESPONSIBLE_LEADER, Role.UNIT_LEADER),
             (Role.GRID_LEADER, Role.SECURITY_DIRECTOR), (Role.UNIT_LEADER,)]


def _at(t: time) -> datetime:
    return datetime.combine(DAY, t, tzinfo=SHANGHAI)


def _expected(force: str, roles, t: time, major: bool, at_once: int = 10) -> int | None:
    """The plan (mission.md, 联动处置要求), written out once more by hand."""
    if Role.PRINCIPAL_LEADER in roles or Role.RESPONSIBLE_LEADER in roles:
        return at_once if major else 30
    if force in (Force.POLICE, Force.GRID_WORKER):
        return 30
    if force == Force.GRID_LEADER or force in CONTACTS:
        return 30 if time(6, 0) <= t < time(21, 30) else None
    return at_once


@pytest.fixture
def plan_settings(settings):
    """The defaults the demo history is generated with."""
    settings.DISPATCH_AT_ONCE_MINUTES = 10
    settings.DISPATCH_DAY_STARTS = "06:00"
    return settings


# --- the table -----------------------------------------------------------------------------------

def test_every_force_is_in_the_plans_table():
    assert set(deadlines.PLAN_BY_FORCE) == set(Force.values)


@pytest.mark.parametrize("force", Force.values)
def test_the_live_deadline_and_the_history_generators_agree_for_every_force_and_hour(plan_settings, force):
    # The generator's own method, on a minimal cast (it reads only the members' force and roles).
    cast = {f"M{i}": roles for i, roles in enumerate(ROLE_SETS)}
    maker = history._Maker(None, SimpleNamespace(force=dict.fromkeys(cast, force), roles=cast), {}, {},
                           _at(time(0, 0)))
    for code, roles in cast.items():
        for t in TIMES:
            for major in (False, True):
                live = manual_deadline_minutes(force=force, roles=roles, at=_at(t), major=major)
                generated = maker.deadline(code, _at(t), major)
                assert live == (None if generated is None else generated.total_seconds() / 60), (roles, t, major)
                assert live == _expected(force, roles, t, major), (roles, t, major)
                # The same instant written in UTC is the same answer.
                utc = _at(t).astimezone(ZoneInfo("UTC"))
                assert manual_deadline_minutes(force=force, roles=roles, at=utc, major=major) == live


def test_the_21_30_rule_is_exact_and_starts_with_the_day(plan_settings):
    def leader(t: time) -> int | None:
        return manual_deadline_minutes(force=Force.GRID_LEADER, roles=[Role.GRID_LEADER], at=_at(t), major=False)

    assert [leader(t) for t in (time(5, 59), time(6, 0), time(21, 29), time(21, 30), time(21, 31))] == \
        [None, 30, 30, None, None]
    assert EVENING_CUTOFF == history.EVENING_CUTOFF == time(21, 30)


def test_the_live_form_reads_the_settings(settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 8
    settings.DISPATCH_DAY_STARTS = "07:00"
    assert manual_deadline_minutes(force=Force.URBAN_MANAGEMENT, roles=[], at=_at(time(3, 0)), major=False) == 8
    assert manual_deadline_minutes(force=Force.OFFICE_STAFF, roles=[Role.PRINCIPAL_LEADER], at=_at(time(9, 0)),
                                   major=True) == 8
    assert manual_deadline_minutes(force=Force.SITE_CONTACT, roles=[], at=_at(time(6, 30)), major=False) is None
    assert manual_deadline_minutes(force=Force.SITE_CONTACT, roles=[], at=_at(time(7, 0)), major=False) == 30


def test_plan_deadline_is_pure():
    kwargs = {"at_once": timedelta(minutes=5), "day_starts": time(8, 0), "cutoff": time(20, 0), "major": False}
    assert plan_deadline(force=Force.STATION_STAFF, roles=(), local_time=time(12, 0), **kwargs) == timedelta(minutes=5)
    assert plan_deadline(force=Force.PARK_CONTACT, roles=(), local_time=time(7, 59), **kwargs) is None
    assert plan_deadline(force=Force.PARK_CONTACT, roles=(), local_time=time(19, 59), **kwargs) == timedelta(minutes=30)
    assert plan_deadline(force=Force.PARK_CONTACT, roles=(), local_time=time(20, 0), **kwargs) is None


def test_the_generators_constants_mirror_the_settings_defaults():
    assert history.AT_ONCE == timedelta(minutes=django_settings.DISPATCH_AT_ONCE_MINUTES)
    assert history.DAY_STARTS == deadlines.day_starts()
    assert history.HANDOVER_ACCEPT_MINUTES == django_settings.HANDOVER_ACCEPT_MINUTES
    assert history.HANDOVER_ACCEPT_MINUTES_DEFAULT == django_settings.HANDOVER_ACCEPT_MINUTES_DEFAULT


def test_every_order_of_the_demo_history_has_the_live_deadline(plan_settings, demo_data):
    members = {m.code: m for m in demo_data.members}
    orders = [(i, o) for i in demo_data.incidents for o in i.orders]
    assert orders
    for inc, o in orders:
        m = members[o.member_code]
        minutes = manual_deadline_minutes(force=m.force, roles=m.roles, at=o.dispatched_at, major=inc.major)
        assert o.arrive_by == (None if minutes is None else o.dispatched_at + timedelta(minutes=minutes))
    assert any(o.arrive_by is None for _, o in orders)


# --- the recommendation: members chosen by hand ---------------------------------------------------

@pytest.fixture
def ctx(demo, db):
    rules_seed()
    return {"calltaker": make_user("dl-taker", UserRole.CALL_TAKER),
            "channel": Channel.objects.get(code="hotline_social_110")}


def _dispute(ctx, *, major: bool = False) -> Incident:
    """A neighbour dispute at a residential complex: the grid's staff and the place's contact are named,
    no police officer, department or leader."""
    place = Place.objects.filter(kind="residential_complex", contact__isnull=False).order_by("name").first()
    result = incident_intake(channel=ctx["channel"], category=Category.objects.get(code="neighbour_dispute"),
                             description="邻里纠纷，双方争执", actor=ctx["calltaker"], location=place.location,
                             major=major)
    return Incident.objects.select_related("category", "place").get(pk=result.incident.pk)


def _one(**filters) -> Member:
    return Member.objects.filter(**filters).order_by("code").first()


def test_a_member_chosen_by_hand_gets_the_plans_deadline_for_their_force(ctx, settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 9
    incident = _dispute(ctx)
    at = _at(time(10, 0))
    department = _one(force=Force.URBAN_MANAGEMENT)
    clerk = Member.objects.filter(force=Force.OFFICE_STAFF).exclude(
        roles__overlap=[Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_LEADER]).order_by("code").first()
    officer = _one(force=Force.POLICE)
    leader = _one(force=Force.OFFICE_STAFF, roles__contains=[Role.PRINCIPAL_LEADER])
    chosen = assess_members(incident, member_ids=[department.pk, clerk.pk, officer.pk, leader.pk], at=at)
    assert set(chosen) == {department.pk, clerk.pk, officer.pk, leader.pk}
    for member, minutes in ((department, 9), (clerk, 9), (officer, 30), (leader, 30)):  # not a major case
        c = chosen[member.pk]
        assert c.rule is None and c.relation == "chosen", member.force
        assert c.deadline_minutes == minutes and c.arrive_by == at + timedelta(minutes=minutes), member.force
        assert c.reachable == (c.travel_seconds is not None and c.travel_seconds <= minutes * 60)


def test_a_grid_leader_chosen_by_hand_after_21_30_has_no_deadline(ctx):
    incident = _dispute(ctx)
    # A grid leader of another community: no rule names them, before 21:30 or after.
    leader = Member.objects.filter(force=Force.GRID_LEADER).exclude(
        unit__community_id=incident.community_id).order_by("code").first()
    before, after = _at(time(21, 29)), _at(time(21, 31))
    c = assess_members(incident, member_ids=[leader.pk], at=before)[leader.pk]
    assert c.rule is None and c.deadline_minutes == 30 and c.arrive_by == before + timedelta(minutes=30)
    with translation.override("en"):
        c = assess_members(incident, member_ids=[leader.pk], at=after)[leader.pk]
    assert c.rule is None and c.relation == "chosen"
    assert c.deadline_minutes is None and c.arrive_by is None
    assert c.travel_seconds is not None and c.reachable  # a route and no deadline: they can be in time
    assert "no arrival deadline at this hour" in c.reason and "cannot arrive" not in c.reason
    # The case's own grid leader is named by the 21:30 rule before, chosen by hand after.
    own = Member.objects.get(force=Force.GRID_LEADER, grids=incident.grid)
    assert assess_members(incident, member_ids=[own.pk], at=before)[own.pk].rule.code == "nonpolice.grid_leader"
    late = assess_members(incident, member_ids=[own.pk], at=after)[own.pk]
    assert late.rule is None and late.deadline_minutes is None and late.arrive_by is None


def test_members_without_a_deadline_rank_last_and_cost_no_query(ctx):
    incident = _dispute(ctx)
    after = _at(time(21, 31))
    leaders = list(Member.objects.filter(force=Force.GRID_LEADER).exclude(
        unit__community_id=incident.community_id).order_by("code")[:3])
    officer = _one(force=Force.POLICE)
    ids = [m.pk for m in leaders] + [officer.pk]
    recommend(incident, at=after, include_members=ids, routes=False)  # statements prepared, rules cached
    with CaptureQueriesContext(connection) as plain:
        recommend(incident, at=after, routes=False)
    with CaptureQueriesContext(connection) as chosen:
        rec = recommend(incident, at=after, include_members=ids, routes=False)
    assert len(chosen) == len(plain)
    assert [rec.candidate(m.pk).deadline_minutes for m in leaders] == [None, None, None]
    assert rec.candidate(officer.pk).deadline_minutes == 30


def test_the_reserve_of_a_unit_on_the_case_with_no_deadline_gets_the_rules(ctx):
    incident = _dispute(ctx)
    night = _at(time(21, 45))
    # The complex's contact went after 21:30: no deadline binds them, nor, by the plan, their unit.
    contact = incident.place.contact
    assert manual_deadline_minutes(force=contact.force, roles=contact.roles, at=night, major=False) is None
    DispatchOrder.objects.create(incident=incident, member=contact, method="phone", dispatched_at=night)
    rec = recommend(incident, at=night, level=1, routes=False)
    assert contact.pk in rec.already_dispatched
    reserve = [c for c in rec.candidates if c.relation == "reserve"
               and (c.unit_id, c.force) == (contact.unit_id, contact.force)]
    assert reserve, "the property company's other contacts are its reserve"
    rule = next(r for r in rec.rules if r.target == "unit_reserve")
    assert {c.deadline_minutes for c in reserve} == {rule.deadline_minutes}  # the rule's 30 minutes


def test_a_case_without_a_point_is_assessed_by_nobody(ctx):
    result = incident_intake(channel=ctx["channel"], category=Category.objects.get(code="help_request"),
                             description="老人走失求助", actor=ctx["calltaker"], address_text="不存在的地址九九九号")
    assert result.incident.location is None
    # The dispatch then gives each order the plan's deadline itself (manual_deadline_minutes).
    assert assess_members(result.incident, member_ids=[_one(force=Force.POLICE).pk], at=_at(time(10, 0))) == {}
