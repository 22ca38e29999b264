"""The demo generator alone (no database): counts, geometry, people, rosters, history, determinism."""

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import shapely
from shapely.geometry import Point

from dispatch.models import FORCE_STRENGTH, Force, Role, TravelMode, Unit
from fixtures.demo import DEFAULT_SEED, generate, roster_shifts
from fixtures.geography import to_epsg4549
from fixtures.history import HANDOVER_ACCEPT_MINUTES, HANDOVER_ACCEPT_MINUTES_DEFAULT, SPRING_FESTIVALS
from geo.models import Community, Place, Road
from incidents.models import Channel, Flow, IncidentEvent, Status
from tests.conftest import DEMO_ANCHOR, DEMO_HISTORY_DAYS

SHANGHAI = ZoneInfo("Asia/Shanghai")
FULL_ANCHOR = date(2026, 11, 1)


@pytest.fixture(scope="module")
def full():
    """Two full years of history, for the statistics of the mix."""
    return generate(seed=DEFAULT_SEED, anchor=FULL_ANCHOR, history_days=730)


@pytest.fixture(scope="module")
def grids_m(demo_data):
    return {g.code: to_epsg4549(g.boundary) for g in demo_data.grids}


def _grid_index(data):
    return shapely.STRtree([g.boundary for g in data.grids])


# --- people ------------------------------------------------------------------------------------

def test_692_members_with_the_strength_of_every_force(demo_data):
    members = demo_data.members
    assert len(members) == 692
    assert Counter(m.force for m in members) == {str(f): n for f, n in FORCE_STRENGTH.items()}
    assert len({m.code for m in members}) == 692
    phones = [m.phone for m in members]
    assert len(set(phones)) == 692
    assert all(re.fullmatch(r"1[3-9][0-9]{9}", p) for p in phones)
    assert all(2 <= len(m.name) <= 4 for m in members)
    assert {m.force for m in members} <= set(Force.values)
    assert {r for m in members for r in m.roles} <= set(Role.values)
    assert {m.travel_mode for m in members} <= set(TravelMode.values)
    units = {u.code: u for u in demo_data.units}
    assert all(m.unit_code in units and units[m.unit_code].kind == m.unit_kind for m in members)


def test_units_cover_the_organisation_and_each_has_one_leader(demo_data):
    kinds = Counter(u.kind for u in demo_data.units)
    assert set(kinds) == set(Unit.Kind.values)  # every participating kind of unit
    assert kinds["community"] == 13
    assert kinds["subdistrict_office"] >= 5
    leaders = Counter(m.unit_code for m in demo_data.members if "unit_leader" in m.roles)
    assert all(leaders[u.code] == 1 for u in demo_data.units)
    police = next(u for u in demo_data.units if u.kind == "police_station")
    assert police.base is not None


def test_grid_roles(demo_data):
    members = demo_data.members
    grid_codes = [g.code for g in demo_data.grids]
    leaders = [m for m in members if m.force == "grid_leader"]
    assert all("grid_leader" in m.roles and len(m.grid_codes) == 1 for m in leaders)
    assert Counter(m.grid_codes[0] for m in leaders) == Counter(grid_codes)
    directors = [m for m in members if "security_director" in m.roles]
    assert len(directors) == 13
    grid_community = {g.code: g.community_code for g in demo_data.grids}
    assert len({grid_community[m.grid_codes[0]] for m in directors}) == 13
    workers = Counter(m.grid_codes[0] for m in members if m.force == "grid_worker")
    assert set(workers) == set(grid_codes)
    assert Counter(workers.values()) == {1: 30, 2: 22}
    community_police = [m for m in members if m.force == "police" and m.grid_codes]
    assert len(community_police) == 13
    for m in community_police:
        assert len({grid_community[g] for g in m.grid_codes}) == 1 and len(m.grid_codes) == 4
    roles = Counter(r for m in members for r in m.roles)
    assert roles["principal_leader"] == 2
    assert 5 <= roles["responsible_leader"] <= 7
    assert all(m.force == "office_staff" for m in members if {"principal_leader", "responsible_leader"} & set(m.roles))
    assert sum(1 for m in members if m.force == "command_room" and "shift_leader" in m.roles) >= 3


