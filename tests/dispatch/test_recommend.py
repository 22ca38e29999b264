"""The dispatch recommendation (dispatch/recommend.py) and the dispatch it feeds, on the demo
sub-district in real PostGIS: the grid of a point inside, on a border and outside; every seeded
rule, the 21:30 boundary and the major-incident leaders; the river case (the nearest by straight
line is not the fastest); off-duty members, stale positions and the load limit; a constant number of
queries; the orders' deadlines; two dispatchers at once; the API and its role checks.

The demo's rosters run from the day before its anchor (2026-11-01, a Sunday) for two weeks, so the
tests look at Tuesday 2026-11-03 in Shanghai time."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from config.errors import DomainError
from config.roles import UserRole
from dispatch import recommend as rec_module
from dispatch.models import (
    DispatchOrder,
    DutyShift,
    Force,
    Member,
    MemberPosition,
    ResponsibilityRule,
    Role,
    Unit,
)
from dispatch.recommend import recommend
from dispatch.rules_seed import RULES, rules_seed
from dispatch.services import incident_transition
from geo.gazetteer import locate
from geo.models import Grid, Place, Road, Subdistrict
from incidents import flows
from incidents.models import Category, Channel, Incident, Status
from incidents.services import incident_intake
from tests.factories import W, make_channels, make_user, make_world, put_on_duty

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)  # a Tuesday morning: day shifts on duty
# The river (余禾塘河) at 119.993E runs from 30.27457N to 30.27499N, a kilometre from each bridge.
NORTH_BANK = Point(119.993, 30.2753, srid=4326)
SOUTH_BANK = Point(119.993, 30.2742, srid=4326)
NORTH_FARTHER = Point(119.993, 30.2785, srid=4326)
# Just west of the sub-district, 15 m beyond where the arterial 余杭塘路 leaves it.
OUTSIDE_ON_ARTERIAL = Point(119.95926, 30.28125, srid=4326)


@pytest.fixture
def ctx(demo, db):
    rules_seed()
    return {
        "sub": Subdistrict.objects.get(code="330110011"),
        "calltaker": make_user("taker", UserRole.CALL_TAKER),
        "dispatcher": make_user("disp", UserRole.DISPATCHER),
        "channel": Channel.objects.get(code="hotline_social_110"),
    }


def case(ctx, category: str, point: Point, *, major: bool = False, description: str = "现场需要处置") -> Incident:
    result = incident_intake(channel=ctx["channel"], category=Category.objects.get(code=category),
                             description=description, actor=ctx["calltaker"], location=point, major=major)
    return Incident.objects.select_related("category", "place").get(pk=result.incident.pk)


def place_point(kind: str) -> Point:
    place = Place.objects.filter(kind=kind, contact__isnull=False).order_by("name").first()
    return place.location


def by_rule(rec, code: str, *, proposed: bool | None = True) -> list:
    return [c for c in rec.candidates if code in [r.code for r in c.rules]
            and (proposed is None or c.proposed == proposed)]


def on_duty(member: Member, at: datetime) -> bool:
    return DutyShift.objects.filter(member=member, starts_at__lte=at, ends_at__gt=at).exists()


# --- the seeded rules ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_rules_seed_is_idempotent_and_keeps_admin_edits(demo):
    assert rules_seed() == len(RULES)
    ResponsibilityRule.objects.filter(code="police.officers").update(count=5)
    assert rules_seed() == 0
    assert ResponsibilityRule.objects.get(code="police.officers").count == 5
    assert ResponsibilityRule.objects.count() == len(RULES)


# --- point → grid --------------------------------------------------------------------------------

def test_a_point_inside_gets_its_grid_and_community(ctx):
    point = place_point("residential_complex")
    incident = case(ctx, "neighbour_dispute", point)
    rec = recommend(incident, at=AT)
    where = locate(point, at=AT)
    assert rec.grid is not None and rec.grid.code == where.grid.code
    assert rec.grid.community_id == where.community.pk
    assert rec.backup_grids == [] and not rec.outside
    assert all(c.relation != "backup_grid" for c in rec.candidates)


def test_a_point_on_a_border_belongs_to_the_lowest_code_and_the_other_grids_staff_are_backups(ctx):
    with connection.cursor() as cur:  # a vertex shared by exactly two grids: covered by both
        cur.execute("""
            SELECT ST_X(dp.geom), ST_Y(dp.geom) FROM geo_grid a, LATERAL ST_DumpPoints(a.boundary) dp
            WHERE (SELECT count(*) FROM geo_grid g WHERE ST_Covers(g.boundary, dp.geom)) = 2
            ORDER BY a.code, dp.path LIMIT 1""")
        x, y = cur.fetchone()
    point = Point(x, y, srid=4326)
    covering = sorted(Grid.objects.filter(boundary__covers=point).values_list("code", flat=True))
    assert len(covering) == 2
    incident = case(ctx, "neighbour_dispute", point)
    with translation.override("en"):
        rec = recommend(incident, at=AT)
        again = recommend(incident, at=AT)
    assert rec.grid.code == covering[0] == again.grid.code  # deterministic: the lowest code
    assert [g.code for g in rec.backup_grids] == covering[1:]
    assert any("border" in note for note in rec.notes)
    backup_grid = Grid.objects.get(code=covering[1])
    backups = [c for c in rec.candidates if c.relation == "backup_grid"]
    assert backups, "the other grid's grid workers are listed"
    for c in backups:
        assert not c.proposed
        assert "backup" in c.reason and backup_grid.name in c.reason
        assert Member.objects.get(pk=c.member_id).grids.filter(pk=backup_grid.pk).exists()
    own = [c for c in rec.candidates if c.relation == "own_grid"]
    assert own and all(Member.objects.get(pk=c.member_id).grids.filter(code=covering[0]).exists() for c in own)


def test_outside_the_subdistrict_only_road_following_rules_apply_with_a_note(ctx):
    assert not ctx["sub"].boundary.covers(OUTSIDE_ON_ARTERIAL)
    accident = case(ctx, "traffic_accident", OUTSIDE_ON_ARTERIAL)
    assert accident.outside_jurisdiction and accident.grid is None
    with translation.override("en"):
        rec = recommend(accident, at=AT)
    assert rec.outside and rec.grid is None
    assert {r.code for r in rec.rules} == {"traffic.arterial_police", "traffic.arterial_station"}
    assert any("outside the sub-district" in note for note in rec.notes)
    assert by_rule(rec, "traffic.arterial_police"), "the arterial's traffic police go whatever the grid"

    dispute = case(ctx, "neighbour_dispute", OUTSIDE_ON_ARTERIAL)
    with translation.override("en"):
        rec = recommend(dispute, at=AT)
    assert rec.rules == [] and rec.candidates == []
    assert any("hand the case to the neighbouring sub-district" in note for note in rec.notes)


# --- each seeded rule ----------------------------------------------------------------------------

def test_police_type_goes_to_three_officers_on_duty_within_30_minutes(ctx):
    rec = recommend(case(ctx, "public_order", place_point("residential_complex")), at=AT)
    assert [r.code for r in rec.rules] == ["police.officers"]
    proposed = rec.proposed
    assert len(proposed) == 3
    for c in proposed:
        assert c.force == Force.POLICE and c.on_duty and c.deadline_minutes == 30
        assert c.arrive_by == AT + timedelta(minutes=30)


def test_a_dispute_goes_to_the_grid_worker_grid_leader_or_security_director_and_the_place_contact(ctx):
    point = place_point("residential_complex")
    incident = case(ctx, "neighbour_dispute", point)
    assert incident.place is not None and incident.place.contact_id
    rec = recommend(incident, at=AT)
    assert {"nonpolice.grid_worker", "nonpolice.grid_leader", "nonpolice.security_director",
            "nonpolice.place_contact"} <= {r.code for r in rec.rules}
    workers = by_rule(rec, "nonpolice.grid_worker")
    assert workers and all(c.relation == "own_grid" and c.force == Force.GRID_WORKER for c in workers)
    assert all(c.deadline_minutes == 30 for c in rec.proposed)
    contact = by_rule(rec, "nonpolice.place_contact")
    assert [c.member_id for c in contact] == [incident.place.contact_id]

    leader = Member.objects.get(force=Force.GRID_LEADER, grids__code=rec.grid.code)
    director = Member.objects.get(roles__contains=[Role.SECURITY_DIRECTOR], unit__community_id=rec.grid.community_id)
    proposed = {c.member_id for c in rec.proposed}
    if on_duty(leader, AT):  # the grid leader goes; the security director is their alternative
        assert leader.pk in proposed
        assert director.pk not in proposed or director.pk == leader.pk
    elif on_duty(director, AT):
        assert director.pk in proposed


def test_the_security_director_goes_when_the_grid_leader_cannot(ctx):
    for place in Place.objects.filter(kind="residential_complex").order_by("name"):
        grid = locate(place.location, at=AT).grid
        leader = Member.objects.get(force=Force.GRID_LEADER, grids=grid)
        if Role.SECURITY_DIRECTOR not in leader.roles:
            break
    director = Member.objects.get(roles__contains=[Role.SECURITY_DIRECTOR], unit__community_id=grid.community_id)
    incident = case(ctx, "neighbour_dispute", place.location)
    DutyShift.objects.filter(member=leader).delete()
    DutyShift.objects.filter(member=director).delete()
    DutyShift.objects.create(member=director, starts_at=AT - timedelta(hours=2), ends_at=AT + timedelta(hours=8))
    rec = recommend(incident, at=AT)
    proposed = {c.member_id: c for c in rec.proposed}
    assert leader.pk not in proposed
    assert proposed[director.pk].rule.code == "nonpolice.security_director"


def test_fire_goes_to_the_fire_squad_at_once_the_grid_worker_and_safety_enforcement(ctx, settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 8
    rec = recommend(case(ctx, "fire", place_point("enterprise")), at=AT)
    assert {r.code for r in rec.rules} == {"fire.squad", "fire.grid_worker", "fire.safety"}
    squad = by_rule(rec, "fire.squad")
    assert len(squad) == 3
    assert all(c.unit_kind == Unit.Kind.FIRE_SQUAD and c.deadline_minutes == 8 for c in squad)
    assert all(c.arrive_by == AT + timedelta(minutes=8) for c in squad)
    safety = by_rule(rec, "fire.safety")
    assert len(safety) == 1 and safety[0].force == Force.SAFETY_ENFORCEMENT and safety[0].deadline_minutes == 8
    assert all(c.force == Force.GRID_WORKER and c.deadline_minutes == 30
               for c in by_rule(rec, "fire.grid_worker", proposed=None))


def arterial_point() -> Point:
    road = Road.objects.filter(road_class=Road.RoadClass.ARTERIAL, is_bridge=False).order_by("name", "id")[10]
    return road.line.interpolate_normalized(0.5)


def local_point_away_from_arterials() -> Point:
    with connection.cursor() as cur:
        cur.execute("""
            SELECT ST_X(ST_LineInterpolatePoint(r.line, 0.5)), ST_Y(ST_LineInterpolatePoint(r.line, 0.5))
            FROM geo_road r WHERE r.road_class = 'local' AND NOT EXISTS (
                SELECT 1 FROM geo_road a WHERE a.road_class = 'arterial'
                AND ST_DWithin(a.line::geography, ST_LineInterpolatePoint(r.line, 0.5)::geography, 200))
            ORDER BY r.id LIMIT 1""")
        x, y = cur.fetchone()
    return Point(x, y, srid=4326)


def test_traffic_accidents_go_to_the_traffic_police_and_station_and_follow_arterial_roads(ctx):
    on_road = recommend(case(ctx, "traffic_accident", arterial_point()), at=AT)
    assert {r.code for r in on_road.rules} == {"traffic.police", "traffic.station", "traffic.arterial_police",
                                               "traffic.arterial_station"}
    police = [c for c in on_road.proposed if c.unit_kind == Unit.Kind.TRAFFIC_POLICE]
    assert len(police) == 2  # the arterial rule asks for two; the general rule's one is among them
    assert any(c.force == Force.TRAFFIC_STATION for c in on_road.proposed)

    off_road = recommend(case(ctx, "traffic_accident", local_point_away_from_arterials()), at=AT)
    assert {r.code for r in off_road.rules} == {"traffic.police", "traffic.station"}
    assert len([c for c in off_road.proposed if c.unit_kind == Unit.Kind.TRAFFIC_POLICE]) == 1


def test_work_safety_goes_to_safety_enforcement_and_the_sites_contact(ctx):
    incident = case(ctx, "work_safety", place_point("construction_site"))
    rec = recommend(incident, at=AT)
    assert {r.code for r in rec.rules} == {"safety.enforcement", "safety.place_contact"}
    enforcement = by_rule(rec, "safety.enforcement")
    assert len(enforcement) == 2 and all(c.force == Force.SAFETY_ENFORCEMENT for c in enforcement)
    contact = by_rule(rec, "safety.place_contact")
    assert [c.member_id for c in contact] == [incident.place.contact_id]
    assert contact[0].force == Force.SITE_CONTACT and contact[0].deadline_minutes == 30


def test_department_assistance_goes_to_the_department_that_asks_at_once(ctx, settings):
    incident = case(ctx, "department_assist", place_point("residential_complex"),
                    description="城管部门请求协助：小区门口有流动摊贩占道经营，劝离时对方不配合。")
    rec = recommend(incident, at=AT)
    assert [r.code for r in rec.rules] == ["assist.department"]
    assert len(rec.proposed) == 2
    for c in rec.proposed:
        assert c.unit_kind == Unit.Kind.URBAN_MANAGEMENT and c.relation == "department"
        assert c.deadline_minutes == settings.DISPATCH_AT_ONCE_MINUTES


def test_a_major_incident_adds_the_principal_and_responsible_leaders_at_once(ctx, settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 7
    point = place_point("residential_complex")
    plain = recommend(case(ctx, "neighbour_dispute", point), at=AT)
    assert not any(r.major_only for r in plain.rules)
    major = recommend(case(ctx, "neighbour_dispute", point, major=True), at=AT)
    leaders = [c for c in major.proposed if c.relation == "leaders"]
    roles = {role for c in leaders for role in c.roles}
    assert {Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_LEADER} <= roles
    assert all(c.deadline_minutes == 7 and c.arrive_by == AT + timedelta(minutes=7) for c in leaders)
    # The plan's own major category is major by default.
    assert any(c.relation == "leaders" for c in recommend(case(ctx, "major_sensitive", point), at=AT).proposed)


@pytest.mark.parametrize(("hh", "mm", "applies"), [(21, 29, True), (21, 30, False), (21, 31, False),
                                                   (9, 0, True), (3, 0, False)])
def test_the_2130_rule_is_exact_in_shanghai_time(ctx, hh, mm, applies):
    incident = case(ctx, "neighbour_dispute", place_point("residential_complex"))
    at = datetime(2026, 11, 3, hh, mm, tzinfo=SHANGHAI)
    codes = {r.code for r in recommend(incident, at=at).rules}
    evening = {"nonpolice.grid_leader", "nonpolice.security_director", "nonpolice.place_contact"}
    assert (evening <= codes) is applies
    assert evening.isdisjoint(codes) is (not applies)
    assert "nonpolice.grid_worker" in codes  # the grid worker's 30 minutes hold round the clock
    # The same instant written in UTC is the same answer.
    assert {r.code for r in recommend(incident, at=at.astimezone(ZoneInfo("UTC"))).rules} == codes


def test_raising_the_level_adds_neighbouring_grids_and_the_units_reserve_then_the_leaders(ctx):
    incident = case(ctx, "neighbour_dispute", place_point("residential_complex"))
    level0 = recommend(incident, at=AT)
    assert {c.relation for c in level0.candidates} <= {"own_grid", "community", "place"}
    level1 = recommend(incident, at=AT, level=1)
    neighbours = {g.id for g in level1.neighbour_grids}
    assert neighbours and incident.grid_id not in neighbours
    ring = [c for c in level1.proposed if c.relation == "neighbour_grid"]
    assert ring and all(c.level == 1 for c in ring)
    for c in ring:
        assert Member.objects.get(pk=c.member_id).grids.filter(pk__in=neighbours).exists()
    reserve = [c for c in level1.candidates if c.relation == "reserve"]
    assert reserve and all(c.level == 1 for c in reserve)
    level0_units = {(c.unit_id, c.force) for c in level0.proposed}
    assert all((c.unit_id, c.force) in level0_units for c in reserve)
    level2 = recommend(incident, at=AT, level=2)
    assert any(c.relation == "leaders" and c.level == 2 for c in level2.proposed)
    # The incident's own level is the default.
    Incident.objects.filter(pk=incident.pk).update(level=2)
    incident.refresh_from_db()
    assert {r.code for r in recommend(incident, at=AT).rules} == {r.code for r in level2.rules}


# --- travel time, not straight line: the river ------------------------------------------------------

def police_on_duty(at: datetime, n: int) -> list[Member]:
    ids = DutyShift.objects.filter(member__force=Force.POLICE, starts_at__lte=at, ends_at__gt=at) \
        .order_by("member__code").values_list("member_id", flat=True)[:n]
    return list(Member.objects.filter(pk__in=list(ids)).order_by("code"))


def test_the_river_the_nearest_by_straight_line_is_not_the_fastest(ctx):
    across, same_side = police_on_duty(AT, 2)
    MemberPosition.objects.create(member=across, point=SOUTH_BANK, recorded_at=AT - timedelta(minutes=2))
    MemberPosition.objects.create(member=same_side, point=NORTH_FARTHER, recorded_at=AT - timedelta(minutes=2))
    incident = case(ctx, "public_order", NORTH_BANK)
    rec = recommend(incident, at=AT)
    a, b = rec.candidate(across.pk), rec.candidate(same_side.pk)
    assert a is not None and b is not None
    assert a.position_source == b.position_source == "live"
    nearest = min(rec.candidates, key=lambda c: c.straight_m)
    assert nearest.member_id == across.pk and a.straight_m < 150 < b.straight_m  # across the river, 120 m
    fastest = min((c for c in rec.candidates if c.travel_seconds is not None), key=lambda c: c.travel_seconds)
    assert fastest.member_id != across.pk
    assert rec.candidates[0].member_id != across.pk  # ranked first by travel time, not by distance
    assert b.travel_seconds * 2 < a.travel_seconds  # round by a bridge a kilometre away
    assert b.proposed
    assert a.route is None or len(a.route) > 2
    assert b.route and b.route[0] == pytest.approx((NORTH_FARTHER.x, NORTH_FARTHER.y), abs=1e-5)


# --- on duty, positions, load ------------------------------------------------------------------------

def test_off_duty_members_are_never_proposed_and_say_why(ctx):
    incident = case(ctx, "public_order", place_point("residential_complex"))
    with translation.override("en"):
        rec = recommend(incident, at=AT)
    off = [c for c in rec.candidates if not c.on_duty]
    assert off, "the nearest off-duty officers are listed"
    for c in off:
        assert not c.proposed and "off duty" in c.reason
    assert all(c.on_duty for c in rec.proposed)
    # Listed after every available candidate.
    first_off = rec.candidates.index(off[0])
    assert all(c.available for c in rec.candidates[:first_off])


def test_a_stale_position_is_ranked_from_the_duty_post_and_a_fresh_one_is_used(ctx, settings):
    settings.POSITION_STALE_MINUTES = 15
    stale, fresh = police_on_duty(AT, 2)
    MemberPosition.objects.create(member=stale, point=NORTH_BANK, recorded_at=AT - timedelta(hours=2))
    MemberPosition.objects.create(member=fresh, point=NORTH_FARTHER, recorded_at=AT - timedelta(minutes=5))
    incident = case(ctx, "public_order", NORTH_BANK)
    with translation.override("en"):
        rec = recommend(incident, at=AT)
    s, f = rec.candidate(stale.pk), rec.candidate(fresh.pk)
    assert s.position_source == "duty_post" and s.position_stale
    assert "position stale, ranked from duty post" in s.reason
    shift = DutyShift.objects.get(member=stale, starts_at__lte=AT, ends_at__gt=AT)
    post = shift.post or stale.duty_post
    assert s.origin == pytest.approx((post.x, post.y), abs=1e-6)
    assert s.straight_m > 1000  # not the 0 m of the old position at the scene
    assert f.position_source == "live" and not f.position_stale
    assert f.origin == pytest.approx((NORTH_FARTHER.x, NORTH_FARTHER.y), abs=1e-6)


def test_a_member_at_the_load_limit_is_not_proposed(ctx, settings):
    settings.DISPATCH_LOAD_LIMITS = {"police": 1}
    busy = police_on_duty(AT, 1)[0]
    MemberPosition.objects.create(member=busy, point=NORTH_BANK, recorded_at=AT)
    other = case(ctx, "public_order", NORTH_FARTHER)
    Incident.objects.filter(pk=other.pk).update(status=Status.DISPATCHED)
    DispatchOrder.objects.create(incident=other, member=busy, method="radio", dispatched_at=AT)
    with translation.override("en"):
        rec = recommend(case(ctx, "public_order", NORTH_BANK), at=AT)
    c = rec.candidate(busy.pk)
    assert c.load == 1 and c.load_limit == 1 and c.overloaded
    assert not c.proposed and "load limit" in c.reason
    assert c.straight_m < 1  # the nearest of all, still not proposed


# --- cost ------------------------------------------------------------------------------------------------

def test_a_constant_number_of_queries_whatever_the_number_of_candidates(ctx, django_assert_max_num_queries):
    small = case(ctx, "work_safety", place_point("construction_site"))
    large = case(ctx, "mass_incident", place_point("residential_complex"), major=True)
    recommend(small, at=AT, level=2)  # rules cached and statements prepared on first use
    counts = {}
    for name, incident, level in [("small", small, 0), ("large", large, 0), ("small", small, 2),
                                  ("large", large, 2)]:
        with CaptureQueriesContext(connection) as queries:
            rec = recommend(incident, at=AT, level=level)
        counts[(name, level)] = (len(queries), len(rec.candidates))
    assert counts[("large", 0)][1] > 2 * counts[("small", 0)][1]
    # The context and the members (with the unit's reserve when the level asks for it), whatever the
    # level and the number of candidates; the members' query sets its plan mode and resets it.
    assert counts[("small", 0)][0] == counts[("large", 0)][0] == counts[("small", 2)][0] == counts[("large", 2)][0]
    with django_assert_max_num_queries(3):
        recommend(large, at=AT, level=2)


def test_the_constants_written_in_the_members_query_agree():
    sql = rec_module._MEMBERS_SQL
    assert set(rec_module.BUSY_STATUSES) == flows.OPEN_ON_SITE  # the one definition of "handled on site"
    for values in (rec_module.LOAD_STATES, rec_module.BUSY_STATUSES, rec_module.PLACE_KINDS_WITH_CONTACT):
        assert "(" + ", ".join(f"'{v}'" for v in values) + ")" in sql


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_the_members_query_reads_each_members_own_shift_and_unit(ctx, settings):
    """A city's sub-districts have tens of thousands of shifts covering any instant and 20,000 units
    (bench_recommend.py's city): the members' query reads the shift and the unit of each member it
    lists, by member and by key, never every shift covering the instant nor the whole unit table."""
    settings.DISPATCH_PREPARED_STATEMENTS = False  # the statement with its values, to EXPLAIN
    incident = case(ctx, "fire", place_point("enterprise"))
    with CaptureQueriesContext(connection) as queries:
        rec = recommend(incident, at=AT, level=1)
    assert any(c.on_duty for c in rec.candidates) and any(not c.on_duty for c in rec.candidates)
    sql = next(q["sql"] for q in queries.captured_queries if "FROM dispatch_dutyshift" in q["sql"])
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cur.fetchone()[0]
    scans = {"dispatch_dutyshift": [], "dispatch_unit": []}
    for node in _plan_nodes(plan[0]["Plan"]):
        if node.get("Relation Name") in scans:
            scans[node["Relation Name"]].append(" ".join(node.get(k, "") for k in ("Index Cond", "Recheck Cond", "Filter")))
    assert scans["dispatch_dutyshift"] and all("member_id = m" in cond for cond in scans["dispatch_dutyshift"])
    assert scans["dispatch_unit"] and all(".unit_id" in cond for cond in scans["dispatch_unit"])


@pytest.mark.parametrize("prepared", [True, False])
def test_prepared_and_plain_statements_give_the_same_answer(ctx, settings, prepared):
    settings.DISPATCH_PREPARED_STATEMENTS = prepared
    incident = case(ctx, "fire", place_point("enterprise"))
    rec = recommend(incident, at=AT, level=1)
    settings.DISPATCH_PREPARED_STATEMENTS = not prepared
    again = recommend(incident, at=AT, level=1)
    assert [(c.member_id, c.proposed, c.travel_seconds) for c in rec.candidates] == \
        [(c.member_id, c.proposed, c.travel_seconds) for c in again.candidates]


# --- dispatch ----------------------------------------------------------------------------------------------

def test_dispatch_stores_each_orders_deadline_rule_reason_level_and_travel_time(ctx, settings):
    settings.DISPATCH_AT_ONCE_MINUTES = 10
    incident = case(ctx, "fire", place_point("enterprise"))
    rec = recommend(incident, at=AT)
    chosen = [Member.objects.get(pk=c.member_id) for c in rec.proposed]
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=chosen,
                        method=DispatchOrder.Method.RADIO, at=AT)
    orders = {o.member_id: o for o in DispatchOrder.objects.filter(incident=incident).select_related("rule")}
    assert set(orders) == {m.pk for m in chosen}
    for c in rec.proposed:
        order = orders[c.member_id]
        assert order.rule.code == c.rule.code
        assert order.arrive_by == AT + timedelta(minutes=c.deadline_minutes)
        assert order.reason and order.reason == c.reason[:500]
        assert order.level == 0 and not order.off_duty_override
        assert order.travel_seconds == pytest.approx(c.travel_seconds)
    assert {o.arrive_by - AT for o in orders.values()} == {timedelta(minutes=10), timedelta(minutes=30)}
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED
    # Asked again, those members are "already dispatched" and no longer candidates.
    again = recommend(incident, at=AT)
    assert set(again.already_dispatched) >= set(orders)
    assert not {c.member_id for c in again.candidates} & set(orders)


def test_dispatch_refuses_an_off_duty_member_unless_chosen_explicitly(ctx):
    incident = case(ctx, "public_order", place_point("residential_complex"))
    rec = recommend(incident, at=AT)
    off = Member.objects.get(pk=next(c.member_id for c in rec.candidates if not c.on_duty))
    on = Member.objects.get(pk=rec.proposed[0].member_id)
    with translation.override("en"), pytest.raises(DomainError) as refused:
        incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=[on, off],
                            method="phone", at=AT)
    assert refused.value.code == "off_duty" and off.name in str(refused.value.message)
    assert not DispatchOrder.objects.filter(incident=incident).exists()  # nothing changed
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=[on, off],
                        method="phone", at=AT, off_duty_override=[off])
    orders = {o.member_id: o for o in DispatchOrder.objects.filter(incident=incident)}
    assert orders[off.pk].off_duty_override and not orders[on.pk].off_duty_override


def test_a_member_no_rule_names_gets_the_plans_deadline_for_their_force(ctx, settings):
    # A building work station is a linkage station: "at the first moment" (tests/dispatch/test_deadlines.py has the table).
    settings.DISPATCH_AT_ONCE_MINUTES = 10
    incident = case(ctx, "public_order", place_point("residential_complex"))
    clerk = Member.objects.filter(force=Force.BUILDING_STATION).order_by("code").first()
    put_on_duty_at(clerk, AT)
    with translation.override("en"):
        incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"], members=[clerk],
                            method="wechat", at=AT)
    order = DispatchOrder.objects.get(incident=incident)
    assert order.rule is None and order.arrive_by == AT + timedelta(minutes=10)
    assert "chosen by the dispatcher" in order.reason and order.travel_seconds > 0


def put_on_duty_at(member: Member, at: datetime) -> None:
    DutyShift.objects.filter(member=member, starts_at__lt=at + timedelta(hours=1),
                             ends_at__gt=at - timedelta(hours=1)).delete()
    DutyShift.objects.create(member=member, starts_at=at - timedelta(hours=1), ends_at=at + timedelta(hours=1))


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_send_one_member_twice():
    world = make_world("CC")
    world.update(make_channels())
    put_on_duty(world["member"])
    calltaker = make_user("cc-taker", UserRole.CALL_TAKER)
    dispatchers = [make_user(f"cc-disp{i}", UserRole.DISPATCHER) for i in range(2)]
    incident = incident_intake(channel=world["hotline"], category=world["category"], description="两人争执",
                               actor=calltaker, location=Point(W + 0.004, 30.495, srid=4326)).incident
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatch(user):
        try:
            barrier.wait(timeout=10)
            incident_transition(incident_id=incident.pk, action="dispatch", actor=user, members=[world["member"]],
                                method="radio")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch, args=(u,)) for u in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    live = DispatchOrder.objects.filter(incident=incident, member=world["member"]).exclude(
        state__in=[DispatchOrder.State.DECLINED, DispatchOrder.State.STOOD_DOWN])
    assert live.count() == 1
    assert live.get().arrive_by is not None


# --- the API -------------------------------------------------------------------------------------------------

def api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def test_the_api_answers_staff_with_grid_candidates_and_routes(ctx):
    incident = case(ctx, "fire", place_point("enterprise"))
    url = reverse("incidents:incident-recommendations", args=[incident.pk])
    response = api(ctx["dispatcher"]).get(url, {"at": AT.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["incident"] == incident.pk and body["level"] == 0
    assert body["grid"]["code"] == incident.grid.code and body["community"]["id"] == incident.community_id
    proposed = [c for c in body["candidates"] if c["proposed"]]
    assert len(proposed) == 5
    first = body["candidates"][0]
    assert set(first) >= {"member", "force", "unit", "rule", "reason", "on_duty", "load", "straight_m",
                          "travel_seconds", "deadline_minutes", "reachable", "route", "position"}
    assert first["route"] and len(first["route"]) >= 2 and len(first["route"][0]) == 2
    assert first["arrive_by"].startswith("2026-11-03T10:")
    for role in (UserRole.COMMAND_ROOM, UserRole.CALL_TAKER, UserRole.LEADER):
        assert api(make_user(f"u-{role}", role)).get(url).status_code == 200


def test_the_api_what_if_time_and_level(ctx):
    incident = case(ctx, "neighbour_dispute", place_point("residential_complex"))
    url = reverse("incidents:incident-recommendations", args=[incident.pk])
    client = api(ctx["dispatcher"])
    day = client.get(url, {"at": "2026-11-03T10:00:00+08:00"}).json()
    night = client.get(url, {"at": "2026-11-03T03:00:00+08:00"}).json()
    assert "nonpolice.grid_leader" in [r["code"] for r in day["rules"]]
    assert "nonpolice.grid_leader" not in [r["code"] for r in night["rules"]]
    assert not any(c["proposed"] and c["force"] == Force.GRID_WORKER for c in night["candidates"])
    escalated = client.get(url, {"at": "2026-11-03T10:00:00+08:00", "level": 2}).json()
    assert escalated["level"] == 2 and any(c["relation"] == "leaders" for c in escalated["candidates"])
    assert client.get(url, {"at": "yesterday"}).status_code == 400
    assert client.get(url, {"level": -1}).status_code == 400


def test_the_api_refuses_planners_and_responders_and_hides_unknown_cases(ctx):
    incident = case(ctx, "fire", place_point("enterprise"))
    url = reverse("incidents:incident-recommendations", args=[incident.pk])
    assert api(make_user("plan", UserRole.PLANNER)).get(url).status_code == 403
    responder = make_user("resp", UserRole.RESPONDER, member=Member.objects.filter(force=Force.GRID_WORKER).first())
    assert api(responder).get(url).status_code == 403
    assert APIClient().get(url).status_code in (401, 403)
    missing = reverse("incidents:incident-recommendations", args=[999999999])
    assert api(ctx["dispatcher"]).get(missing).status_code == 404


def test_the_api_says_why_a_case_without_a_location_has_no_recommendation(ctx):
    result = incident_intake(channel=ctx["channel"], category=Category.objects.get(code="help_request"),
                             description="老人走失求助", actor=ctx["calltaker"], address_text="不存在的地址九九九号")
    assert result.incident.status == Status.NEEDS_LOCATION
    url = reverse("incidents:incident-recommendations", args=[result.incident.pk])
    response = api(ctx["dispatcher"]).get(url)
    assert response.status_code == 400 and response.json()["code"] == "location"


def test_rules_edited_in_admin_take_effect_at_once(ctx):
    incident = case(ctx, "public_order", place_point("residential_complex"))
    assert len(recommend(incident, at=AT).proposed) == 3
    ResponsibilityRule.objects.filter(code="police.officers").update(count=1)
    assert len(recommend(incident, at=AT).proposed) == 1
    ResponsibilityRule.objects.filter(code="police.officers").update(active=False)
    assert recommend(incident, at=AT).rules == []
    assert rec_module._rules_cache  # cached, and reloaded whenever the table changed


def test_the_rules_are_edited_in_the_admin(admin_client, ctx):
    rule_ = ResponsibilityRule.objects.get(code="nonpolice.grid_leader")
    assert admin_client.get(reverse("admin:dispatch_responsibilityrule_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:dispatch_responsibilityrule_change", args=[rule_.pk]))
    assert page.status_code == 200 and b"21:30" in page.content


def test_incident_facts_read_what_the_recommendation_needs(ctx):
    incident = case(ctx, "work_safety", place_point("construction_site"))
    facts = rec_module.incident_facts(incident_id=incident.pk)
    assert (facts.pk, facts.level, facts.subdistrict_id, facts.major, facts.description) == \
        (incident.pk, incident.level, incident.subdistrict_id, incident.major, incident.description)
    assert facts.location.equals_exact(incident.location, 1e-9)
    assert (facts.category.code, facts.category.scope, facts.category.is_police) == \
        (incident.category.code, incident.category.scope, incident.category.is_police)
    assert (facts.place.kind, facts.place.name, facts.place.contact_id) == \
        (incident.place.kind, incident.place.name, incident.place.contact_id)
    assert rec_module.incident_facts(incident_id=999999999) is None
    by_orm = recommend(incident, at=AT)
    by_facts = recommend(facts, at=AT)
    assert [(c.member_id, c.proposed, c.reason) for c in by_orm.candidates] == \
        [(c.member_id, c.proposed, c.reason) for c in by_facts.candidates]