def test_duty_posts_and_travel_modes(demo_data):
    units = {u.code: u for u in demo_data.units}
    places = {p.contact_code: p for p in demo_data.places if p.contact_code}
    for m in demo_data.members:
        if m.force in ("police", "police_call_centre"):
            assert units[m.unit_code].kind == "police_station" and m.duty_post == units[m.unit_code].base
            assert m.travel_mode == "car"
        if m.force == "command_room":
            assert m.duty_post == units[m.unit_code].base
        if m.force.endswith("_contact"):
            assert m.duty_post == places[m.code].location
            assert m.travel_mode in ("foot", "ebike")
        if m.force in ("grid_worker", "grid_leader", "urban_management"):
            assert m.travel_mode == "ebike"


# --- geometry ----------------------------------------------------------------------------------

def test_communities_and_grids_tile_the_boundary(demo_data, grids_m):
    assert len(demo_data.communities) == 13
    assert len(demo_data.grids) == 52
    assert {c.kind for c in demo_data.communities} == set(Community.Kind.values)
    assert Counter(g.community_code for g in demo_data.grids) == {c.code: 4 for c in demo_data.communities}
    assert all(re.fullmatch(r"330110-\d{2}-\d{2}", g.code) for g in demo_data.grids)
    assert all(re.fullmatch(r".+(村|社区)第\d网格", g.name) for g in demo_data.grids)
    boundary = to_epsg4549(demo_data.subdistrict.boundary)
    assert demo_data.subdistrict.boundary.is_valid
    assert 30e6 <= boundary.area <= 40e6
    assert len(boundary.geoms) == 1 and len(boundary.geoms[0].exterior.coords) > 40  # irregular
    for g in demo_data.grids:
        assert g.boundary.is_valid and grids_m[g.code].is_valid, g.code
    union = shapely.union_all(list(grids_m.values()))
    assert union.symmetric_difference(boundary).area < 1.0
    geoms = list(grids_m.values())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            assert geoms[i].intersection(geoms[j]).area < 0.01
    for c in demo_data.communities:
        assert c.boundary.is_valid
        mine = shapely.union_all([grids_m[g.code] for g in demo_data.grids if g.community_code == c.code])
        assert mine.symmetric_difference(to_epsg4549(c.boundary)).area < 1.0


def test_the_river_crosses_and_everything_lies_in_a_grid(demo_data, grids_m):
    river = demo_data.waters[0].area
    assert river.is_valid and river.intersects(demo_data.subdistrict.boundary)
    tree = _grid_index(demo_data)
    grid_by_index = [g.code for g in demo_data.grids]

    def grids_of(points):
        hit, grid = tree.query(points, predicate="intersects")
        out = defaultdict(set)
        for i, j in zip(hit.tolist(), grid.tolist(), strict=True):
            out[i].add(grid_by_index[j])
        return out

    places = demo_data.places
    found = grids_of([p.location for p in places])
    assert len(found) == len(places)
    for p in places:
        assert not river.intersects(p.footprint or p.location), p.name
        if p.footprint is not None:
            assert p.footprint.is_valid and p.footprint.contains(p.location)
    addresses = demo_data.addresses
    assert len(grids_of([a.location for a in addresses])) == len(addresses)
    assert not any(river.contains(a.location) for a in addresses)
    homes = grids_of([m.home for m in demo_data.members])
    assert len(homes) == len(demo_data.members)
    for i, m in enumerate(demo_data.members):
        assert not river.contains(m.home)
        if m.force in ("grid_worker", "grid_leader"):
            assert m.grid_codes[0] in homes[i], m.code
        elif m.grid_codes:
            assert homes[i] & set(m.grid_codes), m.code


def test_places_their_contacts_and_the_gazetteer(demo_data):
    kinds = Counter(p.kind for p in demo_data.places)
    assert kinds["residential_complex"] == 20
    assert kinds["construction_site"] == 50
    assert kinds["enterprise"] == 8
    assert kinds["park_building"] == 33
    assert 5 <= kinds["school"] <= 7 and 3 <= kinds["market"] <= 5
    assert set(kinds) <= set(Place.Kind.values)
    assert len({p.name for p in demo_data.places}) == len(demo_data.places)
    members = {m.code: m for m in demo_data.members}
    expected = {"residential_complex": "property_contact", "construction_site": "site_contact",
                "enterprise": "enterprise_contact", "park_building": "park_contact"}
    for kind, force in expected.items():
        contacts = [p.contact_code for p in demo_data.places if p.kind == kind]
        assert all(c is not None and members[c].force == force for c in contacts)
        assert len(set(contacts)) == len(contacts) == sum(1 for m in demo_data.members if m.force == force)
    assert all(p.footprint is not None for p in demo_data.places if p.kind == "residential_complex")
    texts = [a.text for a in demo_data.addresses]
    assert len(set(texts)) == len(texts)
    assert 2000 <= len(texts) <= 10000
    assert any(re.fullmatch(r".+(路|街|巷|道)\d+号", t) for t in texts)
    assert any(re.fullmatch(r".+\d+幢\d单元", t) for t in texts)
    assert any(re.fullmatch(r".+[A-H]座", t) for t in texts)
    assert all(re.fullmatch(r".+(路|街|巷|道)\d+号", p.address) for p in demo_data.places)


def test_road_network(demo_data):
    roads = demo_data.roads
    assert {r.road_class for r in roads} == set(Road.RoadClass.values)
    speeds = {"arterial": 60, "secondary": 40, "local": 30, "path": 15}
    assert all(r.speed_kmh == speeds[r.road_class] for r in roads)
    assert all(r.source != r.target and r.length_m > 0 for r in roads)
    assert {"良睦路", "文一西路", "荆长大道"} <= {r.name for r in roads}
    # One point per junction id, at the ends of the lines.
    where: dict[int, tuple] = {}
    for r in roads:
        for j, xy in ((r.source, r.line.coords[0]), (r.target, r.line.coords[-1])):
            assert where.setdefault(j, xy) == xy
    # Lengths are geodesic metres.
    for r in roads[::50]:
        assert abs(to_epsg4549(r.line).length - r.length_m) < 0.01 * r.length_m + 0.5
    # Connected, and strongly so with the one-way streets.
    forward, backward = defaultdict(list), defaultdict(list)
    for r in roads:
        forward[r.source].append(r.target)
        backward[r.target].append(r.source)
        if not r.one_way:
            forward[r.target].append(r.source)
            backward[r.source].append(r.target)
    nodes = set(where)
    start = min(nodes)
    for adj in (forward, backward):
        seen, stack = {start}, [start]
        while stack:
            for v in adj[stack.pop()]:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        assert seen == nodes
    assert sum(r.one_way for r in roads) > 0
    # The river is crossed only by the bridges.
    river = demo_data.waters[0].area
    bridges = [r for r in roads if r.is_bridge]
    assert 3 <= len(bridges) <= 4
    for b in bridges:
        assert b.line.crosses(river) or b.line.intersects(river)
        assert not river.intersects(Point(b.line.coords[0])) and not river.intersects(Point(b.line.coords[-1]))
    assert not any(r.line.intersects(river) for r in roads if not r.is_bridge)


# --- determinism -------------------------------------------------------------------------------

def test_same_seed_same_data_whatever_the_hash_seed(demo_data):
    again = generate(seed=DEFAULT_SEED, anchor=DEMO_ANCHOR, history_days=DEMO_HISTORY_DAYS)
    assert again.digest() == demo_data.digest()
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()\n"
        "from datetime import date\nfrom fixtures.demo import generate\n"
        f"print(generate(seed={DEFAULT_SEED}, anchor=date.fromisoformat('{DEMO_ANCHOR}'), "
        f"history_days={DEMO_HISTORY_DAYS}).digest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,  # noqa: S603 - our own interpreter and code
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == demo_data.digest()


def test_a_different_seed_gives_different_data(demo_data):
    other = generate(seed=DEFAULT_SEED + 1, anchor=DEMO_ANCHOR, history_days=DEMO_HISTORY_DAYS)
    assert other.digest() != demo_data.digest()
    assert other.grids[0].boundary != demo_data.grids[0].boundary


def test_geography_and_people_do_not_depend_on_the_anchor(demo_data):
    other = generate(seed=DEFAULT_SEED, anchor=DEMO_ANCHOR + timedelta(days=100), history_days=3)
    assert [g.boundary for g in other.grids] == [g.boundary for g in demo_data.grids]
    assert other.members == demo_data.members
    assert other.places == demo_data.places
    assert other.addresses == demo_data.addresses


# --- rosters -----------------------------------------------------------------------------------

def test_duty_shifts_never_overlap_and_cover_the_window(demo_data):
    by_member = defaultdict(list)
    for s in demo_data.shifts:
        assert s.ends_at > s.starts_at and s.starts_at.tzinfo is not None
        by_member[s.member_code].append((s.starts_at, s.ends_at))
    for shifts in by_member.values():
        shifts.sort()
        for (_, e1), (s2, _) in zip(shifts, shifts[1:], strict=False):
            assert s2 >= e1
    first = min(s.starts_at for s in demo_data.shifts)
    last = max(s.starts_at for s in demo_data.shifts)
    assert first.date() == DEMO_ANCHOR - timedelta(days=1)
    assert last.astimezone(SHANGHAI).date() == DEMO_ANCHOR + timedelta(days=14)


def _on_duty(data, instant):
    forces = {m.code: m.force for m in data.members}
    return Counter(forces[s.member_code] for s in data.shifts if s.starts_at <= instant < s.ends_at)


@pytest.mark.parametrize(("offset_days", "hh", "mm"), [(0, 3, 0), (0, 10, 0), (1, 20, 30), (5, 14, 0), (6, 23, 45),
                                                      (13, 8, 15)])
def test_someone_is_always_on_duty(demo_data, offset_days, hh, mm):
    instant = datetime.combine(DEMO_ANCHOR + timedelta(days=offset_days), time(hh, mm), tzinfo=SHANGHAI)
    on = _on_duty(demo_data, instant)
    assert 0.2 * 219 <= on["police"] <= 0.4 * 219
    assert 4 <= on["command_room"] <= 5
    assert on["police_call_centre"] >= 1
    weekday = (DEMO_ANCHOR + timedelta(days=offset_days)).weekday() < 5
    if weekday and time(8, 30) <= time(hh, mm) < time(21, 30):
        assert on["grid_leader"] > 30  # the 21:30 rule
    if weekday and time(8, 30) <= time(hh, mm) < time(17, 30):
        assert on["grid_worker"] > 40


def test_rosters_topped_up_later_match(demo_data):
    later = roster_shifts(demo_data, start=DEMO_ANCHOR + timedelta(days=3), days=4)
    stored = {(s.member_code, s.starts_at, s.ends_at) for s in demo_data.shifts}
    assert later and {(s.member_code, s.starts_at, s.ends_at) for s in later} <= stored


# --- categories, channels, history ---------------------------------------------------------------

def test_categories_and_channels_of_the_plan(demo_data):
    cats = {c.code: c for c in demo_data.categories}
    assert {c for c, v in cats.items() if v.is_police} == {"public_order", "theft", "fight"}
    assert cats["major_sensitive"].major_by_default and cats["labour_dispute"].statistic_group == "labour"
    channels = {c.code: c for c in demo_data.channels}
    assert {c: v.phone for c, v in channels.items() if v.kind == Channel.Kind.HOTLINE} == {
        "hotline_social_110": "88611155", "hotline_director": "88610110", "hotline_police": "88611009",
        "hotline_fire": "88610110"}
    assert channels["district_order"].kind == "district_order"
    assert channels["joint_assignment"].kind == "joint_assignment"


def test_the_historical_mix(full):
    incidents = full.incidents
    n = len(incidents)
    assert 36 <= n / 730 <= 44
    share = Counter(i.category_code for i in incidents)

    def pct(*codes):
        return 100 * sum(share[c] for c in codes) / n

    assert 29 <= pct("labour_dispute", "property_dispute", "neighbour_dispute", "other_dispute") <= 37
    assert 21 <= pct("help_request") <= 29
    assert 12 <= pct("traffic_accident") <= 18
    assert 12 <= pct("public_order", "theft", "fight") <= 18
    assert 3.5 <= pct("department_assist") <= 6.5
    assert 1 <= pct("fire") <= 5 and 1 <= pct("work_safety") <= 5
    assert 0.5 <= pct("mass_incident") <= 1.8 and 0.2 <= pct("major_sensitive") <= 1.0
    channels = Counter(i.channel_code for i in incidents)
    assert channels.most_common(1)[0][0] == "hotline_social_110"
    assert 0.1 <= channels["district_order"] / n <= 0.3
    # Joint-consultation forms come on Mondays, after the meeting, and go off site.
    forms = [i for i in incidents if i.channel_code == "joint_assignment"]
    assert forms and all(i.reported_at.weekday() == 0 and i.reported_at.hour >= 14 for i in forms)
    assert all(i.flow == Flow.OFF_SITE for i in forms)
    assert all(i.external_id for i in incidents if i.channel_code == "district_order")


def test_the_historical_rhythm(full):
    incidents = full.incidents
    per_hour = Counter(i.reported_at.hour for i in incidents)
    assert min(per_hour[h] for h in (19, 20, 21)) > 2 * max(per_hour[h] for h in (2, 3, 4))
    assert per_hour[10] > 3 * per_hour[4]
    traffic = Counter(i.reported_at.hour for i in incidents if i.category_code == "traffic_accident")
    assert traffic[8] > 1.5 * traffic[13] and traffic[18] > 1.5 * traffic[13]
    days = Counter(i.reported_at.date() for i in incidents)
    weekend = [v for d, v in days.items() if d.weekday() >= 5]
    weekday = [v for d, v in days.items() if d.weekday() < 5 and d.weekday() != 0]
    assert sum(weekend) / len(weekend) > 1.08 * sum(weekday) / len(weekday)

    def before_spring_festival(d):
        sf = SPRING_FESTIVALS.get(d.year + (1 if d.month > 6 else 0))
        return sf is not None and 0 < (sf - d).days <= 42

    labour_near = [i.category_code == "labour_dispute" for i in incidents if before_spring_festival(i.reported_at.date())]
    labour_rest = [i.category_code == "labour_dispute" for i in incidents if not before_spring_festival(i.reported_at.date())]
    assert sum(labour_near) / len(labour_near) > 1.5 * sum(labour_rest) / len(labour_rest)
    fire = Counter((i.reported_at.month in (12, 1, 2), i.category_code == "fire") for i in incidents)
    assert fire[(True, True)] / fire[(True, False)] > 1.5 * fire[(False, True)] / fire[(False, False)]
    site_keys = {p.key for p in full.places if p.kind == "construction_site"}
    at_sites = Counter(i.reported_at.weekday() >= 5 for i in incidents if i.place_key in site_keys)
    assert at_sites[False] / 5 > 1.5 * at_sites[True] / 2
    # Hot spots: some addresses come back again and again.
    repeats = Counter(i.address_text for i in incidents)
    assert repeats.most_common(1)[0][1] >= 30


def test_every_historical_case_is_closed_with_a_consistent_timeline(demo_data):
    grid_by_code = {g.code: g for g in demo_data.grids}
    unit_kind = {u.code: u.kind for u in demo_data.units}
    numbers = set()
    end = datetime.combine(DEMO_ANCHOR, time(0, 0), tzinfo=SHANGHAI)
    on_site = ["new", "dispatched", "arrived", "reported", "resolved", "fed_back", "closed"]
    for inc in demo_data.incidents:
        assert re.fullmatch(r"\d{8}-\d{4}", inc.number) and inc.number not in numbers
        numbers.add(inc.number)
        assert inc.number[:8] == inc.reported_at.strftime("%Y%m%d")
        assert inc.status == Status.CLOSED
        assert inc.reported_at <= inc.resolved_at <= inc.closed_at < end
        assert grid_by_code[inc.grid_code].boundary.covers(inc.location)
        assert grid_by_code[inc.grid_code].community_code == inc.community_code
        assert inc.description
        kinds = {e.kind for e in inc.events}
        assert kinds <= set(IncidentEvent.Kind.values)
        ats = [e.at for e in inc.events]
        assert ats == sorted(ats) and ats[0] == inc.reported_at and ats[-1] == inc.closed_at
        assert inc.events[0].kind == "created"
        chain = [inc.events[0].to_status] + [e.to_status for e in inc.events if e.kind == "status_changed"]
        for e in inc.events:
            if e.kind == "status_changed":
                assert e.from_status in chain
        assert chain[-1] == "closed" and chain[-2] == "fed_back"
        if inc.flow == Flow.ON_SITE:
            assert chain == on_site
        elif inc.channel_code == "joint_assignment":
            assert chain == ["assigned", "in_progress", "completed", "reported_to_command", "fed_back", "closed"]
        else:
            assert chain == ["new", "dispatched", "arrived", "reported", "transferred", "in_progress", "completed",
                             "reported_to_command", "fed_back", "closed"]
        arrived = {o.member_code for o in inc.orders if o.state == "arrived"}
        assert all(o.arrived_at is None or o.arrived_at >= o.dispatched_at for o in inc.orders)
        assert {e.data["member"] for e in inc.events if e.kind == "arrived"} == arrived
        # Hand-overs: the acceptance deadline of the unit's kind; completed with the office's result.
        completed = [e for e in inc.events if e.kind == "status_changed" and e.to_status == "completed"]
        assert len(inc.handovers) == len(completed) == (1 if inc.flow == Flow.OFF_SITE else 0)
        for h, done in zip(inc.handovers, completed, strict=True):
            window = HANDOVER_ACCEPT_MINUTES.get(unit_kind[h.unit_code], HANDOVER_ACCEPT_MINUTES_DEFAULT)
            assert h.accept_by == h.created_at + timedelta(minutes=window)
            assert h.state == "completed" and h.created_at <= h.decided_at <= h.completed_at <= inc.closed_at
            assert h.completed_at == done.at and h.result == done.note and h.result


def test_people_registered_on_site_are_synthetic_but_valid_in_form(demo_data):
    from incidents.models import Party
    from incidents.validators import validate_id_number

    parties = [(i, p) for i in demo_data.incidents for p in i.parties]
    assert len(parties) > len(demo_data.incidents) // 2
    for inc, p in parties:
        assert validate_id_number(p.id_number) == p.id_number
        assert re.fullmatch(r"1[3-9][0-9]{9}", p.phone) and p.role in Party.Role.values
        assert inc.reported_at <= p.registered_at <= inc.closed_at
    events = [e for i in demo_data.incidents for e in i.events if e.kind == "party_registered"]
    assert len(events) == len(parties)
    assert all(re.fullmatch(r"\d{3}\*{11}[\dX]{4}", e.data["id_number"]) for e in events)


# --- orders, deadlines, alarms and the rankings' material -----------------------------------------

THIRTY = timedelta(minutes=30)
AT_ONCE = timedelta(minutes=10)
CONTACTS = {"property_contact", "site_contact", "enterprise_contact", "park_contact"}


def _expected_deadline(force: str, roles, sent: datetime, major: bool) -> timedelta | None:
    """The plan: 30 minutes for police and grid workers; for grid leaders / security directors and
    place contacts only when sent from 06:00 until 21:30; "at once" for departments and stations and,
    on major cases, the leaders."""
    if {"principal_leader", "responsible_leader"} & set(roles):
        return AT_ONCE if major else THIRTY
    if force in ("police", "grid_worker"):
        return THIRTY
    if force == "grid_leader" or force in CONTACTS:
        return THIRTY if time(6, 0) <= sent.astimezone(SHANGHAI).time() < time(21, 30) else None
    return AT_ONCE


def _rates(orders) -> tuple[float, float]:
    """(arrival rate 到场率: arrived / sent; timeliness 及时率: arrived in time / arrived with a deadline)."""
    orders = list(orders)
    arrived = [o for o in orders if o.state == "arrived"]
    bound = [o for o in arrived if o.arrive_by is not None]
    return len(arrived) / len(orders), sum(o.arrived_at <= o.arrive_by for o in bound) / len(bound)


@pytest.mark.parametrize("which", ["demo_data", "full"])
def test_historical_orders_have_consistent_times_and_none_is_live(which, request):
    data = request.getfixturevalue(which)
    members = {m.code: m for m in data.members}
    late = never = declined = 0
    for inc in data.incidents:
        escalated = set()
        for o in inc.orders:
            m = members[o.member_code]
            assert o.state in ("arrived", "declined", "stood_down"), inc.number  # nothing for the SLA clock
            assert inc.reported_at <= o.dispatched_at <= inc.closed_at
            limit = _expected_deadline(m.force, m.roles, o.dispatched_at, inc.major)
            assert o.arrive_by == (None if limit is None else o.dispatched_at + limit), (inc.number, o.member_code)
            assert o.reason and o.travel_seconds is not None and 10 <= o.travel_seconds <= 3600
            if o.accepted_at is not None:
                assert o.dispatched_at <= o.accepted_at <= (o.arrived_at or inc.closed_at)
            if o.state == "arrived":
                assert o.dispatched_at < o.arrived_at <= inc.closed_at and o.declined_at is None
                is_late = o.arrive_by is not None and o.arrived_at > o.arrive_by
                assert o.overdue_escalated_at == (o.arrive_by if is_late else None)
                late += is_late
            else:
                assert o.arrived_at is None and o.arrival_distance_m is None
            if o.state == "declined":
                assert o.accepted_at is None and o.decline_reason
                assert o.dispatched_at <= o.declined_at <= o.dispatched_at + AT_ONCE
                assert o.overdue_escalated_at is None
                declined += 1
            else:
                assert o.declined_at is None and o.decline_reason == ""
            if o.state == "stood_down":  # the case moved on without them
                assert o.overdue_escalated_at in (None, o.arrive_by)
                assert o.dispatched_at <= o.stood_down_at <= inc.closed_at and o.stand_down_reason
                assert o.overdue_escalated_at is None or o.overdue_escalated_at <= o.stood_down_at
                never += 1
            else:
                assert o.stood_down_at is None and o.stand_down_reason == ""
            assert o.arrival_flagged == (o.arrival_distance_m is not None and o.arrival_distance_m > 300)
            if o.overdue_escalated_at is not None:
                escalated.add(o.member_code)
        # Alarms exist exactly for the orders the clock escalated, and for major cases.
        overdue = [a for a in inc.alarms if a.kind == "arrival_overdue"]
        assert {a.member_code for a in overdue} == escalated and len(overdue) == len(escalated)
        by_member = {o.member_code: o for o in inc.orders}
        for a in inc.alarms:
            assert a.state == "acknowledged" and a.note and a.notified
            assert a.raised_at <= a.acknowledged_at <= inc.closed_at
            if a.kind == "arrival_overdue":
                assert a.raised_at == a.due_at == by_member[a.member_code].overdue_escalated_at
        major = [a for a in inc.alarms if a.kind == "major_incident"]
        assert len(major) == (1 if inc.major else 0)
        assert all(a.due_at == inc.reported_at for a in major)
        assert inc.major_notified_at == (major[0].raised_at if major else None)
        if major:
            assert inc.reported_at <= inc.major_notified_at <= inc.reported_at + timedelta(minutes=1)
        # The timeline tells the same story.
        kinds = Counter(e.kind for e in inc.events)
        assert kinds["alarm"] == kinds["alarm_handled"] == len(inc.alarms)
        assert {e.data["member"] for e in inc.events if e.kind == "order_accepted"} == {
            o.member_code for o in inc.orders if o.accepted_at is not None}
        assert {e.data["member"] for e in inc.events if e.kind == "order_declined"} == {
            o.member_code for o in inc.orders if o.state == "declined"}
        assert sorted(e.data["alarm"] for e in inc.events if e.kind == "alarm") == list(range(len(inc.alarms)))
        for e in inc.events:
            if e.kind == "dispatched":
                o = by_member[e.data["member"]]
                assert e.data["arrive_by"] == (o.arrive_by.isoformat() if o.arrive_by else None)
            elif e.kind == "arrived":
                o = by_member[e.data["member"]]
                assert e.at == o.arrived_at and e.data["arrival"].get("distance_m") == o.arrival_distance_m
    assert late and declined and never  # some late, some declined, some never came


def test_arrival_and_timeliness_rates_are_plausible(full):
    orders = [o for i in full.incidents for o in i.orders]
    arrival, timeliness = _rates(orders)
    assert 0.85 <= arrival <= 0.97
    assert 0.70 <= timeliness <= 0.92
    states = Counter(o.state for o in orders)
    assert 0.01 <= states["declined"] / len(orders) <= 0.05
    assert 0.01 <= states["stood_down"] / len(orders) <= 0.05
    # The 21:30 rule: grid leaders and contacts go unbound only when sent after 21:30 (or before 06:00).
    members = {m.code: m for m in full.members}
    for o in orders:
        if o.arrive_by is None:
            assert members[o.member_code].force in {"grid_leader"} | CONTACTS
            assert not time(6, 0) <= o.dispatched_at.astimezone(SHANGHAI).time() < time(21, 30)
    # The service gets more punctual over the two years (the plan's target).
    half = full.incidents[len(full.incidents) // 2].reported_at
    first = _rates(o for i in full.incidents if i.reported_at < half for o in i.orders)[1]
    second = _rates(o for i in full.incidents if i.reported_at >= half for o in i.orders)[1]
    assert second > first
    alarms = Counter(a.kind for i in full.incidents for a in i.alarms)
    assert alarms["arrival_overdue"] == sum(o.overdue_escalated_at is not None for o in orders)
    assert alarms["major_incident"] == sum(i.major for i in full.incidents)


def test_grid_leaders_and_grids_differ_for_the_rankings(full):
    leaders = {m.code for m in full.members if m.force == "grid_leader"}
    half = full.incidents[len(full.incidents) // 2].reported_at

    def per_leader(incidents):
        mine = defaultdict(list)
        for i in incidents:
            for o in i.orders:
                if o.member_code in leaders:
                    mine[o.member_code].append(o)
        return {code: _rates(orders) for code, orders in mine.items()}

    overall = per_leader(full.incidents)
    assert set(overall) == leaders
    timeliness = sorted(t for _, t in overall.values())
    assert timeliness[-1] - timeliness[0] >= 0.15
    arrival = sorted(a for a, _ in overall.values())
    assert arrival[-1] - arrival[0] >= 0.05 and arrival[0] >= 0.75
    # Consistently good and consistently weak: the first year's best quarter stays ahead of the
    # first year's worst quarter in the second year; and some improve clearly.
    year1 = per_leader(i for i in full.incidents if i.reported_at < half)
    year2 = per_leader(i for i in full.incidents if i.reported_at >= half)
    ranked = sorted(year1, key=lambda c: year1[c][1])
    q = len(ranked) // 4

    def mean(codes):
        return sum(year2[c][1] for c in codes) / len(codes)

    assert mean(ranked[-q:]) - mean(ranked[:q]) >= 0.08
    assert sum(year2[c][1] - year1[c][1] >= 0.10 for c in leaders) >= 3
    # Disposal rate (处置率): the share of the cases a grid leader led on site that were settled there.
    led = defaultdict(Counter)
    for i in full.incidents:
        lead = next((e.actor_member_code for e in i.events if e.kind == "status_changed" and e.to_status == "reported"),
                    None)
        if lead in leaders:
            led[lead][i.flow] += 1
    settled = sorted(c["on_site"] / (c["on_site"] + c["off_site"]) for c in led.values())
    assert settled[-1] - settled[0] >= 0.10
